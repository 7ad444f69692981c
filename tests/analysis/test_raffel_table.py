"""Raffel & Ellis 2016, Table 1 logic: epochs from steps, the per-seed best rate, the authors'
early abandoning, the cell, the agreement rule and the table beside the paper's values.
Every expected value is worked out by hand in the comments."""

import itertools
import math
import random
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from project import raffel_table as raffel_cmd
from project.analysis import raffel_table as rt
from project.analysis.local_runs import flatten_summary

FIXED = ("task.data.variable_length=true", "task.net.init=raffel2016")


def run(task="adding", model="attention_tanh", lr=1e-2, T=50, seed=0, steps=10000,
        reached=False, budget=10000, best=0.5, setting=FIXED, test=None):
    summary = {"task": task, "model": model, "seed": seed, "steps_to_target": steps,
               "reached": reached, "budget_steps": budget, "best_val": best, "auc": 0.5,
               "step_time_ms": 10.0, "train_time_s": steps / 100,
               "hparams": {"lr": lr, "seq_len": T},
               "test_metrics": {"test/acc": test} if test is not None else None}
    row = flatten_summary(summary)
    return {**row, "setting_overrides": tuple(setting), "variant_overrides": (), "run_dir": ""}


@pytest.mark.parametrize("steps, epochs", [(100, 1), (999, 1), (1000, 1), (1001, 2),
                                           (1100, 2), (2000, 2), (9900, 10), (10000, 10)])
def test_epochs_from_steps_counts_the_epoch_in_which_the_step_falls(steps, epochs):
    assert rt.epochs_from_steps(steps) == epochs


def test_epochs_from_steps_refuses_zero_steps():
    with pytest.raises(ValueError, match="steps=0"):
        rt.epochs_from_steps(0)


@pytest.mark.parametrize("ours, paper, agree", [
    (1, 1, True), (2, 1, True), (1, 2, True),        # within one epoch
    (1.5, 1, True), (2.5, 1, False), (4, 2, False),  # KM medians can be halves
    (3, "89.8%", False),                             # we solved what the paper never did
    (math.inf, "89.8%", True),                       # both unsolved
    (math.inf, 33, True),                            # paper needed 33 > our 10 epochs
    (math.inf, 11, True), (math.inf, 10, False),     # 10 epochs were within our budget
    (math.inf, 8, False)])
def test_agreement_rule(ours, paper, agree):
    assert rt.agrees(ours, 10, paper) is agree


def test_abandon_budget_is_the_fewest_updates_an_earlier_rate_needed():
    none = pd.DataFrame([], columns=["reached", "steps_to_target"])
    assert rt.abandon_budget(none, 10000) == 10000
    unsolved = pd.DataFrame([run(steps=10000, reached=False)])
    assert rt.abandon_budget(unsolved, 10000) == 10000
    two = pd.DataFrame([run(steps=1500, reached=True), run(steps=900, reached=True),
                        run(steps=10000, reached=False)])
    assert rt.abandon_budget(two, 10000) == 900
    assert rt.abandon_budget(two, 500) == 500  # never more than the budget


def test_best_per_seed_takes_the_fewest_steps_over_rates_ties_to_the_earlier_rate():
    runs = pd.DataFrame([
        # seed 0: 1e-2 solves at 1500, 3e-3 at 900, 1e-3 abandoned at 900, 3e-4 ties at 900
        run(lr=1e-2, seed=0, steps=1500, reached=True),
        run(lr=3e-3, seed=0, steps=900, reached=True, budget=1500),
        run(lr=1e-3, seed=0, steps=900, reached=False, budget=900, best=0.97),
        run(lr=3e-4, seed=0, steps=900, reached=True, budget=900),
        # seed 1: never solved; best validation accuracy over its rates 0.9
        run(lr=1e-2, seed=1, best=0.8), run(lr=3e-3, seed=1, best=0.9),
        # not the paper's models or problems, or the variable-length experiment: left out
        run(model="attention", seed=2, steps=100, reached=True),
        run(task="sst2", seed=2, steps=100, reached=True),
        run(seed=2, steps=100, reached=True, setting=("task.data.max_seq_len=1000",)),
    ])
    best = rt.best_per_seed(runs).set_index("seed")
    assert list(best.index) == [0, 1]
    assert best.loc[0, ["solved", "steps", "lr", "epochs", "budget"]].tolist() == \
        [True, 900, 3e-3, 1, 10000]
    assert best.loc[0, "rates_run"] == 4
    assert best.loc[1, "solved"] == False  # noqa: E712 - numpy bool
    assert best.loc[1, ["steps", "epochs", "best_val"]].tolist() == [10000, 10, 0.9]
    assert math.isnan(best.loc[1, "lr"])


