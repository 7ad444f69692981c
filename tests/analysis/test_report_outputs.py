"""The report folder: one file name per setting, every file whole, and one-line errors for
an --out that cannot hold a report (issue #26)."""

import contextlib
import io

import pytest

from project.analysis import report as report_module
from project.analysis.render.figures import slug, unique_slugs
from project.report import main
from tests.analysis.synthetic import summary, write_run
from tests.training.test_faults import set_read_only

FOLDER = "/data/" + "x" * 60 + "/cleaned_version_final/"  # labels alike in their first 80 chars


def write_two_settings(root):
    for name in ("countries_a.csv", "countries_b.csv"):
        setting = (f"task.data.path={FOLDER}{name}",)
        for s in range(2):
            for model, steps in (("baseline", 300 + 100 * s), ("attention", 200 + 100 * s)):
                write_run(root / name, summary("custom_text", model, s, steps, True, 0.8,
                                               setting=setting))


def report(root, out, *extra: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main([str(root), "--out", str(out), "--resamples", "200", *extra])
    return status, stdout.getvalue(), stderr.getvalue()


def test_long_labels_sharing_their_start_get_names_of_their_own():
    a, b = (f"custom_text[task.data.path={FOLDER}countries_{x}.csv]" for x in "ab")
    assert slug(a) != slug(b) and len(slug(a)) == len(slug(b)) == 80
    assert slug("adding[task.seq_len=20]") == "adding_task.seq_len=20"  # short: unchanged
    names = unique_slugs(["a/b", "a_b", "c"])  # the same slug: each gets its hash
    assert len(set(names.values())) == 3 and names["c"] == "c"


def test_each_setting_has_its_own_curve_figure(tmp_path):
    write_two_settings(tmp_path / "runs")
    status, _, err = report(tmp_path / "runs", tmp_path / "out")
    assert status == 0, err
    curves = sorted(p.name for p in (tmp_path / "out").glob("curves_*.png"))
    assert len(curves) == 2, curves


def snapshot(folder) -> dict:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_a_report_that_dies_while_writing_leaves_the_previous_one_whole(tmp_path, monkeypatch):
    write_two_settings(tmp_path / "runs")
    out = tmp_path / "out"
    monkeypatch.setattr(report_module, "profile_figure", lambda *a, **k: [])  # time
    assert report(tmp_path / "runs", out)[0] == 0
    before = snapshot(out)
    assert {"report.html", "main_table.md"} <= set(before) and any(
        name.startswith("curves_") for name in before)

    def killed(*args, **kwargs):  # the forest plot is drawn after the tables and curves
        raise KeyboardInterrupt

    monkeypatch.setattr(report_module, "forest_figure", killed)
    with pytest.raises(KeyboardInterrupt):
        report(tmp_path / "runs", out, "--resamples", "300")  # other tables than before
    assert snapshot(out) == before  # no new table beside the old report.html
    monkeypatch.undo()
    monkeypatch.setattr(report_module, "profile_figure", lambda *a, **k: [])
    assert report(tmp_path / "runs", out, "--resamples", "300")[0] == 0
    assert not list(out.glob(".*")), "the next report removes what the killed one left"
    assert snapshot(out)["report.html"] != before["report.html"]


def test_an_out_that_is_a_file_is_one_line_and_exit_2(tmp_path):
    write_two_settings(tmp_path / "runs")
    (tmp_path / "out").write_text("not a folder")
    status, _, err = report(tmp_path / "runs", tmp_path / "out")
    assert status == 2
    assert err == (f"error: report folder {tmp_path / 'out'}: {tmp_path / 'out'} is a file, "
                   "not a folder: move it away or set --out to another folder\n")


def test_a_read_only_out_is_one_line_and_exit_2(tmp_path):
    write_two_settings(tmp_path / "runs")
    out = tmp_path / "out"
    out.mkdir()
    set_read_only([out], True)
    try:
        status, _, err = report(tmp_path / "runs", out)
    finally:
        set_read_only([out], False)
    assert status == 2
    assert err == (f"error: report folder {out} is not writable: make it writable or set "
                   "--out to another folder\n")
    assert not list(out.iterdir())
