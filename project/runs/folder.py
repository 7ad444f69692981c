"""THE run folder: the one module that spells its file names and decides its state.

A run folder holds::

    config.yaml          the resolved config (with the run's identity) it was trained under
    metrics.csv          one row per evaluation: step, train_time_s, val/*, train/*
    checkpoints/         last.ckpt (resume point) and best.ckpt (tested once)
    summary.json         the per-run figures, written atomically and last
    run.log              output of a run launched by a sweep backend
    lock                 exists while a process owns the folder (``claim``): its pid and host

A folder with a readable ``summary.json`` is *finished*; one with a config or a checkpoint
but no summary is *unfinished* (rerunning resumes it); a finished run whose saved config
measures something else than today's config is *stale*. Everyone else asks this module.

Nothing in a folder is trusted unchecked: a summary that does not parse, a curve that does not
reach its checkpoint's step, a resume under a config that measures something else are refused
in one line that names the file and the remedy. One process at a time owns a folder
(``claim``: an exclusive ``flock``, released by the kernel when its process dies, even by
SIGKILL); a second one is told who holds it. See docs/faults.md.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import fcntl
import json
import math
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from project.runs.identity import MEASURED_SECTIONS, RunIdentity, identity_of, is_measured

CONFIG = "config.yaml"
CURVE = "metrics.csv"
CHECKPOINTS = "checkpoints"
LAST = "last.ckpt"
BEST = "best"  # Lightning's ModelCheckpoint filename (it adds .ckpt)
SUMMARY = "summary.json"
LOG = "run.log"
LOCK = "lock"

_UMASK = os.umask(0o022)  # read once (it can only be read by setting it)
os.umask(_UMASK)


class DamagedRunFolder(ValueError):
    """A file in a run folder cannot be trusted; the message names it and the remedy."""


class RunFolderInUse(RuntimeError):
    """Another process owns the run folder; the message names it (pid, host) and the remedy.

    ``project.train`` exits with ``EXIT_STATUS`` (EX_TEMPFAIL: try again later), which the
    sweep backends read as "not mine now", not as a failed run."""

    EXIT_STATUS = 75


class ConfigChanged(ValueError):
    """An unfinished run would resume under a config that measures something else."""


# -- paths ----------------------------------------------------------------------------------
def config_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CONFIG


def curve_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / CURVE


def checkpoint_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINTS


def last_checkpoint(run_dir: str | Path) -> Path:
    return checkpoint_dir(run_dir) / LAST


def summary_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / SUMMARY


def log_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / LOG


def lock_path(run_dir: str | Path) -> Path:
    return Path(run_dir) / LOCK


def run_dir_for(config, identity: RunIdentity | None = None) -> Path:
    """A run's folder: ``config.run_dir``, or the folder its identity names under
    ``config.runs_root``."""
    if config.run_dir is not None:
        return Path(config.run_dir)
    return Path(config.runs_root) / (identity or identity_of(config)).folder()


def os_error(kind: type[OSError], cause: OSError | int, message: str) -> OSError:
    """``kind(message)`` whose ``str`` is the message alone, keeping ``cause``'s errno."""
    error = kind(message)
    error.errno = cause if isinstance(cause, int) else cause.errno
    return error


# -- writing --------------------------------------------------------------------------------
def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync it, rename it over ``path`` and
    fsync the folder: a reader sees the old file or the new one, never a part. Same folder,
    hence same filesystem: the rename is atomic wherever the system temp folder lives. A
    failed write (disk full) leaves the old file and no temporary file, and raises an
    ``OSError`` whose message names ``path``."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would make it (mkstemp makes it 0600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_folder(path.parent)
    except OSError as e:
        raise os_error(OSError, e, f"cannot write {path} ({e.strerror or e}): free space or "
                       "fix permissions there, then rerun the same command") from e
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def fsync_folder(folder: str | Path) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: str | Path, text: str) -> None:
    """``write_bytes_atomic`` for text (UTF-8)."""
    write_bytes_atomic(path, text.encode())


def write_json_atomic(path: str | Path, data: Any) -> None:
    """``data`` as JSON (no NaN), written atomically."""
    write_text_atomic(path, json.dumps(data, indent=2, allow_nan=False, default=float))


def write_summary(run_dir: str | Path, summary: dict) -> None:
    """The run's ``summary.json``, atomically: the last thing a run writes."""
    write_json_atomic(summary_path(run_dir), summary)


