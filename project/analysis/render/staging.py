"""Writing a report folder so that a killed report leaves the previous report or nothing.

``begin`` makes a fresh staging folder inside the report folder (same filesystem), into
which every file is written; ``commit`` removes the old ``report.html``, renames each file
into place (``report.html`` last) and fsyncs the folder. A report killed or failing while
writing leaves the previous one untouched (and a staging folder, which the next report
removes); one killed during the renames, which take microseconds, leaves whole files and no
``report.html``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from project.runs.folder import fsync_folder, make_folder

PREFIX = ".report-staging-"
INDEX = "report.html"  # renamed last: present only beside a whole set of files


def begin(out: str | Path) -> Path:
    """Create ``out`` (one ``error:`` line naming ``--out`` when it is a file or cannot be
    written, via ``run_folder.make_folder``), remove staging folders a killed report left
    there, and return a new, empty staging folder inside it."""
    out = Path(out)
    make_folder(out, "report folder", "--out")
    for old in out.glob(f"{PREFIX}*"):
        shutil.rmtree(old, ignore_errors=True)
    try:
        return Path(tempfile.mkdtemp(dir=out, prefix=PREFIX))
    except OSError as e:
        raise OSError(f"cannot write into report folder {out} ({e.strerror or e}): free "
                      "space or fix permissions there, or set --out to another folder") from e


def commit(stage: Path, out: Path) -> None:
    """Move every file of ``stage`` into ``out`` (``report.html`` removed first, renamed in
    last) and remove ``stage``."""
    files = sorted(stage.iterdir(), key=lambda p: (p.name == INDEX, p.name))
    (out / INDEX).unlink(missing_ok=True)
    for path in files:
        os.replace(path, out / path.name)
    fsync_folder(out)
    stage.rmdir()


def moved(paths, out: Path):
    """The paths that staged files ``paths`` (a dict's values, or a list) have in ``out``."""
    if isinstance(paths, dict):
        return {k: Path(out) / Path(p).name for k, p in paths.items()}
    return [Path(out) / Path(p).name for p in paths]
