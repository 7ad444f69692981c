"""The vectorised-seeds executor: K runs that differ only by their seed train in one process
as one model.

``train_members`` takes K opened runs of one setting and variant (``protocol.open_run``;
``project.training.run.train_vectorized`` checks, locates and opens them) and trains them as
one stacked model (``torch.func.stack_module_state`` + ``functional_call`` + ``vmap``) inside
Lightning Fabric. Member k is the single run of seed k (``project.training.single``), step
for step, through the same protocol (``project.training.protocol``: setup, config, loss,
tie rule, summary):

* **initial weights**: ``L.seed_everything(seed)``, then ``torch.manual_seed(seed)`` before
  ``build_network``, exactly as a single run: bit for bit the same initial weights;
* **batches**: the single run's DataModule with the member's seed: training batch ``s`` is
  ``batches[s]``, a pure function of (seed, s) (``project.data.base``);
* **dropout**: a single run reseeds the CPU generator with ``derived_seed(seed, step, 1)``
  before each step; a member draws its masks from its own generator seeded the same way, in
  the same order and shapes (on CPU they are the single run's masks, bit for bit);
* **optimizer**: the single run's (``module.build_optimizer``) on the stacked parameters;
  Adam, AdamW and SGD are elementwise, so member k's update is its own. The member losses
  are summed and backpropagated once: members share nothing, so each gets its own gradient.
  Batched matrix products round differently from a single run's, and the poolings sum
  elementwise (``pooling.weighted_sum``: under ``vmap`` their matrix products would run as
  one small product per member and example), so figures agree to float rounding (tests:
  weights within 1e-5 relative after 50 steps), not bit for bit.

Each member keeps the single run's contract in its own run folder (``project.runs.folder``,
claimed for the whole group): config, curve (every evaluation, written through
``ConvergenceTracker.record``), its resume point after every evaluation (and every
``trainer.checkpoint_every_n_steps``, and on SIGTERM), the best checkpoint (ties broken by the
validation loss, as ``BestCheckpoint``), the test split once at the best checkpoint, and
its summary (``protocol.write_summary``), atomically and last. A member that meets its target
(``task.stop_at_target``) or whose loss is not finite (diverged) is finished at once; it stays
in the stack, frozen: after every later step its parameters and optimizer state are put back
(its update is masked). Time fields are the group's training clock (all members step
together): compare times between runs trained with the same group size.

A member's resume point holds its own slice of everything (``FORMAT``); a killed group
resumes from them (members grouped by their checkpoint's step), and ``run.train`` hands a
run folder holding such a checkpoint to this executor. Refused in one line
(``VectorizeError``): configs that differ by more than the seed, loggers other than
``none``, ``trainer.precision`` other than 32-true, more than one device, ``net.fused=on``,
dropout modules other than ``nn.Dropout``, and random operations inside the model.
"""

from __future__ import annotations

import copy
import io
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig
from torch import nn
from torch.nn import functional as F
from torch.func import functional_call, stack_module_state, vmap
from torch.overrides import TorchFunctionMode

from project.data.base import ShuffledBatches, StepSampler, derived_seed
from project.runs import folder as run_folder
from project.runs.identity import RunIdentity
from project.stats.per_run import meets
from project.training.checkpointing import (VECTORIZED_FORMAT, check_checkpoint,
                                            check_resume_point, tie_break_metric, tie_value,
                                            wins_tie)
from project.training.loss import loss_function, prediction, task_loss
from project.training.metrics import build_metrics
from project.training.module import build_optimizer
from project.training.protocol import (LocatedRun, initial_network, open_data, plain,
                                       prepare_process, record_config, write_summary)
from project.training.tracker import ConvergenceTracker
from project.training.vectorize_rules import VectorizeError

FORMAT = VECTORIZED_FORMAT  # a member's checkpoint (resume point and best)
Hook = Callable[[str, "VectorizedGroup"], None]  # "train" after a step, "validation" in one


