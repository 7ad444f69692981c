"""Vectorised seeds: member k of a stacked group is the single run of seed k (same initial
weights, same batches, same dropout masks, the same weights after training up to float
rounding), keeps the single run's run-folder contract, stops or diverges alone, and resumes
after SIGKILL exactly as an uninterrupted group.

Also a driver (run as a subprocess by the resume test)::

    python -m tests.training.test_vectorized ROOT POINT STEP SEEDS [overrides...]
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
import torch
from torch.nn import functional as F
from hydra.utils import instantiate
from omegaconf import OmegaConf

from project.runs import folder as run_folder
from project.models.build import build_network
from project.training import vectorized
from project.training.run import train, train_vectorized
from project.data.base import derived_seed
from project.training.vectorized import (DropoutMasks, StackedMembers, VectorizeError,
                                         member_batches, member_networks, stacked_batch)
from tests.conftest import ROOT, compose_train

SHORT = ["task.budget.max_steps=50", "task.budget.val_every_n_steps=25"]
ITALY = ["task=italypower", "model=attention", *SHORT]  # dropout 0.1, 16-series batches
DIGITS = ["task=digits", "model=baseline", *SHORT]       # dropout 0.1, patches, 10 classes
TIME_FIELDS = {"train_time_s", "time_to_target", "step_time_ms", "samples_per_s", "peak_mem_mb",
               "clock_shared_by"}  # the clock, and how many runs it timed


def weights(run_dir: Path, which: str = "last") -> dict[str, torch.Tensor]:
    path = (run_folder.last_checkpoint(run_dir) if which == "last"
            else vectorized.best_checkpoint_path(run_dir))
    return torch.load(path, map_location="cpu", weights_only=True)["state_dict"]


def max_relative_difference(a: dict, b: dict) -> float:
    assert sorted(a) == sorted(b)
    return max(float((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-12)) for k in a)


def group(tmp_path: Path, overrides: list[str], seeds, hook=None, name: str = "v") -> list:
    cfgs = [compose_train([*overrides, f"seed={s}"], tmp_path / name / f"seed{s}") for s in seeds]
    return train_vectorized(cfgs, hook)


def single(tmp_path: Path, overrides: list[str], seed: int) -> dict:
    return train(compose_train([*overrides, f"seed={seed}"], tmp_path / "single" / f"seed{seed}"))


def figures(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k not in TIME_FIELDS}


# -- equivalence with single runs -----------------------------------------------------------
@pytest.mark.parametrize("overrides", [ITALY, DIGITS], ids=["italypower", "digits"])
def test_initial_weights_are_bitwise_the_single_runs(overrides):
    cfg = compose_train(overrides, "/tmp/unused")
    seeds = [0, 3, 7]
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup("fit")
    networks = member_networks(cfg, seeds, dm.spec)
    stacked = StackedMembers(networks, torch.nn.MSELoss())
    # the group's pooling sums elementwise (pooling.weighted_sum); the networks it took do not
    assert stacked.base.pooling.elementwise and not networks[0].pooling.elementwise
    for k, seed in enumerate(seeds):  # run.train's recipe, spelled out
        L.seed_everything(seed, workers=True, verbose=False)
        single_dm = instantiate(cfg.task.data, seed=seed)
        single_dm.setup("fit")
        torch.manual_seed(seed)
        net = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                            OmegaConf.to_container(cfg.model, resolve=True), single_dm.spec)
        for name, p in net.named_parameters():
            assert torch.equal(stacked.params()[name][k], p.detach()), (seed, name)


def test_members_draw_the_dropout_masks_of_their_single_runs():
    """Bit for bit: member k's masks at step s are what ``F.dropout`` draws in its single run
    (the global generator seeded ``derived_seed(seed, s, 1)``, the layers in forward order),
    two dropout layers of different shapes."""
    cfg = compose_train(["task=digits", "task.net.head_hidden=32", "task.net.dropout=0.3"],
                        "/tmp/unused")
    seeds = [0, 3, 7]
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup("fit")
    stacked = StackedMembers(member_networks(cfg, seeds, dm.spec), torch.nn.MSELoss())
    batch = member_batches(dm, 0)[0]
    masks = DropoutMasks(stacked, seeds)
    for step in (0, 1, 17):
        got = masks.at(step, batch["x"], batch.get("mask"), torch.device("cpu"))
        assert len(got) == 2 and got[0].shape != got[1].shape
        for k, seed in enumerate(seeds):
            torch.manual_seed(derived_seed(seed, step, 1))
            for layer in got:
                expected = F.dropout(torch.ones(layer.shape[1:]), 0.3, training=True)
                assert torch.equal(layer[k], expected), (seed, step)


def test_members_see_the_batches_of_their_single_runs(tmp_path, monkeypatch):
    """The batches the group trains member k on are the ones the single run of seed k trains
    on (both recorded on the real training paths), step by step across data epochs."""
    overrides = ["task=italypower", "task.budget.max_steps=10", "task.budget.val_every_n_steps=5"]
    seen: list[torch.Tensor] = []
    real_batch = vectorized.VectorizedGroup._batch

    def recording(self):
        x, mask, y, masks = real_batch(self)
        seen.append(x.clone())
        return x, mask, y, masks

    monkeypatch.setattr(vectorized.VectorizedGroup, "_batch", recording)
    group(tmp_path, overrides, [0, 5])

    class Record(L.Callback):
        def __init__(self):
            self.batches = []

        def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
            self.batches += [b["x"].clone() for b in batch]  # one per update of the batch

    for k, seed in enumerate([0, 5]):
        rec = Record()
        train(compose_train([*overrides, f"seed={seed}"], tmp_path / f"s{seed}"), callbacks=[rec])
        assert len(rec.batches) == len(seen) == 10  # 53 training series / 16: 3 per data epoch
        for step, (mine, theirs) in enumerate(zip(seen, rec.batches)):
            assert torch.equal(mine[k], theirs), (seed, step)


def test_member_batches_are_a_function_of_seed_and_step():
    cfg = compose_train(["task=digits"], "/tmp/unused")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup("fit")
    for seed in (0, 4):
        own = instantiate(cfg.task.data, seed=seed)
        own.setup("fit")
        loader = iter(own.train_dataloader())  # the single run's loader, from step 0
        batches = member_batches(dm, seed)
        for step in range(25):  # 22 batches per data epoch: crosses an epoch boundary
            assert torch.equal(batches[step]["x"], next(loader)[0]["x"]), (seed, step)


@pytest.mark.parametrize("task", ["digits", "adding"])
def test_a_groups_batch_stacks_its_members_batches(task):
    """``stacked_batch`` (one gather for sliced data, digits; each member's batch stacked
    otherwise, the generated adding problem) equals slicing each member's batch alone."""
    cfg = compose_train([f"task={task}"], "/tmp/unused")
    dm = instantiate(cfg.task.data, seed=0)
    dm.setup("fit")
    members = [member_batches(dm, seed) for seed in (0, 3, 7)]
    for step in (0, 1, 30):
        stacked = stacked_batch(members, step)
        for k, seed in enumerate((0, 3, 7)):
            alone = member_batches(dm, seed)[step]
            assert set(alone) <= set(stacked)
            for key, value in alone.items():
                assert torch.equal(stacked[key][k], value), (task, seed, step, key)


