"""Thread settings that do not collapse under load, side by side in one run.

``python scripts/bench_threads.py [--steps 200] [--repeats 3] [--settings default,1,2]``:
SST-2 attention, ``--steps`` updates per fresh ``project.train`` process, at each setting
alone and beside one busy process (``project.benchmarks.threads``); prints median ms/step per
setting and condition and the default's ratio to the best fixed count (target <= 1.3x).
Absolute times depend on the machine and its load (recorded at start and end).
"""

import sys

from project.benchmarks.threads import main

if __name__ == "__main__":
    sys.exit(main())
