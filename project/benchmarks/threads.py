"""Thread settings alone and beside a busy process: SST-2 attention ms/step, side by side.

Each measurement is one fresh ``python -m project.train`` process (``steps`` updates, one
evaluation at the end) whose ms/step is its summary's ``step_time_ms`` (the training clock,
evaluation excluded). A setting is ``default`` (no thread option: what a user gets) or a
fixed count ``N`` (``trainer.num_threads=N``), optionally with ``/active`` or ``/passive``
(``OMP_WAIT_POLICY``). Each setting runs alone and beside one busy process (a pure-Python
spin loop, one core's worth of load), the repeats interleaved setting by setting so that
the machine's load drifts over all of them alike. The claim is the ratio of the default to
the best fixed count in each condition (target <= 1.3x).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass

from project.benchmarks.environment import ROOT
from project.cli import user_error

TARGET = 1.3
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OMP_WAIT_POLICY", "SUITE_THREADS")


@dataclass(frozen=True)
class Setting:
    """A thread setting: ``threads`` None is the suite's default; ``wait_policy`` None leaves
    ``OMP_WAIT_POLICY`` to the suite."""

    threads: int | None
    wait_policy: str | None = None

    @classmethod
    def parse(cls, text: str) -> Setting:
        name, _, policy = text.partition("/")
        if policy and policy not in ("active", "passive"):
            raise ValueError(f"setting {text!r}: the wait policy is active or passive")
        if name == "default":
            return cls(None, policy or None)
        if not name.isdigit() or int(name) < 1:
            raise ValueError(f"setting {text!r}: expected default or a thread count >= 1")
        return cls(int(name), policy or None)

    def __str__(self) -> str:
        name = "default" if self.threads is None else str(self.threads)
        return name + (f"/{self.wait_policy}" if self.wait_policy else "")


def run_env(setting: Setting) -> dict[str, str]:
    """The environment of a measured run: no inherited thread variables (the caller's shell
    may export ``OMP_NUM_THREADS=1``), the setting's wait policy if it names one."""
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV}
    env.update({"WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    if setting.wait_policy:
        env["OMP_WAIT_POLICY"] = setting.wait_policy.upper()
    return env


def measure(setting: Setting, steps: int, overrides: list[str]) -> float:
    """ms per training step of one fresh ``project.train`` process with ``setting``."""
    from project.runs import folder as run_folder

    with tempfile.TemporaryDirectory() as d:
        threads = [] if setting.threads is None else [f"trainer.num_threads={setting.threads}"]
        cmd = [sys.executable, "-m", "project.train", *overrides,
               f"task.budget.max_steps={steps}", f"task.budget.val_every_n_steps={steps}",
               "task.stop_at_target=false", "trainer.enable_progress_bar=false",
               *threads, f"run_dir={d}"]
        proc = subprocess.run(cmd, cwd=ROOT, env=run_env(setting), capture_output=True,
                              text=True)
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
        return float(run_folder.read_summary(d)["step_time_ms"])


@contextmanager
def busy_process():
    """One process spinning on a core for as long as the block runs."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def bench(settings: list[Setting], steps: int, repeats: int,
          overrides: list[str]) -> dict[str, dict[str, list[float]]]:
    """``{condition: {setting: [ms/step per repeat]}}`` for conditions alone and busy."""
    out: dict[str, dict[str, list[float]]] = {"alone": {}, "busy": {}}
    for _ in range(repeats):
        for condition in out:
            for setting in settings:
                if condition == "busy":
                    with busy_process():
                        ms = measure(setting, steps, overrides)
                else:
                    ms = measure(setting, steps, overrides)
                out[condition].setdefault(str(setting), []).append(ms)
    return out


def verdict(times: dict[str, list[float]]) -> tuple[float, str, float] | None:
    """(default's median / best fixed count's median, best setting, its median) for one
    condition, or None without both a default and a fixed count."""
    medians = {s: statistics.median(v) for s, v in times.items()}
    fixed = {s: m for s, m in medians.items() if not s.startswith("default")}
    defaults = [m for s, m in medians.items() if s == "default"]
    if not fixed or not defaults:
        return None
    best = min(fixed, key=fixed.get)
    return defaults[0] / fixed[best], best, fixed[best]


def table(results: dict[str, dict[str, list[float]]]) -> str:
    """Markdown: one row per setting, median ms/step alone and busy (repeats in brackets)."""
    def cell(v: list[float]) -> str:
        return f"{statistics.median(v):.1f} [{', '.join(f'{x:.1f}' for x in v)}]"

    rows = ["| setting | alone ms/step | beside a busy process ms/step |", "|---|---|---|"]
    for s in results["alone"]:
        rows.append(f"| {s} | {cell(results['alone'][s])} | {cell(results['busy'][s])} |")
    for condition, times in results.items():
        v = verdict(times)
        if v:
            ratio, best, ms = v
            met = "met" if ratio <= TARGET else "MISSED"
            rows.append(f"\n{condition}: default / best fixed ({best}, {ms:.1f} ms) = "
                        f"{ratio:.2f}x (target <= {TARGET}x: {met})")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    p.add_argument("--settings", default=",".join(["default", *map(str, range(1, cpus + 1))]),
                   help="comma-separated: default, N, N/active, N/passive (default: default "
                        "and 1..CPUs available to this process)")
    p.add_argument("--task", default="sst2")
    args = p.parse_args(argv)
    try:
        settings = [Setting.parse(s) for s in args.settings.split(",")]
        if args.steps < 1 or args.repeats < 1:
            raise ValueError("--steps and --repeats must be >= 1")
    except ValueError as e:
        return user_error(e)
    print(f"load average at start: {', '.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"{cpus} CPUs available; task={args.task} model=attention, {args.steps} steps, "
          f"{args.repeats} interleaved repeats (median [repeats])", flush=True)
    results = bench(settings, args.steps, args.repeats, [f"task={args.task}", "model=attention"])
    print(table(results))
    print(f"load average at end: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0
