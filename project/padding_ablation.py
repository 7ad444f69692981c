"""Issue 29's padding ablation table: ``python -m project.padding_ablation
"(a) masked=FILE_seeds.csv" "(b) unmasked=FILE_seeds.csv" ... [--lengths 500,1000] [--out FILE.md]``.

Each argument names an arm and its per-seed Table 1 CSV (``table_raffel2016_seeds.csv``,
written by ``scripts/reproduce_raffel2016.sh`` into the arm's folder); prints one row per
problem x T0 x model with each arm's cell and agreement beside the paper's value
(``project.analysis.padding_ablation``). With ``--out``, also FILE.md and FILE.csv.

``--mechanism``: also each arm's mechanism check side by side, read from ``mechanism.csv``
beside its per-seed CSV (``scripts/padding_ablation.sh`` keeps both in the arm's folder; an arm
without one gets "not run" cells, with a note on stderr): the
slope of the held-out error on z = S (mean L / L - 1) of the runs at rate ``--lr`` (default
0.01, the rate every cell runs first and in full); with ``--out``, FILE_mechanism.md/.csv.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from project.analysis.mechanism_csv import read_mechanism
from project.analysis.padding_ablation import ablation_table, mechanism_table, read_arm
from project.analysis.render.tables import to_markdown
from project.cli import user_error


def parse_arm(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path:
        raise ValueError(f"arm {text!r}: expected NAME=FILE_seeds.csv")
    return name.strip(), Path(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m project.padding_ablation",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("arms", nargs="+", help="NAME=FILE_seeds.csv, one per arm, in column order")
    p.add_argument("--lengths", default="500,1000", help="T0 rows (default 500,1000)")
    p.add_argument("--out", type=Path, help="also write FILE.md and FILE.csv")
    p.add_argument("--mechanism", action="store_true",
                   help="also the arms' mechanism checks (mechanism.csv beside each CSV)")
    p.add_argument("--lr", type=float, default=0.01, help="--mechanism: the runs' rate")
    args = p.parse_args(argv)
    try:
        lengths = tuple(int(t) for t in args.lengths.split(","))
        arms = dict(parse_arm(a) for a in args.arms)
        if len(arms) < len(args.arms):
            raise ValueError("two arms share a name")
        tables = {"": ablation_table({name: read_arm(path) for name, path in arms.items()},
                                     lengths)}
        if args.mechanism:
            checked = {name: path.parent / "mechanism.csv" for name, path in arms.items()}
            for name, path in checked.items():
                if not path.exists():
                    print(f"note: arm {name}: no {path}; its mechanism cells say not run",
                          file=sys.stderr)
            tables["_mechanism"] = mechanism_table(
                {name: read_mechanism(path) for name, path in checked.items() if path.exists()},
                lengths, args.lr, columns=list(arms))
    except (ValueError, FileNotFoundError) as e:
        return user_error(e)
    for suffix, table in tables.items():
        text = to_markdown(table)
        print(text, end="\n" if suffix else "")
        if args.out:
            out = args.out.with_name(args.out.stem + suffix + ".md")
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text)
            table.to_csv(out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
