"""A run's data fingerprint: a content hash of the files its task reads.

The files are those ``sources.resolve_source`` finds for the task's data config (a user's
``path``, or the offline copy); synthetic and hub-only tasks have none (fingerprint None).
A file's SHA-256 is computed once and cached under ``<project root>/.cache`` by path,
size, modification time, inode and status-change time (which every write moves and no user
call can set back); when any of those changes the content is hashed again. The fingerprint
is part of a run's identity and of the record its resume and staleness checks compare
(``project.runs.folder``).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from project.data.file_digest import file_digest
from project.data.sources import resolve_source

KEY = "data_fingerprint"  # the record's key (config.yaml, checkpoint), beside the sections


def data_files(data: Any) -> dict[str, Path]:
    """Split -> file the task's data config reads; {} for synthetic or hub-only data, or when
    no file is found (loading the data then says where it looked)."""
    get = data.get if hasattr(data, "get") else (lambda k, d=None: getattr(data, k, d))
    path, subdir = get("path"), get("offline_subdir")
    if not path and not subdir:
        return {}
    files = dict(get("files") or {"train": "train.csv"})
    try:
        source = resolve_source(str(get("name", "data")), files, path, subdir)
    except (FileNotFoundError, OSError, TypeError, ValueError):  # loading names the problem
        source = None
    if source is not None and source.files:
        return dict(source.files)
    if path and (folder := Path(str(path)).expanduser()).is_dir():
        return folder_files(folder)  # a folder read file by file (task=custom_audio)
    return {}


def folder_files(folder: Path) -> dict[str, Path]:
    """Every file under ``folder`` (hidden ones aside), by its path relative to it."""
    return {str(f.relative_to(folder)): f for f in sorted(folder.rglob("*"))
            if f.is_file() and not any(p.startswith(".") for p in f.relative_to(folder).parts)}


def data_fingerprint(cfg: Any) -> str | None:
    """16 hex digits over the (split, content hash) pairs of the files ``cfg.task.data``
    reads; None when the task reads no files. Moving a file keeps it; editing one changes it."""
    files = data_files(cfg.task.data) if "data" in cfg.task else {}
    if not files:
        return None
    pairs = sorted((split, file_digest(p)) for split, p in files.items())
    return hashlib.sha256(json.dumps(pairs).encode()).hexdigest()[:16]


def data_change(saved: str | None, now: str | None, cfg: Any) -> str | None:
    """One phrase when the recorded fingerprint ``saved`` differs from ``now`` (a record
    without one, written before fingerprints existed, is not compared)."""
    if saved is None or saved == now:
        return None
    files = list(data_files(cfg.task.data).values())
    where = (", ".join(map(str, files)) if len(files) <= 3 else
             f"{len(files)} files under {cfg.task.data.path}") if files else "its data files"
    return f"data: its files changed since ({where}; fingerprint {saved} -> {now})"
