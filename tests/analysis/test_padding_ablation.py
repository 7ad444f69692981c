"""Issue 29's ablation table: each arm's Table 1 cell (KM median epochs, range, solved n/N)
and its agreement with the paper, side by side. Expected cells are worked out by hand."""

import pandas as pd
import pytest

from project import padding_ablation as ablation_cmd
from project.analysis.padding_ablation import ablation_table, mechanism_table


def seeds(problem, T, model, epochs, solved, budget_epochs=10):
    return [{"problem": problem, "T": T, "model": model, "seed": i, "rates_run": 4,
             "budget": budget_epochs * 1000, "budget_epochs": budget_epochs, "best_val": 0.99,
             "solved": s, "steps": e * 1000, "lr": 0.01, "epochs": e}
            for i, (e, s) in enumerate(zip(epochs, solved))]


# arm (a): add T0=500 attention epochs 3, 4, 2, 3, 5, all solved: median 3, range 2-5;
# add T0=500 mean: 2, 3 solved and one seed unsolved at the 10-epoch budget: the KM curve
# drops to 2/3 at 2 and 1/3 at 3, so the median is 3, the range 2 to >10, 2 of 3 solved.
ARM_A = pd.DataFrame(seeds("add", 500, "attention", [3, 4, 2, 3, 5], [True] * 5)
                     + seeds("add", 500, "mean", [2, 3, 10], [True, True, False]))
# arm (b): attention 1, 1, 2, 1, 1: median 1, range 1-2; mean never solved in 3 seeds;
# also a T0=1000 row that arm (a) lacks.
ARM_B = pd.DataFrame(seeds("add", 500, "attention", [1, 1, 2, 1, 1], [True] * 5)
                     + seeds("add", 500, "mean", [10, 10, 10], [False] * 3)
                     + seeds("add", 1000, "attention", [2, 2], [True, True]))


def test_each_arm_gets_its_cell_and_agreement_beside_the_paper():
    table = ablation_table({"(a)": ARM_A, "(b)": ARM_B}, (500, 1000))
    rows = {(r["problem"], r["T0"], r["model"]): r for r in table.to_dict("records")}
    a_att = rows[("add", 500, "attention")]
    assert (a_att["(a)"], a_att["(a): agree"]) == ("3 [2-5], 5/5", "no")  # paper: 1
    assert (a_att["(b)"], a_att["(b): agree"]) == ("1 [1-2], 5/5", "yes")
    assert a_att["paper (epochs)"] == "1"
    mean = rows[("add", 500, "mean")]
    assert (mean["(a)"], mean["(a): agree"]) == ("3 [2->10], 2/3", "no")  # paper 1: 3 - 1 > 1
    assert (mean["(b)"], mean["(b): agree"]) == (">10 [>10], 0/3", "no")  # paper solved in 1
    long = rows[("add", 1000, "attention")]
    assert (long["(a)"], long["(a): agree"]) == ("not run", "")
    assert (long["(b)"], long["(b): agree"]) == ("2 [2], 2/2", "yes")  # paper: 1
    assert list(table.columns) == ["problem", "T0", "model", "(a)", "(a): agree", "(b)",
                                   "(b): agree", "paper (epochs)"]


def test_a_cell_of_an_arm_stopped_part_way_says_how_many_rates_ran():
    partial = ARM_B.assign(rates_run=[4] * 5 + [2, 1, 2] + [4, 4])  # the fewest a seed ran
    rows = {(r["problem"], r["T0"], r["model"]): r
            for r in ablation_table({"(b)": partial}, (500, 1000)).to_dict("records")}
    assert rows[("add", 500, "mean")]["(b)"] == ">10 [>10], 0/3, 1 of 4 rates"
    assert rows[("add", 500, "attention")]["(b)"] == "1 [1-2], 5/5"


def test_lengths_filter_the_rows_and_none_left_is_an_error():
    table = ablation_table({"(b)": ARM_B}, (1000,))
    assert table[["problem", "T0", "model"]].values.tolist() == [["add", 1000, "attention"]]
    with pytest.raises(ValueError, match="no arm has runs at T0 in 5000"):
        ablation_table({"(b)": ARM_B}, (5000,))


