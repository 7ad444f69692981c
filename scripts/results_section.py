"""Replace (or append) one ``## Heading`` section of docs/results.md, leaving the rest as is.

    python scripts/results_section.py "## Main table" BODY_FILE [--doc docs/results.md]

The section runs from its heading to the next ``## `` heading. Several scripts write their own
sections of the same file this way, so none of them overwrites another's.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the section under ``heading`` set to ``body`` (appended if missing)."""
    section = f"{heading}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^{re.escape(heading)}[ \t]*\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: section + "\n", text, count=1).rstrip() + "\n"
    return (text.rstrip() + "\n\n" if text.strip() else "") + section


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("heading", help='e.g. "## Main table"')
    p.add_argument("body", type=Path, help="file holding the section's new content")
    p.add_argument("--doc", type=Path, default=Path("docs/results.md"))
    args = p.parse_args()
    old = args.doc.read_text() if args.doc.exists() else "# Results\n"
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(replace_section(old, args.heading, args.body.read_text()))
    print(f"{args.doc}: wrote section {args.heading!r}")


if __name__ == "__main__":
    main()
