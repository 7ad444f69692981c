"""The default thread count: available CPUs less busy ones, OpenMP waiting passively."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from project.training import threads
from tests.conftest import ROOT


@pytest.mark.parametrize("cpus, others, expected", [(2, 0, 2), (2, 1, 1), (2, 7, 1), (8, 3, 5),
                                                    (1, 0, 1)])
def test_default_threads_are_the_cpus_not_busy(cpus, others, expected):
    assert threads.default_threads(cpus, others) == expected


def test_runnable_others_counts_this_process_out(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("3.10 2.00 1.50 4/312 98765\n")  # 4 runnable, this reader among them
    assert threads.runnable_others(samples=3, interval_s=0, loadavg=loadavg) == 3
    assert threads.runnable_others(loadavg=tmp_path / "absent") is None


def test_the_default_sets_passive_waiting_and_the_free_cpus(monkeypatch):
    for name in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "default_threads", lambda: 3)
    assert threads.settle_thread_environment(0) == {"OMP_WAIT_POLICY": "PASSIVE",
                                                    "OMP_NUM_THREADS": "3"}
    assert os.environ["OMP_NUM_THREADS"] == "3"


def test_a_chosen_count_or_a_set_environment_is_kept(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert threads.settle_thread_environment(2) == {}  # trainer.num_threads=2: torch is told
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # e.g. a sweep backend's share of the cores
    assert threads.settle_thread_environment(0) == {}
    assert os.environ["OMP_NUM_THREADS"] == "1" and os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


@pytest.mark.slow
def test_torch_imported_after_it_takes_the_settings():
    """OpenMP reads its environment when torch loads it: set in-process before the import,
    the values reach it (OMP_DISPLAY_ENV makes libgomp print them)."""
    code = ("from project.training import threads; "
            "threads.default_threads = lambda: 1; threads.settle_thread_environment(0); "
            "import torch; print(torch.get_num_threads())")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "PYTHONPATH": str(ROOT), "OMP_DISPLAY_ENV": "TRUE"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "1"
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in proc.stderr
