"""What a run can leave behind in its process, and putting it back between runs.

A persistent sweep worker (``project.sweeps.backends.workers``) trains many runs in one
process. ``capture()`` records the process's state once, after its imports; ``restore``
puts it back before every run, so that a run's figures do not depend on the runs before it:

* torch: intra-op threads (the worker's share of the cores), grad mode, default dtype,
  deterministic algorithms (``trainer.deterministic`` sets them process-wide), anomaly
  detection, float32 matmul precision, cuDNN flags; CUDA's cache and peak-memory counters;
* random number generators: torch (CPU, and CUDA where initialised), numpy and ``random``
  back to their captured states (runs seed themselves; this keeps one that forgot from
  depending on its predecessors);
* the environment (``seed_everything`` sets ``PL_GLOBAL_SEED``), the working directory,
  warning filters, and the handlers of SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 (Lightning
  installs its own during fit and a failed run may leave them);
* Hydra's global config state, a W&B run left open by a failed run (finished), and the
  glibc allocator: ``trainer.keep_freed_memory`` raises malloc's thresholds for the whole
  process, so they go back to glibc's default values (128 KiB) and the heap is trimmed;
* the peak resident set size (``VmHWM``, reset through ``/proc/self/clear_refs``), so that a
  run's ``peak_mem_mb`` is its own, not the worker's high-water mark.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import random
import signal
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2")
                if hasattr(signal, name))
GLIBC_DEFAULT_THRESHOLD = 128 * 1024  # M_MMAP_THRESHOLD and M_TRIM_THRESHOLD (mallopt(3))


@dataclass
class ProcessState:
    """The parts of a process's state that a run may change (see the module docstring)."""

    threads: int
    default_dtype: torch.dtype
    matmul_precision: str
    deterministic: bool
    deterministic_warn_only: bool
    cudnn: tuple[bool, bool]
    torch_rng: torch.Tensor
    numpy_rng: tuple
    python_rng: tuple
    environ: dict[str, str]
    cwd: str
    warning_filters: list
    handlers: dict = field(default_factory=dict)


def capture(threads: int | None = None) -> ProcessState:
    """This process's state now; ``threads``: the intra-op threads every run starts with."""
    return ProcessState(
        threads=threads or torch.get_num_threads(),
        default_dtype=torch.get_default_dtype(),
        matmul_precision=torch.get_float32_matmul_precision(),
        deterministic=torch.are_deterministic_algorithms_enabled(),
        deterministic_warn_only=torch.is_deterministic_algorithms_warn_only_enabled(),
        cudnn=(torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark),
        torch_rng=torch.random.get_rng_state(),
        numpy_rng=np.random.get_state(),
        python_rng=random.getstate(),
        environ=dict(os.environ),
        cwd=os.getcwd(),
        warning_filters=list(warnings.filters),
        handlers={s: signal.getsignal(s) for s in SIGNALS},
    )


def restore(state: ProcessState) -> None:
    """Put ``state`` back (see the module docstring); call between runs, not during one."""
    _close_leftovers()
    torch.set_num_threads(state.threads)
    torch.set_grad_enabled(True)
    torch.autograd.set_detect_anomaly(False)
    torch.set_default_dtype(state.default_dtype)
    torch.set_float32_matmul_precision(state.matmul_precision)
    torch.use_deterministic_algorithms(state.deterministic,
                                       warn_only=state.deterministic_warn_only)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = state.cudnn
    torch.random.set_rng_state(state.torch_rng)
    np.random.set_state(state.numpy_rng)
    random.setstate(state.python_rng)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.manual_seed_all(0)
    os.environ.clear()
    os.environ.update(state.environ)
    os.chdir(state.cwd)
    warnings.filters[:] = state.warning_filters
    for signum, handler in state.handlers.items():
        if handler is not None:
            signal.signal(signum, handler)
    gc.collect()
    restore_allocator()
    reset_peak_rss()


def _close_leftovers() -> None:
    """Hydra's global state and an open W&B run (only where those modules were imported)."""
    if "hydra" in sys.modules:
        from hydra.core.global_hydra import GlobalHydra

        GlobalHydra.instance().clear()
    wandb = sys.modules.get("wandb")
    if wandb is not None and getattr(wandb, "run", None) is not None:
        try:
            wandb.finish(exit_code=1, quiet=True)
        except Exception:  # noqa: BLE001 - a broken run must not stop the next one
            pass


def restore_allocator() -> bool:
    """glibc's default malloc thresholds (undoing ``keep_freed_memory``), heap trimmed; False
    where the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return False
    from project.training.cpu_allocator import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD

    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    ok = mallopt(M_MMAP_THRESHOLD, GLIBC_DEFAULT_THRESHOLD) and mallopt(
        M_TRIM_THRESHOLD, GLIBC_DEFAULT_THRESHOLD)
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    trim(0)
    return bool(ok)


def reset_peak_rss() -> None:
    """Start this process's ``VmHWM`` (peak RSS) afresh (Linux; a no-op elsewhere)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
