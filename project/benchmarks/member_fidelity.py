"""How closely a vectorised group's members end as their single runs, at the full budget
(``scripts/member_fidelity.py --task gunpoint --model attention --seeds 8``).

Trains the seeds one by one (``project.training.run.train``: each its own single run) and as
one group (``train_vectorized``), then again the first ``--subgroup`` seeds as a smaller group,
all in this process with one thread, and prints per seed the figures that decide a table
(steps to target, best validation score, test score at the best checkpoint) and, at the end,
how many members end with their single run's figures and with the larger group's. The
weights agree to float rounding at first (tests/training/test_vectorized.py); on a long,
sensitive run those rounding differences can grow into different figures.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from pathlib import Path

FIGURES = ("steps_to_target", "best_val", "test_at_best")


def main() -> int:
    """Parse the command line, train and compare; exit status 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="gunpoint")
    parser.add_argument("--model", default="attention")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 0 .. N-1 (default 8)")
    parser.add_argument("--subgroup", type=int, default=3,
                        help="the first K seeds again as a group of K (default 3; 0: skip)")
    parser.add_argument("overrides", nargs="*", help="more config overrides (key=value)")
    args = parser.parse_args()
    os.environ.setdefault("WANDB_MODE", "disabled")

    import torch

    from project.runs.compose import compose_train
    from project.training.run import train, train_vectorized

    torch.set_num_threads(1)
    base = [f"task={args.task}", f"model={args.model}", "trainer.num_threads=1",
            "trainer.enable_progress_bar=false", *args.overrides]
    seeds = list(range(args.seeds))
    with tempfile.TemporaryDirectory() as tmp:
        def configs(name: str, chosen: list[int]):
            return [compose_train([*base, f"seed={s}"], Path(tmp) / name / f"seed{s}")
                    for s in chosen]

        with contextlib.redirect_stdout(io.StringIO()):  # the runs' progress lines
            alone = [train(cfg) for cfg in configs("single", seeds)]
            group = train_vectorized(configs("group", seeds))
            small = (train_vectorized(configs("subgroup", seeds[:args.subgroup]))
                     if args.subgroup > 1 else [])
    for results in (alone, group, small):
        for r in results:
            if isinstance(r, BaseException):
                raise r

    def figures(summary: dict) -> tuple:
        return tuple(summary[k] for k in FIGURES)

    def show(summary: dict) -> str:
        return " ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in figures(summary))

    print(f"{args.task} {args.model}, {len(seeds)} seeds, {group[0]['steps_trained']} steps "
          f"at most; figures: {', '.join(FIGURES)}")
    print(f"{'seed':>4}  {'single run':<28} {f'group of {len(seeds)}':<28} same")
    for s, a, g in zip(seeds, alone, group):
        print(f"{s:>4}  {show(a):<28} {show(g):<28} {'yes' if figures(a) == figures(g) else 'no'}")
    same = sum(figures(a) == figures(g) for a, g in zip(alone, group))
    print(f"members ending with their single run's figures: {same} of {len(seeds)}")
    if small:
        kept = sum(figures(a) == figures(b) for a, b in zip(small, group))
        print(f"members of a group of {len(small)} ending with the group of {len(seeds)}'s "
              f"figures: {kept} of {len(small)}")
    return 0