# -- the stacked model ----------------------------------------------------------------------
class MemberDropout(nn.Module):
    """``nn.Dropout`` whose mask is given (each member's own, drawn by ``DropoutMasks``).

    In training it returns ``x * mask`` with ``mask = bernoulli(1 - p) / (1 - p)``, which is
    what ``F.dropout`` computes on CPU. ``probe`` (a list) records input shapes instead."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.mask: torch.Tensor | None = None
        self.probe: list | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.probe is not None:
            self.probe.append(tuple(x.shape))
            return x
        if self.p >= 1:
            return x * torch.zeros((), dtype=x.dtype, device=x.device)
        return x * self.mask


def replace_dropout(network: nn.Module) -> list[MemberDropout]:
    """Swap every ``nn.Dropout`` of ``network`` for a ``MemberDropout`` (in forward order of
    creation); other dropout kinds cannot be matched to a single run and are refused."""
    swapped = []
    for name, module in list(network.named_modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                new = MemberDropout(child.p)
                setattr(module, child_name, new)
                swapped.append(new)
            elif isinstance(child, nn.modules.dropout._DropoutNd) and type(child) is not MemberDropout:
                raise VectorizeError(f"{type(child).__name__} in the network cannot be "
                                     "vectorised (only nn.Dropout is)")
    return swapped


class FoldedLinear(TorchFunctionMode):
    """``F.linear`` of a (B, T, F) input folded to one (B T, F) product, as a single run
    computes it. Under ``vmap`` the member's weight would otherwise be broadcast over B, and
    CPU matrix products of small matrices run one product per batch entry: a loop over
    members x examples instead of one batched product per member. Active around the
    vectorised network's forward; every other call passes through."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.linear and len(args) >= 2 and args[0].dim() > 2:
            x = args[0]
            out = F.linear(x.reshape(-1, x.shape[-1]), *args[1:], **kwargs)
            return out.reshape(*x.shape[:-1], out.shape[-1])
        return func(*args, **kwargs)


def _folded(forward, *args):
    with FoldedLinear():
        return forward(*args)


class StackedMembers(nn.Module):
    """K copies of one network as stacked parameters; ``forward`` runs every member at once.

    The network itself lives on the meta device (structure only); ``functional_call`` runs it
    with member k's slice of each stacked parameter, under ``vmap`` over the members."""

    def __init__(self, networks: list[nn.Module], loss_fn: nn.Module):
        super().__init__()
        params, buffers = stack_module_state(networks)
        self.names = list(params)
        self.stacked = nn.ParameterList([nn.Parameter(params[n].detach()) for n in self.names])
        self.buffer_names = list(buffers)
        for i, name in enumerate(self.buffer_names):
            self.register_buffer(f"buffer{i}", buffers[name])
        base = copy.deepcopy(networks[0]).to("meta")
        for module in base.modules():  # poolings: one product and sum, not K x B small matmuls
            if hasattr(module, "elementwise"):
                module.elementwise = True
        forward = base.forward  # the network's own forward, its linear layers folded
        base.forward = lambda *args: _folded(forward, *args)
        object.__setattr__(self, "base", base)  # not a submodule: never moved or saved
        object.__setattr__(self, "loss_fn", loss_fn)
        self.dropouts = replace_dropout(base)
        self.k = len(networks)
        self._mapped: dict[tuple, Callable] = {}

    def train(self, mode: bool = True):
        self.base.train(mode)
        return super().train(mode)

    def params(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, self.stacked))

    def buffer_dict(self) -> dict[str, torch.Tensor]:
        return {n: getattr(self, f"buffer{i}") for i, n in enumerate(self.buffer_names)}

    def _member(self, params, buffers, x, mask, y, masks):
        for module, m in zip(self.active_dropouts, masks):
            module.mask = m
        try:
            out = functional_call(self.base, (params, buffers), (x, mask))
        finally:
            for module in self.active_dropouts:
                module.mask = None
        if y is None:
            return out
        return out, task_loss(self.loss_fn, out, y)

    @property
    def active_dropouts(self) -> list[MemberDropout]:
        return [d for d in self.dropouts if 0 < d.p < 1]

    def forward(self, x, mask, y=None, masks=(), shared: bool = False,
                params: dict | None = None):
        """Outputs (K, B, ...) and, with ``y``, the member losses (K,). ``shared``: ``x``,
        ``mask`` and ``y`` are one batch for every member (evaluation), else stacked (K, ...).
        ``params`` replaces the stacked parameters (the best ones, for the test)."""
        data_dim = None if shared else 0
        in_dims = (0, 0, data_dim, None if mask is None else data_dim,
                   None if y is None else data_dim, 0)
        fn = self._mapped.get(in_dims)
        if fn is None:
            fn = self._mapped[in_dims] = vmap(self._member, in_dims=in_dims)
        try:
            return fn(params if params is not None else self.params(), self.buffer_dict(),
                      x, mask, y, tuple(masks))
        except RuntimeError as e:
            if "randomness" in str(e):
                raise VectorizeError("the network draws random numbers inside its forward "
                                     "(other than nn.Dropout): it cannot be vectorised") from e
            raise

    def dropout_shapes(self, x: torch.Tensor, mask: torch.Tensor | None) -> list[tuple]:
        """The input shapes of the active dropouts for one member's batch ``x`` (a probe run
        of member 0, no gradient)."""
        shapes: list[tuple] = []
        for d in self.active_dropouts:
            d.probe = shapes
        try:
            with torch.no_grad():
                member0 = {n: p[0] for n, p in self.params().items()}
                buffers0 = {n: b[0] for n, b in self.buffer_dict().items()}
                functional_call(self.base, (member0, buffers0), (x, mask))
        finally:
            for d in self.active_dropouts:
                d.probe = None
        return shapes


