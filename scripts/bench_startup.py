"""Start-up and sweep ratios in one call: ``python scripts/bench_startup.py [--sweep]``.

Prints a fresh digits run's time outside training over a bare ``python -c 'import torch'``
(target <= 2x) and, with ``--sweep``, the 16-run digits sweep (2 models x 8 seeds, default
options, one worker per available CPU) over that one run's wall time (target <= 1.5x);
``project.startup_check`` says what each figure is. Absolute times depend on the machine and
its load (recorded at start and end); the ratios are the claim.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from project.cli import user_error  # noqa: E402
from project.startup_check import measure, report  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sweep", action="store_true", help="also the 16-run sweep / one run ratio")
    p.add_argument("--seeds", type=int, default=8, help="seeds per model in the sweep")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p.add_argument("--workers", type=int, default=cpus, help="sweep workers (default: CPUs)")
    p.add_argument("overrides", nargs="*", help="config overrides for every run (shrink only "
                                                "to test this script)")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.seeds < 1 or args.workers < 1:
        return user_error("--repeats, --seeds and --workers must be >= 1")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load}; {cpus} CPUs available; {args.repeats} interleaved "
          f"repeats (median [each])", flush=True)
    try:
        m = measure(args.repeats, args.sweep, args.seeds, args.workers, args.overrides)
    except RuntimeError as e:
        return user_error(e)
    print("\n".join(report(m)))
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
