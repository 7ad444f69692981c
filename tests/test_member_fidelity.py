"""scripts/member_fidelity.py: single runs against the group's members, at a tiny budget."""

import subprocess
import sys

from tests.conftest import ROOT


def test_member_fidelity_compares_each_seed_and_counts_the_same_figures():
    out = subprocess.run(
        [sys.executable, "scripts/member_fidelity.py", "--task", "italypower", "--model",
         "baseline", "--seeds", "3", "--subgroup", "2", "task.budget.max_steps=20",
         "task.budget.val_every_n_steps=10"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("italypower baseline, 3 seeds, 20 steps at most")
    rows = [line.split() for line in lines[2:5]]
    assert [r[0] for r in rows] == ["0", "1", "2"]
    # 3 figures for the single run, 3 for the member, then yes or no
    assert all(len(r) == 8 and r[-1] in ("yes", "no") for r in rows), rows
    same = sum(r[-1] == "yes" for r in rows)
    assert lines[5] == f"members ending with their single run's figures: {same} of 3"
    assert lines[6].startswith("members of a group of 2 ending with the group of 3's figures: ")