class DropoutMasks:
    """Each member's dropout masks at a step, drawn as its single run would draw them."""

    def __init__(self, model: StackedMembers, seeds: list[int]):
        self.model, self.seeds = model, seeds
        self.generators = [torch.Generator() for _ in seeds]
        self._draws: dict[tuple, list[torch.Tensor]] = {}  # one member's, per active dropout

    def at(self, step: int, x0: torch.Tensor, mask0: torch.Tensor | None,
           device: torch.device) -> list[torch.Tensor]:
        layers = self.model.active_dropouts
        if not layers:
            return []
        key = (tuple(x0.shape), None if mask0 is None else tuple(mask0.shape))
        if key not in self._draws:
            self._draws[key] = [torch.empty(s, dtype=torch.float64)
                                for s in self.model.dropout_shapes(x0, mask0)]
        draws = self._draws[key]
        out = [torch.empty((len(self.seeds), *u.shape)) for u in draws]
        # On CPU ``bernoulli_(q)`` draws one uniform double per element and keeps it when
        # below q: the same draws through ``uniform_`` (float64) and ``lt`` are the single
        # run's masks bit for bit, about a fifth cheaper (the dearest op of a group's update).
        for k, (seed, g) in enumerate(zip(self.seeds, self.generators)):
            g.manual_seed(derived_seed(seed, step, 1))  # module.on_train_batch_start's seed
            for layer, buf, u in zip(layers, out, draws):
                torch.lt(u.uniform_(generator=g), 1 - layer.p, out=buf[k])
        for layer, buf in zip(layers, out):
            buf.div_(1 - layer.p)
        return [m.to(device) for m in out]


def member_networks(cfg: DictConfig, seeds: list[int], spec) -> list[nn.Module]:
    """Each seed's network, initialised as its single run's: the global seed, then
    ``protocol.initial_network``."""
    networks = []
    for seed in seeds:
        L.seed_everything(seed, workers=True, verbose=False)
        networks.append(initial_network(cfg, seed, spec))
    return networks


