"""Does a trained adding/multiply model's held-out error carry the 1/L signature? (issue 29)

    python -m project.length_mechanism RUN_DIR [RUN_DIR ...] [--split test] [--bins 4]
        [--out FILE.csv] [--earlier FILE.csv]

One row per finished run: its held-out error regressed on S (mean L / L - 1) and split by
length (``project.analysis.length_mechanism``). ``--earlier``: an earlier ``--out`` whose rows
stand for runs no longer on disk (a run found here replaces its earlier row).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from project.analysis.length_mechanism import find_runs, mechanism_row, predict_run, run_label
from project.analysis.mechanism_csv import RUN_KEY, read_mechanism
from project.cli import user_error
from project.runs import folder as run_folder


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.length_mechanism",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="run folders, or folders holding them")
    p.add_argument("--split", choices=("val", "test"), default="test")
    p.add_argument("--bins", type=int, default=4, help="length bins (equal counts)")
    p.add_argument("--out", type=Path, help="also write the rows here (CSV)")
    p.add_argument("--earlier", type=Path, metavar="CSV",
                   help="an earlier --out: its rows stand for runs no longer on disk")
    args = p.parse_args(argv)
    try:
        if args.bins < 1:
            raise ValueError(f"--bins {args.bins}: must be >= 1")
        earlier = read_mechanism(args.earlier) if args.earlier else None
        runs = find_runs(args.runs, allow_none=earlier is not None)
        rows = [run_label(r) | mechanism_row(**predict_run(r, args.split), bins=args.bins)
                for r in runs]
    except (ValueError, FileNotFoundError, KeyError) as e:
        return user_error(e)
    table = pd.DataFrame(rows)
    if earlier is not None:  # a run on disk replaces its earlier row
        table = (pd.concat([earlier, table], ignore_index=True)
                 .drop_duplicates(RUN_KEY, keep="last").reset_index(drop=True))
    shared = set.intersection(*(set(s.split(",")) for s in table["setting"]))
    shown = table.assign(setting=[",".join(o for o in s.split(",") if o not in shared) or "-"
                                  for s in table["setting"]])
    if shared - {""}:
        print("every run: " + ",".join(sorted(shared)))
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if args.out:
        try:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            run_folder.write_bytes_atomic(args.out, table.to_csv(index=False).encode())
        except OSError as e:
            return user_error(f"--out {args.out}: {e.strerror or e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
