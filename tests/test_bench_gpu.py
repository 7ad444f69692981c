"""project/benchmarks/gpu.py (scripts/bench_gpu.py): its verdict line, and the whole
comparison run on the CPU (the sessions so far had no GPU, so this smoke run is what guards
the script until one runs it)."""

import json
import subprocess
import sys

import pytest

from project.benchmarks import gpu as bench_gpu
from tests.conftest import ROOT


def result_with(rates: dict[str, float], k: int = 64) -> dict:
    return {"device": "X", "trainer": "gpu", "date": "D", "workers": 4, "k": k,
            "tasks": ["digits"],
            "modes": {mode: {"seeds": k if mode == "vectorised" else 1, "runs": 2, "wall_s": 60.0,
                             "runs_per_min": rate, "step_ms_per_run": {"digits": 1.0}}
                      for mode, rate in rates.items()}}


def test_verdict_divides_vectorised_runs_per_min_by_one_process_per_run():
    text = bench_gpu.render(result_with({"processes": 3.0, "workers": 9.0, "vectorised": 61.5}))
    assert "vectorised K=64: 20.5x the runs/min of one process per run (target 20x: met)" in text
    assert "| workers (1 seed) | 2 | 60 | 9.0 | 3.00x |" in text
    missed = bench_gpu.render(result_with({"processes": 4.0, "workers": 9.0, "vectorised": 79.0}))
    assert "19.8x the runs/min of one process per run (target 20x: missed)" in missed


@pytest.mark.slow
def test_runs_all_three_modes_on_the_cpu_and_writes_its_file(tmp_path):
    out, doc = tmp_path / "bench_gpu.json", tmp_path / "benchmarks_gpu.md"
    args = ["--trainer", "default", "--seeds", "2", "--process-seeds", "1", "--workers", "2",
            "--tasks", "italypower", "--out", str(out), "--doc", str(doc)]
    done = subprocess.run([sys.executable, "scripts/bench_gpu.py", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    modes = result["modes"]
    # one seed x {attention, baseline} for the two per-run modes, K = 2 seeds vectorised
    assert {mode: v["runs"] for mode, v in modes.items()} == {
        "processes": 2, "workers": 2, "vectorised": 4}
    assert all(v["wall_s"] > 0 and v["step_ms_per_run"]["italypower"] > 0
               for v in modes.values())
    ratio = modes["vectorised"]["runs"] / modes["vectorised"]["wall_s"] / (
        modes["processes"]["runs"] / modes["processes"]["wall_s"])
    text = doc.read_text()
    assert text.startswith("# Benchmarks on a GPU\n\nWritten by `python scripts/bench_gpu.py "
                           + " ".join(args) + "`")
    assert f"vectorised K=2: {ratio:.1f}x the runs/min of one process per run" in text
    assert "CPU only" in result["device"]
