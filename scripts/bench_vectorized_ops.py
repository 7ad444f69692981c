"""``python scripts/bench_vectorized_ops.py --help``: the benchmark of ``project/benchmarks/vectorized_ops.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.vectorized_ops import main

if __name__ == "__main__":
    sys.exit(main())
