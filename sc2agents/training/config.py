"""The experiment config: schema, ml_collections form for config files, validation and JSON.

A config file (``configs/<name>.py``) defines ``get_config()`` returning an
`ml_collections.ConfigDict` with five sections, built with `experiment`:

* ``learner``: ``name`` (a key of `sc2agents.learners.LEARNERS`) plus every field of that learner's
  ``<Name>Config`` dataclass, with its defaults (`learner_section`);
* ``env``, ``data``, ``run``, ``eval``: the fields of `EnvConfig`, `DataConfig`, `RunConfig`,
  `EvalConfig` below.

A ``ConfigDict`` (rather than the frozen dataclasses themselves) is what the config file returns
because ml_collections' ``--config.learner.lr=1e-4`` overrides assign attributes in place, which a
frozen dataclass refuses, and because a ``ConfigDict`` is typed: an override of the wrong type fails
while flags are parsed. `resolve` then turns the ``ConfigDict`` (or the ``config.json`` of a run,
for resume) into a frozen, fully validated `ExperimentConfig`, raising `ConfigError` with the dotted
key (``config.learner.lr``) for the first problem: unknown learner, unknown key, wrong type,
out-of-range value. Checks that need the dataset (observation shapes) live in
`sc2agents.training.data`.

Example:
    >>> from sc2agents.training import config as tc
    >>> try:
    ...     tc.resolve({"learner": {"name": "nope"}}, registry={})
    ... except tc.ConfigError as e:
    ...     print(e)
    config.learner.name: unknown learner 'nope'; known: (none)
"""

from __future__ import annotations

import dataclasses
import math
import sys
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal

import ml_collections
from ml_collections import config_dict

__all__ = [
    "ConfigError",
    "DataConfig",
    "EnvConfig",
    "EvalConfig",
    "ExperimentConfig",
    "RunConfig",
    "experiment",
    "learner_config_class",
    "learner_section",
    "resolve",
    "to_dict",
]

SECTIONS = ("learner", "env", "data", "run", "eval")


class ConfigError(ValueError):
    """A config value is wrong; the message starts with the dotted key (``config.run.steps``)."""


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """The environment the policy is evaluated in (and, for simulator datasets, built from)."""

    task: str = "MoveToBeacon"  # Simulator scenario / PySC2 minigame name.
    backend: Literal["sim", "pysc2"] = "sim"  # Evaluation backend; pysc2 needs the game binary.
    screen_size: int = 32  # Screen feature-layer resolution (must match the dataset).
    minimap_size: int = 32  # Minimap feature-layer resolution (must match the dataset).
    step_mul: int = 8  # Game steps per agent step.


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where the offline dataset lives, how it is split and fed."""

    path: str = (
        ""  # Dataset folder; "" means data/sim/<task>_... (see training.parts.dataset_path).
    )
    build_if_missing: bool = True  # Build a small simulator dataset when `path` does not exist.
    build_episodes: int = 64  # Episodes in such a dataset.
    build_policy: Literal["expert", "medium", "random", "mixed"] = "medium"  # Its demonstrator.
    build_noise: float = 0.3  # Random-action probability of the "medium" demonstrator.
    val_fraction: float = 0.1  # Share of episodes held out for `val/` metrics.
    gamma: float = 0.99  # Discount of the sampled targets (n-step sums, returns, goal offsets).
    n_step: int = 1  # Transition length for the TD learners (dqn, cql); SHARSA uses its horizon.
    batch_size: int = 32  # Transitions per gradient step.
    prefetch: int = 4  # Batches the background prefetcher keeps ready.


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Budget, cadence, output and device of a training run."""

    seed: int = 0  # Seeds torch, numpy, the sampler and evaluation.
    steps: int = 10_000  # Gradient steps in total.
    log_every: int = 100  # Steps between `train/` and `time/` scalars.
    val_every: int = 1_000  # Steps between `val/` metrics (0: never).
    val_batches: int = 4  # Held-out batches per validation.
    checkpoint_every: int = 1_000  # Steps between checkpoints (a final one is always written).
    keep_checkpoints: int = 3  # Newest checkpoints kept (0: all).
    out_dir: str = "runs"  # Root of run dirs: <out_dir>/<config>/<learner>__<seed>__<time>/.
    run_dir: str = ""  # Explicit run dir; resumed automatically when it already has a config.
    device: str = "auto"  # "auto" (cuda if available), "cpu", "cuda", "cuda:1", ...
    deterministic: bool = True  # torch.use_deterministic_algorithms (exact resume on GPU too).
    num_threads: int = 0  # torch intra-op threads (0: torch's default).
    progress: Literal["auto", "rich", "tqdm", "none"] = "auto"  # Progress display.


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Policy evaluation in the simulator during training."""

    every: int = 5_000  # Steps between evaluations (0: only at the end, if `at_end`).
    at_end: bool = True  # Evaluate once more after the last step.
    episodes: int = 8  # Games per evaluation (per opponent).
    opponents: str = ""  # 1v1 maps: built-in bots, e.g. "very_easy,easy" ("" for minigames).
    max_steps: int = 0  # Agent steps per game cap (0: the scenario's own time limit).
    video_games: int = 0  # Games per evaluation written as video to <run_dir>/eval/<step>/.


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A resolved, validated experiment: what the training program runs and `config.json` holds."""

    name: str  # Config name (file stem): runs/<name>/...
    learner_name: str  # Registry key of the learner.
    learner: Any  # The learner's own frozen <Name>Config.
    env: EnvConfig
    data: DataConfig
    run: RunConfig
    eval: EvalConfig


