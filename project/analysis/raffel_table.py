"""Raffel & Ellis 2016, Table 1 from finished runs, beside the published values (the command:
``python -m project.raffel_table RUNS [--out FILE.md]``).

The paper (arXiv:1512.08756v1, Table 1) reports, per problem x T0 x pooling, the epochs of
1000 updates its single run needed to solve the problem (100% of 1000 held-out sequences
within 0.04) at the best of four Adam rates. Ours, per seed, is the same statistic: the fewest
epochs (``ceil(steps / 1000)``, steps on our finer evaluation grid) that any rate needed,
with the rate that needed them (``best_per_seed``). The authors' early abandoning (a rate
stops once it has used as many updates as the best solved one) is applied per seed by
``abandon_budget``; it cannot change this statistic (an abandoned run had not solved the
problem with fewer updates than the best, which is all that was known). A cell of the table
(``cell_summary``) is the Kaplan-Meier median of those epochs over seeds (censored at the
budget where no rate solved it), their range, seeds solved n/N and the rates chosen; it
agrees with the paper (``agrees``) when both solved it within one epoch of each other, or
when ours did not solve it within our budget and the paper's run did not within its 100
epochs or needed more than our budget.

``cell_results`` keeps every rate's own cell (KM median batches over seeds) for the CSV.

``--earlier FILE_seeds.csv`` adds an earlier table's per-seed rows (each the best of that
seed's first ``rates_run`` rates) for runs that are no longer on disk: a seed whose later rates
ran here combines both (``with_earlier``); the sweep driver skips the rates such a row covers
and cuts the others at its steps (``earlier_cut``), as the authors' abandoning would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from project.analysis.lr_selection import rate_results
from project.analysis.local_runs import load_local_runs
from project.analysis.render.tables import to_markdown
from project.stats.censoring import km_median

PROBLEMS = {"adding": "add", "multiply": "multiply"}
# The default of --models: the paper's columns (model config name -> column label).
RAFFEL_MODELS = {"attention": "attention", "baseline": "mean"}
# The paper's protocol: its tanh-score attention (model attention_tanh) and the mean.
PAPER_MODELS = {"attention_tanh": "attention", "baseline": "mean"}
RATES = (1e-2, 3e-3, 1e-3, 3e-4)  # the authors' order (fixed_length_experiments.py)
UPDATES_PER_EPOCH = 1000
PAPER_EPOCHS = 100  # the paper's budget
PAPER_LENGTHS = (50, 100, 500, 1000, 5000, 10000)
# arXiv:1512.08756v1, Table 1: epochs to solve; a string is the accuracy after 100 epochs
# (never solved).
PAPER_TABLE1 = {
    ("add", "attention"): dict(zip(PAPER_LENGTHS, (1, 1, 1, 1, 2, 3))),
    ("add", "mean"): dict(zip(PAPER_LENGTHS, (1, 1, 1, 2, 8, 17))),
    ("multiply", "attention"): dict(zip(PAPER_LENGTHS, (1, 2, 4, 2, 15, 6))),
    ("multiply", "mean"): dict(zip(PAPER_LENGTHS, (2, 2, 8, 33, "89.8%", "80.8%"))),
}
# The variable-length experiment (T from 50 to 10000, 100 epochs): accuracy.
PAPER_VARIABLE = {("add", "attention"): 0.999, ("multiply", "attention"): 0.994,
                  ("add", "mean"): 0.774, ("multiply", "mean"): 0.555}
VARIABLE_KEY = "task.data.max_seq_len="
VARIABLE_COLUMNS = ["problem", "model", "lr", "seeds", "solved", "best_val", "test_acc", "max_T",
                    "budget_epochs", "paper"]
COLUMNS = ["problem", "T", "model", "lr", "median_steps", "solved", "runs", "budget", "auc",
           "best_val", "step_ms", "train_s"]
SEED_KEY = ["problem", "T", "model", "seed"]
SEED_COLUMNS = [*SEED_KEY, "rates_run", "budget", "budget_epochs", "best_val", "solved", "steps",
                "lr", "epochs"]


def cell_results(runs: pd.DataFrame, models: dict[str, str] = RAFFEL_MODELS) -> pd.DataFrame:
    """One row per (problem, T, model, lr): KM median batches to solve, solved, runs, budget,
    the runs' median training milliseconds per update (``step_ms``; the training clock, which
    leaves out evaluations) and their summed training seconds (``train_s``); ``models`` maps model config names to column labels."""
    runs = runs[runs["task"].isin(PROBLEMS) & runs["model"].isin(models)]
    if runs.empty:
        raise ValueError(f"no finished adding/multiply runs of {' or '.join(models)}")
    by = ["task", "hparams.seq_len", "model"]
    cost = runs.groupby([*by, "hparams.lr"], sort=True).agg(
        step_ms=("step_time_ms", "median"), train_s=("train_time_s", "sum")).reset_index()
    cells = rate_results(runs, by).merge(cost.rename(columns={"hparams.lr": "lr"}), on=[*by, "lr"])
    cells["problem"] = cells["task"].map(PROBLEMS)
    cells["T"] = cells["hparams.seq_len"].astype(int)
    cells["model"] = cells["model"].map(models)
    return cells[COLUMNS]


# -- the paper's statistic, per seed, and the comparison with Table 1 -------------------------
def epochs_from_steps(steps: float, per_epoch: int = UPDATES_PER_EPOCH) -> int:
    """Epochs of ``per_epoch`` updates within which ``steps`` updates fall: the paper evaluates
    after every epoch, so a problem solved at update 300 or 1000 counts 1, at 1100 counts 2."""
    if not steps > 0:
        raise ValueError(f"steps={steps}: a problem is solved after at least one update")
    return math.ceil(steps / per_epoch)


def is_variable(runs: pd.DataFrame) -> pd.Series:
    """Runs of the variable-length experiment (``task.data.max_seq_len`` set)."""
    if "setting_overrides" not in runs:
        return pd.Series(False, index=runs.index)
    return runs["setting_overrides"].map(
        lambda s: any(str(o).startswith(VARIABLE_KEY) for o in (s if isinstance(s, (list, tuple))
                                                                  else ())))


def paper_mask(runs: pd.DataFrame) -> pd.Series:
    """Which of ``runs`` are fixed-length adding/multiply runs of the paper's two models."""
    return runs["task"].isin(PROBLEMS) & runs["model"].isin(PAPER_MODELS) & ~is_variable(runs)


