"""Start-up and sweep ratios, measured in one call (issue #31 items 3 and 6).

* outside/import: one ``python -m project.train task=digits`` process's wall time less its
  training clock (the summary's ``train_time_s``: imports, data, Trainer set-up, evaluations,
  test, writing), over the wall time of ``python -c 'import torch'`` (target <= 2x);
* floors: ``import lightning.pytorch`` and ``import torch, torchmetrics``, each ended by
  ``os._exit(0)`` as ``python -m project.train`` ends (``project.cli.exit_without_teardown``),
  over the same import of torch: what every run pays before the suite's first line, with
  Lightning (which imports ``torch._dynamo`` and all of ``torchmetrics``, which imports
  ``scipy.signal`` and ``matplotlib``) and with torchmetrics alone (both are required
  packages); the first target is out of reach while a floor alone exceeds it;
* teardown: ``python -c 'import lightning.pytorch'`` less its floor above: the interpreter's
  teardown after those imports, which ``python -m project.train`` skips;
* sweep/one: the 16-run digits sweep (attention and baseline x 8 seeds, ``project.sweep``
  with default options and one worker per available CPU) over that one run's wall time
  (target <= 1.5x).

Every process is fresh and gets the caller's environment less its thread variables (so the
suite's defaults are what is measured); repeats are interleaved (import, run, sweep, ...) so
that the machine's load drifts over all of them alike; medians are reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project.benchmarks.environment import ROOT
from project.cli import user_error

IMPORT_TARGET, SWEEP_TARGET = 2.0, 1.5
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY")


def clean_env() -> dict[str, str]:
    """The caller's environment without thread settings, offline W&B and datasets."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    env.update({"WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    return env


