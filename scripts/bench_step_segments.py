"""``python scripts/bench_step_segments.py --help``: the benchmark of ``project/benchmarks/step_segments.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.step_segments import main

if __name__ == "__main__":
    sys.exit(main())
