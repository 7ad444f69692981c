"""Time-series classification (UCR GunPoint, ItalyPowerDemand, a user's own CSV/Parquet)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from project.data.base import DataSpec, TensorDataModule
from project.data.columns import class_labels, numeric_matrix, require_columns, select_columns
from project.data.missing_values import fill_missing
from project.data.series_patches import patch_mask, to_patches
from project.data.splits import SplitSource

NORMALIZE = ("train", "series", "none")


def long_to_wide(df: pd.DataFrame, id_column: str, value_columns: list[str],
                 time_column: str | None, label_column: str, where: str
                 ) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Long layout (one row per time step) -> values (N, T, C) NaN-padded, lengths (N,), and
    one row per series with its label."""
    require_columns(df, [id_column, label_column, *value_columns,
                         *([time_column] if time_column else [])], where)
    if time_column:
        df = df.sort_values([id_column, time_column], kind="stable")
    values = numeric_matrix(df, value_columns, where)
    ids, starts, lengths = np.unique(df[id_column].to_numpy(), return_index=True,
                                     return_counts=True)
    order = np.argsort(starts)  # series in order of first appearance
    ids, starts, lengths = ids[order], starts[order], lengths[order]
    codes = pd.Index(ids).get_indexer(df[id_column].to_numpy())
    step = df.groupby(id_column, sort=False).cumcount().to_numpy()
    out = np.full((len(ids), lengths.max(), len(value_columns)), np.nan, dtype=np.float32)
    out[codes, step] = values
    per_series = df.iloc[starts][[label_column]].reset_index(drop=True)
    return out, lengths, per_series


class SeriesClassificationDataModule(TensorDataModule):
    """Series -> x (N, T', F) with positions = time steps (or patches of ``patch_len`` steps).

    ``layout="wide"``: one row per series, values in ``feature_columns`` (a list, a name
    prefix, or None = every column but the label). ``layout="long"``: one row per time step,
    grouped by ``id_column`` (ordered by ``time_column``), channels ``value_columns``;
    unequal lengths are padded and masked. ``patch_stride`` < ``patch_len`` gives overlapping
    windows (a stride-s convolution's receptive fields). ``normalize="train"`` z-scores with
    the train split's mean/std per channel, ``"series"`` z-scores each series on its own.
    NaNs raise unless ``fill`` names a policy.
    """

    def __init__(self, name: str = "series", files: dict | None = None, path: str | None = None,
                 offline_subdir: str | None = None, hub_id: str | None = None,
                 hub_config: str | None = None, label_column: str = "label",
                 num_classes: int | None = None, classes: list | None = None,
                 layout: str = "wide", feature_columns: list | str | None = None,
                 id_column: str = "series_id", time_column: str | None = None,
                 value_columns: list | None = None, normalize: str = "train",
                 fill: str | None = None, patch_len: int = 1, patch_stride: int | None = None,
                 val_fraction: float = 0.2,
                 test_fraction: float = 0.2, split_seed: int = 0, batch_size: int = 32,
                 eval_batch_size: int = 1024, seed: int = 0):
        super().__init__(batch_size=batch_size, eval_batch_size=eval_batch_size, seed=seed)
        if layout not in ("wide", "long"):
            raise ValueError(f"{name}: layout={layout!r}: expected wide or long")
        if normalize not in NORMALIZE:
            raise ValueError(f"{name}: normalize={normalize!r}: expected one of {NORMALIZE}")
        self.name = name
        self.source = SplitSource(name, files, path, offline_subdir, hub_id, hub_config,
                                  val_fraction, test_fraction, split_seed)
        self.label_column, self.num_classes, self.classes = label_column, num_classes, classes
        self.layout, self.feature_columns = layout, feature_columns
        self.id_column, self.time_column = id_column, time_column
        self.value_columns = list(value_columns or ["value"])
        self.normalize, self.fill, self.patch_len = normalize, fill, patch_len
        self.patch_stride = patch_stride
        self.stats: dict[str, np.ndarray] = {}

    def _values(self, df: pd.DataFrame, split: str) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
        where = f"{self.name} ({split})"
        if self.layout == "long":
            return long_to_wide(df, self.id_column, self.value_columns, self.time_column,
                                self.label_column, where)
        cols = select_columns(df, self.feature_columns, [self.label_column], where)
        values = fill_missing(numeric_matrix(df, cols, where), self.fill, where, axis=1)
        return values[:, :, None], np.full(len(df), len(cols)), df

    def load(self) -> dict[str, dict[str, torch.Tensor]]:
        tables = self.source.read_tables()
        parts = {s: self._values(df, s) for s, df in tables.items()}
        # carve missing splits by series (rows of the per-series table), never by time step
        frames = {s: p[2].assign(_split=s, _row=np.arange(len(p[2]))) for s, p in parts.items()}
        frames = self.source.carve(frames)
        labels, names = class_labels(frames, self.label_column, self.num_classes, self.classes,
                                     self.name)
        t_max = max(p[0].shape[1] for p in parts.values())
        out = {}
        for split, frame in frames.items():
            values, lengths, _ = parts[frame["_split"].iloc[0]]
            rows = frame["_row"].to_numpy()
            values, lengths = values[rows], lengths[rows]
            mask = np.arange(t_max)[None, :] < lengths[:, None]
            padded = np.zeros((len(values), t_max, values.shape[2]), dtype=np.float32)
            padded[:, : values.shape[1]] = values
            if self.layout == "long":
                padded = self._fill_long(padded, mask, split)
            padded[~mask] = 0.0
            out[split] = {"x": padded, "mask": mask, "y": labels[split]}
        self._normalize(out)
        for split, d in out.items():
            x = to_patches(torch.from_numpy(d["x"]), self.patch_len, self.name, self.patch_stride)
            mask = patch_mask(torch.from_numpy(d["mask"]), self.patch_len, self.patch_stride)
            out[split] = {"x": x, "mask": mask, "y": torch.from_numpy(d["y"])}
        self.spec = DataSpec(task_type="classification", num_outputs=len(names),
                             input_dim=out["train"]["x"].shape[2],
                             max_len=out["train"]["x"].shape[1],
                             extra={"classes": [str(c) for c in names], "series_len": t_max})
        return out

    def _fill_long(self, x: np.ndarray, mask: np.ndarray, split: str) -> np.ndarray:
        where = f"{self.name} ({split})"
        for i in range(len(x)):  # setup only: per-series fill of the valid steps
            n = int(mask[i].sum())
            x[i, :n] = fill_missing(x[i, :n], self.fill, f"{where}, series {i + 1}", axis=0)
        return x

    def _normalize(self, out: dict) -> None:
        if self.normalize == "none":
            return
        if self.normalize == "series":
            for d in out.values():
                m = d["mask"][:, :, None]
                n = m.sum(1, keepdims=True).clip(min=1)
                mean = (d["x"] * m).sum(1, keepdims=True) / n
                std = np.sqrt((((d["x"] - mean) * m) ** 2).sum(1, keepdims=True) / n)
                z = (d["x"] - mean) / np.maximum(std, 1e-8)
                d["x"] = np.where(m, z, 0.0).astype(np.float32)
            return
        train = out["train"]
        valid = train["x"][train["mask"]]  # (valid steps, C), train split only
        mean, std = valid.mean(0), np.maximum(valid.std(0), 1e-8)
        self.stats = {"mean": mean, "std": std}
        for d in out.values():
            d["x"] = np.where(d["mask"][:, :, None], (d["x"] - mean) / std, 0.0).astype(np.float32)