@pytest.mark.parametrize("dropout", ["0.0", "0.1"])
def test_after_50_steps_members_match_their_single_runs(tmp_path, dropout):
    """Weights within 1e-5 relative of the single run after 50 steps; with dropout too,
    since each member draws its single run's masks. The curve and summary agree."""
    overrides = [*ITALY, f"task.net.dropout={dropout}"]
    results = group(tmp_path, overrides, [0, 1, 2])
    for seed in (0, 2):
        alone = single(tmp_path, overrides, seed)
        mine = tmp_path / "v" / f"seed{seed}"
        assert max_relative_difference(weights(mine), weights(tmp_path / "single" / f"seed{seed}")) < 1e-5
        got = results[seed]
        assert set(got) == set(alone) and got == run_folder.read_summary(mine)
        for key in ("steps_trained", "steps_to_target", "reached", "diverged", "best_val",
                    "task", "model", "seed", "setting", "variant", "target", "budget_steps"):
            assert got[key] == alone[key], key
        assert (got["clock_shared_by"], alone["clock_shared_by"]) == (3, 1)  # a group's clock
        for key in ("test_at_best", "test_at_budget", "train_at_budget"):
            assert alone[key] is not None
            assert got[key] == pytest.approx(alone[key], abs=1e-3), key
        curve, theirs = run_folder.read_curve(mine), run_folder.read_curve(tmp_path / "single" / f"seed{seed}")
        assert [r["step"] for r in curve] == [r["step"] for r in theirs] == [0, 25, 50]
        assert [sorted(r) for r in curve] == [sorted(r) for r in theirs]
        for r, t in zip(curve, theirs):
            for key in r:
                if key != "train_time_s" and not math.isnan(t[key]):
                    assert r[key] == pytest.approx(t[key], rel=1e-4, abs=1e-6), key