# -- members --------------------------------------------------------------------------------
@dataclass
class Member:
    """One run of the group: its config, folder, curve, clock, best checkpoint and fate."""

    run: LocatedRun
    seed: int
    start_step: int = 0
    checkpoint: dict | None = None  # the resume point, loaded
    tracker: ConvergenceTracker | None = None
    batches: object = None
    time_offset: float = 0.0  # training time before this process (resumed)
    best_score: float | None = None
    best_tie: float = math.inf
    best_step: int | None = None
    active: bool = True
    diverged: bool = False
    stopping: bool = False
    steps_trained: int = 0
    train_time: float = 0.0
    val_metrics: object = None
    test_metrics: object = None
    summary: dict | None = None
    frozen: dict = field(default_factory=dict)  # parameter id -> its saved slices while frozen
    index: int = 0  # position among the configs given to train_vectorized
    resumed_rows: list = field(default_factory=list)  # the curve up to the resume point
    record: dict | None = None  # ``run_folder.measured_record``, once (as ``RunRecord``)

    @property
    def cfg(self) -> DictConfig:
        return self.run.cfg

    @property
    def identity(self) -> RunIdentity:
        return self.run.identity

    @property
    def run_dir(self) -> Path:
        return self.run.run_dir


def _save(path: Path, state: dict) -> None:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    run_folder.write_bytes_atomic(path, buffer.getbuffer())


def best_checkpoint_path(run_dir: Path) -> Path:
    return run_folder.checkpoint_dir(run_dir) / f"{run_folder.BEST}.ckpt"


class _SigtermFlag:
    """While active, SIGTERM sets ``received`` (the group checkpoints at the step's end and
    raises ``SIGTERMException``, as a single run does) and calls the previous handler too, as
    Lightning does; the previous handler is restored on the way out."""

    def __init__(self):
        self.received = False
        self._previous = None

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        self.received = True
        if callable(self._previous):  # e.g. a sweep worker's: it exits after this run
            self._previous(signum, frame)

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


