"""When an optimizer update may skip Lightning's per-update dispatch.

Under manual optimisation every update goes through ``manual_backward`` and
``LightningOptimizer.step``: the strategy and precision plugin, the ``on_before_backward``,
``on_after_backward`` and ``on_before_optimizer_step`` hooks of every callback and of the
module, each inside a profiler context, and the step counter. On a single device at 32-bit
precision with no profiler and nobody overriding those hooks, all of that reduces to
``loss.backward()``, the torch optimizer's ``step()`` and the counter, which the module then
does itself (``PoolingTaskModule.training_step``): the same update, bit for bit, without
~0.1-0.2 ms of dispatch per update (``scripts/bench.py`` (a), suite/raw).
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.plugins.precision import Precision
from lightning.pytorch.profilers import PassThroughProfiler
from lightning.pytorch.strategies import SingleDeviceStrategy
from lightning.pytorch.utilities.model_helpers import is_overridden

# the hooks Lightning calls around one manual update (the module's ``backward`` runs it)
UPDATE_HOOKS = ("on_before_backward", "on_after_backward", "on_before_optimizer_step")


def bare_updates_allowed(trainer: L.Trainer, module: L.LightningModule) -> bool:
    """True when Lightning's dispatch around an update would do nothing but the update: one
    device, the plain 32-bit precision plugin, no profiler, one optimizer, and no callback or
    module hook that listens to the update."""
    listeners = [(callback, L.Callback) for callback in trainer.callbacks]
    listeners.append((module, L.LightningModule))
    return (type(trainer.strategy) is SingleDeviceStrategy
            and type(trainer.precision_plugin) is Precision
            and type(trainer.profiler) is PassThroughProfiler
            and len(trainer.optimizers) == 1
            and not is_overridden("backward", module, L.LightningModule)
            and not any(is_overridden(hook, obj, parent)
                        for obj, parent in listeners for hook in UPDATE_HOOKS))
