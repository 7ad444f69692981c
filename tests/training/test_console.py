"""A single run's console: in a log file the evaluation lines and the result, each once, no
library message; in a terminal one progress bar (issue #30)."""

from __future__ import annotations

import fcntl
import logging
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from types import SimpleNamespace

import pytest

from project.training import console
from tests.conftest import ROOT

# digits shrunk: evaluations at steps 0, 25 and 50; with a logger (a run shorter than its
# logging interval made Lightning warn)
RUN = ["task=digits", "model=attention", "seed=0", "task.budget.max_steps=50",
       "task.budget.val_every_n_steps=25", "trainer.progress_bar_refresh=5",
       "trainer.num_threads=1", "logger=csv"]
EVALUATIONS = 3
FEW = 1  # lines besides the evaluation lines: the result line
LIBRARY_NOISE = re.compile(r"warning|tip:|deprecat|site-packages|^INFO|GPU available", re.I)


def command(run_dir) -> list[str]:
    return [sys.executable, "-m", "project.train", *RUN, f"run_dir={run_dir}"]


def environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SUITE_DEBUG", None)
    return env


def test_a_runs_console_in_a_log_file_is_one_line_per_evaluation_and_the_result(tmp_path):
    run_dir = tmp_path / "run"
    done = subprocess.run(command(run_dir), cwd=ROOT, env=environment(), text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    assert done.returncode == 0, done.stdout
    assert "\r" not in done.stdout and "\x1b" not in done.stdout  # plain lines only
    lines = done.stdout.splitlines()
    assert len(lines) == len(set(lines)), done.stdout  # every message once
    assert not [line for line in lines if LIBRARY_NOISE.search(line)], done.stdout
    evaluations = [line for line in lines if line.startswith("step ")]
    assert [line.split(":")[0] for line in evaluations] == ["step 0/50", "step 25/50",
                                                            "step 50/50"]
    assert len(lines) <= EVALUATIONS + FEW, done.stdout
    figures = re.findall(r"\d+\.\d+", done.stdout)  # rounded on the console: 4 digits
    assert figures and all(len(f.replace(".", "").lstrip("0")) <= 4 for f in figures), figures
    assert lines[-1].endswith(f"-> {run_dir}")  # the run folder last


def read_terminal(master: int, process: subprocess.Popen, timeout: float = 300) -> str:
    """Everything ``process`` wrote to the terminal until it exited (killed past ``timeout``)."""
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        if select.select([master], [], [], 1.0)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    if process.poll() is None:
        process.kill()
    process.wait()
    return b"".join(chunks).decode(errors="replace")


def test_in_a_terminal_the_same_run_draws_one_bar(tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    process = subprocess.Popen(command(tmp_path / "run"), cwd=ROOT, env=environment(),
                               stdin=slave, stdout=slave, stderr=slave)
    os.close(slave)
    try:
        text = read_terminal(master, process)
    finally:
        os.close(master)
    assert process.returncode == 0, text
    bars = {m.group(1) for m in re.finditer(r"(?:^|[\r\n])([A-Za-z][\w ]*?): *\d+%\|", text)}
    assert bars == {"training"}, text  # no validation, test or sanity-check bar
    assert "\x1b[A" not in text  # no second bar drawn above or below it
    assert "steps/s" in text
    lines = [line.strip() for line in re.split(r"[\r\n]+", text) if line.strip()]
    assert sum(line.startswith("step ") for line in lines) == EVALUATIONS, text
    assert not [line for line in lines if LIBRARY_NOISE.search(line)], text


def tracker(values: list[float], direction: str = "max", target: float = 0.85):
    rows = [{"step": 25 * i, "train_time_s": 1.25 * i, "val/acc": v}
            for i, v in enumerate(values)]
    return SimpleNamespace(rows=rows, metric="val/acc", direction=direction, target=target)


@pytest.mark.parametrize("values, direction, expected", [
    ([0.5, 0.91234567, 0.8], "max",
     "step 50/100: val/acc 0.8, best 0.9123, target 0.85 reached at step 25 (2.5 s training)"),
    ([0.5, 0.7], "max",
     "step 25/100: val/acc 0.7, best 0.7, target 0.85 not reached (1.2 s training)"),
    ([2.0, 0.5, 1.0], "min",
     "step 50/100: val/acc 1, best 0.5, target 0.85 reached at step 25 (2.5 s training)"),
])
def test_an_evaluation_line_names_the_step_value_best_and_target(values, direction, expected):
    assert console.EvaluationLines(tracker(values, direction), 100).line() == expected


@pytest.fixture
def lightning_logging():
    """Lightning's loggers and the root level, restored after the test."""
    import lightning  # noqa: F401 - its import adds its handler

    names = [*console.LIGHTNING_LOGGERS, ""]  # "": the root logger
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level,
                 logging.getLogger(n).propagate) for n in names}
    yield
    for n, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:], logger.propagate = handlers, propagate
        logger.setLevel(level)


class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("verbose, env, shown", [
    (False, "", []), (True, "", ["GPU available"]), (False, "1", ["GPU available"])])
def test_library_info_lines_reach_one_handler_only_when_asked(verbose, env, shown,
                                                               lightning_logging, monkeypatch):
    monkeypatch.setenv("SUITE_DEBUG", env)
    root = Recorder()
    logging.getLogger().handlers[:] = [root]
    console.quiet_libraries(verbose)
    logging.getLogger("lightning.pytorch.utilities.rank_zero").info("GPU available")
    assert root.messages == shown
    assert not any(logging.getLogger(n).handlers for n in console.LIGHTNING_LOGGERS)


def test_a_verbose_run_shows_lightnings_info_lines_and_saves_no_unspecified_checkpoint(
        tmp_path, tiny_adding, caplog, lightning_logging):
    from project.training.run import train
    from tests.conftest import compose_train

    caplog.set_level(logging.INFO)
    train(compose_train([*tiny_adding, "verbose=true"], tmp_path))
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("lightning")]
    assert any(m.startswith("GPU available") for m in messages), messages  # verbose shows it
    # every checkpoint the suite saves says what it holds (Lightning logs it if not)
    assert not [m for m in messages if "weights_only" in m], messages
