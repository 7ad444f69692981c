"""Each model at its own best learning rate: ``python -m project.select_lr RUNS --out DIR``.

Copies, for every task and model of a learning-rate sweep (``conf/sweep/lr_tuning.yaml``),
the runs of its best rate into DIR (no checkpoints), the rate removed from their setting, so
that ``python -m project.report DIR`` compares each variant at its best rate. The rule:
``project.analysis.lr_selection``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from project.analysis.local_runs import load_local_runs
from project.analysis.lr_selection import tuned_runs, write_tuned
from project.cli import user_error


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.select_lr", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, help="finished runs of a learning-rate sweep")
    p.add_argument("--out", type=Path, required=True, help="folder for the chosen runs (new)")
    args = p.parse_args(argv)
    try:
        runs = load_local_runs(args.runs)
        if runs.empty:
            raise ValueError(f"no finished runs under {args.runs}")
        if args.out.exists() and any(args.out.iterdir()):
            raise ValueError(f"--out {args.out} is not empty")
        chosen = tuned_runs(runs)
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    n = write_tuned(chosen, args.out)
    best = chosen.groupby("setting_cell")["hparams.lr"].first()
    for (task, setting, model, variant), lr in best.items():
        print(f"{task} {model} {' '.join(setting + variant)}: lr {lr:g}".replace("  ", " "))
    print(f"{n} runs at their best rate -> {args.out}  (next: python -m project.report "
          f"{args.out} --out {args.out}/report)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
