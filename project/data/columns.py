"""Checked column access on tables: missing columns, non-numeric values and labels each
fail with one line that names the column, the row or the valid choices."""

from __future__ import annotations

import numpy as np
import pandas as pd


def require_columns(df: pd.DataFrame, columns: list[str], where: str) -> None:
    """Raise if any of ``columns`` is absent, listing the available ones."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{where}: column(s) {missing} not found; available: "
                         f"{list(df.columns)}")


def select_columns(df: pd.DataFrame, spec: list[str] | str | None, exclude: list[str],
                   where: str) -> list[str]:
    """Resolve a column selection: a list of names, a name prefix (``"t"`` -> t0, t1, ...,
    kept in file order), or ``None`` for every column not in ``exclude``."""
    if spec is None:
        cols = [c for c in df.columns if c not in exclude]
    elif isinstance(spec, str):
        cols = [c for c in df.columns if str(c).startswith(spec) and c not in exclude]
        if not cols:
            raise ValueError(f"{where}: no column starts with {spec!r}; available: "
                             f"{list(df.columns)}")
    else:
        cols = list(spec)
        require_columns(df, cols, where)
    if not cols:
        raise ValueError(f"{where}: no feature columns left; available: {list(df.columns)}")
    return cols


def numeric_matrix(df: pd.DataFrame, columns: list[str], where: str) -> np.ndarray:
    """``df[columns]`` as float32 (rows, columns); a non-numeric cell raises naming the
    column and the first bad row (1 = first data row). Missing cells stay NaN."""
    out = np.empty((len(df), len(columns)), dtype=np.float32)
    for j, col in enumerate(columns):
        values = df[col]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            out[:, j] = values.to_numpy(dtype=np.float32, na_value=np.nan)
            continue
        parsed = pd.to_numeric(values, errors="coerce")
        bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"{where}: column {col!r} has a non-numeric value "
                             f"{values.iloc[row]!r} at row {row + 1}")
        out[:, j] = parsed.to_numpy(dtype=np.float32, na_value=np.nan)
    return out


def class_labels(tables: dict[str, pd.DataFrame], column: str, num_classes: int | None,
                 classes: list | None, where: str) -> tuple[dict[str, np.ndarray], list]:
    """Integer class ids per split, and the class names.

    Integer labels are used as ids and must lie in ``[0, num_classes)`` (``num_classes``
    defaults to max + 1 over the splits); other labels (strings, or with ``classes`` given)
    map to their index in ``classes`` (default: the sorted distinct training labels).
    """
    for split, df in tables.items():
        require_columns(df, [column], f"{where} ({split})")
        if df[column].isna().any():
            row = int(np.flatnonzero(df[column].isna().to_numpy())[0])
            raise ValueError(f"{where} ({split}): label column {column!r} is empty at row "
                             f"{row + 1}")
    integer = classes is None and all(pd.api.types.is_integer_dtype(df[column])
                                      for df in tables.values())
    if integer:
        n = num_classes or 1 + max(int(df[column].max()) for df in tables.values())
        ids = {}
        for split, df in tables.items():
            y = np.array(df[column].to_numpy(), dtype=np.int64)
            bad = (y < 0) | (y >= n)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise ValueError(f"{where} ({split}): label {y[row]} at row {row + 1} is out of "
                                 f"range [0, {n}) (num_classes={n})")
            ids[split] = y
        return ids, list(range(n))
    names = list(classes) if classes is not None else sorted(tables["train"][column].unique(),
                                                             key=str)
    index = {str(c): i for i, c in enumerate(names)}
    if num_classes is not None and len(names) != num_classes:
        raise ValueError(f"{where}: {len(names)} classes {names[:10]} but num_classes="
                         f"{num_classes}")
    ids = {}
    for split, df in tables.items():
        labels = df[column].astype(str)
        known = labels.isin(index.keys()).to_numpy()
        if not known.all():
            row = int(np.flatnonzero(~known)[0])
            raise ValueError(f"{where} ({split}): label {labels.iloc[row]!r} at row {row + 1} is "
                             f"not one of the classes {names[:20]}")
        ids[split] = np.array(labels.map(index).to_numpy(), dtype=np.int64)
    return ids, names