def test_a_members_results_do_not_depend_on_its_group(tmp_path):
    """Seeds 0 and 2 in a group of 3 and in a group of 2: bit for bit the same weights and
    figures (a table's per-seed figures are reproduced by any group holding the seed)."""
    three = group(tmp_path, ITALY, [0, 1, 2])
    two = group(tmp_path, ITALY, [0, 2], name="w")
    for seed, a, b in ((0, three[0], two[0]), (2, three[2], two[1])):
        mine = weights(tmp_path / "v" / f"seed{seed}")
        theirs = weights(tmp_path / "w" / f"seed{seed}")
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs), seed
        assert figures(a) == figures(b), seed


@pytest.mark.parametrize("fused", ["auto", "off"])
def test_runs_whose_single_run_is_fused_train_one_by_one(tmp_path, fused):
    """The adding problem at T = 100: a single run takes the fused path (fused=auto), which has
    no vmap form, so its seeds train one by one, bit for bit their single runs; with
    fused=off they stay a group."""
    overrides = ["task=adding", "model=attention", "task.budget.max_steps=20",
                 "task.budget.val_every_n_steps=10",
                 *([] if fused == "auto" else [f"+task.net.fused={fused}"])]
    results = group(tmp_path, overrides, [0, 1])
    alone = single(tmp_path, overrides, 1)
    assert [r["clock_shared_by"] for r in results] == ([1, 1] if fused == "auto" else [2, 2])
    mine, theirs = weights(tmp_path / "v" / "seed1"), weights(tmp_path / "single" / "seed1")
    if fused == "auto":
        assert figures(results[1]) == figures(alone)
        assert all(torch.equal(mine[k], theirs[k]) for k in theirs)
    else:
        assert max_relative_difference(mine, theirs) < 1e-5


# -- stopping, divergence ---------------------------------------------------------------------
def frozen_slices(g, k: int) -> list[torch.Tensor]:
    opt = g.optimizer.optimizer
    out = []
    for p in g.stacked.stacked:
        out.append(p.detach()[k].clone())
        out += [v[k].clone() for v in opt.state.get(p, {}).values() if torch.is_tensor(v) and v.dim()]
    return out


def test_a_member_at_its_target_stops_alone_and_matches_its_single_run(tmp_path):
    overrides = ["task=italypower", "task.budget.max_steps=100", "task.budget.val_every_n_steps=25",
                 "task.stop_at_target=true", "task.target=0.9",
                 "optimizer.lr=0.003"]  # a rate at which the seeds reach 0.9 at different steps
    after_stop: dict[int, list] = {}

    def watch(point, g):  # a stopped member's parameters and Adam state never change again
        for k, m in enumerate(g.members):
            if not m.active:
                now = frozen_slices(g, k)
                before = after_stop.setdefault(k, now)
                assert all(torch.equal(a, b) for a, b in zip(before, now)), (k, g.step)

    results = group(tmp_path, overrides, [0, 1, 2], hook=watch)
    stopped = [r["steps_trained"] for r in results]
    assert min(stopped) < 100 and after_stop, f"no member stopped early: {stopped}"
    for seed in (0, 1, 2):
        alone = single(tmp_path, overrides, seed)
        for key in ("steps_trained", "steps_to_target", "reached", "best_val"):
            assert results[seed][key] == alone[key], (seed, key)
        assert max_relative_difference(weights(tmp_path / "v" / f"seed{seed}"),
                                       weights(tmp_path / "single" / f"seed{seed}")) < 1e-5


def test_a_diverging_member_is_frozen_and_marked_while_the_others_train_on(tmp_path, monkeypatch):
    """Member seed=1 sees a NaN input from step 7 on: it is marked diverged with 7 steps
    trained and no test figure; its slice stays finite and still; seeds 0 and 2 end as their
    single runs."""
    real = vectorized.member_batches

    class Poisoned:
        def __init__(self, batches):
            self.batches = batches

        def __getitem__(self, step):
            batch = dict(self.batches[step])
            if step >= 7:
                batch["x"] = batch["x"] * math.nan
            return batch

    monkeypatch.setattr(vectorized, "member_batches",
                        lambda dm, seed: Poisoned(real(dm, seed)) if seed == 1 else real(dm, seed))
    slices = []

    def watch(point, g):
        if not g.members[1].active:
            slices.append(frozen_slices(g, 1))

    results = group(tmp_path, ITALY, [0, 1, 2], hook=watch)
    bad = results[1]
    assert bad["diverged"] and bad["steps_trained"] == 7 and bad["test_at_best"] is None
    assert not bad["reached"] and bad["steps_to_target"] == 50
    assert run_folder.read_summary(tmp_path / "v" / "seed1") == bad
    assert slices and all(torch.isfinite(t).all() for t in slices[0])
    assert all(torch.equal(a, b) for s in slices for a, b in zip(s, slices[0]))
    for seed in (0, 2):
        assert not results[seed]["diverged"] and results[seed]["steps_trained"] == 50
        single(tmp_path, ITALY, seed)
        assert max_relative_difference(weights(tmp_path / "v" / f"seed{seed}"),
                                       weights(tmp_path / "single" / f"seed{seed}")) < 1e-5


