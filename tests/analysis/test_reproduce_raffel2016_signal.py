"""scripts/reproduce_raffel2016.sh stopped by SIGTERM: it ends at once, logs the invocation,
and leaves no training process behind (its runs checkpoint and resume on a rerun)."""

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import ROOT

SCRIPT = ROOT / "scripts" / "reproduce_raffel2016.sh"


def training_processes(out) -> list[str]:
    """Command lines of the processes training into ``out``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = (open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode())
        except OSError:
            continue
        if "project.train" in cmd and str(out) in cmd:
            found.append(cmd)
    return found


@pytest.mark.slow
def test_sigterm_stops_the_script_and_its_runs_at_once(tmp_path):
    out = tmp_path / "raffel"
    env = {**os.environ, "WANDB_MODE": "offline"}
    proc = subprocess.Popen(  # its own process group: everything it starts is killed after
        ["bash", str(SCRIPT), "--profile", "cpu", "--lengths", "50", "--seeds", "0",
         "--epochs", "3", "--problems", "adding", "--workers", "1", "--out", str(out),
         "--no-doc"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not training_processes(out):  # wait for the first run to be training
            assert proc.poll() is None and time.monotonic() < deadline, "no run started"
            time.sleep(0.5)
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        # a run of 3000 updates takes far longer than this: the script must not wait for it
        assert proc.wait(timeout=30) == 143
        assert training_processes(out) == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    log = (out / "invocations.log").read_text()
    assert "stopped by a signal" in log
