"""scripts/bench_vectorized_ops.py runs both paths and writes its section (a short run)."""

import subprocess
import sys

import pytest

from tests.conftest import ROOT


@pytest.mark.slow
def test_writes_its_section_with_both_paths_per_op(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nbody\n")
    done = subprocess.run([sys.executable, "scripts/bench_vectorized_ops.py", "--tasks",
                           "italypower", "--k", "2", "--steps", "5", "--doc", str(doc)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    text = doc.read_text()
    assert text.startswith("# Benchmarks\n\nbody\n")
    assert "## Where a vectorised update goes, op by op" in text
    assert "<!-- vectorized-ops:start -->" in text and "<!-- vectorized-ops:end -->" in text
    table = [line for line in text.splitlines() if line.startswith("| aten::")]
    assert table and all(len(line.split("|")) == 6 for line in table)
    assert "training clock (profiled), ms per member-update: single run" in text
