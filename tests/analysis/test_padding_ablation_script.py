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
