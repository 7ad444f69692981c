"""Report: ``python -m project.report SOURCE --out DIR [--control VARIANT]``, or
``python -m project.report --from-csv RUNS_CSV --out DIR`` (every table from the published
per-seed CSV alone).

Turns finished runs into the main table of docs/protocol.md (Markdown, LaTeX booktabs, CSV):
every variant of a setting against the control (default: mean pooling, the model config
``baseline``), paired by seed; the figures (validation curves, performance profile, speedup
forest plot; PNG and SVG) and one self-contained ``report.html``; prints the Markdown table,
the smallest p-value it could show, the across-settings line and the path of the HTML file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from project.analysis.report import DEFAULT_CONTROL, build_from_csv, build_report
from project.cli import user_error
from project.stats.bootstrap import N_RESAMPLES, SEED


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m project.report", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="SOURCE: DIR (local run folders, found by their summaries), wandb-offline:DIR "
               "(W&B offline run files under DIR), or wandb:ENTITY/PROJECT (W&B API; filters "
               "--group, --tag, --state).")
    p.add_argument("source", metavar="SOURCE", nargs="?", help="DIR, wandb-offline:DIR or "
                   "wandb:ENTITY/PROJECT (see below); not with --from-csv")
    p.add_argument("--from-csv", metavar="FILE", type=Path, help="rebuild every table from a "
                   "published runs CSV (a report's runs.csv) alone, instead of SOURCE")
    p.add_argument("--step-costs", metavar="FILE", help="benchmark JSON of isolated step "
                   "costs (scripts/bench_step_costs.py's docs/step_costs.json): time = steps x "
                   "cost")
    p.add_argument("--out", required=True, type=Path, help="output folder (created)")
    p.add_argument("--group", help="experiment (W&B group) to keep")
    p.add_argument("--tag", action="append", default=[], help="keep runs with this tag "
                   "(model or task); repeatable")
    p.add_argument("--state", default="finished", help="W&B run state to keep (online)")
    p.add_argument("--control", default=DEFAULT_CONTROL, metavar="VARIANT",
                   help="the variant every other variant of a setting is compared with: a "
                        "variant label (model, or model[model.k=v,...]) or a model name "
                        f"(default: {DEFAULT_CONTROL}, i.e. mean pooling)")
    p.add_argument("--target", choices=["config", "auto"], default="config",
                   help="config: each run's task target; auto: per setting, the median over "
                        "seeds of the control's best validation value (needs curves)")
    p.add_argument("--resamples", type=int, default=N_RESAMPLES, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=SEED, help="bootstrap seed")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if (args.source is None) == (args.from_csv is None):
        return user_error("give either SOURCE or --from-csv FILE, not both or neither")
    if args.from_csv is not None and (args.target != "config" or args.step_costs):
        return user_error("--from-csv rebuilds from the CSV alone: no --target auto (needs "
                          "curves) and no --step-costs (the CSV carries step_cost_s)")
    try:
        if args.from_csv is not None:
            result = build_from_csv(args.from_csv, args.out, n_resamples=args.resamples,
                                    seed=args.seed, control=args.control)
        else:
            result = build_report(args.source, args.out, group=args.group, tags=args.tag,
                                  state=args.state, n_resamples=args.resamples,
                                  seed=args.seed, target=args.target, control=args.control,
                                  step_costs=args.step_costs)
    except (LookupError, OSError, ValueError) as e:  # OSError: --out a file, read-only, full
        return user_error(e)
    print(result["markdown"])
    print(result["floor"])
    print()
    print(result["across"])
    print(f"report: {result['files']['html'].resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
