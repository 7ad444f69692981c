"""The run folder decides finished / unfinished / stale and reads its files back safely."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from project import run_folder


def test_states(tmp_path):
    tmp_path = tmp_path / "run"
    tmp_path.mkdir()
    assert not run_folder.is_finished(tmp_path) and not run_folder.is_unfinished(tmp_path)
    run_folder.save_config(tmp_path, OmegaConf.create({"task": {"target": 1.0}}))
    assert run_folder.is_unfinished(tmp_path)
    run_folder.write_summary(tmp_path, {"task": "adding", "model": "baseline", "seed": 0})
    assert run_folder.is_finished(tmp_path) and not run_folder.is_unfinished(tmp_path)
    assert run_folder.find_run_dirs(tmp_path.parent) == [tmp_path]
    same = OmegaConf.create({"task": {"target": 1.0}})
    assert not run_folder.is_stale(same, tmp_path)
    assert run_folder.is_stale(OmegaConf.create({"task": {"target": 0.9}}), tmp_path)


def test_summary_is_written_atomically_and_refuses_nan(tmp_path):
    run_folder.write_summary(tmp_path, {"task": "a", "model": "b", "seed": 0})
    with pytest.raises(ValueError):
        run_folder.write_summary(tmp_path, {"task": "a", "model": "b", "seed": float("nan")})
    # the failed write left the old summary whole and no temporary file behind
    assert json.loads((tmp_path / "summary.json").read_text())["seed"] == 0
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_a_damaged_summary_is_named_with_its_remedy(tmp_path):
    (tmp_path / "summary.json").write_text('{"task": "adding", "model"')
    with pytest.raises(run_folder.DamagedRunFolder, match="summary.json is damaged.*delete it"):
        run_folder.read_summary(tmp_path)


def test_curve_reads_floats_and_blank_cells_as_nan(tmp_path):
    (tmp_path / "metrics.csv").write_text("step,train_time_s,val/acc\n0,0.0,0.5\n10,1.5,\n")
    rows = run_folder.read_curve(tmp_path)
    assert rows[0] == {"step": 0.0, "train_time_s": 0.0, "val/acc": 0.5}
    assert rows[1]["step"] == 10.0 and rows[1]["val/acc"] != rows[1]["val/acc"]