def has_paper_runs(runs: pd.DataFrame) -> bool:
    """Whether ``runs`` holds a fixed-length adding/multiply run of the paper's models."""
    return len(runs) > 0 and bool(paper_mask(runs).any())


def paper_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Fixed-length adding/multiply runs of the paper's two models, with problem, T, model."""
    runs = runs[paper_mask(runs)]
    if runs.empty:
        raise ValueError("no finished fixed-length adding/multiply runs of attention_tanh or "
                         "baseline (conf/sweep/raffel2016.yaml)")
    return runs.assign(problem=runs["task"].map(PROBLEMS), T=runs["hparams.seq_len"].astype(int),
                       model=runs["model"].map(PAPER_MODELS), lr=runs["hparams.lr"].astype(float))


def rate_rank(lr: float) -> int:
    """Position of ``lr`` in the authors' order (unknown rates last)."""
    return next((i for i, r in enumerate(RATES) if math.isclose(lr, r)), len(RATES))


def outcome(solved_by: tuple[int, float] | None, budget: int) -> dict:
    """A seed's statistic from ``(steps, rate)`` of the run that solved it first, or
    unsolved (falsy ``solved_by``: censored at ``budget``)."""
    if not solved_by:
        return dict(solved=False, steps=budget, lr=float("nan"), epochs=epochs_from_steps(budget))
    steps, lr = solved_by
    return dict(solved=True, steps=int(steps), lr=float(lr), epochs=epochs_from_steps(steps))


