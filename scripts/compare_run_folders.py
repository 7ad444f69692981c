"""Compare two trees of run folders made by the same commands (before and after a change):
``python scripts/compare_run_folders.py OLD NEW``.

Every run folder (one holding a ``summary.json``) of either tree must be in the other at the
same relative path, with: the same ``summary.json`` less its clock and memory fields
(``CLOCK_FIELDS``), the same ``metrics.csv`` less its ``train_time_s`` column, the same
``config.yaml`` (the trees' own root paths written as ``<root>``); and every
``main_table.csv`` (a report's) less its wall-clock columns (names holding ``time``: the
time to target and its speedups, which no two runs reproduce). Prints one line per difference and a total;
exit 0 when there is none, 1 otherwise, 2 for a missing folder.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

CLOCK_FIELDS = ("train_time_s", "time_to_target", "step_time_ms", "samples_per_s",
                "peak_mem_mb")
CURVE_CLOCK = "train_time_s"


def summary_less_clocks(path: Path) -> dict:
    data = json.loads(path.read_text())
    return {k: v for k, v in data.items() if k not in CLOCK_FIELDS}


def curve_less_clock(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return [{k: v for k, v in row.items() if k != CURVE_CLOCK} for row in rows]


def table_less_clocks(path: Path) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    return [{k: v for k, v in row.items() if "time" not in k} for row in rows]


def config_text(path: Path, root: Path) -> str:
    return path.read_text().replace(str(root.resolve()), "<root>").replace(str(root), "<root>")


def relative_files(root: Path, name: str) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob(name)}


def compare(old: Path, new: Path) -> list[str]:
    """One line per difference between the trees ``old`` and ``new``."""
    out = []
    for name in ("summary.json", "main_table.csv"):
        a, b = relative_files(old, name), relative_files(new, name)
        out += [f"only in {old}: {p}" for p in sorted(a - b)]
        out += [f"only in {new}: {p}" for p in sorted(b - a)]
    for rel in sorted(relative_files(old, "summary.json") & relative_files(new, "summary.json")):
        run_old, run_new = old / rel.parent, new / rel.parent
        if summary_less_clocks(run_old / rel.name) != summary_less_clocks(run_new / rel.name):
            out.append(f"summary.json differs: {rel.parent}")
        if curve_less_clock(run_old / "metrics.csv") != curve_less_clock(run_new / "metrics.csv"):
            out.append(f"metrics.csv differs: {rel.parent}")
        if config_text(run_old / "config.yaml", old) != config_text(run_new / "config.yaml", new):
            out.append(f"config.yaml differs: {rel.parent}")
    for rel in sorted(relative_files(old, "main_table.csv") & relative_files(new, "main_table.csv")):
        if table_less_clocks(old / rel) != table_less_clocks(new / rel):
            out.append(f"main_table.csv differs: {rel}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    args = p.parse_args(argv)
    for root in (args.old, args.new):
        if not root.is_dir():
            print(f"error: not a folder: {root}", file=sys.stderr)
            return 2
    differences = compare(args.old, args.new)
    for line in differences:
        print(line)
    runs = len(relative_files(args.old, "summary.json"))
    tables = len(relative_files(args.old, "main_table.csv"))
    print(f"{runs} run folder(s), {tables} main table(s) compared: "
          f"{len(differences)} difference(s)")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