_SECTION_CLASSES: dict[str, type] = {
    "env": EnvConfig,
    "data": DataConfig,
    "run": RunConfig,
    "eval": EvalConfig,
}


def _registry() -> Mapping[str, type]:
    from sc2agents.learners import LEARNERS  # Lazy: learners import torch and the networks.

    return LEARNERS


def learner_config_class(name: str, registry: Mapping[str, type] | None = None) -> type:
    """The ``<Name>Config`` dataclass of learner ``name``.

    Found as the learner class's ``config_cls``/``Config`` attribute if it has one, else as the
    dataclass in the learner's module whose ``learner_name`` default is ``name``
    (docs/internal_api.md §5).

    Raises:
        ConfigError: unknown learner, or its module has no such dataclass.
    """
    registry = _registry() if registry is None else registry
    if name not in registry:
        known = ", ".join(sorted(registry)) or "(none)"
        raise ConfigError(f"config.learner.name: unknown learner {name!r}; known: {known}")
    cls = registry[name]
    for attr in ("config_cls", "Config", "config_class"):
        c = getattr(cls, attr, None)
        if isinstance(c, type) and dataclasses.is_dataclass(c):
            return c
    module = sys.modules.get(cls.__module__)
    for obj in vars(module).values() if module else ():
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            field = {f.name: f for f in dataclasses.fields(obj)}.get("learner_name")
            if field is not None and field.default == name:
                return obj
    raise ConfigError(
        f"config.learner.name: learner {name!r} ({cls.__module__}) has no Config dataclass with "
        f"learner_name={name!r}"
    )


def _field_types(cls: type) -> dict[str, Any]:
    """Field name -> resolved annotation (string annotations evaluated in the class's module)."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # An unresolvable annotation: fall back to value-based typing.
        hints = {}
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def _field_default(f: dataclasses.Field[Any]) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None


def _base_type(tp: Any) -> Any:
    """``int | None`` -> int; ``Literal["a", "b"]`` -> str; unresolvable -> object."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0]) if len(args) == 1 else object
    if origin is Literal:
        return type(typing.get_args(tp)[0])
    if origin in (tuple, list):
        return tuple
    if tp in (int, float, bool, str):
        return tp
    return object


def _to_configdict(
    cls: type, overrides: Mapping[str, Any], where: str
) -> ml_collections.ConfigDict:
    """A typed ConfigDict of dataclass ``cls``'s defaults updated with ``overrides``."""
    tps = _field_types(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    out = ml_collections.ConfigDict()
    for name, f in fields.items():
        if not f.init:
            continue
        value = overrides.get(name, _field_default(f))
        if isinstance(value, list):
            value = tuple(value)
        if value is None:
            # Typed placeholder so that `--config.x.field=...` can still override a None default.
            value = config_dict.placeholder(_base_type(tps[name]))
        elif isinstance(value, Mapping) or dataclasses.is_dataclass(value):
            value = ml_collections.ConfigDict(
                dict(value) if isinstance(value, Mapping) else dataclasses.asdict(value)
            )
        out[name] = value
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; {cls.__name__} has {', '.join(sorted(fields))}"
        )
    return out


def learner_section(
    name: str, registry: Mapping[str, type] | None = None, **overrides: Any
) -> ml_collections.ConfigDict:
    """The ``learner`` section: ``name`` plus the learner Config's fields (defaults + overrides)."""
    cls = learner_config_class(name, registry)
    overrides = {k: v for k, v in overrides.items() if k != "learner_name"}
    section = _to_configdict(cls, overrides, "config.learner")
    if "learner_name" in section:
        del section["learner_name"]  # Implied by `name`; kept out so it cannot disagree.
    section.name = name
    return section


