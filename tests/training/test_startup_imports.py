"""``python -m project.train --help`` and config errors answer without importing torch; a
sweep plans without importing ``datasets``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "lightning")


def run_train(args: list[str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    """``python -X importtime -m project.train *args`` and the top-level modules it imported
    (from importtime's lines on stderr: ``import time: self | cumulative | name``)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "project.train", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip().split(".")[0]
               for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "hydra" in modules  # the parse works: Hydra is always imported
    return proc, modules


def test_help_imports_neither_torch_nor_lightning():
    proc, modules = run_train(["--help"])
    assert proc.returncode == 0 and "Powered by Hydra" in proc.stdout
    assert not modules & set(HEAVY)


@pytest.mark.parametrize("override, message", [
    ("optimizer.lr=-1", "error: optimizer.lr=-1 must be > 0"),
    ("task.budget.max_steps=abc", "error: task.budget.max_steps='abc' must be an integer"),
    ("task.no_such_key=1", "Key 'no_such_key' is not in struct"),
])
def test_a_config_error_fails_before_torch_is_imported(override, message, tmp_path):
    proc, modules = run_train(["task=digits", override, f"run_dir={tmp_path / 'run'}"])
    assert proc.returncode != 0 and message in proc.stderr
    assert not modules & set(HEAVY)
    assert not (tmp_path / "run").exists()  # nothing written


def test_a_runs_identity_is_found_without_importing_datasets(tmp_path):
    """A sweep plans its runs (identities, data fingerprints: the files' bytes) without the
    ``datasets`` library, which only reading a table imports (~0.7 s)."""
    code = ("import sys; from project.runs.identity import identity_of; "
            "from project.runs.compose import compose_train; "
            f"i = identity_of(compose_train(['task=digits'], {str(tmp_path)!r})); "
            "print(i.data_fingerprint is not None, 'datasets' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "False"]
