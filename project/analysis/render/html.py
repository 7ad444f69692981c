"""One self-contained ``report.html``: the tables and the figures embedded as base64 PNG."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border-bottom: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; } img { max-width: 100%; border: 1px solid #eee; }
.note { color: #555; font-size: 0.9em; }
"""


def embed_png(path: Path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def write_html(path: Path, *, title: str, source: str,
               tables: list[tuple[str, pd.DataFrame]], across: str, notes: list[str],
               figures: list[Path], runs: pd.DataFrame) -> Path:
    """Write the report: ``tables`` as (heading, text cells), the first followed by
    ``notes[0]`` (the p-value floor); ``figures`` are PNG paths (embedded, in order)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p class='note'>Source: <code>{html.escape(source)}</code>; {len(runs)} finished "
             "runs.</p>",
             f"<h2>{html.escape(tables[0][0])}</h2>",
             tables[0][1].to_html(index=False, escape=True, border=0),
             f"<p><b>{html.escape(notes[0])}</b></p>" if notes else "",
             f"<p>{html.escape(across)}</p>"]
    for heading, table in tables[1:]:
        parts += [f"<h2>{html.escape(heading)}</h2>",
                  table.to_html(index=False, escape=True, border=0)]
    parts += ["<ul class='note'>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes[1:])
              + "</ul>", "<h2>Figures</h2>"]
    parts += [f"<figure>{embed_png(f)}<figcaption class='note'>{html.escape(f.name)}"
              "</figcaption></figure>" for f in figures]
    cols = [c for c in ("task", "model", "variant", "seed", "reached", "steps_to_target",
                        "time_to_target", "best_val", "test_at_best", "diverged", "run_dir")
            if c in runs]
    parts += ["<h2>Runs</h2>", runs[cols].to_html(index=False, escape=True, border=0,
                                                  na_rep="—"), "</body></html>"]
    Path(path).write_text("\n".join(parts), encoding="utf-8")
    return Path(path)