def best_per_seed(runs: pd.DataFrame, earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (problem, T, model, seed) the paper's statistic: the fewest steps any rate needed
    (ties: the earlier rate in the authors' order), that rate, epochs; unsolved when no rate
    solved it (censored at the largest budget, with the best validation value reached).
    ``earlier``: per-seed rows of an earlier table, combined by ``with_earlier``."""
    rows = []
    fixed = paper_runs(runs) if earlier is None or has_paper_runs(runs) else pd.DataFrame()
    for key, g in (fixed.groupby(SEED_KEY, sort=True) if len(fixed) else ()):
        g = g.assign(rank=g["lr"].map(rate_rank))
        solved = g[g["reached"].astype(bool)].sort_values(["steps_to_target", "rank"],
                                                          kind="stable")
        budget = int(g["budget_steps"].max())
        row = dict(zip(SEED_KEY, key), rates_run=len(g), first_rank=int(g["rank"].min()),
                   budget=budget, budget_epochs=epochs_from_steps(budget),
                   best_val=float(g["best_val"].max()))
        best = (solved.iloc[0]["steps_to_target"], solved.iloc[0]["lr"]) if len(solved) else None
        rows.append(row | outcome(best, budget))
    now = pd.DataFrame(rows, columns=[*SEED_COLUMNS, "first_rank"])
    if earlier is not None:
        now = with_earlier(now, earlier)
    return now.drop(columns="first_rank").reset_index(drop=True)


def load_earlier(path: Path) -> pd.DataFrame:
    """An earlier table's per-seed rows (its FILE_seeds.csv)."""
    df = pd.read_csv(path)
    missing = [c for c in SEED_COLUMNS if c not in df]
    if missing:
        raise ValueError(f"{path}: not a per-seed table (no column {', '.join(missing)})")
    return df[SEED_COLUMNS].assign(solved=df["solved"].astype(bool))


def with_earlier(now: pd.DataFrame, earlier: pd.DataFrame) -> pd.DataFrame:
    """Per-seed rows of the runs here (``now``, with ``first_rank``: the rank of the earliest
    rate that ran) and of an earlier table, whose row covers its seed's first ``rates_run``
    rates. A seed only in one is kept as it is; a seed whose runs here are all of later rates
    is the better of both (ties: the earlier table's, whose rates came first); a seed whose runs
    here include a rate the earlier row covers was rerun, and the runs here replace it."""
    earlier = earlier.set_index(SEED_KEY)
    now = now.set_index(SEED_KEY)
    rows = []
    for key in earlier.index.union(now.index).sort_values():
        if key not in now.index:
            rows.append({**dict(zip(SEED_KEY, key)), **earlier.loc[key].to_dict(),
                         "first_rank": 0})
            continue
        n = now.loc[key]
        if key not in earlier.index or n["first_rank"] < earlier.loc[key, "rates_run"]:
            rows.append({**dict(zip(SEED_KEY, key)), **n.to_dict()})
            continue
        e = earlier.loc[key]
        budget = int(max(e["budget"], n["budget"]))
        best = e if e["solved"] and (not n["solved"] or e["steps"] <= n["steps"]) else n
        row = dict(zip(SEED_KEY, key), rates_run=int(e["rates_run"] + n["rates_run"]),
                   first_rank=0, budget=budget, budget_epochs=epochs_from_steps(budget),
                   best_val=float(max(e["best_val"], n["best_val"])))
        rows.append(row | outcome((best["steps"], best["lr"]) if best["solved"] else None,
                                  budget))
    return pd.DataFrame(rows, columns=[*SEED_COLUMNS, "first_rank"])


def earlier_cut(earlier: pd.DataFrame, key: tuple, wave: int, budget: int) -> int | None:
    """For the run of rate ``RATES[wave]`` of one (problem, T, model, seed): None when the
    earlier table's row covers that rate, else its budget, cut (the authors' abandoning) to the
    steps with which the earlier rates solved it."""
    rows = earlier[(earlier[SEED_KEY] == pd.Series(key, index=SEED_KEY)).all(axis=1)]
    if not len(rows):
        return int(budget)
    row = rows.iloc[0]
    if wave < row["rates_run"]:
        return None
    return int(min(budget, row["steps"])) if row["solved"] else int(budget)


def abandon_budget(earlier: pd.DataFrame, budget: int) -> int:
    """The authors' early abandoning for one (problem, T, model, seed): the next rate gets as
    many updates as the fewest an earlier rate needed to solve it (``earlier``: the finished
    runs of the earlier rates, with ``reached`` and ``steps_to_target``), else ``budget``."""
    solved = earlier[earlier["reached"].astype(bool)] if len(earlier) else earlier
    if not len(solved):
        return int(budget)
    return int(min(budget, int(solved["steps_to_target"].min())))


def cell_summary(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per (problem, T, model): seeds, solved, KM median epochs over seeds (inf when half or
    more never solved it), the range, our budget in epochs and the rates chosen per seed."""
    rows = []
    for key, g in per_seed.groupby(["problem", "T", "model"], sort=True):
        epochs = g["epochs"].to_numpy(dtype=float)
        solved = g["solved"].to_numpy(dtype=bool)
        rates = g.loc[g["solved"], "lr"].map(rate_rank).value_counts()
        rows.append(dict(zip(["problem", "T", "model"], key), seeds=len(g),
                         solved=int(solved.sum()), median=float(km_median(epochs, solved)),
                         low=int(epochs.min()), high=int(epochs.max()),
                         high_solved=bool(solved[epochs == epochs.max()].all()),
                         budget_epochs=int(g["budget_epochs"].max()),
                         best_val=float(g["best_val"].median()),
                         rates={RATES[i]: int(n) for i, n in sorted(rates.items())},
                         rates_run=int(g["rates_run"].min()) if "rates_run" in g
                         else len(RATES)))
    return pd.DataFrame(rows)


def agrees(ours_median: float, budget_epochs: int, paper: int | str) -> bool:
    """The issue's rule: same epoch count within one epoch, or both unsolved within our budget
    where the paper never solved it (a percentage) or needed more epochs than our budget."""
    paper_unsolved = isinstance(paper, str)
    if math.isfinite(ours_median):
        return not paper_unsolved and abs(ours_median - paper) <= 1
    return paper_unsolved or paper > budget_epochs


def epochs_cell(c: pd.Series) -> str:
    """A ``cell_summary`` row as ``2 [1-3], 5/5``: KM median epochs [range over seeds], seeds
    solved; ``>10 [>10], 0/5`` where no seed solved it within the budget."""
    budget = f">{c['budget_epochs']}"
    median = f"{c['median']:g}" if math.isfinite(c["median"]) else budget
    high = str(c["high"]) if c["high_solved"] else budget
    span = budget if c["solved"] == 0 else (high if str(c["low"]) == high
                                            else f"{c['low']}-{high}")
    return f"{median} [{span}], {c['solved']}/{c['seeds']}"


def format_ours(c: pd.Series) -> str:
    """``2 [1-3], 5/5, lr 0.01 x3, 0.003 x2``; unsolved: ``>10 [>10], 0/5, best acc 0.950``;
    a cell where some seed ran fewer than the four rates says so."""
    text = epochs_cell(c)
    if c["rates"]:
        text += ", lr " + ", ".join(f"{r:g} x{n}" for r, n in c["rates"].items())
    if not math.isfinite(c["median"]):
        text += f", best acc {c['best_val']:.3f}"
    if c["rates_run"] < len(RATES):  # a subset of the rates ran (e.g. a time-boxed profile)
        text += f", only {c['rates_run']} of {len(RATES)} rates run"
    return text


def paper_table(runs: pd.DataFrame, lengths: tuple[int, ...] = PAPER_LENGTHS,
                earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows problem x T0; per model our cell, the paper's value and whether they agree
    ("not run" where we have no runs); ``earlier`` as in ``best_per_seed``."""
    cells = cell_summary(best_per_seed(runs, earlier)).set_index(["problem", "T", "model"])
    rows = []
    for problem in PROBLEMS.values():
        for T in lengths:
            row = {"problem": problem, "T0": T}
            for model in PAPER_MODELS.values():
                paper = PAPER_TABLE1[(problem, model)][T]
                if (problem, T, model) in cells.index:
                    c = cells.loc[(problem, T, model)]
                    ours = format_ours(c)
                    agree = "yes" if agrees(c["median"], c["budget_epochs"], paper) else "no"
                else:
                    ours, agree = "not run", ""
                row |= {f"{model}: ours (epochs)": ours, f"{model}: paper": str(paper),
                        f"{model}: agree": agree}
            rows.append(row)
    return pd.DataFrame(rows)


def cost_markdown(rates: pd.DataFrame) -> str:
    """Per T0 and model, the training cost of the rate cells that carry it (an earlier table's
    may not): the range of their median milliseconds per update and the summed training time
    of every run (all problems, rates and seeds)."""
    kept = rates.dropna(subset=["step_ms", "train_s"])
    if kept.empty:
        return ""
    rows = [{"T0": t, "model": m,
             "ms per update": f"{g['step_ms'].min():.1f}-{g['step_ms'].max():.1f}",
             "runs": int(g["runs"].sum()), "training s": f"{g['train_s'].sum():.0f}"}
            for (t, m), g in kept.groupby(["T", "model"], sort=True)]
    return to_markdown(pd.DataFrame(rows)).rstrip()


def variable_rates(runs: pd.DataFrame) -> pd.DataFrame:
    """The variable-length runs, one row per (problem, model, rate): seeds, solved, median best
    validation and test accuracy, the longest T, the budget, the paper's accuracy."""
    runs = runs[runs["task"].isin(PROBLEMS) & runs["model"].isin(PAPER_MODELS)
                & is_variable(runs)] if len(runs) else runs
    if runs.empty:
        return pd.DataFrame(columns=VARIABLE_COLUMNS)
    runs = runs.assign(problem=runs["task"].map(PROBLEMS), model=runs["model"].map(PAPER_MODELS),
                       lr=runs["hparams.lr"].astype(float))
    rows = []
    for (problem, model, lr), g in runs.groupby(["problem", "model", "lr"], sort=True):
        test = g.get("test_metrics.test/acc", pd.Series(dtype=float))
        rows.append({"problem": problem, "model": model, "lr": lr, "seeds": len(g),
                     "solved": int(g["reached"].astype(bool).sum()),
                     "best_val": float(g["best_val"].median()),
                     "test_acc": float(test.median()) if test.notna().any() else float("nan"),
                     "max_T": max(int(str(o).split("=", 1)[1]) for s in g["setting_overrides"]
                                  for o in s if str(o).startswith(VARIABLE_KEY)),
                     "budget_epochs": epochs_from_steps(int(g["budget_steps"].max())),
                     "paper": PAPER_VARIABLE[(problem, model)]})
    return pd.DataFrame(rows, columns=VARIABLE_COLUMNS)


def variable_results(rates: pd.DataFrame, earlier: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per (problem, model) the rate with the highest median best validation accuracy, from
    ``variable_rates`` rows and an earlier table's (its FILE_variable.csv) where these lack
    that (problem, model, rate)."""
    rates = join_missing(rates, earlier, ["problem", "model", "lr"])
    if rates.empty:
        return rates
    df = rates.sort_values(["problem", "model", "best_val", "lr"],
                           ascending=[True, True, False, False], kind="stable")
    return df.groupby(["problem", "model"], sort=True).head(1).reset_index(drop=True)


def variable_markdown(df: pd.DataFrame) -> str:
    """The variable-length results beside the paper's accuracies."""
    out = df.assign(T=[f"50-{t}" for t in df["max_T"]], epochs=df["budget_epochs"],
                    rate=[f"{r:g}" for r in df["lr"]],
                    solved=[f"{s}/{n}" for s, n in zip(df["solved"], df["seeds"])],
                    val=[f"{v:.3f}" for v in df["best_val"]],
                    test=[f"{v:.3f}" for v in df["test_acc"]],
                    paper=[f"{p:.3f} (T 50-10000, 100 epochs)" for p in df["paper"]])
    out = out[["problem", "model", "T", "epochs", "rate", "solved", "val", "test", "paper"]]
    out.columns = ["problem", "model", "T", "epochs", "best rate", "solved (100%)",
                   "best val acc (median)", "test acc at best (median)", "paper acc"]
    return to_markdown(out).rstrip()


def sibling(seeds_csv: Path, suffix: str) -> Path | None:
    """The file beside an earlier table's ``FILE_seeds.csv`` named ``FILE`` + ``suffix``."""
    if not seeds_csv.name.endswith("_seeds.csv"):
        return None
    return seeds_csv.with_name(seeds_csv.name[:-len("_seeds.csv")] + suffix)


def join_missing(here: pd.DataFrame, earlier: pd.DataFrame | None,
                 key: list[str]) -> pd.DataFrame:
    """``here``, plus the rows of an earlier table whose ``key`` ``here`` does not have (a
    column the earlier table lacks is empty in its rows)."""
    if earlier is None or not len(earlier):
        return here
    have = set(map(tuple, here[key].itertuples(index=False)))
    extra = earlier[[tuple(k) not in have for k in earlier[key].itertuples(index=False)]]
    frames = [df for df in (here, extra.reindex(columns=here.columns)) if len(df)]
    return pd.concat(frames, ignore_index=True) if frames else here


def read_if_exists(path: Path | None) -> pd.DataFrame | None:
    """The CSV at ``path``, or None where there is none."""
    return pd.read_csv(path) if path is not None and path.exists() else None


def rate_cells(runs: pd.DataFrame, earlier_rates: pd.DataFrame | None) -> pd.DataFrame:
    """Every rate's cell of the fixed-length runs, plus an earlier table's rate cells (its
    FILE.csv) that the runs here do not have."""
    key = ["problem", "T", "model", "lr"]
    cells = (cell_results(runs[~is_variable(runs)], PAPER_MODELS) if has_paper_runs(runs)
             else pd.DataFrame(columns=COLUMNS))
    both = join_missing(cells, earlier_rates, key)
    return both.sort_values(key, kind="stable").reset_index(drop=True)


@dataclass
class RaffelTables:
    """The tables of one call: Markdown (fixed-length, variable-length; "" when there is
    none) and the frames written beside them."""

    fixed: str
    variable: str
    variable_rows: pd.DataFrame
    rates: pd.DataFrame | None
    runs: pd.DataFrame
    earlier: pd.DataFrame | None


def build_tables(runs_dir: Path, lengths: tuple[int, ...] = PAPER_LENGTHS,
                 earlier_seeds: Path | None = None) -> RaffelTables:
    """The tables of the finished runs under ``runs_dir`` (joined with an earlier table's
    ``FILE_seeds.csv``, ``earlier_seeds``, and its siblings); ``ValueError`` or
    ``FileNotFoundError`` when there is nothing to show."""
    earlier = load_earlier(earlier_seeds) if earlier_seeds else None
    runs = load_local_runs(runs_dir) if runs_dir.exists() or earlier is None \
        else pd.DataFrame()
    if runs.empty and earlier is None:
        raise ValueError(f"no finished runs under {runs_dir}")
    lengths = tuple(sorted(set(lengths) | (set(earlier["T"]) if earlier is not None
                                           else set())))
    has_fixed = has_paper_runs(runs) or (earlier is not None and len(earlier) > 0)
    fixed = to_markdown(paper_table(runs, lengths, earlier)).rstrip() if has_fixed else ""
    variable_rows = variable_rates(runs)
    variable = variable_results(variable_rows, read_if_exists(
        sibling(earlier_seeds, "_variable.csv") if earlier_seeds else None))
    variable = variable_markdown(variable) if not variable.empty else ""
    if not fixed and not variable:
        raise ValueError(f"no Raffel & Ellis runs (attention_tanh, baseline on adding or "
                         f"multiply) under {runs_dir}")
    rates = rate_cells(runs, read_if_exists(
        sibling(earlier_seeds, ".csv") if earlier_seeds else None)) if has_fixed else None
    return RaffelTables(fixed, variable, variable_rows, rates, runs, earlier)


def write_tables(tables: RaffelTables, out: Path) -> None:
    """``out`` (FILE.md) and its siblings: FILE_variable.md, FILE_variable.csv, FILE.csv
    (every rate's cell), FILE_seeds.csv (every seed's best), FILE_cost.md (training cost);
    a table with nothing to show removes its stale file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    extra = out.with_name(out.stem + "_variable.md")
    for path, text in ((out, tables.fixed), (extra, tables.variable)):
        if text:
            path.write_text(text + "\n")
        else:
            path.unlink(missing_ok=True)
    if len(tables.variable_rows):
        tables.variable_rows.to_csv(out.with_name(out.stem + "_variable.csv"), index=False)
    cost = cost_markdown(tables.rates) if tables.fixed else ""
    cost_path = out.with_name(out.stem + "_cost.md")
    if cost:
        cost_path.write_text(cost + "\n")
    else:
        cost_path.unlink(missing_ok=True)
    if tables.fixed:
        tables.rates.to_csv(out.with_suffix(".csv"), index=False)
        best_per_seed(tables.runs, tables.earlier).to_csv(
            out.with_name(out.stem + "_seeds.csv"), index=False)
