"""scripts/bench_bare_updates.py: each pair is one bare and one dispatched run, and the table
is their ratio; bad options are one line."""

from project.benchmarks import bare_updates as bench


def test_each_pair_runs_both_paths_and_the_table_is_their_ratio(monkeypatch, capsys):
    monkeypatch.setattr(bench, "TASKS", {"digits": (["task=digits"], 25)})
    assert bench.main(["--tasks", "digits", "--repeats", "1"]) == 0  # ms_per_update checks
    out = capsys.readouterr().out  # that the dispatched run dispatched every update
    rows = [ln for ln in out.splitlines() if ln.startswith("| digits")]
    assert [r.split(" | ")[0] for r in rows] == ["| digits attention", "| digits baseline"]
    assert "1 pairs per row" in out
    text = bench.table({"t m": [(2.0, 2.2), (1.0, 1.0), (4.0, 4.8)]})
    assert text.splitlines()[-1] == "| t m | 2.000 | 2.200 | 1.100 | 1.100, 1.000, 1.200 |"


def test_bad_options_are_one_line(capsys):
    assert bench.main(["--tasks", "digits,mnist"]) == 2
    assert capsys.readouterr().err == ("error: --tasks mnist: expected some of adding, sst2, "
                                       "usps, digits, italypower, gunpoint\n")
    assert bench.main(["--repeats", "0"]) == 2
