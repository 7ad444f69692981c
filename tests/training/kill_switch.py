"""Run one training and SIGKILL it at a chosen point (a test driver, run as a subprocess).

python -m tests.training.kill_switch RUN_DIR POINT STEP [overrides...]
POINT: ``train`` (after training step STEP) or ``validation`` (inside the evaluation at STEP);
``none`` trains to the end. Prints ``train starts at step N`` when fitting starts (after a
checkpoint is restored), so a test can tell a resume from a restart.
"""

import os
import signal
import sys

import lightning as L

from project.training.run import train
from tests.conftest import compose_train


class KillAt(L.Callback):
    def __init__(self, point: str, step: int):
        self.point, self.step = point, step

    def on_train_start(self, trainer, *args) -> None:
        print(f"train starts at step {trainer.global_step}", flush=True)

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.point == "train" and trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_validation_batch_end(self, trainer, *args) -> None:
        if self.point == "validation" and trainer.global_step == self.step \
                and trainer.state.fn == "fit":
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    run_dir, point, step, *overrides = sys.argv[1:]
    train(compose_train(overrides, run_dir), callbacks=[KillAt(point, int(step))])
