"""Raffel & Ellis 2016, Table 1 beside the published values:
``python -m project.raffel_table RUNS [--out FILE.md] [--lengths T0,...] [--earlier FILE_seeds.csv]``.

Prints the fixed-length and variable-length tables of the finished runs under RUNS; with
``--out``, writes them and their CSVs beside FILE.md. How a cell is computed:
``project.analysis.raffel_table``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from project.analysis.raffel_table import PAPER_LENGTHS, build_tables, write_tables
from project.cli import user_error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m project.raffel_table", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path, help="folder of finished runs (searched recursively)")
    p.add_argument("--out", type=Path, help="also write the table here (FILE.md; the "
                   "variable-length table to FILE_variable.md, every rate's cell to FILE.csv, "
                   "every seed's best to FILE_seeds.csv, the training cost to FILE_cost.md)")
    p.add_argument("--lengths", default=",".join(map(str, PAPER_LENGTHS)),
                   help="T0 rows to show (default: the paper's six; T0s of --earlier added)")
    p.add_argument("--earlier", type=Path, help="an earlier table's FILE_seeds.csv: its seeds "
                   "join the runs here (its FILE.csv and FILE_variable.csv, beside it, the rate "
                   "cells and the variable-length rates)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        lengths = tuple(int(t) for t in args.lengths.split(","))
        tables = build_tables(args.runs, lengths, args.earlier)
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    print("\n\n".join(t for t in (tables.fixed, tables.variable) if t))
    if args.out:
        write_tables(tables, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