def test_cell_median_range_and_rates():
    # epochs per seed: 1, 2, 2, 3 solved, one unsolved (>10): KM median = third of five = 2
    per_seed = pd.DataFrame([
        dict(problem="add", T=50, model="attention", seed=s, solved=e is not None,
             epochs=e or 10, lr=lr, budget_epochs=10, best_val=bv)
        for s, (e, lr, bv) in enumerate([(1, 1e-2, 1.0), (2, 1e-2, 1.0), (2, 3e-3, 1.0),
                                         (3, 1e-2, 1.0), (None, math.nan, 0.9)])])
    cell = rt.cell_summary(per_seed).iloc[0]
    assert (cell["seeds"], cell["solved"], cell["median"], cell["low"]) == (5, 4, 2.0, 1)
    assert cell["rates"] == {1e-2: 3, 3e-3: 1}  # in the authors' order
    assert rt.format_ours(cell) == "2 [1->10], 4/5, lr 0.01 x3, 0.003 x1"
    # three of five unsolved: median censored; best accuracies 1, 1, 0.9, 0.9, 0.9 -> 0.9
    per_seed.loc[[1, 2], "solved"] = False
    per_seed.loc[[1, 2], ["epochs", "best_val"]] = [10, 0.9]
    cell = rt.cell_summary(per_seed).iloc[0]
    assert math.isinf(cell["median"])
    assert rt.format_ours(cell) == ">10 [1->10], 2/5, lr 0.01 x2, best acc 0.900"
    # two seeds, 1 and 2 epochs: the ordinary median 1.5, range 1-2
    two = per_seed.iloc[:2].assign(solved=True, epochs=[1, 2], lr=[1e-2, 1e-2])
    assert rt.format_ours(rt.cell_summary(two).iloc[0]) == "1.5 [1-2], 2/2, lr 0.01 x2"
    # a seed that ran only the first rate (a time-boxed profile): the cell says so
    two = two.assign(rates_run=[4, 1])
    assert rt.format_ours(rt.cell_summary(two).iloc[0]) == \
        "1.5 [1-2], 2/2, lr 0.01 x2, only 1 of 4 rates run"


def test_abandoning_never_changes_the_per_seed_statistic():
    """Simulate the waves: a rate's run is cut at abandon_budget of the earlier rates' runs; it
    reaches the target only if its true steps are within the cut. The per-seed best must be
    min over rates of the true steps (None: never), as without abandoning."""
    rng = random.Random(0)
    cases = [[1500, 900, 2000, None], [None, None, 300, 200], [None] * 4, [700, 700, 700, 700]]
    cases += [[rng.choice([None, *range(100, 10001, 100)]) for _ in rt.RATES] for _ in range(200)]
    for true in cases:
        done = []
        for lr, steps in zip(rt.RATES, true):
            cut = rt.abandon_budget(pd.DataFrame(done, columns=["reached", "steps_to_target"])
                                    if done else pd.DataFrame(), 10000)
            reached = steps is not None and steps <= cut
            row = run(lr=lr, steps=steps if reached else cut, reached=reached, budget=cut)
            done.append(row)
        best = rt.best_per_seed(pd.DataFrame(done)).iloc[0]
        solved = [s for s in true if s is not None]
        assert best["solved"] == bool(solved), true
        if solved:
            assert best["steps"] == min(solved), true
            assert best["lr"] == rt.RATES[true.index(min(solved))], true  # earliest on ties