# -- the group ------------------------------------------------------------------------------
class VectorizedGroup:
    """Members resuming from the same step, trained as one stacked model."""

    def __init__(self, members: list[Member], datamodule, spec, target: float, target_rule: str,
                 hook: Hook | None):
        self.members, self.hook = members, hook
        cfg = members[0].cfg
        self.cfg, self.t = cfg, cfg.trainer
        self.datamodule, self.spec = datamodule, spec
        self.target, self.target_rule = target, target_rule
        self.metric, self.direction = cfg.task.val_metric, cfg.task.direction
        self.tie_break = tie_break_metric(self.metric)
        self.max_steps, self.val_every = int(self.t.max_steps), int(self.t.val_every_n_steps)
        self.every = int(self.t.checkpoint_every_n_steps)
        self.fabric = L.Fabric(accelerator=self.t.accelerator, devices=1, precision="32-true")
        self.device = self.fabric.device
        loss_fn = loss_function(spec.task_type)
        networks = member_networks(cfg, [m.seed for m in members], spec)
        self.params_count = sum(p.numel() for p in networks[0].parameters())
        model = StackedMembers(networks, loss_fn)
        del networks
        optimizer, self.scheduler = build_optimizer(
            model.parameters(), plain(cfg, "optimizer"),
            plain(cfg, "scheduler") if cfg.scheduler else None, self.max_steps)
        self.model, self.optimizer = self.fabric.setup(model, optimizer)
        self.stacked: StackedMembers = model
        self.masks = DropoutMasks(model, [m.seed for m in members])
        metric_names = list(cfg.task.metrics)
        for m in members:
            metrics = build_metrics(metric_names, spec.task_type, spec.num_outputs)
            m.val_metrics = metrics.clone(prefix="val/").to(self.device)
            m.test_metrics = metrics.clone(prefix="test/").to(self.device)
        self.step = members[0].start_step
        self.elapsed = 0.0
        self.last_losses: torch.Tensor | None = None
        if members[0].checkpoint is not None:
            self._restore()
        self.best = {n: p.detach().clone() for n, p in self.stacked.params().items()}
        for k, m in enumerate(members):
            if m.best_step is not None:
                self._load_best(k)

    # -- checkpoints ----------------------------------------------------------------------
    def _member_state(self, k: int) -> dict:
        m = self.members[k]
        params = self.stacked.params()
        state = {}
        for name, p in params.items():
            slot = self.optimizer.optimizer.state.get(p, {})
            state[name] = {key: (v[k].detach().clone() if torch.is_tensor(v) and v.dim() > 0
                                 else v) for key, v in slot.items()}
        return {
            "format": FORMAT, "global_step": self.step, "seed": m.seed,
            "state_dict": {f"network.{n}": p[k].detach().clone().cpu() for n, p in params.items()},
            "optimizer": {"state": state, "param_groups": [
                {key: v for key, v in g.items() if key != "params"}
                for g in self.optimizer.optimizer.param_groups]},
            "lr_scheduler": self.scheduler.state_dict() if self.scheduler else None,
            "train_time": self._time(m),
            "best": {"score": m.best_score, "tie_break": m.best_tie, "step": m.best_step},
            "stopping": m.stopping,
            run_folder.RECORD: m.record,  # what resumes are checked by
        }

    def _save_last(self, ks: list[int]) -> None:
        for k in ks:
            _save(run_folder.last_checkpoint(self.members[k].run_dir), self._member_state(k))

    def _restore(self) -> None:
        """Parameters, optimizer and scheduler state from the members' checkpoints."""
        ckpts = [m.checkpoint for m in self.members]
        opt = self.optimizer.optimizer
        with torch.no_grad():
            for name, p in self.stacked.params().items():
                p.copy_(torch.stack([c["state_dict"][f"network.{name}"] for c in ckpts]))
                slots = [c["optimizer"]["state"].get(name, {}) for c in ckpts]
                if slots[0]:
                    opt.state[p] = {key: (torch.stack([s[key] for s in slots]).to(self.device)
                                          if torch.is_tensor(v) and v.dim() > 0 else v)
                                    for key, v in slots[0].items()}
        for group, saved in zip(opt.param_groups, ckpts[0]["optimizer"]["param_groups"]):
            group.update(saved)
        if self.scheduler is not None and ckpts[0]["lr_scheduler"] is not None:
            self.scheduler.load_state_dict(ckpts[0]["lr_scheduler"])
        for m, c in zip(self.members, ckpts):
            m.time_offset = float(c["train_time"])
            best = c["best"]
            m.best_score, m.best_tie, m.best_step = best["score"], best["tie_break"], best["step"]
            m.stopping = bool(c.get("stopping", False))

    def _load_best(self, k: int) -> None:
        path = best_checkpoint_path(self.members[k].run_dir)
        if not path.exists():
            raise run_folder.DamagedRunFolder(
                f"{path} is missing but {run_folder.last_checkpoint(self.members[k].run_dir)} "
                "names it: restore it, or rerun with resume=never")
        state = check_checkpoint(path)["state_dict"]
        with torch.no_grad():
            for name, b in self.best.items():
                b[k].copy_(state[f"network.{name}"])

    def _save_best(self, k: int) -> None:
        m = self.members[k]
        with torch.no_grad():
            for name, p in self.stacked.params().items():
                self.best[name][k].copy_(p[k])
        _save(best_checkpoint_path(m.run_dir), {
            "format": FORMAT, "global_step": self.step, "seed": m.seed,
            "state_dict": {f"network.{n}": b[k].detach().clone().cpu()
                           for n, b in self.best.items()}})

    # -- clock ----------------------------------------------------------------------------
    def _time(self, m: Member) -> float:
        return m.time_offset + self.elapsed if m.active else m.train_time

    # -- freezing -------------------------------------------------------------------------
    def _freeze(self, k: int) -> None:
        """Keep member k as it is now: every later update of its slice is undone."""
        m = self.members[k]
        m.active = False
        opt = self.optimizer.optimizer
        for p in self.stacked.stacked:
            slot = opt.state.get(p, {})
            m.frozen[id(p)] = (p.detach()[k].clone(),
                               {key: v[k].clone() for key, v in slot.items()
                                if torch.is_tensor(v) and v.dim() > 0})

    def _undo_frozen_updates(self) -> None:
        frozen = [(k, m) for k, m in enumerate(self.members) if m.frozen]
        if not frozen:
            return
        opt = self.optimizer.optimizer
        with torch.no_grad():
            for p in self.stacked.stacked:
                slot = opt.state.get(p, {})
                for k, m in frozen:
                    value, saved = m.frozen[id(p)]
                    p[k] = value
                    for key, v in saved.items():
                        slot[key][k] = v

    # -- evaluation -----------------------------------------------------------------------
    def _evaluate(self, split: str, ks: list[int], params: dict | None = None,
                  loader=None) -> dict[int, dict]:
        """Per member k in ``ks``: ``{split}/loss`` (the batch-size weighted mean, as
        Lightning's epoch logging) and the task metrics, ``{split}/acc``..., on ``split``
        (``loader`` when given: ``train``, a fixed training sample, is measured by the test
        metrics under its own name)."""
        if loader is None:
            loader = (self.datamodule.val_dataloader() if split == "val"
                      else self.datamodule.test_dataloader())
        attr = "val_metrics" if split == "val" else "test_metrics"
        for k in ks:
            getattr(self.members[k], attr).reset()
        loss_sum = torch.zeros(self.stacked.k, device=self.device)
        count = 0
        self.model.eval()
        try:
            with torch.no_grad():
                for batch in loader:
                    batch = {key: v.to(self.device) for key, v in batch.items()}
                    y = batch["y"]
                    out, losses = self.model(batch["x"], batch.get("mask"), y, shared=True,
                                             params=params)
                    loss_sum += losses * len(y)
                    count += len(y)
                    for k in ks:
                        getattr(self.members[k], attr).update(prediction(out[k], y), y)
        finally:
            self.model.train()
        result = {}
        for k in ks:
            values = {f"{split}/loss": float(loss_sum[k] / count)}
            values.update({f"{split}/{name.split('/', 1)[1]}": float(v)
                           for name, v in getattr(self.members[k], attr).compute().items()})
            result[k] = values
        return result

    def _better(self, m: Member, metrics: dict) -> bool:
        """``BestCheckpoint``'s rule: strictly better by the metric (a NaN never is, but the
        first evaluation always is), or equal with a lower tie-break (``wins_tie``)."""
        current = metrics.get(self.metric, math.nan)
        tie = tie_value(metrics.get(self.tie_break) if self.tie_break else None)
        if m.best_score is None:
            better = True
        elif self.direction == "max":
            better = current > m.best_score
        else:
            better = current < m.best_score
        if not better:
            better = wins_tie(current, m.best_score, tie, m.best_tie)
        if better:
            m.best_tie = tie
            m.best_score = current if not math.isnan(current) else (
                -math.inf if self.direction == "max" else math.inf)
            m.best_step = self.step
        return better

    def _evaluation(self, fitting: bool) -> None:
        """One evaluation of every active member at ``self.step``: curve rows, checkpoints,
        the best checkpoint, and stopping at target."""
        ks = [k for k, m in enumerate(self.members) if m.active]
        results = self._evaluate("val", ks)
        if self.hook is not None:
            self.hook("validation", self)
        stop = []
        for k in ks:
            m = self.members[k]
            row = {"step": self.step, "train_time_s": self._time(m)}
            if fitting and self.last_losses is not None:
                row["train/loss"] = float(self.last_losses[k])
            row.update(results[k])
            if not m.tracker.record(row):
                continue  # resumed right after this evaluation
            if fitting and self._better(m, results[k]):
                self._save_best(k)
            if m.cfg.task.stop_at_target and meets(results[k].get(self.metric, math.nan),
                                                    self.target, self.direction):
                m.stopping = True
                stop.append(k)
        if fitting:
            self._save_last(ks)
        self._finish(stop)

    # -- finishing ------------------------------------------------------------------------
    def _finish(self, ks: list[int], diverged: bool = False) -> None:
        """Freeze members ``ks``, test each at its best checkpoint and write its summary."""
        if not ks:
            return
        for k in ks:
            m = self.members[k]
            if m.active:
                self._freeze(k)
            m.diverged = diverged
            m.steps_trained = self.step
            m.train_time = m.time_offset + self.elapsed
        tested = [k for k in ks if self.members[k].best_step is not None and not diverged]
        at_budget = {k: {} for k in tested}  # the weights training ended with (as single runs)
        if tested:
            for k, values in self._evaluate("test", tested).items():
                at_budget[k].update(values)
            if (sample := self.datamodule.train_sample_dataloader()) is not None:
                for k, values in self._evaluate("train", tested, loader=sample).items():
                    at_budget[k].update(values)
        tests = self._evaluate("test", tested, params=self.best) if tested else {}
        for k in ks:
            m = self.members[k]
            m.summary = write_summary(
                m.run, m.tracker.rows, params=self.params_count, target=self.target,
                target_rule=self.target_rule, steps_trained=m.steps_trained,
                diverged=m.diverged, test_metrics=tests.get(k), train_time_s=m.train_time,
                batch_size=self.datamodule.batch_size, device=self.device,
                budget_metrics=at_budget.get(k))

    # -- training -------------------------------------------------------------------------
    def _batch(self) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, list]:
        batch = stacked_batch([m.batches for m in self.members], self.step)
        x, mask, y = batch["x"], batch.get("mask"), batch["y"]
        masks = self.masks.at(self.step, x[0], None if mask is None else mask[0], self.device)
        return (x.to(self.device), None if mask is None else mask.to(self.device),
                y.to(self.device), masks)

    def fit(self) -> None:
        """Train until every member has finished (budget, target or divergence)."""
        if self.members[0].checkpoint is None:
            for m in self.members:
                run_folder.curve_path(m.run_dir).unlink(missing_ok=True)
                m.tracker.rows = []
            self._evaluation(fitting=False)  # step 0 of the grid
        self._finish([k for k, m in enumerate(self.members) if m.active and m.stopping])
        with _SigtermFlag() as sigterm:
            while any(m.active for m in self.members) and self.step < self.max_steps:
                start = time.perf_counter()
                x, mask, y, masks = self._batch()
                _, losses = self.model(x, mask, y, masks)
                finite = torch.isfinite(losses.detach()).tolist()
                newly = [k for k, m in enumerate(self.members) if m.active and not finite[k]]
                for k in newly:  # a diverged single run takes no step: keep it as it is now
                    self._freeze(k)
                self.optimizer.zero_grad(set_to_none=True)
                if any(m.active for m in self.members):
                    # members share nothing: member k's gradient is its own loss's (a NaN
                    # stays in its slice), and finished members' updates are undone below
                    self.fabric.backward(losses.sum())
                    self.optimizer.step()
                    if self.scheduler is not None:
                        self.scheduler.step()
                self._undo_frozen_updates()
                self.last_losses = losses.detach()
                self.elapsed += time.perf_counter() - start
                self._finish(newly, diverged=True)
                self.step += 1
                if self.hook is not None:
                    self.hook("train", self)
                active = [k for k, m in enumerate(self.members) if m.active]
                if sigterm.received:
                    self._save_last(active)
                    raise SIGTERMException()
                if self.step % self.val_every == 0:
                    self._evaluation(fitting=True)
                elif self.every > 0 and self.step % self.every == 0:
                    self._save_last(active)
        self._finish([k for k, m in enumerate(self.members) if m.active])


