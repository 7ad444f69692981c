"""End to end: synthetic run folders (three variants, one legacy-format control, a setting whose
target is met at step 0) -> ``python -m project.report`` -> every file, and the table's cells
against figures computed by hand in the comments (not by the functions under test)."""

import re

import numpy as np
import pandas as pd
import pytest

from project.report import main
from project.analysis.report import write_report
from project.analysis.sources import load_runs
from tests.analysis.synthetic import summary, write_run

RESAMPLES = 2000
SEEDS = range(5)
CONTROL_STEPS = [300, 400, 500, 600, 700]
ATTENTION_STEPS = [100, 200, 200, 300, 400]
TANH_STEPS, TANH_REACHED = [1000, 1000, 1000, 200, 300], [False, False, False, True, True]
CONTROL_TEST = [0.80, 0.82, 0.84, 0.86, 0.88]


def write_runs(root):
    for s in SEEDS:
        # the control in the old format (a ``cell`` string): it must still pair
        write_run(root, summary("adding", "baseline", s, CONTROL_STEPS[s], True,
                                CONTROL_TEST[s], legacy=True))
        write_run(root, summary("adding", "attention", s, ATTENTION_STEPS[s], True,
                                CONTROL_TEST[s] + 0.01))
        write_run(root, summary("adding", "attention_tanh", s, TANH_STEPS[s], TANH_REACHED[s],
                                CONTROL_TEST[s] - 0.02))
    for s, (a, b) in enumerate([(0, 20), (40, 40), (60, 60)]):  # attention meets it at step 0
        for model, steps in (("attention", a), ("baseline", b)):
            write_run(root, summary("multiply", model, s, steps, True, 0.5, budget=200))


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    write_runs(root)
    return root


