"""End to end: train 2 models x 3 seeds on a short adding problem, build the report, check
every file and every main-table cell against figures recomputed from the summaries."""

import json
import shutil
import statistics

import numpy as np
import pandas as pd
import pytest

from project.stats.bootstrap import Paired, prob_faster, speedup, speedup_bound
from project.stats.censoring import km_quantile
from project.stats.significance import wilcoxon_p
from project.analysis.report import build_report, write_report
from project.report import main
from project.analysis.sources import load_runs
from project.analysis.render.tables import fmt_ci, fmt_mean_std, fmt_p, fmt_steps
from project.training.run import train
from tests.conftest import compose_train

MODELS, SEEDS = ("attention", "baseline"), (0, 1, 2)
TASK = ["task=adding", "task.seq_len=20", "task.budget.max_steps=100",
        "task.budget.val_every_n_steps=20", "task.data.val_size=200",
        "task.data.test_size=200", "task.target=0.3", "logger=wandb"]
RESAMPLES = 2000


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for model in MODELS:
        for seed in SEEDS:
            train(compose_train([*TASK, f"model={model}", f"seed={seed}"],
                                root / model / f"s{seed}"))
    return root


@pytest.fixture(scope="module")
def report(runs_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    return out, build_report(str(runs_root), out, n_resamples=RESAMPLES)


def markdown_rows(path):
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return [dict(zip(split[0], r)) for r in split[2:]]


def test_every_file_exists(report):
    out, result = report
    for name in ("main_table.md", "main_table.tex", "main_table.csv", "runs.csv",
                 "across_tasks.csv", "report.html", "performance_profile.png",
                 "performance_profile.svg", "speedup_forest.png", "speedup_forest.svg",
                 "curves_adding.png", "curves_adding.svg"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "<table" in html
    assert "\\toprule" in (out / "main_table.tex").read_text()


def test_every_cell_equals_the_figure_recomputed_from_the_summaries(runs_root, report):
    out, _ = report
    s = {(m, sd): json.loads((runs_root / m / f"s{sd}" / "summary.json").read_text())
         for m in MODELS for sd in SEEDS}
    (row,) = markdown_rows(out / "main_table.md")
    csv = pd.read_csv(out / "main_table.csv").iloc[0]
    budget = 100
    assert row["Task"] == "adding" and row["Target"] == "val/acc >= 0.3"
    for m in MODELS:
        runs = [s[m, sd] for sd in SEEDS]
        tests = [r["test_at_best"] for r in runs]
        assert row[f"{m}: test (mean ± std)"] == fmt_mean_std(statistics.mean(tests),
                                                              statistics.stdev(tests))
        steps = np.array([r["steps_to_target"] for r in runs], float)
        hit = np.array([r["reached"] for r in runs])
        q = [km_quantile(steps, hit, p) for p in (0.25, 0.5, 0.75)]
        assert row[f"{m}: steps to target (median [IQR])"] == \
            f"{fmt_steps(q[1], budget)} [{fmt_steps(q[0], budget)}, {fmt_steps(q[2], budget)}]"
        assert row[f"{m}: reached"] == f"{hit.sum()}/3"
        assert csv[f"{m}.steps_median"] == q[1] and csv[f"{m}.reached"] == hit.sum()
    pairs = Paired.of(*[x for m in MODELS for x in (
        [s[m, sd]["steps_to_target"] for sd in SEEDS], [s[m, sd]["reached"] for sd in SEEDS])])
    sp, pf = speedup(pairs, n_resamples=RESAMPLES), prob_faster(pairs, n_resamples=RESAMPLES)
    assert row["Speedup [95% CI]"] == fmt_ci(sp.value, sp.low, sp.high, speedup_bound(pairs))
    assert row["P(faster) [95% CI]"] == fmt_ci(pf.value, pf.low, pf.high)
    p = wilcoxon_p(pairs.a, pairs.b)  # one setting: Holm leaves it unchanged
    assert row["p (Holm)"] == fmt_p(p) and csv["p_holm"] == pytest.approx(p)
    assert (csv["speedup"], csv["p_faster"]) == (pytest.approx(sp.value), pf.value)


def test_wandb_offline_files_round_trip_to_the_same_table(runs_root, report, tmp_path):
    local, _ = load_runs(str(runs_root))
    offline, curves = load_runs(f"wandb-offline:{runs_root}")
    pd.testing.assert_frame_equal(local, offline)
    assert len(local) == 6 and set(curves["step"]) <= set(range(0, 101, 20))
    out = tmp_path / "from_wandb"
    write_report(offline, curves, out, "wandb-offline", n_resamples=RESAMPLES)
    assert (out / "main_table.md").read_text() == (report[0] / "main_table.md").read_text()


def test_bad_input(runs_root, tmp_path, capsys, monkeypatch):
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    assert main(["wandb:me/proj", "--out", str(tmp_path / "o")]) == 1  # no key: no prompt
    assert "no W&B API key" in capsys.readouterr().err
    assert main([str(tmp_path), "--out", str(tmp_path / "o")]) == 1  # empty folder
    assert "no finished runs" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 1
    assert "not found" in capsys.readouterr().err
    # attention only, one corrupt summary: reported with its path, skipped, row says missing
    root = tmp_path / "runs"
    shutil.copytree(runs_root / "attention", root / "attention")
    bad = root / "attention" / "s2" / "summary.json"
    bad.write_text("{not json")
    assert main([str(root), "--out", str(tmp_path / "o"), "--resamples", "200"]) == 0
    captured = capsys.readouterr()
    assert f"skipping corrupt {bad}" in captured.err
    assert "no baseline runs" in captured.out
    (row,) = markdown_rows(tmp_path / "o" / "main_table.md")
    assert row["Speedup [95% CI]"] == "no baseline runs"
    assert row["attention: reached"].endswith("/2")


def test_auto_target_is_the_baseline_median_best_and_rederives_steps():
    from project.analysis.auto_target import apply_auto_target
    from project.analysis.local_runs import runs_frame

    def run(model, seed, best, stopped=100):
        return {"task": "adding", "model": model, "seed": seed, "cell": f"adding,{model}",
                "val_metric": "val/acc", "direction": "max", "target": 0.5,
                "budget_steps": 100, "steps_to_target": 0, "time_to_target": 0.0,
                "reached": True, "best_val": best, "diverged": False, "train_time_s": 10.0,
                "run_dir": f"{model}{seed}", "_stopped": stopped}
    rows = [run("baseline", 0, 0.6), run("baseline", 1, 0.8), run("baseline", 2, 0.7),
            run("attention", 0, 0.9), run("attention", 1, 0.65, stopped=40)]
    curves = pd.DataFrame([{"run_dir": r["run_dir"], "step": s, "train_time_s": s / 10,
                            "val/acc": r["best_val"] * s / r["_stopped"]}
                           for r in rows for s in range(0, r["_stopped"] + 1, 20)])
    out = apply_auto_target(runs_frame([{k: v for k, v in r.items() if k != "_stopped"}
                                        for r in rows]), curves).set_index("run_dir")
    assert (out["target"] == 0.7).all()  # median of the baseline's best values
    # baseline 1 reaches 0.7 first at step 100 (0.8 * s / 100 >= 0.7 -> s = 87.5 -> 100)
    assert out.loc["baseline1", ["steps_to_target", "reached"]].tolist() == [100, True]
    assert out.loc["baseline1", "time_to_target"] == pytest.approx(10.0)
    assert out.loc["baseline0", ["steps_to_target", "reached"]].tolist() == [100, False]
    assert out.loc["attention0", "steps_to_target"] == 80  # 0.9 * 80 / 100 = 0.72
    # stopped at step 40 below the new target: censored where its curve ends, not reached
    assert out.loc["attention1", ["steps_to_target", "reached"]].tolist() == [40, False]
    assert np.isnan(out.loc["attention1", "time_to_target"])


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