def test_paper_table_rows_values_and_agreement():
    runs = pd.DataFrame(
        # add T0=50: attention 1 epoch (paper 1: yes); mean 3 epochs (paper 1: no)
        [run(seed=s, steps=400, reached=True) for s in range(3)]
        + [run(model="baseline", seed=s, steps=2100 + 100 * s, reached=True) for s in range(3)]
        # multiply T0=500, mean: never solved within 10 epochs (paper 8: no)
        + [run(task="multiply", model="baseline", T=500, seed=s, best=0.2) for s in range(2)])
    table = rt.paper_table(runs, lengths=(50, 500))
    assert table[["problem", "T0"]].values.tolist() == [["add", 50], ["add", 500],
                                                        ["multiply", 50], ["multiply", 500]]
    row = table.iloc[0]
    assert row["attention: ours (epochs)"] == "1 [1], 3/3, lr 0.01 x3, only 1 of 4 rates run"
    assert (row["attention: paper"], row["attention: agree"]) == ("1", "yes")
    assert row["mean: ours (epochs)"] == "3 [3], 3/3, lr 0.01 x3, only 1 of 4 rates run"  # 2100-2300
    assert (row["mean: paper"], row["mean: agree"]) == ("1", "no")
    row = table.iloc[3]
    assert row["mean: ours (epochs)"] == ">10 [>10], 0/2, best acc 0.200, only 1 of 4 rates run"
    assert (row["mean: paper"], row["mean: agree"]) == ("8", "no")
    assert (row["attention: ours (epochs)"], row["attention: paper"], row["attention: agree"]) \
        == ("not run", "4", "")


def test_paper_values_are_the_published_table():
    """arXiv:1512.08756v1, Table 1, as ../shared/docs/RAFFEL2016.md copies it."""
    assert [rt.PAPER_TABLE1[("multiply", "mean")][t] for t in rt.PAPER_LENGTHS] == \
        [2, 2, 8, 33, "89.8%", "80.8%"]
    assert [rt.PAPER_TABLE1[("add", "mean")][t] for t in rt.PAPER_LENGTHS] == [1, 1, 1, 2, 8, 17]
    assert [rt.PAPER_TABLE1[("multiply", "attention")][t] for t in rt.PAPER_LENGTHS] == \
        [1, 2, 4, 2, 15, 6]


def test_variable_results_take_the_best_rate_by_median_validation_accuracy():
    var = ("task.data.max_seq_len=1000", "task.seq_len=50")
    runs = pd.DataFrame([
        run(lr=1e-2, seed=0, best=0.90, test=0.88, setting=var),
        run(lr=1e-2, seed=1, best=0.70, test=0.69, setting=var),
        run(lr=1e-2, seed=2, best=0.80, test=0.79, setting=var),   # median 0.80, mean 0.80
        run(lr=1e-3, seed=0, best=0.85, test=0.84, setting=var),
        run(lr=1e-3, seed=1, best=0.83, test=0.80, setting=var),
        run(lr=1e-3, seed=2, best=0.60, test=0.50, setting=var),   # median 0.83: chosen
        run(model="baseline", lr=3e-3, best=0.5, test=0.45, setting=var),
        run(lr=1e-2, seed=0, best=1.0, reached=True, steps=100)])  # fixed length: left out
    rates = rt.variable_rates(runs)
    assert len(rates) == 3  # (attention, 1e-2), (attention, 1e-3), (mean, 3e-3)
    res = rt.variable_results(rates).set_index(["problem", "model"])
    att = res.loc[("add", "attention")]
    assert (att["lr"], att["seeds"], att["max_T"], att["budget_epochs"]) == (1e-3, 3, 1000, 10)
    assert att["best_val"] == pytest.approx(0.83) and att["test_acc"] == pytest.approx(0.80)
    assert att["paper"] == 0.999 and res.loc[("add", "mean"), "paper"] == 0.774
    # an earlier table's rates join where these runs lack that (problem, model, rate): its
    # 3e-4 (0.9) wins for attention; its 1e-3 row is replaced by the runs' (0.83, not 0.99)
    earlier = pd.DataFrame([dict(rates.iloc[0]) | dict(lr=3e-4, best_val=0.9, seeds=1),
                            dict(rates.iloc[0]) | dict(lr=1e-3, best_val=0.99, seeds=1)])
    res = rt.variable_results(rates, earlier).set_index(["problem", "model"])
    assert res.loc[("add", "attention"), ["lr", "best_val", "seeds"]].tolist() == [3e-4, 0.9, 1]
    assert res.loc[("add", "mean"), "lr"] == 3e-3


