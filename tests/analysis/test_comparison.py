"""N-way comparison: settings and variants from run identities, the declared control, pairing
by seed, Holm over every comparison, the step-0 flag, and the figures' variants."""

import pandas as pd
import pytest

from project.analysis.comparison import comparison_table, p_floor
from project.analysis.local_runs import flatten_summary, runs_frame
from project.analysis.variants import add_keys, find_control, identity_fields
from tests.analysis.synthetic import summary

FAST = 200


def frame(summaries):
    return runs_frame([{**flatten_summary(identity_fields(s)), "run_dir": f"r{i}"}
                       for i, s in enumerate(summaries)])


def test_model_overrides_shared_by_every_model_join_the_setting_and_pair():
    """Issue #10: a sweep that sets model.hidden for every model gave the settings
    'attention[model.hidden=32]' and 'baseline[model.hidden=32]' and no pairs at all."""
    runs = frame([summary("adding", m, s, 100 * (s + 1) * (1 if m == "attention" else 2),
                          True, 0.9, variant=(f"model.hidden={h}",))
                  for m in ("attention", "baseline") for s in range(3) for h in (32, 64)])
    keyed = add_keys(runs)
    assert set(keyed["variant"]) == {"attention", "baseline"}
    assert set(keyed["setting"]) == {"adding (model.hidden=32)", "adding (model.hidden=64)"}
    table = comparison_table(runs, "baseline", n_resamples=FAST)
    assert list(table["setting"]) == ["adding (model.hidden=32)", "adding (model.hidden=64)"]
    assert list(table["n_pairs"]) == [3, 3] and list(table["speedup"]) == [2.0, 2.0]


def test_a_variants_own_overrides_stay_in_its_label():
    runs = frame([summary("adding", "attention", s, 100, True, 0.9, variant=v)
                  for s in range(2) for v in ((), ("model.heads=4",))] +
                 [summary("adding", "baseline", s, 300, True, 0.9) for s in range(2)])
    table = comparison_table(runs, "baseline", n_resamples=FAST)
    assert list(table["variant"]) == ["attention", "attention[model.heads=4]"]
    assert set(table["control"]) == {"baseline"} and list(table["speedup"]) == [3.0, 3.0]
    assert table.attrs["variants"] == ["baseline", "attention", "attention[model.heads=4]"]


def test_control_by_label_or_by_its_model_name():
    assert find_control(["attention", "baseline"], "baseline") == "baseline"
    assert find_control(["attention", "max[model.k=1]"], "max") == "max[model.k=1]"
    assert find_control(["max[model.k=1]", "max[model.k=2]"], "max") is None  # ambiguous
    assert find_control(["attention"], "baseline") is None


def test_holm_corrects_over_every_variant_and_setting():
    # two settings x two variants, every pair favouring the variant: raw p = 2/2^n with
    # n = 3, 4, 5, 6 pairs -> 0.25, 0.125, 0.0625, 0.03125; Holm over 4 (hand, step-down):
    # sorted 1/32, 1/16, 1/8, 1/4 times 4, 3, 2, 1 -> 0.125, 0.1875, 0.25, 0.25
    rows, n_of = [], {("adding", "attention"): 3, ("adding", "max"): 4,
                      ("multiply", "attention"): 5, ("multiply", "max"): 6}
    for (task, model), n in n_of.items():
        for s in range(n):
            rows.append(summary(task, model, s, 100 + s, True, 0.9))
    for task in ("adding", "multiply"):
        for s in range(6):
            rows.append(summary(task, "baseline", s, 1000 + 7 * s, True, 0.9))
    table = comparison_table(frame(rows), "baseline", n_resamples=FAST).set_index(
        ["task", "variant"])
    assert table["p_value"].tolist() == pytest.approx([0.25, 0.125, 0.0625, 0.03125])
    assert table["p_holm"].tolist() == pytest.approx([0.25, 0.25, 0.1875, 0.125])
    assert p_floor(table) == {"m": 4, "n": 6, "raw": 2 / 2 ** 6, "holm": 4 * 2 / 2 ** 6}


