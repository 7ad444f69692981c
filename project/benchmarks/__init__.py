"""The benchmarks behind docs/benchmarks*.md, one module each; ``scripts/bench*.py`` are their
thin commands. This package sits at the commands level: it may import training, sweeps and
analysis, and nothing in the project imports it.

Importing it sets the environment every benchmark runs in (offline W&B and Hugging Face, as
the tests and sweeps do), before any benchmark imports Lightning or datasets.
"""

from project.benchmarks.environment import use_offline_services

use_offline_services()
