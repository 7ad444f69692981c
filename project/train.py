"""Training entry: ``python -m project.train task=adding model=attention seed=0``.

Composes the Hydra config and trains one run (``project.training.run.train``): validation on
a fixed step grid, the test split once at the best validation checkpoint, and the run folder
(``project.runs.folder``). Rerunning the same command resumes it; a finished run is not rerun.
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from project.cli import USAGE_ERROR, USER_ERRORS, error_line, user_error
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


if __name__ == "__main__":
    main()
