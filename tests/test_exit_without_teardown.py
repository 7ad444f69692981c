"""``project.cli.exit_without_teardown``: a command ends as ``sys.exit`` would, its exit
handlers run and its output flushed, less the interpreter's teardown; ``python -m
project.train`` ends that way."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# an object whose finaliser prints: it runs in the interpreter's teardown, and only there
NOISY = ("import atexit, sys\n"
         "class Noisy:\n"
         "    def __del__(self):\n"
         "        print('teardown ran', flush=True)\n"
         "keep = Noisy()\n"
         "atexit.register(lambda: print('atexit ran', end=' '))\n")


def python(code: str) -> subprocess.CompletedProcess:
    """``python -c code`` with its output buffered (not ``PYTHONUNBUFFERED``), as in a pipe."""
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
           "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_exit_handlers_run_the_output_is_flushed_and_the_teardown_skipped():
    proc = python(NOISY + "from project.cli import exit_without_teardown\n"
                          "sys.stdout.write('unflushed ')\n"
                          "sys.stderr.write('error text ')\n"
                          "exit_without_teardown(3)\n"
                          "print('after the exit')\n")
    assert proc.returncode == 3
    assert proc.stdout == "unflushed atexit ran "  # no teardown, nothing after the call
    assert proc.stderr == "error text "


def test_a_live_thread_that_is_not_a_daemon_is_waited_for():
    proc = python("import threading, time\n"
                  "from project.cli import exit_without_teardown\n"
                  "def work():\n"
                  "    time.sleep(0.5)\n"
                  "    print('thread done', flush=True)\n"
                  "threading.Thread(target=work).start()\n"
                  "exit_without_teardown(4)\n")
    assert proc.returncode == 4
    assert proc.stdout == "thread done\n"


def test_a_training_run_ends_without_the_teardown(tmp_path):
    run_dir = tmp_path / "run"
    args = ["project.train", "task=digits", "model=attention", "seed=0",
            "task.budget.max_steps=10", "task.budget.val_every_n_steps=5",
            "trainer.enable_progress_bar=false", f"run_dir={run_dir}"]
    proc = python(NOISY + f"sys.argv = {args!r}\n"
                          "import runpy\n"
                          "runpy.run_module('project.train', run_name='__main__', alter_sys=True)\n"
                          "print('after the run')\n")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "digits attention seed=0: " in proc.stdout and str(run_dir) in proc.stdout
    assert proc.stdout.endswith("atexit ran ")  # the handlers ran last; no teardown
    assert (run_dir / "summary.json").exists()