# -- entry ----------------------------------------------------------------------------------
def member_batches(datamodule, seed: int):
    """The training batches of the single run with ``seed``: ``batches[step]``."""
    dm = copy.copy(datamodule)  # the loaded splits are shared; only the seed differs
    dm.seed = seed
    loader = dm.train_dataloader()
    if not isinstance(loader.sampler, StepSampler):
        raise VectorizeError(f"{type(datamodule).__name__}: its training batches are not "
                             "indexed by step (project.data.base.training_loader), so members "
                             "cannot be fed as their single runs")
    return loader.dataset.batches


def stacked_batch(batches: list, step: int) -> dict[str, torch.Tensor]:
    """Every member's training batch ``step`` (``batches``: each member's ``member_batches``),
    stacked (K, ...). Members whose batches are slices of the same training tensors
    (``ShuffledBatches``) are served by one gather of those tensors, the same values as
    slicing each member's batch and stacking them, at one indexing call per tensor."""
    first = batches[0]
    if all(type(b) is ShuffledBatches and b.data.tensors is first.data.tensors for b in batches):
        rows = torch.stack([b.indices(step) for b in batches])
        return {k: v[rows] for k, v in first.data.tensors.items()}
    parts = [b[step] for b in batches]
    return {k: torch.stack([p[k] for p in parts]) for k in parts[0]}


