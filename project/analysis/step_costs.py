"""Each model's step cost measured in isolation, from a benchmark file (docs/benchmarks.md),
for time to target = steps x step cost (docs/protocol.md, "Time").

Seeds trained as one vectorised group share one clock, and runs beside each other share the
CPU, so per-run wall-clock seconds are not per-seed data. The report therefore times a run as
its steps to target times its model's isolated step cost on that task, labelled with the file
it came from. The file is ``scripts/bench_step_costs.py``'s JSON (``docs/step_costs.json``;
``scripts/bench.py``'s ``docs/bench.json`` has the same shape): per task and model,
``suite_steps_per_s`` measured in isolation, interleaved with the other model, one thread.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd


def read_step_costs(path: str | Path) -> dict[tuple[str, str], float]:
    """``{(task, model): seconds per optimizer step}`` from a benchmark JSON file.

    ``ValueError`` naming the file when it is not JSON or has no ``tasks`` table of
    ``{task: {model: {"suite_steps_per_s": x}}}``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not a JSON benchmark file ({e.msg}, line {e.lineno})") from e
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict):
        raise ValueError(f"{path}: no 'tasks' table of step rates (scripts/bench.py's JSON)")
    costs = {}
    for task, models in tasks.items():
        for model, figures in (models or {}).items():
            rate = figures.get("suite_steps_per_s") if isinstance(figures, dict) else None
            if isinstance(rate, (int, float)) and math.isfinite(rate) and rate > 0:
                costs[task, model] = 1.0 / float(rate)
    if not costs:
        raise ValueError(f"{path}: no task has a positive 'suite_steps_per_s'")
    return costs


def step_cost_label(path: str | Path) -> str:
    """Where the step costs come from, for the notes: the file and its date and machine."""
    data = json.loads(Path(path).read_text())
    return (f"{Path(path).name} ({data.get('machine', 'machine not recorded')}, "
            f"{data.get('date', 'date not recorded')})")


def with_step_costs(runs: pd.DataFrame, costs: dict[tuple[str, str], float]) -> pd.DataFrame:
    """``runs`` with ``step_cost_s``: the isolated step cost of each run's (task, model);
    NaN where the benchmark has none."""
    runs = runs.copy()
    runs["step_cost_s"] = [costs.get((t, m), float("nan"))
                           for t, m in zip(runs["task"], runs["model"])]
    return runs
