"""The package layering holds (pyproject.toml [tool.importlinter]: `lint-imports` passes), and
only the commands at the top of project/ run as `python -m`."""

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


def test_only_the_commands_at_the_top_of_project_have_a_main_block():
    libraries = [p for p in (ROOT / "project").rglob("*.py") if p.parent != ROOT / "project"]
    assert [str(p.relative_to(ROOT)) for p in libraries
            if '__name__ == "__main__"' in p.read_text()] == []