def member(run: LocatedRun, index: int) -> Member:
    """The group member that trains ``run`` (opened by ``protocol.open_run``), from its
    resume point when it has one; ``index`` is its position among the group's runs."""
    m = Member(run, int(run.cfg.seed), index=index)
    if run.resumes:
        step, rows, _ = check_resume_point(run.run_dir, int(run.cfg.trainer.val_every_n_steps))
        m.start_step = step
        m.checkpoint = check_checkpoint(run_folder.last_checkpoint(run.run_dir))
        m.resumed_rows = rows
    return m


class FusedSingleRuns(Exception):
    """The members' single runs take the fused path (``net.fused=auto`` on long inputs),
    which has no ``vmap`` form: stacked, each member would train the plain path instead (the
    same sums in another order, and K full activation tensors, which the fused path exists to
    avoid on long inputs). Raised before any member's config is written; they train one by
    one, each its single run bit for bit."""


def single_run_is_fused(cfg: DictConfig, datamodule) -> bool:
    """Whether the single run of ``cfg`` takes the fused path on its first batch
    (``task.net.fused=auto`` on long inputs); a group cannot (``FusedSingleRuns``)."""
    seed = int(cfg.seed)
    x = member_batches(datamodule, seed)[0]["x"]
    return initial_network(cfg, seed, datamodule.spec).uses_fused(x)


