"""W&B report for an experiment: ``python -m project.dashboard SOURCE --group EXPERIMENT``.

Builds, with ``wandb-workspaces``, a report of the experiment's runs (the W&B group): the
main table of ``python -m project.report`` (``--table main_table.md``, or computed from
SOURCE), per task the validation metric against steps and against training time (median
per variant, min/max band), and a runs table with the convergence columns of
the run's summary (project/analysis/render/dashboard.py).

Online (an API key, WANDB_MODE not offline) it saves the report and prints its URL.
Offline it writes the report's spec (JSON) and prints the command that publishes it later:
``python -m project.dashboard --publish FILE``. It never prompts for a login.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from project.cli import error_line as user_line
from project.cli import user_error

EXIT_PUBLISH_FAILED = 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m project.dashboard", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("source", nargs="?", metavar="SOURCE",
                   help="runs: DIR, wandb-offline:DIR or wandb:ENTITY/PROJECT (as "
                        "project.report); gives the tasks, their metrics and the table")
    p.add_argument("--group", help="the experiment (W&B group) the report shows (required "
                                   "with SOURCE)")
    p.add_argument("--table", type=Path, help="main_table.md of project.report (default: "
                                              "computed from SOURCE)")
    p.add_argument("--entity", help="W&B entity (default: $WANDB_ENTITY, else your default "
                                    "entity when publishing)")
    p.add_argument("--project", help="W&B project (default: logger.project of "
                                     "conf/logger/wandb.yaml)")
    p.add_argument("--title", help="report title (default: '<group>: convergence')")
    p.add_argument("--out", type=Path, help="offline: spec file (default: "
                                            "dashboards/<group>.report.json)")
    p.add_argument("--publish", type=Path, metavar="SPEC",
                   help="publish a spec written offline (needs an API key)")
    args = p.parse_args(argv)
    if args.publish is None and (args.source is None or not args.group):
        p.error("give SOURCE and --group, or --publish SPEC")
    return args


def default_project() -> str:
    from omegaconf import OmegaConf

    from project.runs.compose import CONF_DIR

    return str(OmegaConf.load(CONF_DIR / "logger" / "wandb.yaml").project)


def main_table_markdown(source: str, group: str, table: Path | None) -> str:
    """The ``main_table.md`` text: the given file, else ``project.report`` run on SOURCE."""
    if table is not None:
        return table.read_text()
    from project.analysis.report import build_report

    with tempfile.TemporaryDirectory(prefix="dashboard-table-") as tmp:
        return build_report(source, Path(tmp), group=group)["markdown"]


def publish_or_write(report, group: str, out: Path) -> int:
    """Publish the report when online; otherwise (or when publishing fails) write its spec."""
    from project.analysis.render import dashboard as dash

    reason = dash.offline_reason()
    if reason is None:
        try:
            print(f"report: {dash.publish(report)}")
            return 0
        except Exception as e:  # noqa: BLE001 -- any failure: keep the work as a spec file
            reason = f"publishing failed ({user_line(e)})"
            status = EXIT_PUBLISH_FAILED
    else:
        status = 0
    path = dash.write_spec(report, group, out)
    print(f"offline: {reason}; report spec written to {path}")
    print(f"publish it later with: wandb login && {dash.publish_command(path, report.entity)}")
    return status


def main(argv: list[str] | None = None) -> int:
    import os

    args = parse_args(argv)
    try:
        from project.analysis.render import dashboard as dash

        if args.publish is not None:
            reason = dash.offline_reason()
            if reason is not None:
                return user_error(f"cannot publish: {reason}; run `wandb login` first")
            document = json.loads(args.publish.read_text())
            report = dash.report_from_viewspec(document, args.entity, args.project)
            try:
                print(f"report: {dash.publish(report)}")
            except Exception as e:  # noqa: BLE001 -- server, auth, timeout: one line
                print(f"error: publishing failed: {user_line(e)}", file=sys.stderr)
                return EXIT_PUBLISH_FAILED
            return 0
        from project.analysis.sources import load_runs

        runs, _ = load_runs(args.source, args.group)
        tasks = dash.tasks_from_runs(runs)
        if not tasks:
            raise LookupError(f"no finished runs of group {args.group!r} in {args.source}")
        markdown = main_table_markdown(args.source, args.group, args.table)
        entity = args.entity or os.environ.get("WANDB_ENTITY", "")
        report = dash.build_wandb_report(entity, args.project or default_project(), args.group,
                                   tasks, markdown, args.title)
    except (LookupError, OSError, ValueError) as e:
        return user_error(e)
    out = args.out or Path("dashboards") / f"{args.group}.report.json"
    return publish_or_write(report, args.group, out)


if __name__ == "__main__":
    sys.exit(main())