def earlier_row(seed, rates_run, steps=None, lr=math.nan, best=1.0, budget=10000):
    """A row of an earlier table's FILE_seeds.csv (T0 1000, add, attention)."""
    solved = steps is not None
    return dict(problem="add", T=1000, model="attention", seed=seed, rates_run=rates_run,
                budget=budget, budget_epochs=budget // 1000, best_val=best, solved=solved,
                steps=steps if solved else budget, lr=lr,
                epochs=math.ceil((steps if solved else budget) / 1000))


def test_earlier_rows_join_the_later_rates_and_give_way_to_reruns():
    earlier = pd.DataFrame([
        earlier_row(0, 2, 5400, 3e-3),             # joined with 1e-3 (5000) and 3e-4 (no)
        earlier_row(1, 2, best=0.98),              # joined with an unsolved 1e-3 (0.99)
        earlier_row(2, 2, 1000, 1e-2),             # no runs here: kept as it is
        earlier_row(4, 2, 800, 1e-2),              # rerun from 1e-2 here: replaced
        earlier_row(5, 2, 3000, 3e-3),             # tie with 1e-3: the earlier rate wins
    ])
    runs = pd.DataFrame([
        run(lr=1e-3, T=1000, seed=0, steps=5000, reached=True, budget=5400),
        run(lr=3e-4, T=1000, seed=0, steps=5000, budget=5000, best=0.9),
        run(lr=1e-3, T=1000, seed=1, best=0.99),
        run(lr=1e-2, T=1000, seed=4, steps=900, reached=True),
        run(lr=1e-3, T=1000, seed=5, steps=3000, reached=True, budget=3000),
    ])
    best = rt.best_per_seed(runs, earlier).set_index("seed")
    assert list(best.index) == [0, 1, 2, 4, 5]
    cols = ["rates_run", "solved", "steps", "lr", "epochs", "best_val", "budget"]
    assert best.loc[0, cols].tolist() == [4, True, 5000, 1e-3, 5, 1.0, 10000]
    assert best.loc[1, ["rates_run", "solved", "steps", "epochs", "best_val"]].tolist() == \
        [3, False, 10000, 10, 0.99]
    assert best.loc[2, cols].tolist() == [2, True, 1000, 1e-2, 1, 1.0, 10000]
    assert best.loc[4, ["rates_run", "steps", "lr"]].tolist() == [1, 900, 1e-2]
    assert best.loc[5, ["rates_run", "steps", "lr"]].tolist() == [3, 3000, 3e-3]


def test_splitting_the_rates_between_an_earlier_table_and_runs_changes_nothing():
    """The best over all four rates' runs equals the best of the first r rates' per-seed
    rows joined with the runs of the other rates, for every split r."""
    rng = random.Random(1)
    for _ in range(100):
        steps = [rng.choice([None, *range(100, 10001, 100)]) for _ in rt.RATES]
        rows = [run(lr=lr, T=1000, seed=0, steps=s or 10000, reached=s is not None,
                    best=1.0 if s else rng.random())
                for lr, s in zip(rt.RATES, steps)]
        whole = rt.best_per_seed(pd.DataFrame(rows))
        for r in range(1, len(rt.RATES)):
            earlier = rt.best_per_seed(pd.DataFrame(rows[:r]))
            joined = rt.best_per_seed(pd.DataFrame(rows[r:]), earlier)
            pd.testing.assert_frame_equal(joined, whole, check_dtype=False, obj=str(steps))


def test_earlier_cut_skips_covered_rates_and_cuts_the_rest():
    earlier = pd.DataFrame([earlier_row(0, 2, 5400, 3e-3), earlier_row(1, 2)])
    key = ("add", 1000, "attention", 0)
    assert rt.earlier_cut(earlier, key, 0, 10000) is None  # 1e-2 and 3e-3 ran before
    assert rt.earlier_cut(earlier, key, 1, 10000) is None
    assert rt.earlier_cut(earlier, key, 2, 10000) == 5400  # solved there at 5400
    assert rt.earlier_cut(earlier, key, 3, 3000) == 3000   # never more than the budget
    assert rt.earlier_cut(earlier, ("add", 1000, "attention", 1), 2, 10000) == 10000
    assert rt.earlier_cut(earlier, ("add", 1000, "mean", 0), 0, 10000) == 10000  # not there


