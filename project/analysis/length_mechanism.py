"""Does a trained adding/multiply model's held-out error carry the 1/L signature?

Issue 29's hypothesis: pooling that divides by each sequence's own length L (masked mean; a
near-uniform masked softmax) passes the marked values on scaled by 1/L. A network that maps
that signal back with one gain, fit at the mean length, then predicts ``0.5 + S mean(L) / L``
for a target ``0.5 + S`` (S = target - 0.5), an error of ``S (mean(L) / L - 1)``. So the
held-out error regressed on ``z = S (mean(L) / L - 1)`` has slope 1 where the model has not
learned a length correction, 0 where it has (or where nothing depends on L: pooling over the
padded width, fixed lengths), and the error split by length shows where the misses are.

    python -m project.length_mechanism RUN_DIR [RUN_DIR ...] [--split test]
        [--bins 4] [--out FILE.csv]

Each RUN_DIR is a finished run folder (or a folder searched for them); its best checkpoint
predicts its own held-out set, rebuilt from its saved config. Prints one row per run (its
setting less the overrides every run shares, listed once above the table).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from project.models.build import build_network
from project.runs import folder as run_folder

TOLERANCE = 0.04  # |error| below which an example counts as solved (Raffel & Ellis)


def length_regressor(target: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``z = S (mean(L) / L - 1)``, S = target - 0.5: the error of a model blind to 1/L."""
    lengths = np.asarray(lengths, dtype=float)
    return (np.asarray(target, dtype=float) - 0.5) * (lengths.mean() / lengths - 1.0)


def regress_on_length(error: np.ndarray, target: np.ndarray, lengths: np.ndarray) -> dict:
    """Least squares ``error = slope z + intercept`` (scipy.stats.linregress): slope, its
    standard error, intercept, r^2, p (slope = 0), n. NaN where L does not vary (no z)."""
    z = length_regressor(target, lengths)
    n = len(z)
    if n < 3 or np.ptp(z) == 0:
        return {"slope": np.nan, "slope_se": np.nan, "intercept": np.nan, "r2": np.nan,
                "p": np.nan, "n": n}
    fit = stats.linregress(z, error)
    return {"slope": fit.slope, "slope_se": fit.stderr, "intercept": fit.intercept,
            "r2": fit.rvalue**2, "p": fit.pvalue, "n": n}


def split_by_length(error: np.ndarray, lengths: np.ndarray, bins: int = 4) -> pd.DataFrame:
    """Error by length bin (equal counts, ``pandas.qcut``; one bin where L is constant):
    L range, n, mean error, mean |error|, accuracy (|error| < 0.04)."""
    frame = pd.DataFrame({"L": np.asarray(lengths), "error": np.asarray(error, dtype=float)})
    if frame["L"].nunique() > 1:
        frame["bin"] = pd.qcut(frame["L"], min(bins, frame["L"].nunique()), duplicates="drop")
    else:
        frame["bin"] = 0
    grouped = frame.groupby("bin", observed=True)
    return pd.DataFrame({
        "L_min": grouped["L"].min(), "L_max": grouped["L"].max(), "n": grouped.size(),
        "mean_error": grouped["error"].mean(),
        "mean_abs_error": grouped["error"].apply(lambda e: e.abs().mean()),
        "acc": grouped["error"].apply(lambda e: (e.abs() < TOLERANCE).mean()),
    }).reset_index(drop=True)


def mechanism_row(error: np.ndarray, target: np.ndarray, lengths: np.ndarray,
                  bins: int = 4) -> dict:
    """The regression and, per length bin, accuracy and mean |error| (``acc_1``.., shortest
    first), as one flat row."""
    row = regress_on_length(error, target, lengths)
    row["acc"] = float((np.abs(error) < TOLERANCE).mean())
    by_length = split_by_length(error, lengths, bins)
    for i, b in by_length.iterrows():
        row[f"L_{i + 1}"] = f"{int(b.L_min)}-{int(b.L_max)}"
        row[f"acc_{i + 1}"] = b.acc
        row[f"mae_{i + 1}"] = b.mean_abs_error
    return row


def predict_run(run_dir: Path, split: str = "test") -> dict[str, np.ndarray]:
    """The run's best checkpoint on its ``split`` set, rebuilt from its ``config.yaml``:
    ``error`` (prediction - target), ``target``, ``lengths`` (valid steps per sequence)."""
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    cfg = run_folder.read_config(run_dir)
    if cfg is None:
        raise FileNotFoundError(f"{run_dir}: no {run_folder.CONFIG} (not a run folder)")
    best = run_folder.checkpoint_dir(run_dir) / f"{run_folder.BEST}.ckpt"
    if not best.exists():
        raise FileNotFoundError(f"{best}: no best checkpoint (the run did not finish)")
    if "AddingProblemDataModule" not in str(cfg.task.data.get("_target_", "")):
        raise ValueError(f"{run_dir}: task {cfg.task.name!r} is not the adding or "
                         "multiplication problem")
    datamodule = instantiate(cfg.task.data, seed=cfg.seed)
    datamodule.setup("test")
    network = build_network(OmegaConf.to_container(cfg.task.net, resolve=True),
                            OmegaConf.to_container(cfg.model, resolve=True), datamodule.spec)
    state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
    network.load_state_dict({k.removeprefix("network."): v for k, v in state.items()
                             if k.startswith("network.")})
    network.eval()
    data = datamodule.splits[split]
    with torch.no_grad():
        pred = torch.cat([network(x, m) for x, m in zip(data["x"].split(250),
                                                          data["mask"].split(250))])
    target = data["y"][:, 0].double().numpy()
    return {"error": pred[:, 0].double().numpy() - target, "target": target,
            "lengths": data["mask"].sum(1).numpy()}


def run_label(run_dir: Path) -> dict:
    """Task, model, seed and setting of a run (its saved identity), and from its summary
    whether and after how many updates it reached its target (``steps_to_target``)."""
    ident = run_folder.read_config(run_dir).identity
    summary = run_folder.read_summary(run_dir)
    return {"task": ident.task, "model": ident.model, "seed": int(ident.seed),
            "setting": ",".join(ident.setting_overrides), "reached": summary["reached"],
            "steps_to_target": summary["steps_to_target"]}


def find_runs(paths: list[Path], allow_none: bool = False) -> list[Path]:
    """Finished run folders: each path itself or every one under it (none is an error unless
    ``allow_none``)."""
    runs = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"no such folder: {path}")
        runs += [path] if run_folder.is_finished(path) else run_folder.find_run_dirs(path)
    if not runs and not allow_none:
        raise ValueError(f"no finished runs under {', '.join(map(str, paths))}")
    return runs