def copy_record(src: str | Path, dst: str | Path) -> None:
    """Copy a run's config and curve (not its checkpoints) into ``dst`` (created)."""
    import shutil

    Path(dst).mkdir(parents=True, exist_ok=True)
    for path in (config_path(src), curve_path(src)):
        if path.exists():
            shutil.copy2(path, Path(dst) / path.name)


def save_config(run_dir: str | Path, cfg) -> None:
    """The resolved config as ``config.yaml`` (atomically)."""
    from omegaconf import OmegaConf

    write_text_atomic(config_path(run_dir), OmegaConf.to_yaml(cfg, resolve=True))


# -- owning a folder -------------------------------------------------------------------------
def make_folder(path: str | Path, what: str = "run folder", key: str = "run_dir") -> list[Path]:
    """Create ``path`` (and its parents) and check that it is writable; returns the folders
    it created, deepest first. Every failure is one line naming ``path`` and ``key``."""
    path = Path(path)
    created, p = [], path
    while not os.path.lexists(p) and p != p.parent:
        created.append(p)
        p = p.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        blocker = next((q for q in (path, *path.parents) if q.exists() and not q.is_dir()),
                       path)
        raise os_error(NotADirectoryError, e, f"{what} {path}: {blocker} is a file, not a "
                       f"folder: move it away or set {key} to another folder") from e
    except OSError as e:
        raise os_error(PermissionError, e, f"cannot create {what} {path} ({e.strerror or e}): "
                       f"set {key} to a folder you can write to") from e
    if not os.access(path, os.W_OK | os.X_OK):
        remove_empty_folders(created)
        raise os_error(PermissionError, errno.EACCES, f"{what} {path} is not writable: make it "
                       f"writable or set {key} to another folder")
    return created


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) as long as they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def lock_holder(run_dir: str | Path) -> str | None:
    """Who owns ``run_dir`` now (``"pid N on HOST since T"``), or None when no process does."""
    path = lock_path(run_dir)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder_of(fd)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _holder_of(fd: int) -> str:
    try:
        text = os.pread(fd, 512, 0).decode(errors="replace").strip()
    except OSError:
        text = ""
    return text or "another process"


def _acquire(run_dir: Path, wait_s: float) -> int:
    """An exclusive ``flock`` on the folder's lock file (its fd), or ``RunFolderInUse``."""
    path, deadline = lock_path(run_dir), time.monotonic() + wait_s
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_of(fd)
            os.close(fd)
            if time.monotonic() < deadline:  # e.g. a sweep runner probing it for a moment
                time.sleep(0.05)
                continue
            raise RunFolderInUse(
                f"run folder {run_dir} is in use by {holder}: another process is training this "
                "run; wait for it to end (rerunning then skips or resumes the run) or stop it"
            ) from None
        try:  # the previous owner may have removed the file between our open and our lock
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        since = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {since}\n".encode(),
                  0)
        return fd


@contextlib.contextmanager
def claim(run_dir: str | Path, key: str = "run_dir", wait_s: float = 1.0) -> Iterator[Path]:
    """Own ``run_dir`` for the duration of the block: create it if needed (``make_folder``),
    then hold an exclusive lock on its ``lock`` file, so that a second process (a second sweep
    runner, a requeued agent, the same command typed twice) gets ``RunFolderInUse`` naming
    the owner instead of training the same run in the same folder. The kernel drops the lock
    when the process dies, so a killed run never leaves a stale one. On the way out the lock
    file is removed, and so are the folders this call created if they are still empty (a run
    refused before it wrote anything leaves nothing behind)."""
    run_dir = Path(run_dir)
    created = make_folder(run_dir, "run folder", key)
    try:
        fd = _acquire(run_dir, wait_s)
    except BaseException:
        remove_empty_folders(created)
        raise
    try:
        yield run_dir
    finally:
        try:
            lock_path(run_dir).unlink(missing_ok=True)  # while still holding it
        finally:
            os.close(fd)
        remove_empty_folders(created)


# -- reading --------------------------------------------------------------------------------
def read_summary(run_dir: str | Path) -> dict:
    """The parsed ``summary.json``; a damaged one raises ``DamagedRunFolder`` naming it."""
    path = summary_path(run_dir)
    remedy = ("delete it and rerun the run's command to rebuild it from the run's checkpoint "
              "and curve")
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        raise DamagedRunFolder(f"{path} is damaged ({str(e).splitlines()[0]}): {remedy}") from e
    if not isinstance(data, dict) or not {"task", "model", "seed"} <= set(data):
        raise DamagedRunFolder(f"{path} is not a run summary (needs task, model, seed): "
                               f"{remedy}")
    return data


