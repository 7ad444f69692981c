"""Upload offline W&B runs, resumed ones with all their history:
``python -m project.sync_wandb ROOT [--dry-run | --run]``.

Lists the offline segments under ROOT (a run folder, a sweep folder, any tree) and prints the
one ``wandb sync`` command that uploads every segment of a run into that run;
``--dry-run`` runs it as W&B's dry run (offline: what would be uploaded), ``--run`` runs it
(needs an API key). Why one command: ``project.training.wandb_sync``.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from project.cli import user_error
from project.training.wandb_sync import offline_segments, sync_command
from project.wandb_credentials import has_api_key


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.sync_wandb", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("root", type=Path, help="run folder, sweep folder or any tree of them")
    p.add_argument("-e", "--entity", help="upload to this entity (wandb sync -e)")
    p.add_argument("-p", "--project", help="upload to this project (wandb sync -p)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true",
                      help="run `wandb sync --dry-run` (works offline: lists what it would sync)")
    mode.add_argument("--run", action="store_true", help="run the upload (needs an API key)")
    args = p.parse_args(argv)
    try:
        runs = offline_segments(args.root)
        command = sync_command(args.root, args.entity, args.project, args.dry_run)
    except (LookupError, OSError) as e:
        return user_error(e)
    resumed = sum(len(s) > 1 for s in runs.values())
    print(f"{len(runs)} offline run(s), {resumed} resumed "
          f"({sum(map(len, runs.values()))} segments)", file=sys.stderr)
    if args.run and not has_api_key():
        return user_error("no W&B API key: run `wandb login`, then this command again")
    if not (args.run or args.dry_run):
        print(shlex.join(command))
        return 0
    return subprocess.run(command, stdin=subprocess.DEVNULL, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
