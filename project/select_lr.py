"""Each model at its own learning rate, chosen on validation:
``python -m project.select_lr RUNS --out DIR [--with EVIDENCE.csv] [--write-configs]``.

RUNS: a finished learning-rate sweep on pilot seeds (``conf/sweep/lr_tuning.yaml``). Writes
DIR/lr_selection.csv (every rate's seeds, their validation-curve means and median, and which
was chosen: ``project.analysis.lr_selection``) and prints the chosen rates; a choice at the
largest rate tried is flagged (the grid is then extended upward: ``conf/sweep/lr_tuning_up.yaml``,
whose runs are chosen among together with the earlier grid's committed evidence, ``--with``). With
``--write-configs`` the choice goes into each task's ``conf/task/<task>.yaml`` as its
``model_lr`` line, which the optimizer reads (``conf/optimizer/*.yaml``); a model without an
entry runs at the task's shared ``lr``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from project.analysis.local_runs import load_local_runs
from project.analysis.lr_selection import chosen_rates, rate_evidence
from project.cli import user_error
from project.runs.compose import CONF_DIR

MODEL_LR_LINE = re.compile(r"^model_lr:.*\n", re.MULTILINE)
LR_LINE = re.compile(r"^lr:.*\n", re.MULTILINE)


def model_lr_line(rates: dict[str, float], source: str) -> str:
    pairs = ", ".join(f"{model}: {lr:g}" for model, lr in sorted(rates.items()))
    return f"model_lr: {{{pairs}}}  # each model's rate, chosen on validation: {source}\n"


def write_config(task_file: Path, rates: dict[str, float], source: str) -> None:
    """Put ``rates`` into ``task_file`` as its ``model_lr`` line (after its ``lr`` line)."""
    text = task_file.read_text()
    line = model_lr_line(rates, source)
    if MODEL_LR_LINE.search(text):
        text = MODEL_LR_LINE.sub(lambda _: line, text, count=1)
    elif (lr := LR_LINE.search(text)) is not None:
        text = text[:lr.end()] + line + text[lr.end():]
    else:
        raise ValueError(f"{task_file} has no top-level lr line to put model_lr after")
    task_file.write_text(text)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.select_lr", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, help="finished runs of a learning-rate sweep")
    p.add_argument("--out", type=Path, required=True, help="folder for lr_selection.csv")
    p.add_argument("--with", dest="earlier", type=Path, metavar="EVIDENCE.csv",
                   help="an earlier lr_selection.csv whose rates these runs extend")
    p.add_argument("--write-configs", action="store_true",
                   help="write the chosen rates into conf/task/<task>.yaml (model_lr)")
    args = p.parse_args(argv)
    try:
        runs = load_local_runs(args.runs)
        if runs.empty:
            raise ValueError(f"no finished runs under {args.runs}")
        earlier = pd.read_csv(args.earlier) if args.earlier else None
        evidence = rate_evidence(runs, earlier)
        args.out.mkdir(parents=True, exist_ok=True)
        evidence_file = args.out / "lr_selection.csv"
        evidence.to_csv(evidence_file, index=False)
        rates = chosen_rates(evidence)
        if args.write_configs:
            for task, by_model in rates.items():
                write_config(CONF_DIR / "task" / f"{task}.yaml", by_model, str(evidence_file))
    except (ValueError, FileNotFoundError, OSError, pd.errors.ParserError) as e:
        return user_error(e)
    for row in evidence.itertuples(index=False):
        where = " ".join(x for x in (row.setting, row.variant) if x)
        print(f"{row.task} {row.model}{' ' + where if where else ''} lr {row.lr:g}: median "
              f"{row.median:.4g} (seeds {row.seeds}){'  <- chosen' if row.chosen else ''}"
              f"{' (largest rate tried)' if row.at_edge else ''}")
    print(f"evidence -> {evidence_file}"
          + ("; chosen rates written into conf/task/*.yaml (model_lr)" if args.write_configs
             else "; --write-configs puts the chosen rates into conf/task/*.yaml"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