class AlreadyFinished(dict):
    """A summary read back from a run folder that was finished before this call reached it
    (by an earlier command or another process): nothing was trained by this call."""


def already_finished(run_dir: str | Path, config=None) -> AlreadyFinished | None:
    """The folder's summary, marked as not trained by the caller; None if not finished. Given
    the caller's ``config``, ``.stale`` lists how the run's record differs from it."""
    if not is_finished(run_dir):
        return None
    summary = AlreadyFinished(read_summary(run_dir))
    summary.stale = config_differences(config, run_dir) if config is not None else []
    return summary


def summary_damage(run_dir: str | Path) -> str | None:
    """Why a finished run's ``summary.json`` cannot be trusted (one line), or None."""
    try:
        read_summary(run_dir)
    except DamagedRunFolder as e:
        return str(e)
    return None


def read_curve(run_dir: str | Path) -> list[dict[str, float]]:
    """Rows of ``metrics.csv`` as floats (empty cells become NaN); [] when there is none."""
    path = curve_path(run_dir)
    if not path.exists():
        return []
    with open(path, newline="") as f:
        try:
            return [{k: float(v) if v not in ("", None) else math.nan for k, v in row.items()}
                    for row in csv.DictReader(f)]
        except (ValueError, TypeError, csv.Error) as e:
            raise DamagedRunFolder(f"{path} is damaged ({e}): restore it, or rerun with "
                                   "resume=never to train the run again from step 0") from e


def check_curve(run_dir: str | Path, step: int, every: int) -> list[dict[str, float]]:
    """The curve's rows up to ``step`` (a checkpoint's step), after checking that they are the
    whole evaluation grid ``0, every, 2 every, ... <= step``: a resumed run adds its next rows
    to these and summarises all of them, so a curve that was deleted, cut short, or written
    into by two processes would give a wrong summary. Raises ``DamagedRunFolder``."""
    path = curve_path(run_dir)
    rows = [r for r in read_curve(run_dir) if r["step"] <= step]
    have = [int(r["step"]) for r in rows]
    want = list(range(0, step + 1, every))
    if have != want:
        found = (f"{len(have)} rows, steps {_span(have)}" if have else
                 "no rows" if path.exists() else "nothing: the file is missing")
        raise DamagedRunFolder(
            f"{path} does not match the resume point {last_checkpoint(run_dir)} (step {step}): "
            f"it should hold the evaluations at steps {_span(want)} and holds {found}; restore "
            "it, or rerun with resume=never to train the run again from step 0")
    return rows


def _span(steps: list[int]) -> str:
    if len(steps) <= 4:
        return ", ".join(map(str, steps))
    return f"{steps[0]}, {steps[1]}, ... {steps[-1]}"


def read_config(run_dir: str | Path):
    """The saved ``config.yaml`` (an OmegaConf DictConfig), or None."""
    from omegaconf import OmegaConf

    path = config_path(run_dir)
    return OmegaConf.load(path) if path.exists() else None


def checkpoint_step(run_dir: str | Path) -> int:
    """The global step stored in ``last.ckpt`` (0 when there is none)."""
    path = last_checkpoint(run_dir)
    if not path.exists():
        return 0
    import torch

    return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])


# -- state ----------------------------------------------------------------------------------
def is_finished(run_dir: str | Path) -> bool:
    """A ``summary.json`` exists (read it with ``read_summary`` to know it is sound)."""
    return summary_path(run_dir).exists()


def is_unfinished(run_dir: str | Path) -> bool:
    """Started (a config or a resume point) but not finished: rerunning resumes it."""
    return not is_finished(run_dir) and (config_path(run_dir).exists()
                                         or last_checkpoint(run_dir).exists())


def measured_record(config) -> dict:
    """What a run measures: its ``MEASURED_SECTIONS`` (resolved) and its data's fingerprint.
    Every checkpoint holds it (``RECORD``): the record a resume is checked against, which an
    edit of ``config.yaml`` cannot change."""
    from omegaconf import OmegaConf

    from project.data.fingerprint import KEY, data_fingerprint

    record = {key: _container(OmegaConf.select(config, key), resolve=True)
              for key in MEASURED_SECTIONS}
    return {**record, KEY: data_fingerprint(config)}


RECORD = "run_record"  # a checkpoint's key for ``measured_record``


def _container(node, resolve: bool = False):
    from omegaconf import OmegaConf

    return OmegaConf.to_container(node, resolve=resolve) if OmegaConf.is_config(node) else node