def train_members(members: list[Member], hook: Hook | None = None) -> None:
    """Set up the process, data and trackers once, then train the members, one stacked model
    per resume step; each member's summary is left in ``member.summary``. Raises
    ``FusedSingleRuns`` (nothing written) where their single runs take the fused path."""
    cfg = members[0].cfg
    prepare_process(cfg)
    datamodule, target, target_rule = open_data(cfg, members[0].seed)
    spec = datamodule.spec
    for m in members:
        m.batches = member_batches(datamodule, m.seed)
    fresh = not any(m.start_step for m in members)  # resumed members stay a group
    if fresh and single_run_is_fused(members[0].cfg, datamodule):
        raise FusedSingleRuns()
    for m in members:
        m.run = record_config(m.run, vectorized={"group_size": len(members)})
        m.record = run_folder.measured_record(m.cfg)
        m.tracker = ConvergenceTracker(m.run_dir, cfg.task.val_metric, cfg.task.direction,
                                       target, bool(cfg.task.stop_at_target))
        m.tracker.rows = list(m.resumed_rows)
    for step in sorted({m.start_step for m in members}):
        group = [m for m in members if m.start_step == step]
        if step:
            print(f"resuming {len(group)} vectorised runs from step {step}: "
                  f"{', '.join(str(m.run_dir) for m in group)}")
        VectorizedGroup(group, datamodule, spec, target, target_rule, hook).fit()
