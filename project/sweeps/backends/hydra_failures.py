"""Hydra callback: a failed job does not stop a multirun; failures are listed at the end.

In multirun mode ``project.train.main`` prints its one-line error and returns
``{"error": message}`` instead of exiting, so Hydra's launcher goes on with the next job (an
exception would end the sweep with a traceback). When the multirun ends, this callback lists
every failed job and exits with status 1.
"""

from __future__ import annotations

import sys

from hydra.core.utils import JobReturn, JobStatus
from hydra.experimental.callback import Callback


class MultirunFailures(Callback):
    """Collects failed jobs' overrides and errors; exits 1 after the multirun if any."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def on_job_end(self, config, job_return: JobReturn, **kwargs) -> None:
        overrides = " ".join(job_return.overrides or [])
        if job_return.status == JobStatus.FAILED:  # an unexpected exception
            self.failed.append(f"{overrides}: {job_return._return_value!r}")
        elif isinstance(job_return.return_value, dict) and "error" in job_return.return_value:
            self.failed.append(f"{overrides}: {job_return.return_value['error']}")

    def on_multirun_end(self, config, **kwargs) -> None:
        if self.failed:
            print(f"{len(self.failed)} run(s) failed:", file=sys.stderr)
            for line in self.failed:
                print(f"  {line}", file=sys.stderr)
            sys.exit(1)
