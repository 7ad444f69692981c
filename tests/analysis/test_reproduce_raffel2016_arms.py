"""scripts/reproduce_raffel2016.sh --set/--arm: the overrides reach every run, each arm has
its own runs folder, and bad input is one ``error:`` line with exit status 2 (dry runs: no
training)."""

import subprocess

import pytest

from project.raffel_waves import parse_sets
from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "reproduce_raffel2016.sh"
SMALL = ["--profile", "cpu", "--lengths", "50", "--seeds", "0", "--problems", "adding",
         "--dry-run"]


def script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *SMALL, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_an_arm_named_by_its_overrides_gets_its_own_folder_and_every_run_the_overrides():
    done = script("--set", "optimizer.weight_decay=0.5", "--set", "task.data.val_size=500")
    assert done.returncode == 0, done.stderr
    rates = [ln for ln in done.stdout.splitlines() if ln.startswith("rate ")]
    folder = "runs/raffel2016_cpu-optimizer.weight_decay=0.5,task.data.val_size=500"
    assert len(rates) == 4 and all(ln.endswith(f"-> {folder}") for ln in rates), done.stdout
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  ")]
    assert len(runs) == 8 and all("optimizer.weight_decay=0.5" in ln for ln in runs)
    assert not (ROOT / folder).exists()  # a dry run makes nothing


def test_a_named_arm_goes_to_its_folder():
    done = script("--arm", "unmasked", "--set", "optimizer.weight_decay=0.5")
    assert done.returncode == 0, done.stderr
    assert "-> runs/raffel2016_cpu-unmasked\n" in done.stdout


@pytest.mark.parametrize("args, message", [
    (["--set", "weight_decay"], "--set weight_decay: expected KEY=VALUE"),
    (["--arm", "../x"], "--arm ../x: expected a folder name"),
    (["--set", "a=1", "--earlier", "docs"],
     "--earlier docs: its runs were made under the overrides [], these are under [a=1]"),
])
def test_bad_arm_options_are_one_error_line(args, message):
    done = script(*args)
    assert done.returncode == 2 and done.stderr.startswith(f"error: {message}"), done.stderr
    assert done.stderr.count("\n") == 1


def test_the_waves_refuse_overrides_of_what_they_set_and_keep_values_as_given():
    assert parse_sets(["task.data.variable_length=false", "+task.net.x=a=b"]) == {
        "task.data.variable_length": "false", "+task.net.x": "a=b"}
    for bad in ("task.seq_len=5", "optimizer.lr=1", "seed=3", "novalue=", "=1"):
        with pytest.raises(ValueError, match="--set"):
            parse_sets([bad])
