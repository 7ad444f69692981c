"""W&B report for one experiment (a W&B group), built as code with ``wandb-workspaces``.

The report holds, in order: the local report's main table (``main_table.md``) as a markdown
block; per task, a panel grid whose run set is the experiment's runs of that task (filter
``Group = <experiment> and JobType = <task>``: ``project/training/wandb_logging.py`` sets the
group to the experiment and the job type to the task), grouped by variant, with two line
plots of the task's validation metric (against ``trainer/global_step`` and against
``train_time_s``; median over seeds with a min/max band); and a runs table of the whole
experiment with the convergence columns of the run's summary.

Building the objects needs no network. ``wandb-workspaces`` looks the project up on the
server when it serialises a run set that names an entity and a project, so ``viewspec``
serialises run sets without them and writes the project into the JSON afterwards;
``report_from_viewspec`` reads such a file back (``python -m project.dashboard --publish``).
"""

from __future__ import annotations

import copy
import json
import os
import shlex
import threading
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import wandb_workspaces.expr as wexpr
import wandb_workspaces.reports.v2 as wr
from wandb_workspaces.reports.v2 import internal

STEP_AXIS = "trainer/global_step"  # x axis of every logged curve (wandb_logging.py)
TIME_AXIS = "train_time_s"         # training clock, logged with every validation row
VARIANT_KEY = "identity.variant"   # W&B config key of a run's variant (project/runs/identity.py)
# run-summary figures that wandb_logging.py copies into the W&B run summary
CONVERGENCE_COLUMNS = ("steps_to_target", "time_to_target", "reached", "auc", "best_val",
                       "test_at_best")
AGGREGATE = "median"   # line through the runs of a variant
BAND = "minmax"        # shaded band around it
SPEC_FORMAT = "wandb-workspaces ReportViewspec"


@dataclass(frozen=True)
class TaskCurves:
    """A task of the experiment and the validation metric its curves show."""

    task: str
    val_metric: str


def run_filter(group: str, task: str | None = None):
    """The run-set filter: the experiment's runs (W&B group), of one task (job type) if given."""
    terms = [wexpr.Metric("Group") == group]
    if task is not None:
        terms.append(wexpr.Metric("JobType") == task)
    return wexpr.And(*terms) if len(terms) > 1 else wexpr.And(terms[0])


def table_columns() -> list[str]:
    """Runs-table columns: the variant, then the convergence figures of the run's summary."""
    name, rest = VARIANT_KEY.split(".", 1)
    return [f"config:{name}.value.{rest}", *(f"summary:{c}" for c in CONVERGENCE_COLUMNS)]


def runset(entity: str, project: str, group: str, task: str | None = None,
           grouped: bool = True) -> wr.Runset:
    """The runs of the experiment (and task), grouped by variant, convergence columns shown."""
    columns = table_columns()
    return wr.Runset(
        entity=entity, project=project, name=f"{group}: {task}" if task else group,
        filters=run_filter(group, task),
        groupby=[f"config.{VARIANT_KEY}"] if grouped else [],
        pinned_columns=columns[:1], visible_columns=columns, column_order=columns,
    )


def curve_plots(curves: TaskCurves) -> list[wr.LinePlot]:
    """The task's validation metric against steps and against training seconds."""
    common = dict(y=[curves.val_metric], title_y=curves.val_metric,
                  groupby=wr.Config(VARIANT_KEY), groupby_aggfunc=AGGREGATE,
                  groupby_rangefunc=BAND)
    return [
        wr.LinePlot(title=f"{curves.task}: {curves.val_metric} vs steps", x=STEP_AXIS,
                    title_x="optimizer steps", layout=wr.Layout(x=0, y=0, w=12, h=8), **common),
        wr.LinePlot(title=f"{curves.task}: {curves.val_metric} vs time", x=TIME_AXIS,
                    title_x="training time (s)", layout=wr.Layout(x=12, y=0, w=12, h=8),
                    **common),
    ]


def build_wandb_report(entity: str, project: str, group: str, tasks: list[TaskCurves],
                 markdown: str, title: str | None = None) -> wr.Report:
    """The experiment's report (not saved). ``entity`` may be empty until publishing."""
    blocks: list = [
        wr.P(f"Experiment (W&B group) {group!r}: convergence of each variant against the control. "
             f"Curves: median over seeds per variant ({VARIANT_KEY}), band = min/max."),
        wr.H2("Main table"),
        wr.MarkdownBlock(text=markdown),
    ]
    for curves in tasks:
        blocks += [wr.H2(f"Task {curves.task}"),
                   wr.PanelGrid(runsets=[runset(entity, project, group, curves.task)],
                                panels=curve_plots(curves))]
    blocks += [wr.H2("Runs"),
               wr.PanelGrid(runsets=[runset(entity, project, group, grouped=False)])]
    return wr.Report(entity=entity, project=project,
                     title=(title or f"{group}: convergence")[:128],
                     description=f"Runs of group {group} in {project}; built by "
                                 "python -m project.dashboard", blocks=blocks)