def experiment(
    learner: str,
    *,
    name: str = "",
    learner_overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
    run: Mapping[str, Any] | None = None,
    eval: Mapping[str, Any] | None = None,  # noqa: A002 - the section's name.
    registry: Mapping[str, type] | None = None,
) -> ml_collections.ConfigDict:
    """The ConfigDict a config file's ``get_config()`` returns.

    Args:
        learner: learner registry key.
        name: config name for run dirs (default: the config file's stem).
        learner_overrides: values for the learner Config's fields.
        env: values for `EnvConfig` fields.
        data: values for `DataConfig` fields.
        run: values for `RunConfig` fields.
        eval: values for `EvalConfig` fields.
        registry: learner registry (tests); default `sc2agents.learners.LEARNERS`.
    """
    cfg = ml_collections.ConfigDict()
    cfg.name = name
    cfg.learner = learner_section(learner, registry, **dict(learner_overrides or {}))
    for section, values in (("env", env), ("data", data), ("run", run), ("eval", eval)):
        cls = _SECTION_CLASSES[section]
        cfg[section] = _to_configdict(cls, dict(values or {}), f"config.{section}")
    cfg.lock()  # Unknown keys now fail when assigned (also from the command line).
    return cfg


def _check_type(value: Any, tp: Any, key: str) -> Any:
    """Coerce ``value`` to the field's type where lossless (int->float, list->tuple), else fail."""
    base = _base_type(tp)
    if value is None:
        origin = typing.get_origin(tp)
        if tp is Any or base is object or type(None) in typing.get_args(tp) or origin is None:
            return None
        raise ConfigError(f"{key}: must not be None")
    if typing.get_origin(tp) is Literal and value not in typing.get_args(tp):
        raise ConfigError(f"{key}: {value!r} is not one of {list(typing.get_args(tp))}")
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if base is tuple and isinstance(value, list):
        return tuple(value)
    if base is object:
        return value
    if base in (int, float) and isinstance(value, bool):
        raise ConfigError(f"{key}: expected {base.__name__}, got bool {value!r}")
    if not isinstance(value, base):
        raise ConfigError(f"{key}: expected {base.__name__}, got {type(value).__name__} {value!r}")
    if base is float and not math.isfinite(value):
        raise ConfigError(f"{key}: must be finite, got {value}")
    return value


def _base_dataclass(tp: Any) -> type | None:
    """The dataclass type of a field annotated ``D`` or ``D | None``, else None."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] if typing.get_args(tp) else [tp]
    if len(args) == 1 and isinstance(args[0], type) and dataclasses.is_dataclass(args[0]):
        return args[0]
    return None


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values`` with key and type checks."""
    tps = _field_types(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]}: unknown key; {cls.__name__} has {', '.join(sorted(names))}"
        )
    kwargs = {}
    for k, v in values.items():
        sub = _base_dataclass(tps[k])
        if sub is not None and isinstance(v, Mapping):
            kwargs[k] = _build(sub, v, f"{where}.{k}")  # A nested config dataclass.
        else:
            kwargs[k] = _check_type(v, tps[k], f"{where}.{k}")
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError, AssertionError) as e:
        # The learner's own __post_init__ checks: prefix with the field they mention, if any.
        msg = str(e)
        field = next((k for k in sorted(names, key=len, reverse=True) if k in msg), None)
        raise ConfigError(f"{where}{'.' + field if field else ''}: {msg}") from e


# Generic range checks on learner fields by name (learner Configs may add their own).
_POSITIVE = ("lr", "learning_rate", "batch_size", "num_updates")
_UNIT_INTERVAL = ("gamma", "discount", "tau")


def _check_learner_values(learner: Any) -> None:
    for f in dataclasses.fields(learner):
        v = getattr(learner, f.name)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        key = f"config.learner.{f.name}"
        if (f.name in _POSITIVE or f.name.endswith(("_lr", "_learning_rate"))) and v <= 0:
            raise ConfigError(f"{key}: must be > 0, got {v}")
        if f.name in _UNIT_INTERVAL and not 0.0 <= v <= 1.0:
            raise ConfigError(f"{key}: must be in [0, 1], got {v}")


def _positive(key: str, v: float, allow_zero: bool = False) -> None:
    if v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{key}: must be {'>= 0' if allow_zero else '> 0'}, got {v}")


