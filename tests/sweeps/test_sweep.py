"""Sweeps: spec validation against the Hydra config, the local runner (parallel, failures,
SIGKILL + rerun), the SLURM launcher config and Hydra multirun folders."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from project.analysis.local_runs import load_local_runs
from project.sweeps.backends.processes import plan_threads
from project.sweeps.spec import (CONF_DIR, SweepRun, expand, load_spec, override_strings,
                                parse_spec, validate_runs)

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
COMMAND = ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"]
TINY = {"task": {"value": "adding"}, "task.seq_len": {"value": 20},
        "task.budget.max_steps": {"value": 100}, "task.budget.val_every_n_steps": {"value": 50}}


def spec_dict(**params) -> dict:
    return {"program": "project/train.py", "method": "grid", "command": list(COMMAND),
            "metric": {"name": "steps_to_target", "goal": "minimize"},
            "parameters": {**TINY, **params}}


def write_spec(tmp_path: Path, spec: dict) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def check(spec: dict) -> list[SweepRun]:
    parsed = parse_spec(spec)
    return validate_runs(parsed, expand(parsed))


def sweep(spec_path: Path, out: Path, *extra: str, **kw) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "project.sweep", str(spec_path), "--workers", "2",
           "--out", str(out), *extra]
    return subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


# -- validation (no training) ------------------------------------------------------------
@pytest.mark.parametrize("path", sorted((CONF_DIR / "sweep").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_sweep_spec_composes(path):
    spec = load_spec(path)
    runs = validate_runs(spec, expand(spec))
    sizes = [len(p.values) for p in spec.parameters.values()]
    assert len(runs) == math.prod(sizes)
    dirs = {r.identity.folder() for r in runs}
    assert len(dirs) == len(runs), "two runs of the spec share a run folder"


@pytest.mark.parametrize("params, message", [
    ({"task.nope": {"value": 1}}, "'task.nope'"),
    ({"task.seq_len": {"values": [50, "long"]}}, "'task.seq_len'"),
    ({"task.budget.max_steps": {"value": 1.5}}, "'task.budget.max_steps'"),
    ({"model": {"values": []}}, "'model'.*empty"),
    ({"model": {"values": ["attention", "transformer"]}}, "'model'"),
    ({"seed": {"values": [0, "one"]}}, "'seed'"),
    ({"optimizer.lr": {"min": 1e-4, "max": 1e-2}}, "'optimizer.lr'.*grid"),
])
def test_bad_parameters_fail_naming_the_parameter(params, message):
    with pytest.raises(ValueError, match=message):
        check(spec_dict(**params))


@pytest.mark.parametrize("command", [
    ["${env}", "${interpreter}", "${program}", "${args}"],                  # W&B's default
    ["${env}", "${interpreter}", "-m", "project.sweep", "${args_no_hyphens}"],
    ["${env}", "${interpreter}", "-m", "project.train", "${args}"],
    ["bash", "-c", "-m", "project.train", "${args_no_hyphens}"],
    ["${env}", "${interpreter}", "-m", "project.train"],
])
def test_command_that_does_not_reach_train_is_refused(command):
    with pytest.raises(ValueError, match="command"):
        parse_spec({**spec_dict(), "command": command})


def test_random_search_is_seeded_and_bayes_needs_the_server():
    spec = {**spec_dict(**{"optimizer.lr": {"distribution": "log_uniform_values",
                                            "min": 1e-4, "max": 1e-2}}),
            "method": "random", "run_cap": 5}
    first, again = (expand(parse_spec(spec)) for _ in range(2))
    assert first == again and len(first) == 5
    assert all(1e-4 <= a["optimizer.lr"] <= 1e-2 for a in first)
    assert len(check(spec)) == 5
    with pytest.raises(ValueError, match="W&B server"):
        expand(parse_spec({**spec, "method": "bayes"}))


def test_overrides_are_what_wandb_agent_passes_and_folders_are_deterministic():
    from wandb.sdk.launch.sweeps.utils import create_sweep_command_args

    assert override_strings({"optimizer.lr": 1e-4, "model": "baseline"}) == [
        "optimizer.lr=0.0001", "model=baseline"]
    assignment = {"optimizer.lr": 3e-3, "seed": 7, "model": "attention",
                  "task.stop_at_target": False, "task.target": None, "task.net.hidden": 1e6,
                  "x": [1, 2.5], "y": {"a": "b c"}}
    agent = create_sweep_command_args({"args": {k: {"value": v} for k, v in assignment.items()}})
    assert override_strings(assignment) == agent["args_no_hyphens"]
    runs = check(spec_dict(model={"values": ["attention", "baseline"]},
                           seed={"values": [0, 1]}))
    first = [Path("o") / r.identity.folder() for r in runs]
    assert first[0] == Path("o/adding/attention/seed0/task.budget.max_steps=100,"
                            "task.budget.val_every_n_steps=50,task.seq_len=20")
    assert len(set(first)) == 4
    assert first[0].parts[:4] == ("o", "adding", "attention", "seed0")


def test_threads_never_oversubscribe():
    assert plan_threads(2, None, 2) == (2, 1)
    assert plan_threads(1, None, 16) == (1, 16)
    assert plan_threads(8, None, 2) == (2, 1)
    with pytest.raises(ValueError):
        plan_threads(2, 4, 4)


def test_slurm_launcher_config_composes():
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["hydra/launcher=slurm", "task=adding"],
                      return_hydra_config=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert launcher.gpus_per_node == 1 and launcher.timeout_min > 0


# -- the runner (tiny training runs in subprocesses) ----------------------------------------
def summaries(out: Path) -> list[Path]:
    return sorted(out.rglob("summary.json"))


def test_runner_completes_every_run_once_and_reports_a_failure(tmp_path):
    """lr=-1 fails inside train.py (after validation, which checks types only): reported with
    its error line while the other runs complete; exit status 1."""
    spec = write_spec(tmp_path, spec_dict(model={"values": ["attention", "baseline"]},
                                          **{"optimizer.lr": {"values": [3e-3, -1.0]}}))
    out = tmp_path / "runs"
    proc = sweep(spec, out)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 1, log
    assert "2 of 4 runs failed" in log and "optimizer.lr=-1.0 must be > 0" in log
    runs = load_local_runs(out)
    assert len(runs) == 2 and set(runs["model"]) == {"attention", "baseline"}
    assert (runs["hparams.lr"] == 3e-3).all()


def test_two_workers_finishing_at_once_are_both_recorded(tmp_path):
    """Two runs of identical size start together on 2 workers and end within moments of
    each other: both summaries are whole, both runs are in the results, and no temporary
    file is left behind."""
    spec = write_spec(tmp_path, spec_dict(seed={"values": [0, 1]}))
    out = tmp_path / "runs"
    proc = sweep(spec, out)
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log
    for path in summaries(out):
        assert json.loads(path.read_text())["steps_trained"] == 100
    assert len(load_local_runs(out)) == 2
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_sigkill_mid_sweep_then_rerun_gives_each_run_exactly_once(tmp_path):
    spec = write_spec(tmp_path, spec_dict(model={"values": ["attention", "baseline"]},
                                          seed={"values": [0, 1]},
                                          **{"task.budget.max_steps": {"value": 300}}))
    out = tmp_path / "runs"
    proc = sweep(spec, out, start_new_session=True)  # its own process group, as from a shell
    deadline, mid = time.monotonic() + 300, []
    while time.monotonic() < deadline and proc.poll() is None:
        mid = [c for c in out.rglob("last.ckpt") if not (c.parent.parent / "summary.json").exists()]
        if mid:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and every training run it started
    proc.wait()
    assert mid, "no run had checkpointed before the kill"
    for path in summaries(out):  # whatever finished before the kill is complete JSON
        json.loads(path.read_text())
    assert len(summaries(out)) < 4, "the sweep finished before it could be killed"

    rerun = sweep(spec, out)
    log, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, log
    assert "resumed" in log, log  # a run killed after its first checkpoint continues from it
    runs = load_local_runs(out)
    assert len(runs) == 4
    assert not runs.duplicated(["model", "seed"]).any()
    assert all(json.loads(p.read_text())["steps_trained"] > 0 for p in summaries(out))

    again = sweep(spec, out)
    log, _ = again.communicate(timeout=120)
    assert again.returncode == 0 and "4 finished, 0 to run" in log


@pytest.mark.slow
def test_hydra_multirun_folders_are_deterministic_and_distinct(tmp_path):
    cmd = [sys.executable, "-m", "project.train", "-m", "task=adding",
           "model=attention,baseline", "seed=0,1", "task.seq_len=20",
           "task.budget.max_steps=50", "task.budget.val_every_n_steps=50",
           "trainer.enable_progress_bar=false", f"runs_root={tmp_path}"]
    subprocess.run(cmd, cwd=ROOT, env=ENV, check=True, capture_output=True, timeout=600)
    found = sorted(str(p.parent.relative_to(tmp_path)) for p in tmp_path.rglob("summary.json"))
    assert found == [f"adding/{m}/seed{s}/task.budget.max_steps=50,task.budget.val_every_n_steps"
                     f"=50,task.seq_len=20" for m in ("attention", "baseline") for s in (0, 1)]


# -- Raffel & Ellis table and the results-section writer ------------------------------------
def fake_run(task, model, lr, T, seed, steps, reached, budget=1000, best=1.0, auc=0.5):
    from project.analysis.local_runs import flatten_summary

    return {**flatten_summary({"task": task, "model": model, "seed": seed, "cell": "",
                               "steps_to_target": steps, "reached": reached,
                               "budget_steps": budget, "best_val": best, "auc": auc,
                               "step_time_ms": 1.0, "train_time_s": steps / 1000,
                               "hparams": {"lr": lr, "seq_len": T}}), "run_dir": ""}


def test_raffel_cell_results_keep_every_rate_with_its_censored_median():
    import pandas as pd

    from project.analysis.raffel_table import cell_results

    rows = [fake_run("adding", "attention", 1e-2, 50, 0, 300, True),
            fake_run("adding", "attention", 1e-2, 50, 1, 500, True),
            fake_run("adding", "attention", 1e-3, 50, 0, 100, True),      # faster, 1/2 only
            fake_run("adding", "attention", 1e-3, 50, 1, 1000, False),
            fake_run("adding", "baseline", 1e-2, 50, 0, 1000, False, best=0.4, auc=0.3),
            fake_run("adding", "baseline", 1e-2, 50, 1, 1000, False, best=0.6, auc=0.3),
            fake_run("adding", "baseline", 1e-3, 50, 0, 1000, False, best=0.9, auc=0.2),
            fake_run("adding", "baseline", 1e-3, 50, 1, 1000, False, best=0.9, auc=0.2),
            fake_run("multiply", "attention", 1e-2, 50, 0, 1000, False),
            fake_run("sst2", "attention", 1e-2, 50, 0, 10, True)]         # not a Raffel task
    cells = cell_results(pd.DataFrame(rows)).set_index(["problem", "T", "model", "lr"])
    assert len(cells) == 5  # sst2 is not a Raffel task
    assert cells.loc[("add", 50, "attention", 1e-2), "median_steps"] == 400  # (300 + 500) / 2
    assert cells.loc[("add", 50, "attention", 1e-2), "solved"] == 2
    assert cells.loc[("add", 50, "attention", 1e-3), "solved"] == 1  # one run censored
    assert math.isinf(cells.loc[("add", 50, "mean", 1e-2), "median_steps"])  # never solved


def test_results_section_replaces_only_its_own_section():
    sys.path.insert(0, str(ROOT / "scripts"))
    from results_section import replace_section

    doc = ("# Results\n\n## Data\n\nkeep\n\n## Main table\n\nold\n\n### Figures\nold\n\n"
           "## Other\n\nkeep too\n")
    new = replace_section(doc, "## Main table", "new")
    assert new == "# Results\n\n## Data\n\nkeep\n\n## Main table\n\nnew\n\n## Other\n\nkeep too\n"
    assert replace_section(new, "## Main table", "new") == new
    assert replace_section(doc, "## Raffel", "r").endswith("keep too\n\n## Raffel\n\nr\n")


def test_finished_run_made_with_an_edited_config_is_stale(tmp_path):
    from omegaconf import OmegaConf

    from project.runs import folder as run_folder
    from project.runs.identity import MEASURED_SECTIONS

    run = check(spec_dict())[0]
    run_dir = tmp_path / run.identity.folder()
    run_dir.mkdir(parents=True)
    sections = {k: run.config[k] for k in MEASURED_SECTIONS}
    OmegaConf.save(OmegaConf.create(sections), run_dir / "config.yaml", resolve=True)
    (run_dir / "summary.json").write_text("{}")
    assert not run_folder.is_stale(run.config, run_dir)
    edited = OmegaConf.load(run_dir / "config.yaml")
    edited.task.target = 0.5
    OmegaConf.save(edited, run_dir / "config.yaml")
    assert run_folder.is_stale(run.config, run_dir)
