"""W&B offline run files -> the same tidy runs table as local run folders, and the curves.

Reads each run's ``.wandb`` transaction log with W&B's own reader, ``wandb leet inspect
--json`` (one JSON record per line: run, config, history, summary, exit...). A run that was
resumed has several ``offline-run-*`` folders with the same run id; their records are joined
in time order. Only runs whose summary holds the run-summary figures (finished runs) are
rows of the table; others are reported on stderr and skipped, and so are files that hold no
records at all (a segment whose process was killed before W&B wrote anything: a resumed run
replays the run folder's curve, so its history is in the next segment).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from project.analysis.local_runs import flatten_summary, runs_frame
from project.analysis.variants import identity_fields
from project.runs.summary import SUMMARY_FIELDS

REQUIRED = ("task", "model", "seed", "steps_to_target", "reached")


def find_wandb_files(root: str | Path) -> list[Path]:
    """Every ``run-*.wandb`` file under ``root`` (a wandb folder, a run folder or a tree)."""
    root = Path(root)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"W&B offline folder not found: {root}")
    return sorted(p for p in root.rglob("run-*.wandb") if "latest-run" not in p.parts)


def inspect_command(path: Path) -> list[str]:
    """The command behind ``wandb leet inspect --json PATH``: W&B's ``wandb-core`` binary,
    called directly as the ``wandb`` CLI calls it (saves a Python start-up per file)."""
    from wandb.util import get_core_path

    return [get_core_path(), "leet", "inspect", "--no-observability", "--json",
            "--run-file", str(path), str(Path(path).parent.parent)]


def read_records(path: Path, timeout: float = 120) -> list[dict]:
    """All records of one ``.wandb`` file, decoded by W&B's reader (``leet inspect --json``);
    falls back to the ``wandb`` CLI itself if the direct call fails."""
    try:
        out = subprocess.run(inspect_command(path), capture_output=True, text=True,
                             timeout=timeout, check=False)
    except Exception:  # noqa: BLE001 -- any failure of the shortcut: use the public CLI
        out = None
    if out is None or out.returncode != 0:
        exe = shutil.which("wandb")
        if exe is None:
            raise FileNotFoundError("the `wandb` command is not on PATH (pip install wandb)")
        out = subprocess.run([exe, "leet", "inspect", "--json", str(path)],
                             capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        raise ValueError(f"wandb leet inspect failed on {path}: "
                         f"{(out.stderr.strip().splitlines() or ['?'])[-1]}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


def decode_run(records: list[dict]) -> dict:
    """``{id, name, group, tags, state, config, summary, history}`` from one file's records."""
    run: dict = {"config": {}, "summary": {}, "history": [], "exit_code": None}
    for rec in records:
        kind = rec.get("type")
        body = rec.get(kind, {}) if kind else {}
        if kind == "run":
            run.update(id=body.get("run_id"), name=body.get("display_name"),
                       group=body.get("run_group"), tags=body.get("tags", []),
                       project=body.get("project"), start_time=body.get("start_time"))
            run["config"].update(body.get("config", {}).get("update", {}))
        elif kind == "config":
            run["config"].update(body.get("update", {}))
        elif kind == "summary":
            run["summary"].update(body.get("update", {}))
            for key in body.get("remove", []) or []:
                run["summary"].pop(key, None)
        elif kind == "history":
            run["history"].append(body.get("item", {}))
        elif kind == "exit":
            run["exit_code"] = body.get("exit_code", 0)
    run["state"] = ("running" if run["exit_code"] is None
                    else "finished" if run["exit_code"] == 0 else "failed")
    return run


def load_offline_runs_raw(root: str | Path) -> list[dict]:
    """Decoded runs under ``root``; the files of a resumed run (same id) are merged in order."""
    merged: dict[str, dict] = {}
    paths = find_wandb_files(root)
    with ThreadPoolExecutor(max_workers=4) as pool:  # each read is a `wandb` subprocess
        decoded = list(pool.map(lambda p: decode_run(read_records(p)), paths))
    for path, run in zip(paths, decoded):
        if run.get("id") is None:
            print(f"warning: skipping {path}: it holds no W&B run records (its process was "
                  "killed before W&B wrote them)", file=sys.stderr)
    decoded = [run for run in decoded if run.get("id") is not None]
    for run in sorted(decoded, key=lambda r: r.get("start_time") or ""):
        prev = merged.get(run["id"])
        if prev is None:
            merged[run["id"]] = run
            continue
        prev["config"].update(run["config"])
        prev["summary"].update(run["summary"])
        prev["history"].extend(run["history"])
        prev.update(exit_code=run["exit_code"], state=run["state"])
    return list(merged.values())


def summary_fields(run: dict) -> dict | None:
    """The run-summary figures kept in a W&B run summary (None if the run never finished)."""
    s = run["summary"]
    if not all(k in s for k in REQUIRED):
        return None
    return identity_fields({k: s[k] for k in (*SUMMARY_FIELDS, "cell") if k in s})


def runs_table(raw: list[dict], source: str) -> pd.DataFrame:
    """Tidy table of finished runs (columns as ``load_local_runs``) from decoded W&B runs."""
    rows = []
    for run in raw:
        fields = summary_fields(run)
        if fields is None:
            print(f"warning: skipping W&B run {run.get('id')} ({run.get('name')}) in {source}: "
                  f"no summary figures (state {run.get('state')})", file=sys.stderr)
            continue
        rows.append({**flatten_summary(fields), "run_dir": run["config"].get("run_dir")})
    return runs_frame(rows)


def curves_table(raw: list[dict]) -> pd.DataFrame:
    """Long curves table (as ``load_local_curves``) from the runs' W&B histories.

    Validation rows are the history rows with a ``val/*`` value; ``train_time_s`` is the
    training clock logged with them (NaN for runs logged before it was).
    """
    frames = []
    for run in raw:
        if summary_fields(run) is None:
            continue
        hist = pd.DataFrame(run["history"])
        if hist.empty or "trainer/global_step" not in hist:
            continue
        val_cols = [c for c in hist.columns if c.startswith(("val/", "train/"))]
        hist = hist[hist[[c for c in val_cols if c.startswith("val/")]].notna().any(axis=1)]
        curve = pd.DataFrame({"run_dir": run["config"].get("run_dir"),
                              "step": hist["trainer/global_step"].astype(int),
                              "train_time_s": hist.get("train_time_s", float("nan"))})
        curve = pd.concat([curve, hist[val_cols]], axis=1)
        frames.append(curve.drop_duplicates("step", keep="last"))
    if not frames:
        return pd.DataFrame(columns=["run_dir", "step", "train_time_s"])
    return pd.concat(frames, ignore_index=True)


def load_offline_runs(root: str | Path, group: str | None = None,
                      tags: tuple[str, ...] | list[str] = ()) -> tuple[pd.DataFrame,
                                                                      pd.DataFrame]:
    """``(runs, curves)`` from the W&B offline files under ``root``, optionally only those of
    a W&B group (experiment) and carrying all of ``tags``."""
    raw = [r for r in load_offline_runs_raw(root)
           if (group is None or r.get("group") == group) and set(tags) <= set(r.get("tags", []))]
    return runs_table(raw, str(root)), curves_table(raw)
