"""``python scripts/bench_long_sequence.py --help``: the benchmark of ``project/benchmarks/long_sequence.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.long_sequence import main

if __name__ == "__main__":
    sys.exit(main())