def test_cli_writes_the_tables_and_csvs(tmp_path):
    from project.runs import folder as run_folder

    rows = [dict(task="adding", model=m, seed=s, lr=lr, steps=st, reached=st < 10000)
            for m, s, (lr, st) in itertools.product(
                ["attention_tanh", "baseline"], [0, 1], [(1e-2, 10000), (3e-3, 1200)])]
    for i, r in enumerate(rows):
        d = tmp_path / "runs" / str(i)
        d.mkdir(parents=True)
        run_folder.write_summary(d, {
            "task": r["task"], "model": r["model"], "seed": r["seed"],
            "steps_to_target": r["steps"], "reached": r["reached"], "budget_steps": 10000,
            "best_val": 1.0 if r["reached"] else 0.5, "auc": 0.5,
            "step_time_ms": 10.0 + i, "train_time_s": 100.0 * i,
            "setting_overrides": list(FIXED), "variant_overrides": [],
            "hparams": {"lr": r["lr"], "seq_len": 100}})
    out = tmp_path / "t.md"
    assert raffel_cmd.main([str(tmp_path / "runs"), "--out", str(out), "--lengths", "100"]) == 0
    text = out.read_text()
    # 1200 updates -> 2 epochs, both seeds, rate 3e-3; the paper: 1 and 1 (within one epoch)
    cell = "2 [2], 2/2, lr 0.003 x2, only 2 of 4 rates run"
    assert f"| add | 100 | {cell} | 1 | yes | {cell} | 1 | yes |" in text
    rates = pd.read_csv(tmp_path / "t.csv")
    assert len(rates) == 4  # 2 models x 2 rates
    # runs i = 0..7 in (model, seed, rate) order: attention at 3e-3 are i = 1 and 3
    cell = rates[(rates["model"] == "attention") & (rates["lr"] == 3e-3)].iloc[0]
    assert (cell["step_ms"], cell["train_s"]) == (12.0, 400.0)  # median(11, 13), 100 + 300
    # the range over rate cells of their median ms: attention 1e-2 median(10, 12) = 11, 3e-3
    # 12, runs i = 0..3 trained 0+100+200+300 s; mean (i = 4..7) 15 and 16, 2200 s
    assert "| 100 | attention | 11.0-12.0 | 4 | 600 |" in (tmp_path / "t_cost.md").read_text()
    assert "| 100 | mean | 15.0-16.0 | 4 | 2200 |" in (tmp_path / "t_cost.md").read_text()
    assert len(pd.read_csv(tmp_path / "t_seeds.csv")) == 4  # 2 models x 2 seeds
    assert not (tmp_path / "t_variable.md").exists()
    assert raffel_cmd.main([str(tmp_path / "empty")]) == 2

    # the same table from its per-seed and rate CSVs alone (the runs gone), and beside a run
    again = tmp_path / "again" / "t.md"
    assert raffel_cmd.main([str(tmp_path / "gone"), "--earlier", str(tmp_path / "t_seeds.csv"),
                    "--out", str(again), "--lengths", "100"]) == 0
    assert again.read_text() == text
    for name in ("t.csv", "t_seeds.csv", "t_cost.md"):
        assert (again.parent / name).read_text() == (tmp_path / name).read_text()
    assert raffel_cmd.main([str(tmp_path / "runs"), "--earlier", str(tmp_path / "t.md")]) == 2


