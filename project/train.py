"""Training entry: ``python -m project.train task=adding model=attention seed=0``.

Composes the Hydra config and trains one run (``project.training.run.train``): validation on
a fixed step grid, the test split once at the best validation checkpoint, and the run folder
(``project.runs.folder``). Rerunning the same command resumes it; a finished run is not rerun.

``seeds=[0,1,2]`` trains those seeds of the setting as one vectorised group instead (each
seed keeps its own run folder; a setting that cannot be vectorised trains them one after
another). Hydra multirun makes such groups by itself: ``-m ... seed=range(100,120)`` is one
job of 20 seeds, not 20 jobs (the ``seed_groups`` sweeper, ``conf/hydra/sweeper``).
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from project.cli import USAGE_ERROR, USER_ERRORS, error_line, exit_without_teardown, user_error
from project.training.config_check import check_config

def fail(error: BaseException | str, status: int = USAGE_ERROR) -> dict:
    """One clear line on stderr and exit 2 (or ``status``). In a Hydra multirun the job
    returns ``{"error": ...}`` instead, so the launcher goes on with the next job
    (``project.sweeps.backends.hydra_failures`` lists the failures at the end)."""
    user_error(error)
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return {"error": error_line(error)}
    sys.exit(status)


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
def main(cfg: DictConfig) -> dict | None:
    try:  # a bad value fails here, before torch and Lightning are imported
        check_config(cfg)
    except USER_ERRORS as e:
        return fail(e)
    from project.training.threads import settle_thread_environment

    settle_thread_environment(cfg.trainer.num_threads)  # before torch is imported
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from project.runs import folder as run_folder
    from project.training.run import train

    if cfg.get("seeds") is not None:
        return train_group(cfg)
    try:
        summary = train(cfg)
    except SIGTERMException:
        folder = run_folder.run_dir_for(cfg)
        print(f"stopped by SIGTERM; resume point {run_folder.last_checkpoint(folder)} "
              f"(step {run_folder.checkpoint_step(folder)}): rerun the same command to "
              "continue", file=sys.stderr)
        sys.exit(143)
    except run_folder.RunFolderInUse as e:  # another process trains this run: exit 75
        return fail(e, e.EXIT_STATUS)
    except USER_ERRORS as e:
        return fail(e)
    already = "already finished, not trained again: " if isinstance(
        summary, run_folder.AlreadyFinished) else ""
    if already and getattr(summary, "stale", None):  # made under another config or data
        print(f"warning: {run_folder.run_dir_for(cfg)} is stale: it was made under another "
              f"config or data ({'; '.join(summary.stale[:2])}); its figures are not today's: "
              "delete the folder and rerun (a sweep: --rerun-stale)", file=sys.stderr)
    print(already + run_folder.describe_summary(summary, run_folder.run_dir_for(cfg)))
    return None


def member_configs(cfg: DictConfig) -> list[DictConfig]:
    """One config per seed of ``cfg.seeds`` (``seed`` set, ``seeds`` cleared)."""
    import copy

    from omegaconf import open_dict

    if cfg.run_dir is not None:
        raise ValueError("seeds=[...] trains one folder per seed: leave run_dir unset "
                         "(use runs_root)")
    seeds = list(cfg.seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds}: give a non-empty list of distinct seeds")
    members = []
    for seed in seeds:
        member = copy.deepcopy(cfg)
        with open_dict(member):
            member.seed, member.seeds = int(seed), None
        members.append(member)
    return members


def train_group(cfg: DictConfig) -> dict | None:
    """``seeds=[...]``: the seeds as one vectorised group (or one after another where the
    setting cannot be vectorised); one result line per seed; exit 1 (a multirun job: an
    ``error``) when any seed failed."""
    from lightning.pytorch.utilities.exceptions import SIGTERMException

    from project.runs import folder as run_folder
    from project.training.run import train, train_vectorized
    from project.training.vectorize_rules import VectorizeError, check_setting

    try:
        members = member_configs(cfg)
        check_setting(cfg)
        stacked = len(members) > 1
    except VectorizeError:
        stacked = False
    except USER_ERRORS as e:
        return fail(e)
    try:
        if stacked:
            results = train_vectorized(members)
        else:
            results = []
            for member in members:
                try:
                    results.append(train(member))
                except (run_folder.RunFolderInUse, *USER_ERRORS) as e:
                    results.append(e)
    except SIGTERMException:
        print("stopped by SIGTERM; the seeds saved their resume points: rerun the same "
              "command to continue", file=sys.stderr)
        sys.exit(143)
    except USER_ERRORS as e:
        return fail(e)
    failed = []
    for member, result in zip(members, results):
        folder = run_folder.run_dir_for(member)
        if isinstance(result, BaseException):
            failed.append(f"seed {member.seed}: {error_line(result)}")
            print(f"error: {folder}: {error_line(result)}", file=sys.stderr)
        else:
            already = ("already finished, not trained again: "
                       if isinstance(result, run_folder.AlreadyFinished) else "")
            print(already + run_folder.describe_summary(result, folder))
    if failed:
        return fail(f"{len(failed)} of {len(members)} seeds failed ({'; '.join(failed)})", 1)
    return None


if __name__ == "__main__":
    main()
    exit_without_teardown(0)  # an error exits inside main (sys.exit) and tears down as usual
