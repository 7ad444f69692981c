"""Updates without Lightning's per-update dispatch (``project.training.bare_updates``): taken
when nobody listens, and the same updates as the dispatched path, bit for bit."""

import lightning as L
import torch

from project.runs.folder import read_curve
from project.training.run import train
from tests.conftest import compose_train
from tests.training.test_updates_per_batch import GROUPED, figures, final_weights


class PathSeen(L.Callback):
    """Records which path the module took (read at the end of training, not an update hook)."""

    def on_train_end(self, trainer, pl_module):
        self.bare = pl_module._bare_updates is not None


class BackwardCounter(PathSeen):
    """Listens to every update's backward, so the updates go through Lightning's dispatch."""

    calls = 0

    def on_before_backward(self, trainer, pl_module, loss):
        self.calls += 1


def test_bare_updates_are_the_dispatched_updates(tmp_path, tiny_adding):
    """Curves, final weights, test figures and the step count are bitwise equal, and each
    run took the path it should: bare by default, dispatched beside a listening callback."""
    overrides = [*tiny_adding, *GROUPED, "trainer.updates_per_batch=4"]
    bare, dispatched = PathSeen(), BackwardCounter()
    runs = {}
    for name, callback in (("bare", bare), ("dispatched", dispatched)):
        run_dir = tmp_path / name
        summary = train(compose_train(overrides, run_dir), callbacks=[callback])
        runs[name] = (read_curve(run_dir), final_weights(run_dir), summary)
    assert bare.bare and not dispatched.bare
    assert dispatched.calls == 60  # every update's backward dispatched
    (curve_b, weights_b, summary_b), (curve_d, weights_d, summary_d) = runs["bare"], runs["dispatched"]
    assert [r["step"] for r in curve_b] == [r["step"] for r in curve_d] == [0, 20, 40, 60]
    assert figures(curve_b) == figures(curve_d)
    assert all(torch.equal(weights_b[n], weights_d[n]) for n in weights_d)
    assert summary_b["test_at_best"] == summary_d["test_at_best"]
    assert summary_b["steps_trained"] == summary_d["steps_trained"] == 60
    for name in runs:  # Lightning's own step counter, as a resume reads it
        ckpt = torch.load(tmp_path / name / "checkpoints" / "last.ckpt", weights_only=True)
        progress = ckpt["loops"]["fit_loop"]["epoch_loop.manual_optimization.optim_step_progress"]
        assert progress["total"]["completed"] == progress["total"]["ready"] == 60
