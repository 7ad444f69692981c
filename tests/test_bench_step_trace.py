"""project/benchmarks/step_trace.py (scripts/bench_step_trace.py): its split of a step's
marks into parts."""

import pytest

from project.benchmarks import step_trace as trace
from project.benchmarks import suite as bench
from project.benchmarks.doc_sections import write_section


def test_split_gives_each_part_of_an_update_in_ms():
    """Updates of 10 s (forward 1, backward 2, optimizer 3, so other 4; in seconds, reported
    in ms) in batches of 4 updates with 8 s of per-batch cost at each batch end: step = 12 s
    per update. The first batch (warm-up, slower) must not count."""
    marks, t = [], 0.0
    for batch in range(4):
        for _ in range(4):
            warm = 100.0 if batch == 0 else 0.0
            marks += [("fwd0", t + 1), ("fwd1", t + 2 + warm), ("bw0", t + 3 + warm),
                      ("bw1", t + 5 + warm), ("opt0", t + 6 + warm), ("opt1", t + 9 + warm)]
            t += 10 + warm
        t += 8.0
        marks.append(("end", t))
    parts = trace.split(marks)
    assert parts == pytest.approx({"forward": 1000.0, "backward": 2000.0, "optimizer": 3000.0,
                                   "other": 6000.0, "step": 12000.0})


def test_bench_rewrite_of_the_file_keeps_the_step_trace_section(tmp_path):
    """scripts/bench.py rewrites docs/benchmarks.md but keeps the sections other scripts own
    (step-segments was lost once: only two sections were kept by name)."""
    doc = tmp_path / "benchmarks.md"
    bench.write_doc(doc, "# Benchmarks\n\nold body\n")
    trace.write_doc(doc, "STEP TRACE TABLE")
    write_section(doc, "step-segments", "The suite's step, call by call", "SEGMENTS TABLE")
    bench.write_doc(doc, "# Benchmarks\n\nnew body\n")
    text = doc.read_text()
    assert "new body" in text and "old body" not in text
    assert "## Where a suite step goes, hook by hook" in text and "STEP TRACE TABLE" in text
    assert "## The suite's step, call by call" in text and "SEGMENTS TABLE" in text
    assert text.count("SEGMENTS TABLE") == 1
