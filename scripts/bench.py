"""``python scripts/bench.py --help``: the benchmark of ``project/benchmarks/suite.py`` (its
docstring says what it measures and how)."""

import sys

from project.benchmarks.suite import main

if __name__ == "__main__":
    sys.exit(main())
