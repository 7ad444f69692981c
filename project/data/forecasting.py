"""Multi-step forecasting from a lookback window (ETTh1 with the Informer protocol, or a
user's own CSV/Parquet with a date/time column)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from project.data.base import DataSpec, TensorDataModule
from project.data.columns import numeric_matrix, require_columns, select_columns
from project.data.missing_values import fill_missing
from project.data.series_patches import to_patches
from project.data.splits import SplitSource


def split_borders(n_rows: int, borders: list | None, fractions: list | None,
                  where: str) -> list[tuple[int, int]]:
    """[start, end) rows of train, val, test: explicit ``borders`` or chronological
    ``fractions`` (e.g. [0.7, 0.1, 0.2])."""
    if borders is not None:
        spans = [(int(a), int(b)) for a, b in borders]
    else:
        fr = list(fractions or [0.7, 0.1, 0.2])
        if len(fr) != 3 or any(f <= 0 for f in fr) or sum(fr) > 1 + 1e-9:
            raise ValueError(f"{where}: split_fractions={fr}: need 3 positive fractions "
                             f"summing to <= 1")
        ends = np.cumsum([int(f * n_rows) for f in fr])
        spans = [(0, int(ends[0])), (int(ends[0]), int(ends[1])), (int(ends[1]), int(ends[2]))]
    if len(spans) != 3 or any(a >= b for a, b in spans) or spans[-1][1] > n_rows:
        raise ValueError(f"{where}: split borders {spans} do not fit {n_rows} rows")
    return spans


def windows(series: torch.Tensor, lookback: int, horizon: int, stride: int = 1
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """All (lookback, horizon) windows of ``series`` (T, C): x (n, L, C), y (n, H * C)."""
    w = series.unfold(0, lookback + horizon, stride).permute(0, 2, 1)  # (n, L+H, C)
    return w[:, :lookback].contiguous(), w[:, lookback:].reshape(len(w), -1).contiguous()


def naive_last_value(x: torch.Tensor, horizon: int) -> torch.Tensor:
    """The last observed value repeated over the horizon, flattened like ``y``."""
    return x[:, -1:, :].expand(-1, horizon, -1).reshape(len(x), -1)


class ForecastDataModule(TensorDataModule):
    """Windows of ``lookback`` steps -> the next ``horizon`` steps of ``columns``.

    Rows are split chronologically (``borders`` or ``split_fractions``); validation and test
    windows start ``lookback`` rows before their split, as in the Informer code. Values are
    z-scored with the train rows' mean/std only; y is flattened (B, horizon * channels) and
    errors are on the normalised scale. ``subtract_last`` (NLinear, Zeng et al. 2023) makes
    each window relative to its last observed value, in x and y alike: the error of a
    forecast is unchanged, and predicting 0 is the naive last-value forecast.
    ``spec.extra`` holds the naive last-value forecast's MSE/MAE on val and test.
    """

    def __init__(self, name: str = "forecast", files: dict | None = None,
                 path: str | None = None, offline_subdir: str | None = None,
                 hub_id: str | None = None, hub_config: str | None = None,
                 date_column: str | None = "date", columns: list | None = None,
                 lookback: int = 96, horizon: int = 24, borders: list | None = None,
                 split_fractions: list | None = None, stride: int = 1, patch_len: int = 1,
                 fill: str | None = None, subtract_last: bool = False, batch_size: int = 64,
                 eval_batch_size: int = 1024,
                 seed: int = 0):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if lookback < 1 or horizon < 1 or stride < 1:
            raise ValueError(f"{name}: need lookback, horizon, stride >= 1")
        self.name = name
        self.source = SplitSource(name, files, path, offline_subdir, hub_id, hub_config)
        self.date_column, self.columns = date_column, columns
        self.lookback, self.horizon, self.stride, self.patch_len = (
            lookback, horizon, stride, patch_len)
        self.borders, self.split_fractions, self.fill = borders, split_fractions, fill
        self.subtract_last = subtract_last
        self.stats: dict[str, np.ndarray] = {}

    def _table(self) -> pd.DataFrame:
        tables = self.source.read_tables()
        if len(tables) != 1:
            raise ValueError(f"{self.name}: forecasting reads one table (one file), got "
                             f"splits {sorted(tables)}")
        return next(iter(tables.values()))

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        df = self._table()
        if self.date_column:
            require_columns(df, [self.date_column], self.name)
            when = pd.to_datetime(df[self.date_column], errors="coerce")
            if when.isna().any():
                row = int(np.flatnonzero(when.isna().to_numpy())[0])
                raise ValueError(f"{self.name}: column {self.date_column!r} has a value that is "
                                 f"not a date/time, {df[self.date_column].iloc[row]!r} at row "
                                 f"{row + 1}")
            df = df.iloc[np.argsort(when.to_numpy(), kind="stable")].reset_index(drop=True)
        exclude = [self.date_column] if self.date_column else []
        cols = select_columns(df, self.columns, exclude, self.name)
        values = fill_missing(numeric_matrix(df, cols, self.name), self.fill, self.name, axis=0)
        spans = split_borders(len(values), self.borders, self.split_fractions, self.name)
        train = values[spans[0][0] : spans[0][1]]
        mean, std = train.mean(0), np.maximum(train.std(0), 1e-8)
        self.stats = {"mean": mean, "std": std}
        series = torch.from_numpy(((values - mean) / std).astype(np.float32))
        out, extra = {}, {"columns": cols}
        for split, (a, b) in zip(("train", "val", "test"), spans):
            start = a if split == "train" else max(0, a - self.lookback)
            if b - start < self.lookback + self.horizon:
                raise ValueError(f"{self.name}: the {split} split (rows [{start}, {b})) is "
                                 f"shorter than lookback + horizon = "
                                 f"{self.lookback + self.horizon}")
            x, y = windows(series[start:b], self.lookback, self.horizon,
                           self.stride if split == "train" else 1)
            naive = naive_last_value(x, self.horizon)
            extra[f"naive_mse_{split}"] = float(((naive - y) ** 2).mean())
            extra[f"naive_mae_{split}"] = float((naive - y).abs().mean())
            if self.subtract_last:
                x, y = x - x[:, -1:, :], y - naive
            out[split] = {"x": to_patches(x, self.patch_len, self.name), "y": y}
        x = out["train"]["x"]
        self.spec = DataSpec(task_type="regression", num_outputs=self.horizon * len(cols),
                             input_dim=x.shape[2], max_len=x.shape[1],
                             extra=extra)
        return out
