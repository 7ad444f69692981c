"""Lightning's per-update dispatch against the suite's bare updates, side by side in one run.

``python scripts/bench_bare_updates.py [--tasks digits,italypower,gunpoint,usps] [--repeats 5]``
(``project.benchmarks.bare_updates``): median ms per update of each path over interleaved
pairs of runs, and dispatched / bare. Absolute times depend on the machine and its load
(recorded at start and end); the ratio is the claim.
"""

import sys

from project.benchmarks.bare_updates import main

if __name__ == "__main__":
    sys.exit(main())