# -- refusals ---------------------------------------------------------------------------------
@pytest.mark.parametrize("extra, message", [
    (["logger=wandb"], "logger=wandb cannot log vectorised seeds"),
    (["trainer.precision=bf16-mixed"], "32-true only"),
    (["+task.net.fused=on"], "fused=on cannot run under torch.func.vmap"),
])
def test_configs_it_cannot_vectorise_are_refused_in_one_line(tmp_path, extra, message):
    with pytest.raises(VectorizeError, match=message) as e:
        group(tmp_path, [*ITALY, *extra], [0, 1])
    assert "\n" not in str(e.value)
    assert not (tmp_path / "v").exists()


def test_runs_that_differ_by_more_than_the_seed_are_refused(tmp_path):
    cfgs = [compose_train([*ITALY, "seed=0"], tmp_path / "a"),
            compose_train([*ITALY, "seed=1", "optimizer.lr=0.005"], tmp_path / "b")]
    with pytest.raises(VectorizeError, match="differ by more than their seed"):
        train_vectorized(cfgs)


# -- resume after SIGKILL ---------------------------------------------------------------------
RESUME = ["task=digits", "task.budget.max_steps=48", "task.budget.val_every_n_steps=8",
          "trainer.checkpoint_every_n_steps=5", "task.net.dropout=0.2"]


def drive(root: Path, point: str, step: int, seeds: str, overrides: list[str]):
    cmd = [sys.executable, "-m", "tests.training.test_vectorized", str(root), point, str(step),
           seeds, *overrides]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def digest(run_dir: Path) -> str:
    state = weights(run_dir)
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].numpy().tobytes())
    return h.hexdigest()


def evaluations(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k.startswith(("step", "val/"))}
            for r in run_folder.read_curve(run_dir)]


@pytest.fixture(scope="module")
def uninterrupted_group(tmp_path_factory) -> Path:
    """Seeds 0, 1, 2 of ``RESUME`` trained as one group without interruption (shared by the
    kill points below)."""
    ref = tmp_path_factory.mktemp("uninterrupted")
    assert drive(ref, "none", -1, "0,1,2", RESUME).returncode == 0
    return ref


@pytest.mark.slow
@pytest.mark.parametrize("point, step", [("train", 13), ("validation", 24), ("train", 22)])
def test_resume_after_sigkill_is_bitwise_identical(tmp_path, point, step, uninterrupted_group):
    ref = uninterrupted_group
    killed = drive(tmp_path / "run", point, step, "0,1,2", RESUME)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not list((tmp_path / "run").rglob("summary.json"))
    resumed = drive(tmp_path / "run", "none", -1, "0,1,2", RESUME)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming 3 vectorised runs from step" in resumed.stdout
    for seed in (0, 1, 2):
        mine, theirs = tmp_path / "run" / f"seed{seed}", ref / f"seed{seed}"
        assert digest(mine) == digest(theirs), seed
        assert evaluations(mine) == evaluations(theirs)
        got, want = (json.loads((d / "summary.json").read_text()) for d in (mine, theirs))
        assert figures(got) == figures(want)


@pytest.mark.slow
def test_a_killed_member_resumed_alone_by_run_train_ends_as_the_group(tmp_path):
    """``project.train`` on a folder holding a member checkpoint hands it to this path (a
    group of one: its batched products round differently from a group of two, so the
    figures agree to float rounding)."""
    ref = tmp_path / "ref"
    assert drive(ref, "none", -1, "0,1", RESUME).returncode == 0
    assert drive(tmp_path / "run", "train", 30, "0,1", RESUME).returncode == -signal.SIGKILL
    alone = train(compose_train([*RESUME, "seed=1"], tmp_path / "run" / "seed1"))
    want = run_folder.read_summary(ref / "seed1")
    assert set(alone) == set(want)
    for key, value in figures(want).items():
        assert alone[key] == (pytest.approx(value, rel=1e-5)
                              if isinstance(value, (float, dict)) else value), key
    assert max_relative_difference(weights(tmp_path / "run" / "seed1"), weights(ref / "seed1")) < 1e-5
    assert not run_folder.is_finished(tmp_path / "run" / "seed0")  # only the run asked for


if __name__ == "__main__":
    root, point, at, seeds, *extra = sys.argv[1:]

    def kill(where, g):
        if where == point and g.step == int(at):
            os.kill(os.getpid(), signal.SIGKILL)

    configs = [compose_train([*extra, f"seed={s}"], Path(root) / f"seed{s}")
               for s in seeds.split(",")]
    for outcome in train_vectorized(configs, kill):
        if isinstance(outcome, BaseException):
            raise outcome