def _runsets(report: wr.Report):
    for block in report.blocks:
        if isinstance(block, wr.PanelGrid):
            yield from block.runsets


def viewspec(report: wr.Report) -> dict:
    """The report's model (``internal.ReportViewspec``) as JSON-ready data, built offline.

    Run sets are serialised without entity/project (that would ask the server for the
    project's id) and get them back as a plain ``project`` entry.
    """
    offline = copy.deepcopy(report)
    for rs in _runsets(offline):
        rs.entity, rs.project = "", ""
    model = offline._to_model()  # wandb-workspaces' serialisation, as Report.save() uses
    for block in model.spec.blocks:
        if isinstance(block, internal.PanelGrid):
            for rs in block.metadata.run_sets:
                rs.project = internal.Project(entity_name=report.entity, name=report.project)
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def spec_document(report: wr.Report, group: str) -> dict:
    """What an offline build writes: the viewspec and how it was made."""
    return {"format": SPEC_FORMAT, "wandb_workspaces": version("wandb-workspaces"),
            "entity": report.entity, "project": report.project, "group": group,
            "viewspec": viewspec(report)}


def report_from_viewspec(document: dict, entity: str | None = None,
                         project: str | None = None) -> wr.Report:
    """The ``wr.Report`` of a written spec document, optionally moved to entity/project."""
    if document.get("format") != SPEC_FORMAT:
        raise ValueError(f"not a report spec written by project.dashboard "
                         f"(format {document.get('format')!r})")
    report = wr.Report._from_model(internal.ReportViewspec.model_validate(document["viewspec"]))
    entity = entity or document.get("entity") or report.entity
    project = project or document.get("project") or report.project
    report.entity, report.project = entity, project
    for rs in _runsets(report):
        rs.entity, rs.project = entity, project
    return report


# --- building from a runs source, publishing or writing the spec -------------------------

PUBLISH_TIMEOUT_S = 120.0  # an online save that takes longer falls back to the spec file


def tasks_from_runs(runs) -> list[TaskCurves]:
    """One ``TaskCurves`` per task of a runs table (``load_runs``), in task order."""
    if runs.empty:
        return []
    metrics = runs.groupby("task", sort=True)["val_metric"].agg(lambda s: sorted(set(s)))
    out = []
    for task, names in metrics.items():
        if len(names) != 1:
            raise ValueError(f"task {task!r}: runs disagree on the validation metric {names}")
        out.append(TaskCurves(str(task), str(names[0])))
    return out


def offline_reason() -> str | None:
    """Why the report cannot be published now (``WANDB_MODE`` or no API key), else None."""
    from project.wandb_credentials import has_api_key

    mode = os.environ.get("WANDB_MODE", "")
    if mode in ("offline", "dryrun", "disabled"):
        return f"WANDB_MODE={mode}"
    if not has_api_key():
        return "no W&B API key (WANDB_API_KEY or ~/.netrc)"
    return None


def publish(report: wr.Report, timeout_s: float = PUBLISH_TIMEOUT_S) -> str:
    """Save the report on the W&B server and return its URL; raises on failure or after
    ``timeout_s`` seconds (the save runs in a daemon thread, so a stalled server never
    holds the caller)."""
    result: dict = {}

    def save() -> None:
        try:
            if not report.entity:
                import wandb

                report.entity = wandb.Api().default_entity
                for rs in _runsets(report):
                    rs.entity = report.entity
            report.save()
            result["url"] = report.url
        except BaseException as e:  # noqa: BLE001 -- handed to the caller
            result["error"] = e

    worker = threading.Thread(target=save, daemon=True, name="wandb-report-save")
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"saving the report took over {timeout_s:.0f} s")
    if "error" in result:
        raise result["error"]
    return result["url"]


def write_spec(report: wr.Report, group: str, path: Path) -> Path:
    """Write the offline spec document (``spec_document``) to ``path``, whole (temp file and
    rename: a killed write leaves the previous file)."""
    from project.runs.folder import make_folder, write_text_atomic

    path = Path(path)
    make_folder(path.parent, "spec folder", "--out")
    write_text_atomic(path, json.dumps(spec_document(report, group), indent=1) + "\n")
    return path


def publish_command(path: Path, entity: str) -> str:
    """The command that publishes a written spec later (after ``wandb login``)."""
    entity_arg = "" if entity else " --entity ENTITY"
    return f"python -m project.dashboard --publish {shlex.quote(str(path))}{entity_arg}"
