"""``python scripts/bench_step_costs.py --help``: each table model's isolated step cost
(``project/benchmarks/isolated_step_costs.py``), read by ``project.report --step-costs``."""

import sys

from project.benchmarks.isolated_step_costs import main

if __name__ == "__main__":
    sys.exit(main())
