"""Single runs against a vectorised group's members at the full budget: how many end with
the same figures (``project.benchmarks.member_fidelity``).

``python scripts/member_fidelity.py [--task gunpoint] [--model attention] [--seeds 8]
[--subgroup 3] [key=value ...]``
"""

import sys

from project.benchmarks.member_fidelity import main

if __name__ == "__main__":
    sys.exit(main())
