"""scripts/padding_ablation.sh: each arm's overrides reach its runs in its own folder, arm (a)
trains only what the committed Table 1 lacks, and bad input is one error line (dry runs)."""

import os
import shutil
import signal
import subprocess
import time

import pandas as pd
import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "padding_ablation.sh"


def script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.parametrize("args, message", [
    (["--arms", "a,x"], "--arms: unknown arm x (a, b, c, d)"),
    (["--profile", "tpu"], "--profile tpu: expected cpu or gpu"),
    (["--bogus"], "unknown option --bogus"),
])
def test_bad_options_are_one_error_line(args, message):
    done = script(*args, "--dry-run")
    assert done.returncode == 2 and done.stderr == f"error: {message}\n", done.stderr


@pytest.mark.slow
def test_the_arms_dry_run_their_own_folders_with_their_overrides(tmp_path):
    # empty --results: no kept arm is read (docs/results/padding_ablation holds this repo's)
    done = script("--arms", "a,c", "--dry-run", "--results", str(tmp_path),
                  "--runs", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    rates = [ln for ln in done.stdout.splitlines() if ln.startswith("rate ")]
    # (a): T0 = 1000 x 2 problems x 2 models x seeds 2-4 = 12 runs a rate, the 68 cells of
    # the committed table covered; (c): T0 500, 1000 x 2 x 2 x 5 seeds = 40
    assert rates[:4] == [ln for ln in rates if ln.endswith("/runs/raffel2016_cpu_5seeds")]
    assert all("12 to run" in ln and "68 covered by the earlier table" in ln for ln in rates[:4])
    assert len(rates) == 8 and all("40 to run" in ln and ln.endswith("/runs/raffel2016_cpu-c")
                                   for ln in rates[4:])
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  ")]
    assert len(runs) == 4 * 12 + 4 * 40
    # the experiment's variable lengths (an override of the task's default, so named in the
    # run's identity) in arm (a); arm (c) sets the task's own fixed lengths back
    assert all("task.data.variable_length=true" in ln for ln in runs[:48])
    assert not any("variable_length" in ln for ln in runs[48:])
    assert not (tmp_path / "runs").exists()  # a dry run makes nothing


@pytest.mark.parametrize("models, n", [("attention_tanh,baseline", 20),
                                      ("attention_tanh", 10)])
def test_problems_and_models_limit_the_arm_to_them(tmp_path, models, n):
    """--problems multiply (--models): arm (d) plans only those cells (4 rates x T0 500, 1000
    x the models x 5 seeds), each run with (d)'s overrides."""
    done = script("--arms", "d", "--problems", "multiply", "--models", models, "--dry-run",
                  "--results", str(tmp_path), "--runs", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    rates = [ln for ln in done.stdout.splitlines() if ln.startswith("rate ")]
    assert len(rates) == 4 and all(f"{n} to run" in ln for ln in rates), rates
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  ")]
    assert len(runs) == 4 * n and all(ln.startswith("  multiply[") for ln in runs)
    assert {ln.split("] ")[1].split()[0] for ln in runs} == set(models.split(","))
    assert all("task.net.padding=unmasked" in ln and "task.data.layout=authors" in ln
               for ln in runs)


def test_the_gpu_profile_plans_the_long_arms(tmp_path):
    """--profile gpu: an arm at T0 = 5000 and 10000 with the paper's 100-epoch budget."""
    done = script("--profile", "gpu", "--arms", "b", "--dry-run", "--results", str(tmp_path),
                  "--runs", str(tmp_path / "runs"))
    assert done.returncode == 0, done.stderr
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  ")]
    lengths = [ln.split("task.seq_len=")[1].split("]")[0] for ln in runs]
    assert len(runs) == 160 and lengths.count("5000") == lengths.count("10000") == 80
    first = [ln for ln in runs if "optimizer.lr=0.01," in ln]
    assert len(first) == 40 and all(ln.endswith("max_steps=100000") for ln in first)
    assert all("task.net.padding=unmasked" in ln for ln in runs)


def test_an_unknown_model_is_one_error_line(tmp_path):
    done = script("--arms", "d", "--models", "attention", "--dry-run", "--results",
                  str(tmp_path), "--runs", str(tmp_path / "runs"))
    assert done.returncode == 2
    assert done.stderr == "error: --models attention: expected some of attention_tanh, baseline\n"


def test_kept_arms_are_read_not_trained_again(tmp_path):
    """An arm kept by an earlier invocation (its folder under --results) is not trained: the
    table is made from the kept per-seed CSVs, in the order the arms were given."""
    seeds = (ROOT / "docs" / "results" / "raffel2016" / "table_raffel2016_seeds.csv").read_text()
    mechanism = (ROOT / "docs" / "results" / "padding_pilot" / "mechanism.csv").read_text()
    for arm in ("a", "b"):
        (tmp_path / f"cpu-{arm}").mkdir()
        (tmp_path / f"cpu-{arm}" / "table_raffel2016_seeds.csv").write_text(seeds)
        (tmp_path / f"cpu-{arm}" / "mechanism.csv").write_text(mechanism)
    done = script("--arms", "b,a", "--results", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"arm b: kept in {tmp_path}/cpu-b (remove that folder to "
                                  f"train it again)\narm a: kept in {tmp_path}/cpu-a")
    assert not any(ln.startswith("rate ") for ln in done.stdout.splitlines())  # nothing planned
    header = (tmp_path / "ablation_cpu.md").read_text().splitlines()[0]
    assert header.index("(b) unmasked") < header.index("(a) masked")
    assert (tmp_path / "ablation_cpu.csv").exists()
    mechanism_header = (tmp_path / "ablation_cpu_mechanism.md").read_text().splitlines()[0]
    assert mechanism_header == "| problem | T0 | model | (b) unmasked | (a) masked |"


@pytest.mark.slow
def test_a_stopped_arm_keeps_what_it_finished_and_a_rerun_elsewhere_continues_from_it(tmp_path):
    """Stopped (TERM to its process group, as Ctrl-C or a scheduler does) after its first runs
    finish, an arm keeps their table, invocations and mechanism rows; with its runs folder gone
    (a clone, a new machine) the same command plans only the runs the snapshot lacks."""
    results, runs = tmp_path / "results", tmp_path / "runs"
    command = ["bash", str(SCRIPT), "--arms", "c", "--results", str(results), "--runs", str(runs)]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list(runs.rglob("summary.json")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(1)
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    unfinished = results / "cpu-c-unfinished"
    assert proc.returncode == 143 and f"what it finished is kept in {unfinished}" in err, err
    finished = len(list(runs.rglob("summary.json")))  # rate 1e-2 runs, one per (cell, seed)
    seeds = pd.read_csv(unfinished / "table_raffel2016_seeds.csv")
    assert len(seeds) == finished and (seeds["rates_run"] == 1).all()
    assert len(pd.read_csv(unfinished / "mechanism.csv")) == finished
    assert (unfinished / "overrides").read_text() == "task.data.variable_length=false\n"
    assert "stopped by a signal" in (unfinished / "invocations.log").read_text()
    assert not (results / "cpu-c").exists() and not (results / "cpu-c-unfinished.partial").exists()

    shutil.rmtree(runs)
    done = script(*command[2:], "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"arm c: continues from {unfinished}" in done.stdout
    first = next(ln for ln in done.stdout.splitlines() if ln.startswith("rate 0.01:"))
    assert (f"{40 - finished} to run" in first
            and f"{finished} covered by the earlier table" in first), first
