"""The default number of torch threads: the CPUs this process can have now, not all of them.

torch's own default is one intra-op thread per core. Each parallel op then waits at a barrier
for all its threads; beside a busy process one of them is often descheduled, and a short CPU
step waits a scheduler slice per op: SST-2 attention went from 8.5 ms/step alone to 32.1
beside one busy process on 2 cores, where one thread gave 10.9 (issue #31). So a run with
``trainer.num_threads=0`` (the default) takes

    threads = CPUs available to the process (``os.sched_getaffinity``)
              - processes already runnable on them (``/proc/loadavg``, sampled at start),

at least 1, and OpenMP waits passively (``OMP_WAIT_POLICY=PASSIVE``: an idle thread sleeps
instead of spinning on a core its neighbour needs). Both go into the environment before torch
is imported (``python -m project.train`` does it first); a value the user or a sweep backend
already set (``OMP_NUM_THREADS``, ``OMP_WAIT_POLICY``) is kept. No torch here.
``scripts/bench_threads.py`` measures the default against every fixed count, alone and beside
a busy process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

LOADAVG = Path("/proc/loadavg")


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; all CPUs where there is none)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def runnable_others(samples: int = 5, interval_s: float = 0.01,
                    loadavg: Path = LOADAVG) -> int | None:
    """Processes runnable now besides this one (the median of ``samples`` readings of
    ``/proc/loadavg``'s ``running/total`` field, this process counted out), or None where
    there is no such file. The count is machine-wide: it is used only where the process may
    run on every CPU of the machine."""
    if not loadavg.exists():
        return None
    counts = []
    for i in range(samples):
        if i:
            time.sleep(interval_s)
        counts.append(int(loadavg.read_text().split()[3].split("/")[0]) - 1)
    return max(0, sorted(counts)[len(counts) // 2])


def default_threads(cpus: int | None = None, others: int | None = None) -> int:
    """Threads for a run that did not choose: the available CPUs less those busy now (>= 1)."""
    cpus = available_cpus() if cpus is None else cpus
    if others is None and cpus == (os.cpu_count() or cpus):  # loadavg counts the whole machine
        others = runnable_others()
    return max(1, cpus - (others or 0))


def settle_thread_environment(num_threads: int) -> dict[str, str]:
    """Before torch is imported: for ``trainer.num_threads=0`` set ``OMP_NUM_THREADS`` to
    ``default_threads()`` unless already set; always ``OMP_WAIT_POLICY=PASSIVE`` unless set.
    Returns what it set."""
    settled = {}
    if "OMP_WAIT_POLICY" not in os.environ:
        settled["OMP_WAIT_POLICY"] = "PASSIVE"
    if not num_threads and "OMP_NUM_THREADS" not in os.environ:
        settled["OMP_NUM_THREADS"] = str(default_threads())
    os.environ.update(settled)
    return settled
