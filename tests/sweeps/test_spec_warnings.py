"""Sweep-spec honesty: what only the W&B server implements is named in one warning line
when the local runner expands a spec (project/sweeps/spec.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from project.sweeps.spec import expand, parse_spec

ROOT = Path(__file__).resolve().parents[2]
COMMAND = ["${env}", "${interpreter}", "-m", "project.train", "${args_no_hyphens}"]


def spec(**extra) -> dict:
    return {"method": "grid", "metric": {"name": "steps_to_target", "goal": "minimize"},
            "command": COMMAND, "parameters": {"model": {"values": ["attention", "baseline"]}},
            **extra}


def warnings_of(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if "warning" in line]


def test_early_terminate_is_named_in_one_warning_and_the_grid_still_runs(capsys):
    raw = spec(early_terminate={"type": "hyperband", "min_iter": 3})
    runs = expand(parse_spec(raw, Path("s.yaml")))
    assert len(runs) == 2
    lines = warnings_of(capsys)
    assert lines == ["warning: s.yaml: the local runner does not implement early_terminate "
                     "(W&B server only: scripts/wandb_sweep.sh)"]


def test_bayes_is_named_with_early_terminate_in_the_same_line_then_refused(capsys):
    raw = spec(method="bayes", early_terminate={"type": "hyperband", "min_iter": 3})
    with pytest.raises(ValueError, match="method bayes needs the W&B server"):
        expand(parse_spec(raw, Path("s.yaml")))
    lines = warnings_of(capsys)
    assert len(lines) == 1
    assert "early_terminate, method: bayes" in lines[0]


def test_a_spec_the_local_runner_implements_gets_no_warning(capsys):
    assert len(expand(parse_spec(spec(), Path("s.yaml")))) == 2
    assert warnings_of(capsys) == []


def test_local_runner_prints_the_warning_once(tmp_path):
    path = tmp_path / "et.yaml"
    path.write_text(yaml.safe_dump(spec(early_terminate={"type": "hyperband", "min_iter": 3})))
    out = subprocess.run([sys.executable, "-m", "project.sweep", str(path), "--dry-run",
                          "--out", str(tmp_path / "runs")], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    text = out.stdout + out.stderr
    assert text.count("does not implement early_terminate") == 1
