"""A file's content hash (SHA-256), computed once and cached by path, size, modification
time, inode and status-change time (which every write moves and no user call can set back):
when any of those changes, the content is hashed again. Used by ``sources`` (the ``datasets``
cache of a local file is keyed by it) and by ``fingerprint`` (a run's data identity).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CACHE = PROJECT_ROOT / ".cache" / "data_fingerprints.json"

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
