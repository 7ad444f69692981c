"""A run's identity comes from its composed config, whoever launched it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from project.runs.identity import RunIdentity, identity_of
from project.sweeps.spec import expand, parse_spec, validate_runs
from tests.conftest import ROOT, compose_train


def test_identity_lists_exactly_what_differs_from_the_task_and_model_files(tmp_path):
    cfg = compose_train(["task=adding", "model=attention", "seed=3", "task.seq_len=50",
                         "model.heads=4", "trainer.num_threads=1", "optimizer.lr=0.01"],
                        tmp_path)
    ident = identity_of(cfg)
    # trainer.num_threads (and the test helper's own trainer.* keys) change no measurement
    assert ident == RunIdentity("adding", "attention", 3,
                                ("optimizer.lr=0.01", "task.seq_len=50"), ("model.heads=4",))
    assert ident.setting == "adding[optimizer.lr=0.01,task.seq_len=50]"
    assert ident.variant == "attention[model.heads=4]"
    assert ident.folder() == Path("adding/attention/seed3/model.heads=4,optimizer.lr=0.01,"
                                  "task.seq_len=50")


def test_a_default_run_has_no_overrides_and_measuring_trainer_keys_count(tmp_path):
    plain = identity_of(compose_train(["task=italypower", "model=baseline"], tmp_path))
    assert (plain.setting, plain.variant) == ("italypower", "baseline")
    assert plain.folder() == Path("italypower/baseline/seed0")
    budget = identity_of(compose_train(["task=italypower", "trainer.max_steps=50"], tmp_path))
    assert budget.setting_overrides == ("trainer.max_steps=50",)


def test_python_sweep_and_cli_launches_agree(tmp_path):
    overrides = ["task=adding", "model=baseline", "seed=1", "task.seq_len=20",
                 "task.budget.max_steps=20", "task.budget.val_every_n_steps=20"]
    from_python = identity_of(compose_train(overrides, tmp_path))
    spec = parse_spec({"method": "grid", "command": ["${env}", "${interpreter}", "-m",
                       "project.train", "${args_no_hyphens}"],
                       "parameters": {o.split("=")[0]: {"value": yaml.safe_load(o.split("=")[1])}
                                      for o in overrides}})
    from_sweep = validate_runs(spec, expand(spec))[0].identity
    assert from_sweep == from_python
    # the CLI names its folder from the identity and stores the identity in config.yaml
    proc = subprocess.run([sys.executable, "-m", "project.train", *overrides,
                           f"runs_root={tmp_path}", "trainer.enable_progress_bar=false"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    folder = tmp_path / from_python.folder()
    saved = yaml.safe_load((folder / "config.yaml").read_text())["identity"]
    assert saved["setting_overrides"] == list(from_python.setting_overrides)
    assert saved["variant"] == "baseline" and saved["seed"] == 1


def test_a_task_name_without_its_config_file_is_refused(tmp_path):
    cfg = compose_train(["task=adding", "task.name=mine"], tmp_path)
    with pytest.raises(ValueError, match="conf/task/mine.yaml"):
        identity_of(cfg)


def test_the_fused_path_choice_is_not_part_of_the_setting(tmp_path):
    fused = identity_of(compose_train(["task=adding", "+task.net.fused=off"], tmp_path))
    assert fused.setting_overrides == () and fused.folder() == Path("adding/attention/seed0")