def _check_sections(exp: ExperimentConfig) -> None:
    e, d, r, v = exp.env, exp.data, exp.run, exp.eval
    for key, val in (
        ("env.screen_size", e.screen_size),
        ("env.minimap_size", e.minimap_size),
        ("env.step_mul", e.step_mul),
        ("data.batch_size", d.batch_size),
        ("data.build_episodes", d.build_episodes),
        ("data.n_step", d.n_step),
        ("run.steps", r.steps),
        ("run.log_every", r.log_every),
        ("run.checkpoint_every", r.checkpoint_every),
        ("eval.episodes", v.episodes),
    ):
        _positive(f"config.{key}", val)
    for key, val in (
        ("data.prefetch", d.prefetch),
        ("run.val_every", r.val_every),
        ("run.val_batches", r.val_batches),
        ("run.keep_checkpoints", r.keep_checkpoints),
        ("run.num_threads", r.num_threads),
        ("run.seed", r.seed),
        ("eval.every", v.every),
        ("eval.max_steps", v.max_steps),
        ("eval.video_games", v.video_games),
    ):
        _positive(f"config.{key}", val, allow_zero=True)
    if not 0.0 <= d.build_noise <= 1.0:
        raise ConfigError(f"config.data.build_noise: must be in [0, 1], got {d.build_noise}")
    if not 0.0 < d.gamma <= 1.0:
        raise ConfigError(f"config.data.gamma: must be in (0, 1], got {d.gamma}")
    learner_gamma = getattr(exp.learner, "gamma", None)
    if isinstance(learner_gamma, float) and abs(learner_gamma - d.gamma) > 1e-12:
        raise ConfigError(
            f"config.data.gamma: {d.gamma} differs from config.learner.gamma {learner_gamma}; "
            "the sampler's discount and the learner's must agree (set both)"
        )
    if not 0.0 <= d.val_fraction < 1.0:
        raise ConfigError(f"config.data.val_fraction: must be in [0, 1), got {d.val_fraction}")
    if r.val_every and r.val_batches == 0:
        raise ConfigError("config.run.val_batches: must be > 0 when run.val_every > 0")
    if r.val_every and d.val_fraction == 0:
        raise ConfigError("config.data.val_fraction: must be > 0 when run.val_every > 0")
    dev = r.device
    if not (dev in ("auto", "cpu", "mps") or dev == "cuda" or dev.startswith("cuda:")):
        raise ConfigError(f"config.run.device: {dev!r} is not auto, cpu, cuda or cuda:<n>")
    if not e.task:
        raise ConfigError("config.env.task: must name a task")


def resolve(
    cfg: ml_collections.ConfigDict | Mapping[str, Any],
    name: str = "",
    registry: Mapping[str, type] | None = None,
) -> ExperimentConfig:
    """Validate ``cfg`` (a config file's ConfigDict or a `to_dict` result) into ExperimentConfig.

    Args:
        cfg: the five sections (and optionally ``name``).
        name: config name used when ``cfg.name`` is empty.
        registry: learner registry (tests); default `sc2agents.learners.LEARNERS`.

    Raises:
        ConfigError: naming the first wrong key.
    """
    d = cfg.to_dict() if isinstance(cfg, ml_collections.ConfigDict) else dict(cfg)
    unknown = sorted(set(d) - set(SECTIONS) - {"name"})
    if unknown:
        raise ConfigError(f"config.{unknown[0]}: unknown section; expected {', '.join(SECTIONS)}")
    learner_values = dict(d.get("learner") or {})
    if "name" not in learner_values:
        raise ConfigError("config.learner.name: missing; set it to a learner registry key")
    learner_name = learner_values.pop("name")
    if not isinstance(learner_name, str):
        raise ConfigError(f"config.learner.name: expected str, got {learner_name!r}")
    learner_cls = learner_config_class(learner_name, registry)
    given_name = learner_values.pop("learner_name", learner_name)
    if given_name != learner_name:
        raise ConfigError(
            f"config.learner.learner_name: {given_name!r} disagrees with name {learner_name!r}"
        )
    learner = _build(learner_cls, learner_values, "config.learner")
    _check_learner_values(learner)
    sections = {}
    for section, cls in _SECTION_CLASSES.items():
        values = d.get(section) or {}
        if not isinstance(values, Mapping):
            raise ConfigError(f"config.{section}: expected a mapping, got {type(values).__name__}")
        sections[section] = _build(cls, values, f"config.{section}")
    exp = ExperimentConfig(
        name=str(d.get("name") or name or "default"),
        learner_name=learner_name,
        learner=learner,
        **sections,
    )
    _check_sections(exp)
    return exp


def to_dict(exp: ExperimentConfig) -> dict[str, Any]:
    """JSON-ready form (``config.json``); `resolve` reads it back to an equal ExperimentConfig."""
    learner = {"name": exp.learner_name}
    learner.update(
        {
            f.name: getattr(exp.learner, f.name)
            for f in dataclasses.fields(exp.learner)
            if f.init and f.name != "learner_name"
        }
    )
    out: dict[str, Any] = {"name": exp.name, "learner": _jsonable(learner)}
    for section in _SECTION_CLASSES:
        out[section] = _jsonable(dataclasses.asdict(getattr(exp, section)))
    return out


def _jsonable(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _jsonable(dataclasses.asdict(x))
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x