def timed(cmd: list[str]) -> float:
    """Wall seconds of ``cmd`` run from the repository root (raises if it fails)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=clean_env(), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed: {(proc.stderr or proc.stdout)[-800:]}")
    return wall


LIGHTNING = "import lightning.pytorch"


def without_teardown(statement: str) -> str:
    """``statement`` ended by ``os._exit(0)``, as ``python -m project.train`` ends."""
    return f"{statement}, os; os._exit(0)"


# what every run imports besides torch, ended as project.train ends (no teardown):
# measured key -> the statement and what it stands for
FLOORS = {"lightning_s": (without_teardown(LIGHTNING),
                          "a floor of every Lightning run's time outside training"),
          "torchmetrics_s": (without_teardown("import torch, torchmetrics"),
                             "a floor of every run's time outside training that computes its "
                             "metrics with torchmetrics, even without Lightning")}


def import_s(statement: str) -> float:
    """Wall seconds of a bare ``python -c STATEMENT``."""
    return timed([sys.executable, "-c", statement])


def one_run(overrides: list[str]) -> dict[str, float]:
    """One digits attention run (seed 0, its task config's budget) in a fresh process:
    wall, training clock and the time outside training, in seconds."""
    from project.runs import folder as run_folder

    with tempfile.TemporaryDirectory() as d:
        wall = timed([sys.executable, "-m", "project.train", "task=digits", "model=attention",
                      "seed=0", *overrides, f"run_dir={d}/run"])
        train = float(run_folder.read_summary(f"{d}/run")["train_time_s"])
    return {"wall_s": wall, "train_s": train, "outside_s": wall - train}


def digits_spec(seeds: int, overrides: list[str], path: Path) -> Path:
    """The 16-run sweep's spec: digits x {attention, baseline} x ``seeds`` seeds."""
    import yaml

    fixed = dict(o.split("=", 1) for o in overrides)
    spec = {"name": "startup_check", "program": "project/train.py", "method": "grid",
            "metric": {"name": "steps_to_target", "goal": "minimize"},
            "command": ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"],
            "parameters": {"task": {"value": "digits"},
                           "model": {"values": ["attention", "baseline"]},
                           "seed": {"values": list(range(seeds))},
                           **{k: {"value": yaml.safe_load(v)} for k, v in fixed.items()}}}
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def sweep_wall(seeds: int, workers: int, overrides: list[str]) -> float:
    """Wall seconds of ``python -m project.sweep`` on the digits spec, default options
    but ``--workers``."""
    with tempfile.TemporaryDirectory() as d:
        spec = digits_spec(seeds, overrides, Path(d) / "spec.yaml")
        return timed([sys.executable, "-m", "project.sweep", str(spec), "--workers",
                      str(workers), "--out", f"{d}/runs"])


def measure(repeats: int, sweep: bool, seeds: int, workers: int,
            overrides: list[str] = ()) -> dict[str, list]:
    """Interleaved repeats of: import torch, the ``FLOORS`` imports, Lightning's import with
    the teardown, one run, (the sweep)."""
    out: dict[str, list] = {"import_s": [], **{k: [] for k in FLOORS}, "teardown_s": [],
                            "runs": [], "sweep_s": []}
    for _ in range(repeats):
        out["import_s"].append(import_s("import torch"))
        for key, (statement, _) in FLOORS.items():
            out[key].append(import_s(statement))
        out["teardown_s"].append(import_s(LIGHTNING) - out["lightning_s"][-1])
        out["runs"].append(one_run(list(overrides)))
        if sweep:
            out["sweep_s"].append(sweep_wall(seeds, workers, list(overrides)))
    return out


def report(m: dict[str, list]) -> list[str]:
    """The ratios' lines: medians, each repeat in brackets, target met or missed."""
    def med(xs):
        return statistics.median(xs)

    def each(xs):
        return "[" + ", ".join(f"{x:.1f}" for x in xs) + "]"

    imp = m["import_s"]
    wall, train, outside = ([r[k] for r in m["runs"]] for k in ("wall_s", "train_s", "outside_s"))
    ratio = med([o / i for o, i in zip(outside, imp)])
    lines = [f"python -c 'import torch': {med(imp):.1f} s {each(imp)}",
             f"one digits run: wall {med(wall):.1f} s {each(wall)}, training "
             f"{med(train):.1f} s {each(train)}, outside training {med(outside):.1f} s "
             f"{each(outside)}",
             f"outside training / import torch = {ratio:.2f}x (median of per-repeat ratios; "
             f"target <= {IMPORT_TARGET}x: {'met' if ratio <= IMPORT_TARGET else 'MISSED'})"]
    for key, (statement, what) in FLOORS.items():
        if m.get(key):
            xs = m[key]
            floor = med([x / i for x, i in zip(xs, imp)])
            lines.append(f"python -c '{statement}': {med(xs):.1f} s {each(xs)}; / import torch "
                         f"= {floor:.2f}x (median of per-repeat ratios), {what}: the target "
                         f"is {'within' if floor < IMPORT_TARGET else 'OUT OF'} reach")
    if m.get("teardown_s"):
        down = m["teardown_s"]
        lines.append(f"interpreter teardown after {LIGHTNING}: {med(down):.1f} s "
                     f"{each(down)} (python -c '{LIGHTNING}' less its floor above), which "
                     "python -m project.train skips")
    if m["sweep_s"]:
        sw = m["sweep_s"]
        sratio = med([s / w for s, w in zip(sw, wall)])
        lines += [f"digits sweep: wall {med(sw):.1f} s {each(sw)}",
                  f"sweep / one run = {sratio:.2f}x (median of per-repeat ratios; target <= "
                  f"{SWEEP_TARGET}x: {'met' if sratio <= SWEEP_TARGET else 'MISSED'})"]
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sweep", action="store_true", help="also the 16-run sweep / one run ratio")
    p.add_argument("--seeds", type=int, default=8, help="seeds per model in the sweep")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p.add_argument("--workers", type=int, default=cpus, help="sweep workers (default: CPUs)")
    p.add_argument("overrides", nargs="*", help="config overrides for every run (shrink only "
                                                "to test this script)")
    args = p.parse_args(argv)
    if args.repeats < 1 or args.seeds < 1 or args.workers < 1:
        return user_error("--repeats, --seeds and --workers must be >= 1")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at start: {load}; {cpus} CPUs available; {args.repeats} interleaved "
          f"repeats (median [each])", flush=True)
    try:
        m = measure(args.repeats, args.sweep, args.seeds, args.workers, args.overrides)
    except RuntimeError as e:
        return user_error(e)
    print("\n".join(report(m)))
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0
