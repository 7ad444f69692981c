"""Thread settings that do not collapse under load, side by side in one run.

``python scripts/bench_threads.py [--steps 200] [--repeats 3] [--settings default,1,2]``:
SST-2 attention, ``--steps`` updates per fresh ``project.train`` process, at each setting
alone and beside one busy process (``project.thread_bench``); prints median ms/step per
setting and condition and the default's ratio to the best fixed count (target <= 1.3x).
Absolute times depend on the machine and its load (recorded at start and end).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.cli import user_error  # noqa: E402
from project.thread_bench import Setting, bench, table  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p.add_argument("--settings", default=",".join(["default", *map(str, range(1, cpus + 1))]),
                   help="comma-separated: default, N, N/active, N/passive (default: default "
                        "and 1..CPUs available to this process)")
    p.add_argument("--task", default="sst2")
    args = p.parse_args(argv)
    try:
        settings = [Setting.parse(s) for s in args.settings.split(",")]
        if args.steps < 1 or args.repeats < 1:
            raise ValueError("--steps and --repeats must be >= 1")
    except ValueError as e:
        return user_error(e)
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{cpus} CPUs available; task={args.task} model=attention, {args.steps} steps, "
          f"{args.repeats} interleaved repeats (median [repeats])", flush=True)
    results = bench(settings, args.steps, args.repeats, [f"task={args.task}", "model=attention"])
    print(table(results))
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
