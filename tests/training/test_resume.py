"""SIGKILL a training run at three points, resume it, and compare with an uninterrupted run
bit for bit: final weights, every evaluation's metrics, and the summary's figures."""

import hashlib
import subprocess
import sys

import pytest
import torch

from project.runs.folder import read_curve
from tests.conftest import ROOT

# digits: 1437 training images / batch 64 -> 22 batches per data epoch; dropout exercises RNG.
COMMON = ["task.budget.max_steps=48", "task.budget.val_every_n_steps=8", "task.net.dropout=0.2"]
# periodic checkpoints every 5 steps: one update per Lightning batch (5 does not divide 8)
ADDING = ["task=adding", "task.seq_len=20", "task.data.val_size=300", "task.data.test_size=100",
          "task.data.eval_batch_size=100", "task.stop_at_target=false",
          "trainer.checkpoint_every_n_steps=5"]
DIGITS = ["task=digits", "task.data.batch_size=64", "+task.data.eval_batch_size=64",
          "trainer.checkpoint_every_n_steps=5"]
# 4 updates per Lightning batch, periodic checkpoints every 4 steps
GROUPED = [*ADDING[:-1], "trainer.checkpoint_every_n_steps=4", "trainer.updates_per_batch=4"]
KILLS = [
    pytest.param(ADDING, "train", 13, id="adding-mid-run"),
    pytest.param(ADDING, "validation", 24, id="adding-during-validation"),
    pytest.param(DIGITS, "train", 17, id="digits-mid-epoch"),
    pytest.param(DIGITS, "train", 22, id="digits-at-epoch-boundary"),
    pytest.param(DIGITS, "validation", 40, id="digits-during-validation"),
    pytest.param(GROUPED, "train", 12, id="grouped-mid-run"),
    pytest.param(GROUPED, "validation", 24, id="grouped-during-validation"),
]


def run(run_dir, point: str, step: int, overrides: list[str]) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tests.training.kill_switch", str(run_dir), point, str(step),
           *overrides, *COMMON]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def weights_digest(run_dir) -> str:
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].numpy().tobytes())
    return h.hexdigest()


def evaluations(run_dir) -> list[dict]:
    return [{k: v for k, v in row.items() if k.startswith(("step", "val/"))}
            for row in read_curve(run_dir)]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    made = {}

    def get(overrides):
        key = tuple(overrides)
        if key not in made:
            d = tmp_path_factory.mktemp("uninterrupted")
            assert run(d, "none", -1, overrides).returncode == 0
            made[key] = d
        return made[key]

    return get


@pytest.mark.slow
@pytest.mark.parametrize("overrides,point,step", KILLS)
def test_resume_after_sigkill_is_bitwise_identical(overrides, point, step, tmp_path,
                                                   uninterrupted):
    killed = run(tmp_path, point, step, overrides)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (tmp_path / "summary.json").exists()
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    resumed = run(tmp_path, "none", -1, overrides)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # a resume from the last checkpoint, not a restart from step 0 (bitwise equal as well)
    assert 0 < saved <= step and f"train starts at step {saved}\n" in resumed.stdout, \
        resumed.stdout[-2000:]

    ref = uninterrupted(overrides)
    assert weights_digest(tmp_path) == weights_digest(ref)
    assert evaluations(tmp_path) == evaluations(ref)
    import json
    got, want = (json.loads((d / "summary.json").read_text()) for d in (tmp_path, ref))
    for key in ("steps_to_target", "reached", "best_val", "final_val", "test_at_best", "auc"):
        assert got[key] == want[key], key