def saved_record(run_dir: str | Path, checkpoint: bool = False) -> tuple[dict | None, Path]:
    """``(record, file)``: the record of what the run was made under, from ``last.ckpt``
    when ``checkpoint`` and it holds one, else from ``config.yaml`` (None when neither)."""
    from omegaconf import OmegaConf

    from project.data.fingerprint import KEY

    if checkpoint and last_checkpoint(run_dir).exists():
        import torch

        try:
            ckpt = torch.load(last_checkpoint(run_dir), map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - an unreadable checkpoint is refused by its own check
            ckpt = {}
        if RECORD in ckpt:
            return ckpt[RECORD], last_checkpoint(run_dir)
    saved = read_config(run_dir)
    if saved is None:
        return None, config_path(run_dir)
    record = {key: _container(OmegaConf.select(saved, key)) for key in MEASURED_SECTIONS}
    record[KEY] = OmegaConf.select(saved, f"identity.{KEY}")
    return record, config_path(run_dir)


def config_differences(config, run_dir: str | Path, checkpoint: bool = False) -> list[str]:
    """The keys (``section.key: saved -> now``) in which the saved record (``saved_record``)
    differs from ``config`` in what it measures (``identity.is_measured``: the keys a run's
    identity is made of, and the data's fingerprint); [] when there is none."""
    from omegaconf import OmegaConf

    from project.data.fingerprint import KEY, data_change, data_fingerprint

    saved, _ = saved_record(run_dir, checkpoint)
    if saved is None:
        return []
    changes: list[str] = []
    for key in MEASURED_SECTIONS:
        now = _container(OmegaConf.select(config, key), resolve=True)
        _differences(key, saved.get(key), now, changes)
    if saved.get(KEY) is not None and (data := data_change(
            saved[KEY], data_fingerprint(config), config)):
        changes.insert(0, data)
    return changes


def _differences(key: str, before: Any, now: Any, out: list[str]) -> None:
    if isinstance(before, dict) and isinstance(now, dict):
        for k in sorted(set(before) | set(now), key=str):
            _differences(f"{key}.{k}", before.get(k), now.get(k), out)
    elif before != now and is_measured(key):
        out.append(f"{key}: {before!r} -> {now!r}")


def config_changed(config, run_dir: str | Path) -> bool:
    """Whether the saved ``config.yaml`` differs from ``config`` in what it measures
    (``config_differences``); False when there is no saved config."""
    return bool(config_differences(config, run_dir))


def check_resume_config(config, run_dir: str | Path) -> None:
    """Refuse to resume an unfinished run under a config that measures something else, or
    on other data, than what its checkpoint was trained under (the checkpoint's own record,
    ``measured_record``; ``config.yaml`` for checkpoints written before records existed):
    ``ConfigChanged`` names the keys and the remedies."""
    changes = config_differences(config, run_dir, checkpoint=True)
    if changes:
        _, where = saved_record(run_dir, checkpoint=True)
        more = f" (and {len(changes) - 2} more)" if len(changes) > 2 else ""
        raise ConfigChanged(
            f"cannot resume {run_dir}: it was started under another config "
            f"({'; '.join(changes[:2])}{more}, recorded in {where}); rerun with its "
            "settings and data, or with resume=never to train it again from step 0 under these")


def is_stale(config, run_dir: str | Path) -> bool:
    """A finished run made under a config that measures something else than ``config``."""
    return is_finished(run_dir) and config_changed(config, run_dir)


def find_run_dirs(root: str | Path) -> list[Path]:
    """Every finished run folder under ``root`` (recursively, ``root`` included)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"runs folder not found: {root}")
    return sorted(p.parent for p in root.rglob(SUMMARY))


def describe_summary(summary: dict, run_dir: str | Path) -> str:
    """The one console line that ends a run: figures rounded to 4 significant digits (the
    summary file keeps them whole), units named, the run folder last."""
    def figure(value) -> str:
        return "n/a" if value is None else f"{value:.4g}"

    if summary.get("diverged"):
        status = f"DIVERGED (non-finite loss) after step {summary['steps_trained']}"
    elif summary["reached"]:
        status = f"reached at step {summary['steps_to_target']}"
    else:
        status = f"censored at step {summary['steps_to_target']}"
    who = summary.get("variant", summary["model"])
    trained = summary.get("train_time_s")
    clock = f", {trained:.1f} s training" if trained is not None else ""
    return (f"{summary['task']} {who} seed={summary['seed']}: {status}, best "
            f"{summary['val_metric']} {figure(summary['best_val'])}, test "
            f"{figure(summary['test_at_best'])} ({summary['steps_trained']} steps{clock}) "
            f"-> {run_dir}")