# -- the protocol as configuration --------------------------------------------------------------
@pytest.mark.parametrize("model", ["attention_tanh", "baseline"])
def test_experiment_config_is_the_papers_protocol(model):
    from project.runs.identity import identity_of
    from project.runs.compose import compose_defaults

    cfg = compose_defaults(["+experiment=raffel2016", "task=multiply", f"model={model}",
                            "task.seq_len=500"])
    data, net, budget = cfg.task.data, cfg.task.net, cfg.task.budget
    assert (data.variable_length, data.batch_size, data.val_size, data.test_size) == \
        (True, 100, 1000, 1000)
    assert (net.hidden, net.activation, net.head_hidden, net.output_activation, net.init) == \
        (100, "leaky_relu", 100, "leaky_relu", "raffel2016")
    assert (cfg.task.target, cfg.task.stop_at_target, cfg.task.val_metric) == (1.0, True, "val/acc")
    assert budget.max_steps == 100 * rt.UPDATES_PER_EPOCH
    assert rt.UPDATES_PER_EPOCH % budget.val_every_n_steps == 0  # the paper's epochs on our grid
    assert cfg.optimizer._target_ == "torch.optim.Adam"
    if model == "attention_tanh":
        assert (cfg.model.pooling, cfg.model.score) == ("attention", "tanh")
    else:
        assert cfg.model.pooling == "mean"
    ident = identity_of(cfg)  # the experiment's settings become setting overrides
    assert {"task.net.init=raffel2016", "task.data.variable_length=true",
            "task.seq_len=500"} <= set(ident.setting_overrides)
    assert ident.variant_overrides == ()


def test_variable_length_experiment_config():
    from project.runs.compose import compose_defaults

    cfg = compose_defaults(["+experiment=raffel2016_variable", "task=adding",
                            "model=attention_tanh"])
    data = cfg.task.data
    assert (cfg.task.seq_len, data.max_seq_len, data.variable_length) == (50, 10000, False)
    assert (cfg.task.budget.max_steps, cfg.task.budget.val_every_n_steps) == (100000, 1000)
    assert cfg.task.net.init == "raffel2016"  # the rest from conf/experiment/raffel2016.yaml


def test_sweep_spec_composes_both_models_and_all_rates():
    from project.sweeps.spec import expand, load_spec, parse_spec, validate_runs
    from project.runs.compose import CONF_DIR

    spec = load_spec(CONF_DIR / "sweep" / "raffel2016.yaml")
    grid = expand(spec)
    assert len(grid) == 2 * 6 * 2 * 4 * 5
    rates = list(dict.fromkeys(g["optimizer.lr"] for g in grid))
    assert rates == list(rt.RATES)  # the authors' order
    raw = dict(spec.raw, parameters={**spec.raw["parameters"], "task.seq_len": {"value": 50},
                                     "seed": {"value": 0}, "task": {"value": "adding"}})
    runs = validate_runs(spec, expand(parse_spec(raw, spec.path)))
    assert sorted({r.identity.model for r in runs}) == ["attention_tanh", "baseline"]
    assert len({r.identity.setting for r in runs}) == 4  # one setting per rate: models paired


# -- scripts/reproduce_raffel2016.sh --earlier ---------------------------------------------------
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "reproduce_raffel2016.sh"
SNAPSHOT = "docs/results/raffel2016/earlier_2026-11-28"


def test_the_script_refuses_the_folder_it_rewrites_as_earlier(tmp_path):
    for earlier, message in (("docs/results/raffel2016", "rewrites that folder"),
                             (str(tmp_path / "none"), "no " + str(tmp_path / "none"))):
        out = subprocess.run([str(SCRIPT), "--earlier", earlier, "--dry-run"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and message in out.stderr, out.stderr


def test_the_script_plans_only_the_rates_the_snapshot_lacks(tmp_path):
    """The snapshot of 2026-11-28 covers every rate of T0 50-500 and 1e-2, 3e-3 at T0 1000:
    a dry run plans T0 = 1000's 1e-3 and 3e-4 only, cut at the steps the snapshot's seeds
    needed (add attention seed 0: 5400; mean multiply, never solved: the full 10000)."""
    out = subprocess.run([str(SCRIPT), "--profile", "cpu", "--earlier", SNAPSHOT, "--dry-run",
                          "--out", str(tmp_path / "runs")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert lines.count("rate 0.01: all 60 runs covered by the earlier table") == 1
    assert "rate 0.003: all 8 runs covered by the earlier table" in lines
    planned = [line for line in lines if line.startswith("  ")]
    assert len(planned) == 16 and all("task.seq_len=1000" in line for line in planned)
    add_att_0 = [line for line in planned if line.strip().startswith("adding[")
                 and "attention_tanh seed0" in line]
    assert [line.rsplit("max_steps=", 1)[1] for line in add_att_0] == ["5400", "5400"]
    mult_mean = [line for line in planned if "multiply[" in line and " baseline " in line]
    assert {line.rsplit("max_steps=", 1)[1] for line in mult_mean} == {"10000"}