def test_the_command_writes_the_table_and_refuses_a_wrong_file_in_one_line(tmp_path, capsys):
    ARM_A.to_csv(tmp_path / "a_seeds.csv", index=False)
    ARM_B.to_csv(tmp_path / "b_seeds.csv", index=False)
    out = tmp_path / "ablation" / "table.md"
    assert ablation_cmd.main([f"(a) masked={tmp_path / 'a_seeds.csv'}",
                              f"(b) unmasked={tmp_path / 'b_seeds.csv'}", "--out", str(out)]) == 0
    assert "| add | 500 | attention | 3 [2-5], 5/5 | no | 1 [1-2], 5/5 | yes | 1 |" in out.read_text()
    assert pd.read_csv(out.with_suffix(".csv")).shape == (3, 8)
    capsys.readouterr()
    ARM_A.drop(columns="epochs").to_csv(tmp_path / "bad.csv", index=False)
    assert ablation_cmd.main([f"(a)={tmp_path / 'bad.csv'}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "no column epochs" in err and err.count("\n") == 1
    assert ablation_cmd.main(["no-equals-sign"]) == 2
    assert "expected NAME=FILE_seeds.csv" in capsys.readouterr().err


def mechanism_rows(task, T0, model, lr, slopes, ps):
    setting = f"optimizer.lr={lr},task.net.init=raffel2016,task.seq_len={T0}"
    return [{"task": task, "model": model, "seed": i, "setting": setting, "slope": s, "p": p}
            for i, (s, p) in enumerate(zip(slopes, ps))]


# arm (a): adding T0=500 attention at 0.01, slopes 0.9, 0.5, 0.8 (median 0.8, range 0.5-0.9),
# two of them with p < 0.01; a run at 0.003 that the table must leave out (slope 5).
MECH_A = pd.DataFrame(mechanism_rows("adding", 500, "attention_tanh", 0.01, [0.9, 0.5, 0.8],
                                     [1e-20, 0.2, 1e-5])
                      + mechanism_rows("adding", 500, "attention_tanh", 0.003, [5.0], [0.0]))
# arm (c): fixed lengths, so no slope (NaN) for its runs
MECH_C = pd.DataFrame(mechanism_rows("adding", 500, "attention_tanh", 0.01,
                                     [float("nan")] * 2, [float("nan")] * 2)
                      + mechanism_rows("multiply", 1000, "baseline", 0.01, [0.1], [0.5]))


def test_the_mechanism_table_sets_one_rates_slopes_side_by_side():
    table = mechanism_table({"(a)": MECH_A, "(c)": MECH_C}, (500, 1000))
    assert table.to_dict("records") == [
        {"problem": "add", "T0": 500, "model": "attention",
         "(a)": "0.80 [0.50, 0.90], p < 0.01 in 2/3", "(c)": "-"},
        {"problem": "multiply", "T0": 1000, "model": "mean",
         "(a)": "not run", "(c)": "0.10 [0.10, 0.10], p < 0.01 in 0/1"}]
    with pytest.raises(ValueError, match="no mechanism rows at rate 0.01 and T0 in 5000"):
        mechanism_table({"(a)": MECH_A}, (5000,))


def test_the_command_reads_each_arms_mechanism_beside_its_csv(tmp_path, capsys):
    for arm, seeds_rows, mech in (("a", ARM_A, MECH_A), ("c", ARM_B, MECH_C)):
        (tmp_path / arm).mkdir()
        seeds_rows.to_csv(tmp_path / arm / "seeds.csv", index=False)
        mech.to_csv(tmp_path / arm / "mechanism.csv", index=False)
    out = tmp_path / "ablation.md"
    assert ablation_cmd.main([f"(a)={tmp_path / 'a' / 'seeds.csv'}",
                              f"(c)={tmp_path / 'c' / 'seeds.csv'}", "--mechanism",
                              "--out", str(out)]) == 0
    mechanism = (tmp_path / "ablation_mechanism.md").read_text()
    assert "| add | 500 | attention | 0.80 [0.50, 0.90], p < 0.01 in 2/3 | - |" in mechanism
    assert (tmp_path / "ablation_mechanism.csv").exists() and out.exists()
    (tmp_path / "c" / "mechanism.csv").write_text("task,slope\nadding,1\n")
    assert ablation_cmd.main([f"(a)={tmp_path / 'a' / 'seeds.csv'}",
                              f"(c)={tmp_path / 'c' / 'seeds.csv'}", "--mechanism"]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'c' / 'mechanism.csv'}: not a "
                                       "length_mechanism CSV (no column model, seed, setting, p)\n")


def test_an_arm_without_a_mechanism_check_gets_not_run_cells_and_a_note(tmp_path, capsys):
    for arm, seeds_rows in (("a", ARM_A), ("b", ARM_B)):
        (tmp_path / arm).mkdir()
        seeds_rows.to_csv(tmp_path / arm / "seeds.csv", index=False)
    MECH_A.to_csv(tmp_path / "b" / "mechanism.csv", index=False)  # (a) has none
    out = tmp_path / "ablation.md"
    assert ablation_cmd.main([f"(a)={tmp_path / 'a' / 'seeds.csv'}",
                              f"(b)={tmp_path / 'b' / 'seeds.csv'}", "--mechanism",
                              "--out", str(out)]) == 0
    assert capsys.readouterr().err == (f"note: arm (a): no {tmp_path / 'a' / 'mechanism.csv'}; "
                                       "its mechanism cells say not run\n")
    assert (tmp_path / "ablation_mechanism.md").read_text().splitlines()[2] == \
        "| add | 500 | attention | not run | 0.80 [0.50, 0.90], p < 0.01 in 2/3 |"
