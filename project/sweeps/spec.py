"""W&B-format sweep specs: load, check, expand to runs, and validate against the Hydra config.

A spec (``conf/sweep/*.yaml``) is what ``wandb sweep`` takes: ``program``, ``method``,
``metric``, ``parameters`` and a ``command`` whose ``${args_no_hyphens}`` turns each parameter
into a Hydra override ``key=value``. The override strings are made by W&B's own agent code
(``create_sweep_command_args``), so the local runner and ``wandb agent`` pass identical
arguments. Locally, ``grid`` and ``random`` are expanded here; ``bayes`` needs the W&B server.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from omegaconf import DictConfig, OmegaConf

from project.runs.identity import RunIdentity, identity_of
from project.runs.compose import CONF_DIR

TRAIN_CONFIG = "train"
TRAIN_MODULE = "project.train"
ARGS_MACRO = "${args_no_hyphens}"
PREFIX_MACROS = ("${env}", "${interpreter}")
SPEC_KEYS = {"program", "method", "metric", "parameters", "command", "name", "description",
             "project", "entity", "early_terminate", "run_cap", "job", "image_uri"}
DISTRIBUTIONS = ("constant", "categorical", "int_uniform", "uniform", "log_uniform_values",
                 "q_uniform", "q_log_uniform_values")
SEED_KEY = "seed"


@dataclass
class Parameter:
    """One swept key: a fixed list of values (``value``/``values``) or a distribution."""

    name: str
    values: list[Any] | None = None
    probabilities: list[float] | None = None
    distribution: str | None = None
    bounds: dict[str, float] = field(default_factory=dict)

    def sample(self, rng: np.random.Generator) -> Any:
        """One draw, as W&B's random search defines the distribution."""
        if self.values is not None:
            return self.values[rng.choice(len(self.values), p=self.probabilities)]
        lo, hi, q = self.bounds.get("min"), self.bounds.get("max"), self.bounds.get("q", 1)
        if self.distribution == "int_uniform":
            return int(rng.integers(lo, hi + 1))
        if self.distribution == "uniform":
            return float(rng.uniform(lo, hi))
        if self.distribution == "q_uniform":
            return float(np.round(rng.uniform(lo, hi) / q) * q)
        value = math.exp(rng.uniform(math.log(lo), math.log(hi)))
        if self.distribution == "q_log_uniform_values":
            value = float(np.round(value / q) * q)
        return float(value)


@dataclass
class SweepSpec:
    """A checked sweep spec; ``extra_overrides`` are literal ``key=value`` tokens of ``command``."""

    path: Path
    method: str
    metric: dict
    parameters: dict[str, Parameter]
    command: list[str]
    extra_overrides: list[str]
    run_cap: int | None
    raw: dict


@dataclass
class SweepRun:
    """One combination: its parameter values, their override strings and where it lands."""

    assignment: dict[str, Any]
    overrides: list[str]
    task: str = ""
    model: str = ""
    seed: int = 0
    config: DictConfig | None = None
    identity: RunIdentity | None = None


def spec_error(message: str) -> None:
    """Raise the one-line ``ValueError`` that names what is wrong in a spec."""
    raise ValueError(message)


def load_spec(path: str | Path) -> SweepSpec:
    """Read and structurally check a spec file; one-line ``ValueError`` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sweep spec not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    if not isinstance(raw, dict):
        spec_error(f"{path}: a sweep spec is a mapping with method, parameters and command")
    return parse_spec(raw, path)


def parse_spec(raw: dict, path: Path = Path("<spec>")) -> SweepSpec:
    """Check the spec's keys, method, metric, command and parameters."""
    unknown = sorted(set(raw) - SPEC_KEYS)
    if unknown:
        spec_error(f"{path}: unknown sweep spec key {unknown[0]!r} (expected some of "
             f"{sorted(SPEC_KEYS)})")
    method = raw.get("method")
    if method not in ("grid", "random", "bayes"):
        spec_error(f"{path}: method={method!r}: expected grid, random or bayes")
    metric = raw.get("metric") or {}
    if method == "bayes" and not metric.get("name"):
        spec_error(f"{path}: method bayes needs metric.name")
    if metric and metric.get("goal", "minimize") not in ("minimize", "maximize"):
        spec_error(f"{path}: metric.goal={metric.get('goal')!r}: expected minimize or maximize")
    extra = check_command(raw.get("command"), path)
    if not isinstance(raw.get("parameters"), dict) or not raw["parameters"]:
        spec_error(f"{path}: parameters must be a non-empty mapping")
    params = {p.name: p for p in flatten_parameters(raw["parameters"], method, path)}
    run_cap = raw.get("run_cap")
    if run_cap is not None and (not isinstance(run_cap, int) or run_cap < 1):
        spec_error(f"{path}: run_cap={run_cap!r} must be a positive integer")
    return SweepSpec(path, method, metric, params, list(raw["command"]), extra, run_cap, raw)


