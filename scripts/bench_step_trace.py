"""``python scripts/bench_step_trace.py --help``: the benchmark of ``project/benchmarks/step_trace.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.step_trace import main

if __name__ == "__main__":
    sys.exit(main())
