"""A 10,000-run study sized from measured per-run costs: ``python scripts/scale_on_paper.py``.

Reads docs/bench.json (``scripts/bench.py``: one-thread suite steps/s per task and model, and
the evidence-throughput sweep's wall time per mode) and each task's step budget from
conf/task/, and prints core-seconds, jobs and wall time for 8 tasks x 6 models x 200 seeds
on a 2-core laptop, a 100-job SLURM allocation of CPUs, and the GPU machines (unmeasured).
Every assumption is printed beside the figure it makes.
"""

import sys

from project.benchmarks.scale_on_paper import main

if __name__ == "__main__":
    sys.exit(main())
