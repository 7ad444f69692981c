"""``python scripts/bench_gpu.py --help``: the benchmark of ``project/benchmarks/gpu.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.gpu import main

if __name__ == "__main__":
    sys.exit(main())