@pytest.mark.parametrize("field", ["steps", "flag"])
def test_a_setting_whose_target_is_met_at_step_0_gets_no_speedup(field):
    rows = [summary("custom_forecast", m, s, 50 * (s + 1), True, 0.5)
            for m in ("attention", "baseline") for s in range(3)]
    if field == "steps":  # one run met the target at the step-0 evaluation
        rows[0] = summary("custom_forecast", "attention", 0, 0, True, 0.5)
    else:  # the summary says so
        rows[4]["target_met_at_start"] = True
    table = comparison_table(frame(rows), "baseline", n_resamples=FAST)
    (row,) = table.to_dict("records")
    assert row["target_at_start"] and pd.isna(row.get("speedup", float("nan")))
    assert pd.isna(row.get("p_value", float("nan"))) and pd.isna(row["p_holm"])
    assert row["test_diff"] == 0.0  # the test-metric comparison does not need the target
    clean = comparison_table(frame([summary("custom_forecast", m, s, 50 * (s + 1), True, 0.5)
                                    for m in ("attention", "baseline") for s in range(3)]),
                             "baseline", n_resamples=FAST)
    assert not clean["target_at_start"].iloc[0] and clean["speedup"].iloc[0] == 1.0


def test_only_seeds_run_by_both_pair():
    rows = [summary("adding", "attention", s, 100, True, 0.9) for s in (0, 1, 2, 7)]
    rows += [summary("adding", "baseline", s, 200, True, 0.8) for s in (1, 2, 3)]
    (row,) = comparison_table(frame(rows), "baseline", n_resamples=FAST).to_dict("records")
    assert (row["n_pairs"], row["variant.runs"], row["control.runs"]) == (2, 4, 3)
    assert row["test_diff"] == pytest.approx(0.1)


def test_figures_show_every_variant_in_colours_from_the_variant_list(tmp_path, monkeypatch):
    from project.analysis import report as report_module
    from project.analysis.render import figures
    from tests.analysis.synthetic import write_run

    for s in range(3):
        for model, steps in (("attention", 100), ("attention_tanh", 200), ("baseline", 300),
                             ("max", 600)):
            write_run(tmp_path / "runs", summary("adding", model, s, steps + s, True, 0.9))
    drawn = {}

    def keep(fig, out, name):
        drawn[name] = fig
        return [out / f"{name}.png"]

    monkeypatch.setattr(figures, "save", keep)
    monkeypatch.setattr(report_module, "write_html", lambda path, **kw: path)
    report_module.build_report(str(tmp_path / "runs"), tmp_path / "out", n_resamples=FAST,
                               control="baseline")
    order = ["baseline", "attention", "attention_tanh", "max"]
    colours = figures.palette(order)
    assert len(set(colours.values())) == 4
    steps_ax = drawn["curves_adding"].axes[0]
    medians = {line.get_label().split(" (")[0]: line.get_color() for line in steps_ax.lines
               if "median" in line.get_label()}
    assert medians == colours
    profile = drawn["performance_profile"].axes[0].get_legend().get_texts()
    assert [t.get_text().split(" (")[0] for t in profile] == order
    forest = [t.get_text() for t in drawn["speedup_forest"].axes[0].get_yticklabels()]
    assert forest == ["adding: attention", "adding: attention_tanh", "adding: max",
                      "IQM of effects: attention (1 setting; CI over seeds)",
                      "IQM of effects: attention_tanh (1 setting; CI over seeds)",
                      "IQM of effects: max (1 setting; CI over seeds)"]


def test_the_table_shows_the_pairs_each_test_used():
    from project.analysis.render.tables import main_table

    # 4 seed pairs, one with equal steps: P(faster) counts 4 pairs, the sign test uses 3
    rows = [summary("adding", "attention", s, st, True, 0.9)
            for s, st in enumerate([100, 200, 300, 400])]
    rows += [summary("adding", "baseline", s, st, True, 0.9 + 0.01 * (s > 1))
             for s, st in enumerate([100, 400, 600, 800])]
    (cells,) = main_table(comparison_table(frame(rows), "baseline", n_resamples=FAST)
                          ).to_dict("records")
    # 3 wins, 1 tie: 3.5 / 4; Clopper-Pearson of 3/4 below and 4/4 above
    assert cells["P(faster) [exact 95% CI] (n)"] == "0.88 [0.19, 1.00] (n=4)"
    # 2/2^3: all three favour attention; one comparison, so the floor is 2/2^3 too
    assert cells["p (Holm) (test, pairs, floor)"] == "0.25 (exact sign test, n=3, floor 0.25)"
    assert cells["Test diff [95% CI], p (Holm) (test, n)"].endswith(
        "p 0.5 (exact sign test, n=2)")  # 2/2^2
