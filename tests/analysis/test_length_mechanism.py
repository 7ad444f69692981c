"""The length-mechanism check (issue 29): the regression of held-out error on
``S (mean L / L - 1)`` and the error split by length, on synthetic predictions with known
answers, and end to end on a tiny trained run."""

import json

import numpy as np
import pandas as pd
import pytest

from project import length_mechanism as command
from project.analysis import length_mechanism as lm
from project.training.run import train
from tests.conftest import compose_train


def synthetic(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(500, 550, n)
    target = 0.5 + (rng.uniform(-1, 1, n) + rng.uniform(-1, 1, n)) / 4
    return target, lengths, rng


def test_a_length_blind_model_has_slope_one():
    """Predicting 0.5 + S mean(L) / L (one gain fit at the mean length) errs by exactly z."""
    target, lengths, _ = synthetic()
    s = target - 0.5
    prediction = 0.5 + s * lengths.mean() / lengths
    fit = lm.regress_on_length(prediction - target, target, lengths)
    assert fit["slope"] == pytest.approx(1.0, abs=1e-9)
    assert fit["intercept"] == pytest.approx(0.0, abs=1e-12) and fit["r2"] == pytest.approx(1.0)


@pytest.mark.parametrize("gain", [0.0, 0.6])
def test_the_slope_recovers_a_known_share_of_the_signature_under_noise(gain):
    target, lengths, rng = synthetic(seed=1)
    z = (target - 0.5) * (lengths.mean() / lengths - 1)  # by hand, not through the module
    error = gain * z + rng.normal(0, 0.002, len(z)) + 0.001
    fit = lm.regress_on_length(error, target, lengths)
    assert abs(fit["slope"] - gain) < 4 * fit["slope_se"] and fit["slope_se"] < 0.1
    assert fit["intercept"] == pytest.approx(0.001, abs=2e-4)
    assert (fit["p"] < 1e-6) == (gain > 0)


def test_constant_lengths_have_no_regressor_and_one_bin():
    target, _, _ = synthetic(n=50)
    lengths = np.full(50, 500)
    assert np.isnan(lm.regress_on_length(np.zeros(50), target, lengths)["slope"])
    assert len(lm.split_by_length(np.zeros(50), lengths)) == 1


def test_split_by_length_by_hand():
    lengths = np.array([10, 12, 20, 22])
    error = np.array([0.01, -0.05, 0.0, 0.1])
    split = lm.split_by_length(error, lengths, bins=2)
    assert split[["L_min", "L_max", "n"]].values.tolist() == [[10, 12, 2], [20, 22, 2]]
    np.testing.assert_allclose(split["mean_abs_error"], [0.03, 0.05])
    np.testing.assert_allclose(split["mean_error"], [-0.02, 0.05])
    np.testing.assert_allclose(split["acc"], [0.5, 0.5])
    row = lm.mechanism_row(error, 0.5 + np.array([0.2, -0.1, 0.3, 0.1]), lengths, bins=2)
    assert row["acc"] == 0.5 and row["L_1"] == "10-12" and row["acc_2"] == 0.5


def test_end_to_end_the_predictions_reproduce_the_runs_own_test_metrics(tmp_path, capsys):
    cfg = compose_train(["+experiment=raffel2016", "task=adding", "task.seq_len=20",
                         "task.budget.max_steps=40", "task.budget.val_every_n_steps=20",
                         "task.data.val_size=100", "task.data.test_size=100",
                         "+task.net.padding=unmasked"], tmp_path / "run")
    train(cfg)
    out = lm.predict_run(tmp_path / "run")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert np.mean(out["error"] ** 2) == pytest.approx(summary["test_metrics"]["test/mse"], rel=1e-4)
    assert np.mean(np.abs(out["error"]) < 0.04) == pytest.approx(summary["test_metrics"]["test/acc"])
    assert out["lengths"].min() >= 20 and out["lengths"].max() <= 21  # variable lengths
    assert command.main([str(tmp_path), "--out", str(tmp_path / "m.csv")]) == 0
    row = lm.run_label(tmp_path / "run")
    assert (row["reached"], row["steps_to_target"]) == (summary["reached"],
                                                        summary["steps_to_target"])
    assert "task.net.padding=unmasked" in capsys.readouterr().out
    assert (tmp_path / "m.csv").read_text().startswith("task,model,seed,setting,reached,steps_to_target,slope")

    # --earlier: rows of runs no longer on disk are kept, a run found here replaces its row
    rows = pd.read_csv(tmp_path / "m.csv")
    fresh = rows.loc[0, "slope"]
    gone = rows.assign(seed=7, slope=0.5)
    pd.concat([rows.assign(slope=99.0), gone]).to_csv(tmp_path / "earlier.csv", index=False)
    assert command.main([str(tmp_path / "run"), "--out", str(tmp_path / "both.csv"),
                         "--earlier", str(tmp_path / "earlier.csv")]) == 0
    both = pd.read_csv(tmp_path / "both.csv").set_index("seed")["slope"]
    assert both.to_dict() == {0: fresh, 7: 0.5}
    (tmp_path / "empty").mkdir()  # nothing on disk: the earlier rows alone
    assert command.main([str(tmp_path / "empty"), "--out", str(tmp_path / "only.csv"),
                         "--earlier", str(tmp_path / "earlier.csv")]) == 0
    assert pd.read_csv(tmp_path / "only.csv")["slope"].tolist() == [99.0, 0.5]


def test_a_missing_folder_is_one_error_line(tmp_path, capsys):
    assert command.main([str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"error: no such folder: {tmp_path / 'nope'}"
