"""Start-up and sweep ratios in one call: ``python scripts/bench_startup.py [--sweep]``.

Prints a fresh digits run's time outside training over a bare ``python -c 'import torch'``
(target <= 2x) and, with ``--sweep``, the 16-run digits sweep (2 models x 8 seeds, default
options, one worker per available CPU) over that one run's wall time (target <= 1.5x);
``project.benchmarks.startup`` says what each figure is. Absolute times depend on the machine and
its load (recorded at start and end); the ratios are the claim.
"""

import sys

from project.benchmarks.startup import main

if __name__ == "__main__":
    sys.exit(main())
