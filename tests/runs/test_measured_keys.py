"""One rule for what a run measures: a run's identity (its folder) and the resume / staleness
check (``config_differences``) count the same config keys, so they can never disagree."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from project.runs import folder as run_folder
from project.runs.identity import identity_of, is_measured
from tests.conftest import ROOT, compose_train

TASKS = sorted(p.stem for p in (ROOT / "conf" / "task").glob("*.yaml"))
MODELS = sorted(p.stem for p in (ROOT / "conf" / "model").glob("*.yaml"))
NAMES = ("task.name", "model.name")  # they name the config files the identity is read against


def test_the_fused_choice_gives_one_folder_and_resumes_either_way(tmp_path):
    off = compose_train(["task=adding", "+task.net.fused=off"], tmp_path)
    on = compose_train(["task=adding", "+task.net.fused=on"], tmp_path)
    assert identity_of(off) == identity_of(on)
    run_folder.save_config(tmp_path, off)
    assert run_folder.config_differences(on, tmp_path) == []
    run_folder.check_resume_config(on, tmp_path)  # was ConfigChanged: task.net.fused off -> on
    assert not run_folder.is_stale(on, tmp_path)


def changed(value):
    """A value of the same kind that differs from ``value`` (resolved)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "_x"
    if isinstance(value, list):
        return [*value, "x"]
    return 1  # None


def leaves(node, prefix=""):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, node


FAST = [("adding", "attention"), ("italypower", "baseline")]
EVERY = [*((t, "attention") for t in TASKS), *(("adding", m) for m in MODELS)]


@pytest.mark.parametrize("task,model", FAST)
def test_identity_and_resume_check_count_the_same_keys(task, model, tmp_path):
    same_keys_counted(task, model, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("task,model", sorted(set(EVERY) - set(FAST)))
def test_identity_and_resume_check_count_the_same_keys_in_every_config(task, model, tmp_path):
    same_keys_counted(task, model, tmp_path)


def same_keys_counted(task: str, model: str, tmp_path: Path) -> None:
    """Change each leaf of the composed config in turn: the identity changes exactly when the
    resume check sees a difference, exactly for the keys ``is_measured`` names."""
    cfg = compose_train([f"task={task}", f"model={model}"], tmp_path)
    base = identity_of(cfg)
    run_folder.save_config(tmp_path, cfg)
    plain = OmegaConf.to_container(cfg, resolve=True)
    checked = 0
    for key, value in leaves(plain):
        if key in NAMES:
            continue
        edited = cfg.copy()
        OmegaConf.update(edited, key, changed(value), merge=False)
        ident = identity_of(edited)
        in_identity = (ident.setting_overrides, ident.variant_overrides) != (
            base.setting_overrides, base.variant_overrides)
        in_resume_check = bool(run_folder.config_differences(edited, tmp_path))
        assert in_identity == in_resume_check == is_measured(key), key
        checked += 1
    assert checked > 30  # the whole config was walked, the mechanics keys among it
    assert not is_measured("task.net.fused") and not is_measured("trainer.num_threads")
