"""A benchmark script's own section of a Markdown file, between its HTML-comment markers."""

from __future__ import annotations

import re
from pathlib import Path


# a marked section with the heading line above it, if any
SECTION = re.compile(r"(## [^\n]*\n+)?<!-- ([\w-]+):start -->.*?<!-- \2:end -->\n?", re.S)


def marked_sections(text: str) -> list[str]:
    """Every marked section of ``text`` (with its heading), in order: what the scripts that
    own them wrote, for a script that rewrites the rest of the file to keep."""
    return [m.group(0) for m in SECTION.finditer(text)]


def write_section(path: Path, marker: str, heading: str, body: str) -> None:
    """Replace the text between ``<!-- {marker}:start -->`` and ``<!-- {marker}:end -->``
    with ``body``; append the section under ``## {heading}`` when the file has none."""
    start, end = f"<!-- {marker}:start -->", f"<!-- {marker}:end -->"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text,
                      flags=re.S)
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n" + section + "\n"
    path.write_text(text)
