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
import os
import tempfile
from pathlib import Path
from typing import Any

from project.data.sources import PROJECT_ROOT, resolve_source

CACHE = PROJECT_ROOT / ".cache" / "data_fingerprints.json"
KEY = "data_fingerprint"  # the record's key (config.yaml, checkpoint), beside the sections

_memory: dict[str, dict] = {}


def _stat_key(stat: os.stat_result) -> list[int]:
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns]


def _load_cache() -> dict[str, dict]:
    if not _memory:
        try:
            _memory.update(json.loads(CACHE.read_text()))
        except (OSError, ValueError):
            pass
    return _memory


def _save_cache(cache: dict[str, dict]) -> None:
    """Write the cache whole (temp file + rename); a cache that cannot be written is skipped."""
    tmp = None
    try:
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=CACHE.parent, prefix=".fingerprints.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(cache, f)
        os.replace(tmp, CACHE)
        tmp = None
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def file_digest(path: str | Path) -> str:
    """SHA-256 of ``path``'s content, hashed again only when its size, mtime, inode or ctime
    changed."""
    path = Path(path).resolve()
    stat = path.stat()
    cache, key = _load_cache(), str(path)
    entry = cache.get(key)
    if entry and entry.get("stat") == _stat_key(stat):
        return entry["sha256"]
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    cache[key] = {"stat": _stat_key(stat), "sha256": sha.hexdigest()}
    _save_cache(cache)
    return cache[key]["sha256"]


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
    except (FileNotFoundError, OSError):
        return {}
    return dict(source.files or {})


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
    where = ", ".join(str(p) for p in data_files(cfg.task.data).values()) or "its data files"
    return f"data: its files changed since ({where}; fingerprint {saved} -> {now})"
