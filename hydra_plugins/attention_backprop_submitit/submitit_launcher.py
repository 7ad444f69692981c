"""Hydra's submitit launchers (SLURM and local), made to requeue a run without losing steps.

``conf/hydra/launcher/slurm.yaml`` and ``local.yaml`` name these classes. Hydra accepts
launchers only from the ``hydra_plugins`` namespace package, hence this folder at the top of
the repository (found on ``sys.path`` when commands run from the repository root).

How submitit requeues (submitit 1.5, hydra-submitit-launcher 1.2): before the time limit
(``signal_delay_s``) or on preemption the job gets SIGUSR2 (``SUBMITIT_PREEMPT_SIGNAL``);
submitit's handler calls the launcher's ``checkpoint()``, which for Hydra's launcher is
``DelayedSubmission(self, *same arguments)``: the job is resubmitted with the same overrides
and nothing is saved. Then it requeues (SLURM: ``scontrol requeue``; local: exit code 144,
and the local controller starts the job again). Resubmitting the same overrides is right for
this suite (the run folder is deterministic and ``resume=auto`` continues from
its last checkpoint), but the steps since the last evaluation would be lost.

So the job here takes SIGUSR2 first. While a Lightning trainer runs, the signal becomes a
SIGTERM to the run: the run saves the last checkpoint at the end of the current step
(``LastCheckpoint``) and stops (``SIGTERMException``); then submitit's own handler runs as
it would have: ``checkpoint()``, countdown of ``max_num_timeout``, requeue. With no trainer
running (loading data, writing the summary) submitit's handler runs at once.
"""

from __future__ import annotations

import signal
from typing import Any

from hydra_plugins.hydra_submitit_launcher import submitit_launcher


class RequeueSavingLast:
    """Mixin for ``BaseSubmititLauncher``: ``__call__`` is what runs inside the job."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        import submitit

        requeue_signal = submitit.JobEnvironment()._usr_sig()  # SIGUSR2 unless configured
        submitit_handler = signal.getsignal(requeue_signal)   # checkpoint() and requeue
        idle_sigterm = signal.getsignal(signal.SIGTERM)       # no trainer running
        received: list = []

        def requeue(frame) -> None:
            if callable(submitit_handler):
                submitit_handler(requeue_signal, frame)  # exits (requeued) or raises

        def on_requeue_signal(signum, frame) -> None:
            if received:
                return
            received.append(frame)
            if signal.getsignal(signal.SIGTERM) is idle_sigterm:
                requeue(frame)
            else:  # Lightning's SIGTERM handler: a last checkpoint at the step's end, then stop
                signal.raise_signal(signal.SIGTERM)

        signal.signal(requeue_signal, on_requeue_signal)
        try:
            return super().__call__(*args, **kwargs)
        except SystemExit:  # the run stopped on the SIGTERM (SIGTERMException, exit 143)
            if received:
                requeue(received[0])
            raise
        finally:
            signal.signal(requeue_signal, submitit_handler)


class LocalLauncher(RequeueSavingLast, submitit_launcher.LocalLauncher):
    """``hydra/launcher=submitit_local``: jobs as local processes, requeue-safe."""


class SlurmLauncher(RequeueSavingLast, submitit_launcher.SlurmLauncher):
    """``hydra/launcher=slurm``: one SLURM array task per job, requeue-safe."""
