"""Sources: trained runs (2 models x 3 seeds, short adding problem, logged with W&B offline)
read from their run folders, from W&B's offline files and through a stand-in for the W&B API
give one runs table and one report table."""

import pandas as pd
import pytest

from project.analysis.report import write_report
from project.analysis.sources import load_runs
from project.training.run import train
from tests.conftest import compose_train

MODELS, SEEDS = ("attention", "baseline"), (0, 1, 2)
TASK = ["task=adding", "task.seq_len=20", "task.budget.max_steps=100",
        "task.budget.val_every_n_steps=20", "task.data.val_size=200",
        "task.data.test_size=200", "task.target=0.3", "logger=wandb"]
RESAMPLES = 500


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for model in MODELS:
        for seed in SEEDS:
            train(compose_train([*TASK, f"model={model}", f"seed={seed}"],
                                root / model / f"s{seed}"))
    return root


def test_wandb_offline_files_round_trip_to_the_same_table(runs_root, tmp_path):
    local, local_curves = load_runs(str(runs_root))
    offline, curves = load_runs(f"wandb-offline:{runs_root}")
    pd.testing.assert_frame_equal(local, offline)
    assert len(local) == 6 and set(curves["step"]) <= set(range(0, 101, 20))
    a = write_report(local, local_curves, tmp_path / "local", "local", n_resamples=RESAMPLES,
                     control="baseline")
    b = write_report(offline, curves, tmp_path / "wandb", "wandb-offline",
                     n_resamples=RESAMPLES, control="baseline")
    assert a["markdown"] == b["markdown"] and "attention vs baseline" in a["markdown"]


def test_online_api_loader_filters_and_tables(runs_root):
    """The W&B API path, with the API replaced by the offline records of the same runs."""
    from project.analysis.wandb_offline import load_offline_runs_raw
    from project.analysis.wandb_online import load_online_runs

    class FakeRun:
        def __init__(self, raw):
            self.id, self.name, self.group, self.tags = (raw["id"], raw["name"],
                                                         raw["group"], raw["tags"])
            self.state, self.config, self._history = raw["state"], raw["config"], raw["history"]
            self.summary = type("S", (), {"_json_dict": raw["summary"]})()

        def scan_history(self):
            return iter(self._history)

    class FakeApi:
        def runs(self, path, filters):
            self.seen = (path, filters)
            return [FakeRun(r) for r in load_offline_runs_raw(runs_root)
                    if "attention" in r["tags"]]

    api = FakeApi()
    runs, curves = load_online_runs("me/proj", group="g", tags=["attention"], api=api)
    assert api.seen[0] == "me/proj"
    assert api.seen[1] == {"$and": [{"group": "g"}, {"tags": {"$in": ["attention"]}},
                                    {"state": "finished"}]}
    local, _ = load_runs(str(runs_root), tags=["attention"])
    pd.testing.assert_frame_equal(runs, local)
    assert set(curves["run_dir"]) == set(local["run_dir"])


def test_group_and_tag_filters_agree_between_sources(runs_root):
    for kw in ({"group": "adding"}, {"tags": ["baseline"]}, {"group": "other"}):
        local, _ = load_runs(str(runs_root), **kw)
        offline, _ = load_runs(f"wandb-offline:{runs_root}", **kw)
        assert len(local) == {"adding": 6, "other": 0}.get(kw.get("group"), 3)
        if len(local):
            pd.testing.assert_frame_equal(local, offline)
        else:
            assert offline.empty
