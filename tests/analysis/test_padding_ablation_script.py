"""scripts/padding_ablation.sh: each arm's overrides reach its runs in its own folder, arm (a)
trains only what the committed Table 1 lacks, and bad input is one error line (dry runs)."""

import subprocess

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
def test_the_arms_dry_run_their_own_folders_with_their_overrides():
    done = script("--arms", "a,c", "--dry-run")
    assert done.returncode == 0, done.stderr
    rates = [ln for ln in done.stdout.splitlines() if ln.startswith("rate ")]
    # (a): T0 = 1000 x 2 problems x 2 models x seeds 2-4 = 12 runs a rate, the 68 cells of
    # the committed table covered; (c): T0 500, 1000 x 2 x 2 x 5 seeds = 40
    assert rates[:4] == [ln for ln in rates if "-> runs/raffel2016_cpu_5seeds" in ln]
    assert all("12 to run" in ln and "68 covered by the earlier table" in ln for ln in rates[:4])
    assert len(rates) == 8 and all("40 to run" in ln and ln.endswith("-> runs/raffel2016_cpu-c")
                                   for ln in rates[4:])
    runs = [ln for ln in done.stdout.splitlines() if ln.startswith("  ")]
    assert len(runs) == 4 * 12 + 4 * 40
    # the experiment's variable lengths (an override of the task's default, so named in the
    # run's identity) in arm (a); arm (c) sets the task's own fixed lengths back
    assert all("task.data.variable_length=true" in ln for ln in runs[:48])
    assert not any("variable_length" in ln for ln in runs[48:])
    assert not (ROOT / "runs" / "raffel2016_cpu-c").exists()
