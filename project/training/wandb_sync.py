"""Upload offline W&B runs, resumed ones with all their history (the command:
``python -m project.sync_wandb ROOT [--dry-run | --run]``).

A run logged offline writes ``<run_dir>/wandb/offline-run-<YYYYMMDD_HHMMSS>-<id>/``; every
resume (a requeued SLURM job, a rerun sweep) adds one more such *segment* with the same run
id (``wandb_logging.py`` keeps the id in the run folder). With wandb 0.31 (no ``--append``
flag any more) one ``wandb sync`` command that names every segment uploads them all into
the one run: wandb-core groups the files by run (entity/project/id) and syncs each group's
files one after another in order of their start time (``wandb sync --help``, option ``-n``;
``core/internal/runsync/runsyncoperation.go``). Syncing the segments in separate commands,
or only the newest, leaves holes in the run's history.

W&B's own ``_step`` restarts at 0 in every offline segment; the suite's curves use
``trainer/global_step`` as their x axis, which continues across segments.

This module lists the segments under ROOT (a run folder, a sweep folder, any tree) and builds
the one command; ``project.sync_wandb`` prints it, ``--dry-run`` passes it W&B's dry run
(offline: what would be uploaded), ``--run`` runs it (needs an API key: ``wandb sync`` never
runs without one here).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

SEGMENT = re.compile(r"^offline-run-(?P<time>\d{8}_\d{6})-(?P<id>[A-Za-z0-9_-]+)$")


def offline_segments(root: str | Path) -> dict[str, list[Path]]:
    """Run id -> its ``offline-run-*`` folders under ``root``, oldest first (by the start
    time in the folder name, then by the ``.wandb`` file's age), runs by their first segment."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no such folder: {root}")
    found: dict[str, list[tuple[str, float, Path]]] = defaultdict(list)
    for path in root.rglob("offline-run-*"):
        match = SEGMENT.match(path.name)
        if not match or not path.is_dir() or path.is_symlink():
            continue
        files = list(path.glob("*.wandb"))
        age = min((f.stat().st_mtime for f in files), default=float("inf"))
        found[match["id"]].append((match["time"], age, path))
    runs = {rid: [p for *_, p in sorted(segs)] for rid, segs in found.items()}
    return dict(sorted(runs.items(), key=lambda kv: (SEGMENT.match(kv[1][0].name)["time"],
                                                     str(kv[1][0]))))


def sync_command(root: str | Path, entity: str | None = None, project: str | None = None,
                 dry_run: bool = False) -> list[str]:
    """``wandb sync [-e E] [-p P] [--dry-run] SEGMENT...``: every segment of every offline run
    under ``root`` in one command, each run's segments in start order."""
    segments = [p for paths in offline_segments(root).values() for p in paths]
    if not segments:
        raise LookupError(f"no offline W&B runs (offline-run-*) under {root}")
    return ["wandb", "sync", *(["-e", entity] if entity else []),
            *(["-p", project] if project else []), *(["--dry-run"] if dry_run else []),
            *map(str, segments)]
