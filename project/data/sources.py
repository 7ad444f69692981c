"""Where a dataset's files come from, and reading them as tables through ``datasets``.

Precedence: an explicit local ``path`` (a file, or a folder holding the dataset's files) >
the offline copy under ``$SUITE_DATA_DIR`` (default ``<project root>/../shared/data``) >
the Hugging Face hub id (skipped when HF offline mode is on). ``datasets`` keeps its cache
in ``<project root>/.cache/huggingface``; a local file's tables are cached under its content
hash, so an edited file is never served from the cache of its old content. A ``.tsv`` is read
as the tab format is (no quote processing: a ``"`` is a character) unless ``tsv_quoting``.
"""

from __future__ import annotations

import csv
import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from project.data.file_digest import file_digest

if TYPE_CHECKING:
    import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR_ENV = "SUITE_DATA_DIR"
BUILDERS = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
HUB_SPLITS = {"train": "train", "validation": "val", "valid": "val", "val": "val",
              "test": "test"}


@functools.cache
def hf_datasets():
    """The ``datasets`` library, quiet (no progress bars, errors only); imported at the first
    read, so that resolving a source (a sweep's planning, a run's identity) does not."""
    import datasets

    datasets.disable_progress_bars()
    datasets.logging.set_verbosity_error()
    return datasets


def offline_data_dir() -> Path:
    """Root of the offline dataset copies (``$SUITE_DATA_DIR`` or ``../shared/data``)."""
    return Path(os.environ.get(DATA_DIR_ENV) or PROJECT_ROOT.parent / "shared" / "data")


def hf_cache_dir() -> Path:
    """The ``datasets`` cache, inside the project's own cache folder."""
    return PROJECT_ROOT / ".cache" / "huggingface" / "datasets"


def hf_offline() -> bool:
    """True when either Hugging Face offline flag is set (the hub is then never contacted)."""
    truthy = {"1", "true", "yes", "on"}
    return any(os.environ.get(k, "").lower() in truthy
               for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


@dataclass
class DataSource:
    """A resolved source: split name -> local file, or a hub id (with optional config name)."""

    files: dict[str, Path] | None = None
    hub_id: str | None = None
    hub_config: str | None = None

    def describe(self) -> str:
        if self.files:
            return ", ".join(str(p) for p in self.files.values())
        return f"hub:{self.hub_id}" + (f"/{self.hub_config}" if self.hub_config else "")


def resolve_source(name: str, files: dict[str, str], path: str | None = None,
                   offline_subdir: str | None = None, hub_id: str | None = None,
                   hub_config: str | None = None) -> DataSource:
    """Find a dataset's files, in precedence order; raise one line naming every place searched.

    ``files`` maps split -> file name (e.g. ``{"train": "train.csv"}``). ``path`` may be a
    single file (it becomes the ``train`` split; the others are carved from it) or a folder
    holding ``files``.
    """
    searched = []
    if path:
        p = Path(path).expanduser()
        if p.is_file():
            return DataSource(files={"train": p})
        if p.is_dir():
            found = {s: p / f for s, f in files.items() if (p / f).is_file()}
            if "train" in found:
                return DataSource(files=found)
            searched.append(f"data.path={p} (no {files.get('train', 'train file')} inside)")
        else:
            searched.append(f"data.path={p} (does not exist)")
    else:
        searched.append("data.path (not set)")
    if offline_subdir:
        d = offline_data_dir() / offline_subdir
        found = {s: d / f for s, f in files.items() if (d / f).is_file()}
        if "train" in found:
            return DataSource(files=found)
        missing = d / files.get("train", "")
        searched.append(f"offline copy {missing} (${DATA_DIR_ENV} or ../shared/data)")
    if hub_id:
        if not hf_offline():
            return DataSource(hub_id=hub_id, hub_config=hub_config)
        searched.append(f"hub id {hub_id} (skipped: HF offline mode is on)")
    else:
        searched.append("hub id (none for this task)")
    raise FileNotFoundError(f"{name}: data not found; searched: " + "; ".join(searched)
                            + "; set task.data.path=<file or folder>")


def _check_file(path: Path) -> None:
    if path.suffix.lower() not in BUILDERS:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; expected one of "
                         f"{sorted(BUILDERS)}")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty")


def read_tables(source: DataSource, tsv_quoting: bool = False) -> dict[str, pd.DataFrame]:
    """Read every split of ``source`` into a DataFrame (via ``datasets``); splits named
    ``train``/``val``/``test``. Raises one line on empty files, tables without rows or text
    that is not UTF-8; warns when a file's row count differs from its line count."""
    if source.files:
        tables = {}
        for split, path in source.files.items():
            tables[split] = read_table(path, tsv_quoting)
        return tables
    try:
        dd = hf_datasets().load_dataset(source.hub_id, source.hub_config,
                                        cache_dir=str(hf_cache_dir()))
    except Exception as e:  # noqa: BLE001
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise FileNotFoundError(f"hub id {source.hub_id}: could not be loaded ({msg})") from e
    return {HUB_SPLITS[s]: dd[s].to_pandas() for s in dd if s in HUB_SPLITS}


def read_table(path: Path, tsv_quoting: bool = False) -> pd.DataFrame:
    """One local file as a DataFrame (see ``read_tables``)."""
    _check_file(path)
    suffix = path.suffix.lower()
    kwargs = {}
    if suffix == ".tsv":
        kwargs = {"delimiter": "\t"} if tsv_quoting else {"delimiter": "\t",
                                                          "quoting": csv.QUOTE_NONE}
    try:
        ds = hf_datasets().load_dataset(BUILDERS[suffix], data_files={"train": str(path)},
                                        split="train", **kwargs,
                                        cache_dir=str(hf_cache_dir() / "files" / file_digest(path)))
    except Exception as e:  # noqa: BLE001 - reader errors become one clear line
        bad = first_non_utf8_line(path) if BUILDERS[suffix] == "csv" else None
        if bad:
            raise ValueError(f"{path}: {bad}: save the file as UTF-8") from e
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ValueError(f"{path}: could not be read as a table ({msg})") from e
    if len(ds) == 0:
        raise ValueError(f"{path}: the file has no data rows")
    if BUILDERS[suffix] == "csv":
        lines = count_data_lines(path)
        if lines != len(ds):
            hint = ("quoted fields span or merge lines" if suffix != ".tsv" or tsv_quoting
                    else "some lines are not rows")
            print(f"warning: {path}: {len(ds)} rows read from {lines} non-blank lines after "
                  f"the header ({hint}); check the file's quoting"
                  + ("" if suffix != ".tsv" else
                     " (task.data.tsv_quoting=false reads a .tsv without quotes)"),
                  file=sys.stderr)
    return ds.to_pandas()


def count_data_lines(path: Path) -> int:
    """Non-blank lines after the header line (what a quote-free reader makes rows of)."""
    with open(path, "rb") as f:
        return max(0, sum(1 for line in f if line.strip()) - 1)


def first_non_utf8_line(path: Path) -> str | None:
    """``line N is not valid UTF-8 (...)`` for the first such line, or None."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as e:
                return (f"line {number} is not valid UTF-8 (byte 0x{line[e.start]:02x} at "
                        f"column {e.start + 1})")
    return None
