"""Hydra multirun groups seeds (hydra_plugins/attention_backprop_sweeper/seed_groups.py, the
default sweeper) and ``project.train seeds=[...]`` trains a group: one job per group of seeds,
each seed in the folder and with the results of its own single run."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser

from hydra_plugins.attention_backprop_sweeper.seed_groups import SeedGroupSweeper, seed_chunks
from project.runs import folder as run_folder
from tests.sweeps.test_submitit import ENV, QUIET, ROOT, runs_under

SHORT = ["task=italypower", "task.budget.max_steps=50", "task.budget.val_every_n_steps=25"]


def jobs(arguments: list[str], per_job=None) -> list[list[str]]:
    sweeper = SeedGroupSweeper(max_batch_size=None, seeds_per_job=per_job)
    (batch,) = sweeper.split_arguments(OverridesParser.create().parse_overrides(arguments), None)
    return batch


def test_groups_are_near_equal_and_at_most_the_limit():
    for n, limit in [(25, 20), (20, 20), (7, 3), (1, 20), (41, 20)]:
        chunks = seed_chunks([str(s) for s in range(n)], limit)
        assert sum(chunks, []) == [str(s) for s in range(n)]  # every seed once, in order
        assert len(chunks) == math.ceil(n / limit) and max(map(len, chunks)) <= limit
        assert max(map(len, chunks)) - min(map(len, chunks)) <= 1
    with pytest.raises(ValueError, match="seeds_per_job=0"):
        seed_chunks(["1"], 0)


def test_a_seed_sweep_becomes_one_job_per_setting_and_group():
    got = jobs(["task=adding,digits", "model=attention", "seed=range(100,125)"])
    assert len(got) == 4  # 2 tasks x (13 + 12 seeds)
    assert got[0] == ["task=adding", "model=attention",
                      f"seeds=[{','.join(map(str, range(100, 113)))}]"]
    assert got[3][-1] == f"seeds=[{','.join(map(str, range(113, 125)))}]"
    assert [job[0] for job in got] == ["task=adding"] * 2 + ["task=digits"] * 2


def test_one_seed_or_seeds_per_job_1_is_hydras_own_sweep():
    assert jobs(["task=adding,digits", "seed=3"]) == [["task=adding", "seed=3"],
                                                      ["task=digits", "seed=3"]]
    assert jobs(["model=attention", "seed=0,1"], per_job=1) == [["model=attention", "seed=0"],
                                                                ["model=attention", "seed=1"]]


def run(args: list[str], runs_root, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "project.train", *args, *SHORT, *QUIET,
                           f"runs_root={runs_root}"], cwd=ROOT, env=ENV, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_a_multirun_seed_group_is_one_job_with_each_seeds_single_run(tmp_path):
    out = run(["-m", "model=attention,baseline", "seed=0,1", f"hydra.sweep.dir={tmp_path / 'm'}"],
              tmp_path / "group")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.count("Launching 2 jobs") == 1 and "seeds=[0,1]" in out.stdout
    grouped = runs_under(tmp_path / "group")
    assert len(grouped) == 4
    for seed in (0, 1):
        alone = run(["model=attention", f"seed={seed}"], tmp_path / "single")
        assert alone.returncode == 0, alone.stderr[-2000:]
    for name, single_dir in runs_under(tmp_path / "single").items():
        mine, theirs = (run_folder.read_summary(d) for d in (grouped[name], single_dir))
        for key in ("steps_to_target", "reached", "best_val", "seed", "setting", "variant"):
            assert mine[key] == theirs[key], key
        assert mine["test_at_best"] == pytest.approx(theirs["test_at_best"], abs=1e-3)
        assert (mine["clock_shared_by"], theirs["clock_shared_by"]) == (2, 1)  # stacked
    again = run(["model=attention", "seed=1"], tmp_path / "group")  # the same folder
    assert again.returncode == 0 and "already finished" in again.stdout


def test_seeds_with_a_run_dir_is_a_one_line_error(tmp_path):
    out = run(["seeds=[0,1]", f"run_dir={tmp_path / 'one'}"], tmp_path)
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert "seeds=[...] trains one folder per seed" in out.stderr