def check_command(command: Any, path: Path) -> list[str]:
    """Refuse a command that would not run ``python -m project.train`` with Hydra overrides.

    Returns the literal ``key=value`` overrides written after the module name.
    """
    where = f"{path}: command"
    if not isinstance(command, list) or not all(isinstance(t, str) for t in command):
        spec_error(f"{where} must be a list such as [${{env}}, ${{interpreter}}, -m, {TRAIN_MODULE}, "
             f"{ARGS_MACRO}] (W&B's default passes --key=value flags, which Hydra rejects)")
    try:
        i = next(k for k in range(len(command) - 1)
                 if command[k] == "-m" and command[k + 1] == TRAIN_MODULE)
    except StopIteration:
        spec_error(f"{where} does not reach {TRAIN_MODULE}: it needs '-m {TRAIN_MODULE}'")
    for token in command[:i]:
        if token not in PREFIX_MACROS and Path(token).name not in ("python", "python3"):
            spec_error(f"{where}: {token!r} before '-m {TRAIN_MODULE}' (allowed: ${{env}}, "
                 f"${{interpreter}}, python)")
    extra = []
    for token in command[i + 2:]:
        if token == ARGS_MACRO:
            continue
        if token.startswith("${"):
            spec_error(f"{where}: macro {token} does not give Hydra overrides; use {ARGS_MACRO}")
        if token.startswith("-") or "=" not in token:
            spec_error(f"{where}: {token!r} is not a Hydra override key=value")
        extra.append(token)
    if command.count(ARGS_MACRO) != 1:
        spec_error(f"{where} must contain {ARGS_MACRO} once, after '-m {TRAIN_MODULE}'")
    return extra


def flatten_parameters(params: dict, method: str, path: Path, prefix: str = "") -> list[Parameter]:
    """W&B parameters (nested ``parameters:`` blocks become dotted keys) as ``Parameter``s."""
    out = []
    for key, body in params.items():
        name = f"{prefix}{key}"
        if not isinstance(body, dict):
            spec_error(f"{path}: parameter {name!r} must be a mapping with value, values or a "
                 f"distribution, got {body!r}")
        if "parameters" in body:
            out += flatten_parameters(body["parameters"], method, path, f"{name}.")
            continue
        out.append(parse_parameter(name, body, method, path))
    return out


def parse_parameter(name: str, body: dict, method: str, path: Path) -> Parameter:
    where = f"{path}: parameter {name!r}"
    if "value" in body:
        return Parameter(name, values=[body["value"]])
    if "values" in body:
        values = body["values"]
        if not isinstance(values, list):
            spec_error(f"{where}: values must be a list, got {values!r}")
        if not values:
            spec_error(f"{where}: empty values list (an empty grid has no runs)")
        probs = body.get("probabilities")
        if probs is not None and (len(probs) != len(values) or abs(sum(probs) - 1) > 1e-6):
            spec_error(f"{where}: probabilities must match values and sum to 1")
        return Parameter(name, values=list(values), probabilities=probs)
    if "min" not in body or "max" not in body:
        spec_error(f"{where}: needs value, values, or min and max")
    lo, hi = body["min"], body["max"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)):
        spec_error(f"{where}: min and max must be numbers, got {lo!r}, {hi!r}")
    if lo > hi:
        spec_error(f"{where}: min={lo} > max={hi} (an empty range has no runs)")
    dist = body.get("distribution") or (
        "int_uniform" if isinstance(lo, int) and isinstance(hi, int) else "uniform")
    if dist not in DISTRIBUTIONS:
        spec_error(f"{where}: distribution {dist!r} is not supported locally (supported: "
             f"{', '.join(DISTRIBUTIONS)})")
    if dist.startswith(("log", "q_log")) and lo <= 0:
        spec_error(f"{where}: {dist} needs min > 0")
    if method == "grid":
        spec_error(f"{where}: grid search needs value or values, not a distribution")
    bounds = {"min": lo, "max": hi, "q": body.get("q", 1)}
    return Parameter(name, distribution=dist, bounds=bounds)


def not_local(spec: SweepSpec) -> list[str]:
    """What the spec asks for that only the W&B server does (``early_terminate``, ``bayes``)."""
    return [*(["early_terminate"] if "early_terminate" in spec.raw else []),
            *(["method: bayes"] if spec.method == "bayes" else [])]


def expand(spec: SweepSpec, count: int | None = None, sample_seed: int = 0) -> list[dict]:
    """The runs' parameter assignments: the grid's product in spec order, or ``count`` random
    draws (default ``run_cap``) from a seeded generator (duplicates removed). What the local
    runner does not implement is named in one warning line on stderr."""
    names = list(spec.parameters)
    if not_local(spec):
        print(f"warning: {spec.path}: the local runner does not implement "
              f"{', '.join(not_local(spec))} (W&B server only: scripts/wandb_sweep.sh)",
              file=sys.stderr)
    if spec.method == "bayes":
        spec_error(f"{spec.path}: method bayes needs the W&B server (scripts/wandb_sweep.sh); "
             "the local runner does grid and random")
    if spec.method == "grid":
        grid = itertools.product(*(spec.parameters[n].values for n in names))
        return [dict(zip(names, combo)) for combo in grid]
    n = count or spec.run_cap
    if not n:
        spec_error(f"{spec.path}: random search needs run_cap in the spec or --count")
    rng = np.random.default_rng(sample_seed)
    runs, seen = [], set()
    for _ in range(n):
        assignment = {k: spec.parameters[k].sample(rng) for k in names}
        key = tuple(override_strings(assignment))
        if key not in seen:
            seen.add(key)
            runs.append(assignment)
    return runs