@pytest.fixture(scope="module")
def report(runs_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([str(runs_root), "--out", str(out), "--resamples", str(RESAMPLES)]) == 0
    return out, buf.getvalue()


@pytest.fixture
def no_figures(monkeypatch):
    """Skip drawing (seconds per figure on a busy 2-core machine) where no figure is checked."""
    from project.analysis import report as report_module

    for name in ("curve_figures", "profile_figure", "forest_figure"):
        monkeypatch.setattr(report_module, name, lambda *a, **k: [])


def markdown_rows(path):
    lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
    split = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return {(r[0], r[2]): dict(zip(split[0], r)) for r in split[2:]}


def test_every_file_exists(report):
    out, printed = report
    for name in ("main_table.md", "main_table.tex", "main_table.csv", "time_table.md",
                 "time_table.tex", "cells.csv", "runs.csv", "across_tasks.csv",
                 "report.html", "performance_profile.png", "performance_profile.svg",
                 "speedup_forest.png", "speedup_forest.svg", "curves_adding.png",
                 "curves_multiply.png"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4 and html.count("<table") == 4
    tex = (out / "main_table.tex").read_text()
    assert "\\toprule" in tex and r"$\leq$" in tex
    assert r"$m \times 2/2^{n} = 0.125$" in tex  # the p floor in the caption, as LaTeX
    assert printed.splitlines()[0].startswith("| Setting | Target | Comparison |")
    assert re.search(r"^Across settings", printed, re.M)  # scripts/reproduce_paper.sh greps it


def test_rows_are_every_variant_against_the_control(report):
    rows = markdown_rows(report[0] / "main_table.md")
    assert list(rows) == [("adding", "attention vs baseline"),
                          ("adding", "attention_tanh vs baseline"),
                          ("multiply", "attention vs baseline")]


def test_cells_of_a_clean_comparison(report):
    row = markdown_rows(report[0] / "main_table.md")["adding", "attention vs baseline"]
    assert row["Rate (variant / control)"] == "0.001 / 0.001"  # each side's hparams.lr
    # control 300..700: KM = ordinary median 500, quartiles 400 and 600; IQM (n=5, one
    # trimmed each end) mean(400, 500, 600) = 500
    assert row["control: steps to target (median [IQR])"] == "500 [400, 600]"
    assert row["control: steps IQM"] == "500" and row["control: reached"] == "5/5"
    # attention 100, 200, 200, 300, 400: S = .8, .4 (at 200), .2 (300): q1 = median = 200,
    # q3 = 300; IQM mean(200, 200, 300) = 233.3
    assert row["variant: steps to target (median [IQR])"] == "200 [200, 300]"
    assert row["variant: steps IQM"] == "233"
    # test: control .80..88 -> 0.84 ± 0.02 * sqrt(2.5) = 0.0316; attention +0.01
    assert row["control: test (mean ± std)"] == "0.84 ± 0.032"
    assert row["variant: test (mean ± std)"] == "0.85 ± 0.032"
    # restricted means without censoring are plain means: 500 / 240 = 2.08, its interval
    # between the smallest and largest possible resampled ratios (300 / 400 and 700 / 100);
    # the ratio of medians 500 / 200 stays as a descriptive figure without an interval
    m = re.fullmatch(r"2\.08 \[(\d+\.\d\d), (\d+\.\d\d)\]",
                     row["Effect: restricted-mean ratio [95% CI]"])
    assert m and 0.75 <= float(m[1]) <= 2.08 <= float(m[2]) <= 7.0
    assert row["Median ratio (descriptive)"] == "2.50"
    assert row["control: restricted mean steps"] == "500"
    assert row["variant: restricted mean steps"] == "240"
    # 5 of 5 pairs faster: Clopper-Pearson [0.025^(1/5), 1] = [0.478, 1]
    assert row["P(faster) [exact 95% CI] (n)"] == "1.00 [0.48, 1.00] (n=5)"
    # all 5 pairs favour the variant: exact sign p = 2/2^5 = 0.0625; Holm over the 2 tested
    # comparisons (multiply has no steps test): 2 * 0.0625 = 0.125, which is also the floor
    assert row["p (Holm) (test, pairs, floor)"] == "0.125 (exact sign test, n=5, floor 0.125)"
    # test diff +0.01 in every pair: CI [0.01, 0.01]; sign p = 2/32; Holm over the 3
    # test comparisons with raw p (1/16, 1/16, 1): 3/16 = 0.1875 for both
    assert (row["Test diff [95% CI], p (Holm) (test, n)"]
            == "+0.01 [+0.01, +0.01], p 0.188 (exact sign test, n=5)")


def test_cells_of_a_censored_variant(report):
    row = markdown_rows(report[0] / "main_table.md")["adding", "attention_tanh vs baseline"]
    # 200, 300 reached, three censored at 1000: S = .8, .6, then flat: q1 = 300, median and
    # q3 censored; IQM keeps 300, 1000c, 1000c = 766.7, a lower bound
    assert row["variant: steps to target (median [IQR])"] == ">1000 [300, >1000]"
    assert row["variant: steps IQM"] == "≥ 767" and row["variant: reached"] == "2/5"
    # restricted mean: censored runs count their whole budget, (200 + 300 + 3 * 1000) / 5 =
    # 700: effect 500 / 700 = 0.71, a closed finite interval; the variant's median is
    # censored, so the ratio of medians 500 / 1000 is an upper bound, printed without one
    effect = row["Effect: restricted-mean ratio [95% CI]"]
    m = re.fullmatch(r"0\.71 \[(\d+\.\d\d), (\d+\.\d\d)\]", effect)
    assert m and 0 < float(m[1]) <= 0.71 <= float(m[2]) < 10
    assert row["variant: restricted mean steps"] == "700"
    assert row["Median ratio (descriptive)"] == "≤ 0.50"
    # 2 wins (seeds 3, 4), 3 losses: 0.4, Clopper-Pearson [beta(.025; 2, 4), beta(.975; 3, 3)]
    from scipy.stats import beta

    low, high = beta.ppf(0.025, 2, 4), beta.ppf(0.975, 3, 3)
    assert row["P(faster) [exact 95% CI] (n)"] == f"0.40 [{low:.2f}, {high:.2f}] (n=5)"
    # order known in all 5 pairs (the censored runs stopped at 1000, after the control
    # reached): 2 of 5 for the variant; two-sided binomial p = 1 (every outcome is at least as
    # extreme as 2 or 3 of 5)
    assert row["p (Holm) (test, pairs, floor)"] == "1 (exact sign test, n=5, floor 0.125)"
    assert (row["Test diff [95% CI], p (Holm) (test, n)"]
            == "-0.02 [-0.02, -0.02], p 0.188 (exact sign test, n=5)")


def test_target_met_at_step_0_is_flagged_without_a_speedup(report):
    row = markdown_rows(report[0] / "main_table.md")["multiply", "attention vs baseline"]
    assert row["Effect: restricted-mean ratio [95% CI]"] == "target met at step 0: no effect"
    assert row["P(faster) [exact 95% CI] (n)"] == "—"
    assert row["p (Holm) (test, pairs, floor)"] == "—"
    assert (row["Test diff [95% CI], p (Holm) (test, n)"]
            == "+0 [+0, +0], p 1 (exact sign test, n=0)")
    across = pd.read_csv(report[0] / "across_tasks.csv").set_index("variant")
    assert across.loc["attention", "settings"] == 1  # multiply left out of the means
    assert across.loc["attention", "iqm_effect"] == pytest.approx(500 / 240)


def test_p_floor_is_printed_under_the_table(report):
    out, printed = report
    # n = 5 pairs: 2/2^5 = 0.0625; Holm over m = 2 comparisons: 0.125
    line = ("Smallest p this table could show (exact sign test): 2/2^n = 0.0625 with n = 5 "
            "ordered pairs, its largest; after Holm over m = 2 comparison(s), m × 2/2^n = "
            "0.125.")
    assert line in printed and line in (out / "main_table.md").read_text()


def test_csv_holds_the_numbers(report):
    csv = pd.read_csv(report[0] / "main_table.csv")
    row = csv[(csv["setting"] == "adding") & (csv["variant"] == "attention_tanh")].iloc[0]
    assert (row["speedup"], row["speedup_bound"]) == (0.5, "<=")
    assert row["effect"] == pytest.approx(500 / 700)
    assert (row["faster_wins"], row["faster_ties"], row["n_pairs"], row["p_n"]) == (2, 0, 5, 5)
    assert row["p_value"] == pytest.approx(1.0) and row["p_method"] == "exact sign test"
    assert bool(csv.loc[csv["setting"] == "multiply", "target_at_start"].iloc[0])


def test_control_is_an_option(runs_root, tmp_path, capsys, no_figures):
    assert main([str(runs_root), "--out", str(tmp_path), "--resamples", "200",
                 "--control", "attention"]) == 0
    rows = markdown_rows(tmp_path / "main_table.md")
    assert ("adding", "baseline vs attention") in rows
    # baseline vs attention: restricted means 240 / 500
    assert rows["adding", "baseline vs attention"][
        "Effect: restricted-mean ratio [95% CI]"].startswith("0.48 [")
    assert main([str(runs_root), "--out", str(tmp_path / "m"), "--resamples", "200",
                 "--control", "max"]) == 0
    assert "no max runs" in capsys.readouterr().out


def test_the_order_of_the_runs_table_does_not_change_the_table(runs_root, tmp_path,
                                                                 no_figures):
    """``write_report`` is source-agnostic: the runs table alone decides the table."""
    runs, curves = load_runs(str(runs_root))
    a = write_report(runs, curves, tmp_path / "a", "x", n_resamples=300, control="baseline")
    shuffled = runs.sample(frac=1.0, random_state=0).reset_index(drop=True)
    b = write_report(shuffled, curves, tmp_path / "b", "x", n_resamples=300,
                     control="baseline")
    assert a["markdown"] == b["markdown"]


def test_bad_input(runs_root, tmp_path, capsys, monkeypatch, no_figures):
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no_netrc"))
    assert main(["wandb:me/proj", "--out", str(tmp_path / "o")]) == 2  # no key: no prompt
    assert "no W&B API key" in capsys.readouterr().err
    assert main([str(tmp_path), "--out", str(tmp_path / "o")]) == 2  # empty folder
    assert "no finished runs" in capsys.readouterr().err
    assert main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    # the variant only, one damaged summary: named on stderr, skipped; the row says so
    root = tmp_path / "runs"
    for s in range(3):
        write_run(root, summary("adding", "attention", s, 100, True, 0.9))
    bad = next(root.rglob("summary.json"))
    bad.write_text("{not json")
    assert main([str(root), "--out", str(tmp_path / "o"), "--resamples", "200"]) == 0
    captured = capsys.readouterr()
    assert f"skipping {bad}" in captured.err
    (row,) = markdown_rows(tmp_path / "o" / "main_table.md").values()
    assert row["Effect: restricted-mean ratio [95% CI]"] == "no baseline runs"
    assert row["variant: reached"] == "2/2" and row["control: reached"] == "—"


def test_auto_target_is_the_control_median_best_and_rederives_steps():
    from project.analysis.auto_target import apply_auto_target
    from project.analysis.local_runs import runs_frame

    def run(model, seed, best, stopped=100):
        return {"task": "adding", "model": model, "seed": seed, "cell": f"adding,{model}",
                "setting_overrides": (), "variant_overrides": (),
                "val_metric": "val/acc", "direction": "max", "target": 0.5,
                "budget_steps": 100, "steps_to_target": 0, "time_to_target": 0.0,
                "reached": True, "best_val": best, "diverged": False, "train_time_s": 10.0,
                "run_dir": f"{model}{seed}", "_stopped": stopped}
    rows = [run("baseline", 0, 0.6), run("baseline", 1, 0.8), run("baseline", 2, 0.7),
            run("attention", 0, 0.9), run("attention", 1, 0.65, stopped=40),
            run("max", 0, 0.95), run("max", 1, 0.9), run("max", 2, 0.99)]
    curves = pd.DataFrame([{"run_dir": r["run_dir"], "step": s, "train_time_s": s / 10,
                            "val/acc": r["best_val"] * s / r["_stopped"]}
                           for r in rows for s in range(0, r["_stopped"] + 1, 20)])
    runs = runs_frame([{k: v for k, v in r.items() if k != "_stopped"} for r in rows])
    out = apply_auto_target(runs, curves, "baseline").set_index("run_dir")
    assert (out["target"] == 0.7).all()  # median of the control's best values
    assert not out["target_met_at_start"].any()  # every curve starts at 0
    # baseline 1 reaches 0.7 first at step 100 (0.8 * s / 100 >= 0.7 -> s = 87.5 -> 100)
    assert out.loc["baseline1", ["steps_to_target", "reached"]].tolist() == [100, True]
    assert out.loc["baseline1", "time_to_target"] == pytest.approx(10.0)
    assert out.loc["baseline0", ["steps_to_target", "reached"]].tolist() == [100, False]
    assert out.loc["attention0", "steps_to_target"] == 80  # 0.9 * 80 / 100 = 0.72
    # stopped at step 40 below the new target: censored where its curve ends, not reached
    assert out.loc["attention1", ["steps_to_target", "reached"]].tolist() == [40, False]
    assert np.isnan(out.loc["attention1", "time_to_target"])
    # another control: the median of max's best values, 0.95
    assert (apply_auto_target(runs, curves, "max")["target"] == 0.95).all()


def test_a_cells_rates_are_listed_as_its_runs_ran():
    from project.analysis.comparison import learning_rates

    assert learning_rates(pd.DataFrame({"hparams.lr": [0.01, 0.003, 0.01]})) == "0.003, 0.01"
    assert learning_rates(pd.DataFrame({"lr": [0.03]})) == "0.03"  # a published runs CSV
    assert learning_rates(pd.DataFrame({"seed": [1]})) == ""
