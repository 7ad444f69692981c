"""The package layering (pyproject.toml [tool.importlinter]) holds: `lint-imports` passes."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.conftest import ROOT


def test_import_contracts_are_kept():
    linter = shutil.which("lint-imports")
    assert linter, "lint-imports not found: pip install -r requirements-dev.txt"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's project, not another
    out = subprocess.run([linter, "--no-cache"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "3 kept, 0 broken" in out.stdout