def override_strings(assignment: dict[str, Any]) -> list[str]:
    """``key=value`` strings exactly as ``wandb agent`` builds ``${args_no_hyphens}``
    (``f"{param}={value}"`` in ``create_sweep_command_args``; a test compares the two), without
    importing wandb (about 0.7 s of every sweep's planning)."""
    return [f"{key}={value}" for key, value in assignment.items()]


def config_groups(conf_dir: Path = CONF_DIR) -> set[str]:
    """Hydra config groups under ``conf_dir`` (``task``, ``model``, ``hydra/launcher``, ...)."""
    return {str(p.parent.relative_to(conf_dir)) for p in conf_dir.rglob("*.yaml")
            if p.parent != conf_dir and p.parent.name != "sweep"}


def validate_runs(spec: SweepSpec, assignments: list[dict],
                  conf_dir: Path = CONF_DIR) -> list[SweepRun]:
    """Compose every run's overrides against the Hydra config; fail naming the parameter.

    Checks: each key exists, each group option exists, each value has the type of the
    config's value (int, float, bool, str, list, dict), interpolations still resolve. Runs
    differing only in ``seed`` share one composition (the seed is a top-level int).
    """
    from hydra import compose, initialize_config_dir

    groups = config_groups(conf_dir)
    runs = []
    with initialize_config_dir(config_dir=str(conf_dir), version_base="1.3"):
        composed: dict[tuple, tuple[DictConfig, RunIdentity]] = {}  # shared by seeds
        bases: dict[tuple, DictConfig] = {}
        for assignment in assignments:
            overrides = [*spec.extra_overrides, *override_strings(assignment)]
            group_ov = tuple(o for o in overrides if o.split("=", 1)[0].lstrip("+~") in groups)
            if group_ov not in bases:
                bases[group_ov] = compose_or_explain(compose, list(group_ov), [], groups)
            key = tuple(o for o in overrides if o.split("=", 1)[0] != SEED_KEY)
            if key not in composed:
                cfg = compose_or_explain(compose, list(group_ov), overrides, groups)
                check_types(cfg, bases[group_ov], assignment, groups)
                composed[key] = cfg, identity_of(cfg)
            cfg, setting_identity = composed[key]
            seed = check_seed(assignment.get(SEED_KEY, cfg.seed))
            identity = replace(setting_identity, seed=seed)
            runs.append(SweepRun(assignment, overrides, task=identity.task,
                                 model=identity.model, seed=seed, config=cfg,
                                 identity=identity))
    return runs


def compose_or_explain(compose, group_ov: list[str], overrides: list[str],
                       groups: set[str]) -> DictConfig:
    """``compose`` the train config; on failure find the override to blame and name it."""
    try:
        cfg = compose(config_name=TRAIN_CONFIG, overrides=overrides or group_ov)
        OmegaConf.to_container(cfg.task, resolve=True)  # interpolations still resolve
        return cfg
    except Exception as e:  # hydra raises several exception types; all become one line
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        grouped = [o for o in overrides or group_ov if o in group_ov]
        others = [o for o in overrides if o not in group_ov]
        trials = [[o] for o in grouped] + [[*group_ov, o] for o in others]
        for trial in trials:  # each group option alone, then each value on valid groups
            try:
                compose(config_name=TRAIN_CONFIG, overrides=trial)
            except Exception as e2:  # noqa: BLE001 - same as above
                reason2 = str(e2).strip().splitlines()[0] if str(e2).strip() else reason
                key, _, value = trial[-1].partition("=")
                spec_error(f"parameter {key!r}={value!r}: {reason2}")
        spec_error(f"overrides {overrides or group_ov} do not compose: {reason}")


def type_name(value: Any) -> str:
    return type(value).__name__


def check_types(cfg: DictConfig, base: DictConfig, assignment: dict, groups: set[str]) -> None:
    """Each swept value must have the type the config holds there (an int may fill a float)."""
    for key in assignment:
        if key in groups:
            continue
        new = OmegaConf.select(cfg, key, throw_on_missing=False)
        old = OmegaConf.select(base, key, throw_on_missing=False)
        if old is None or new is None:
            continue
        new = OmegaConf.to_container(new) if OmegaConf.is_config(new) else new
        old = OmegaConf.to_container(old) if OmegaConf.is_config(old) else old
        ok = (type(old) is type(new) or (isinstance(old, float) and type(new) is int))
        if not ok:
            spec_error(f"parameter {key!r}: value {assignment[key]!r} has type {type_name(new)}, the "
                 f"config holds a {type_name(old)} ({old!r})")


def check_seed(seed: Any) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        spec_error(f"parameter 'seed': value {seed!r} must be a non-negative integer")
    return seed
