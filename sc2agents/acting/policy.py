"""Policies for acting: random, epsilon-greedy, and loading one from a spec string.

Every policy here satisfies `sc2agents.core.Policy`: it acts on *batched storage-form*
observations and returns ``(function [B], args [B, 13])`` in `features.encode_action` layout. All
are CPU, frozen and picklable, so they can be broadcast to pool workers.

A *policy spec* is the string users type (``--policy=``) and the league stores:

=====================================  ==========================================================
``random``                             uniform over available functions and arguments
``scripted`` / ``scripted:<Map>``      `sc2agents.agents` scripted policy of the map (the map
                                       defaults to the one being played)
``ckpt:<path>`` or a path              learner checkpoint (``ckpt_*.pt`` of `Trainer`, or a run
                                       directory: its newest checkpoint), rebuilt through
                                       `sc2agents.learners.LEARNERS` + ``load_state_dict``
``py:<module>:<factory>``              any importable `core.Policy` class / factory (no args)
``pysc2:<module>.<AgentClass>``        a PySC2 `BaseAgent` class (acts on pysc2 TimeSteps)
=====================================  ==========================================================

Any of them may end in ``@eps=<float>`` for epsilon-greedy acting (``ckpt:run/ckpt.pt@eps=0.05``).
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from sc2agents.core import ObsBatch, Policy

__all__ = [
    "EpsilonGreedyPolicy",
    "PySC2AgentSpec",
    "RandomPolicy",
    "load_policy",
    "policy_from_checkpoint",
    "random_actions",
    "with_epsilon",
]


def random_actions(
    observations: ObsBatch, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random available functions and arguments (`sc2agents.agents.random_agent`)."""
    from sc2agents.agents.random_agent import random_actions as _random_actions

    return _random_actions(observations, rng)


def RandomPolicy(seed: int | None = None) -> Policy:  # noqa: N802 - reads as the class it makes
    """SC2LE's "Random policy" baseline (`ALGORITHMS.md` §B.5), from `sc2agents.agents`."""
    from sc2agents.agents.random_agent import RandomPolicy as _RandomPolicy

    return _RandomPolicy(seed=seed)


@dataclasses.dataclass(frozen=True)
class EpsilonGreedyPolicy:
    """Acts with ``policy``, replaced per row by a random action with probability ``epsilon``.

    Attributes:
        policy: the greedy policy.
        epsilon: probability of a uniformly random action (0 = greedy).
    """

    policy: Policy
    epsilon: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {self.epsilon}")

    def act(
        self, observations: ObsBatch, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rng = rng if rng is not None else np.random.default_rng()
        fn, args = self.policy.act(observations, rng)
        if self.epsilon <= 0.0:
            return fn, args
        explore = rng.random(len(fn)) < self.epsilon
        if explore.any():
            rows = {k: np.asarray(v)[explore] for k, v in observations.items()}
            rfn, rargs = random_actions(rows, rng)
            fn = np.array(fn, dtype=np.int64, copy=True)
            args = np.array(args, dtype=np.int64, copy=True)
            fn[explore], args[explore] = rfn, rargs
        return fn, args


def with_epsilon(policy: Policy, epsilon: float) -> Policy:
    """``policy`` acting epsilon-greedily (``epsilon=0`` returns it unchanged)."""
    return policy if epsilon <= 0 else EpsilonGreedyPolicy(policy, epsilon)


@dataclasses.dataclass(frozen=True)
class PySC2AgentSpec:
    """A PySC2 `BaseAgent` to play on a pysc2-API env (`SimSC2Env`, `SC2Env`, PySC2 envs).

    PySC2 agents read pysc2 `TimeStep`s, not the storage form, so they are not a `core.Policy`;
    the evaluator plays them with `env_loop.run_agent_episode` (or the PySC2 env's own adapter).

    Attributes:
        class_path: ``"package.module.ClassName"``, or a built-in name of `sc2agents.agents`.
        map_name: the map played (for built-in scripted agents).
    """

    class_path: str
    map_name: str = ""

    def make(self) -> Any:
        """Import the class and instantiate the agent (`sc2agents.agents.make_agent`)."""
        from sc2agents.agents import make_agent

        return make_agent(self.class_path, self.map_name)


def _storage_obs_spec(screen_size: int, minimap_size: int) -> dict[str, Any]:
    """``obs_spec`` of the storage form at these sizes (the simulator's observation space)."""
    from sc2agents.envs.sim.vector_env import storage_observation_space

    space = storage_observation_space(screen_size, minimap_size)
    return {k: (tuple(v.shape), np.dtype(v.dtype)) for k, v in space.spaces.items()}


def _learner_parts(state: Mapping[str, Any], where: str) -> tuple[str, Any, Any, Any, Any]:
    """Learner name, learner config, obs_spec, action_spec and learner state of a checkpoint.

    Reads `sc2agents.training.loop.Trainer` checkpoints (``{"learner": state_dict, "config":
    {"learner": {"name": ..., fields...}, "env": {...}}}``) and bare ones (``learner_name``,
    ``config``, ``obs_spec``, ``action_spec``, ``learner``). Missing specs are derived from the
    env section's screen/minimap sizes (the storage form at those sizes).
    """
    learner_state = state.get("learner", state)
    exp = state.get("config") if isinstance(state.get("config"), Mapping) else {}
    lcfg = exp.get("learner") if isinstance(exp.get("learner"), Mapping) else exp
    if not lcfg and isinstance(learner_state, Mapping):
        lcfg = learner_state.get("config") or {}
    lcfg = dict(lcfg) if isinstance(lcfg, Mapping) else dataclasses.asdict(lcfg)
    name = state.get("learner_name") or lcfg.pop("name", None) or lcfg.get("learner_name")
    lcfg.pop("name", None)

    def find(key: str) -> Any:
        for src in (state, learner_state if isinstance(learner_state, Mapping) else {}):
            if src.get(key) is not None:
                return src[key]
        return None

    obs_spec, action_spec = find("obs_spec"), find("action_spec")
    env = exp.get("env") if isinstance(exp.get("env"), Mapping) else {}
    if (obs_spec is None or action_spec is None) and "screen_size" in env:
        sizes = {"screen_size": int(env["screen_size"]), "minimap_size": int(env["minimap_size"])}
        action_spec = action_spec or sizes
        obs_spec = obs_spec or _storage_obs_spec(sizes["screen_size"], sizes["minimap_size"])
    missing = [
        k
        for k, v in {"learner name": name, "obs_spec": obs_spec, "action_spec": action_spec}.items()
        if v is None
    ]
    if missing:
        raise ValueError(
            f"checkpoint {where}: cannot find {missing}; expected a Trainer checkpoint "
            "(learner, config.learner.name, config.env.screen_size/minimap_size) or keys "
            f"learner_name, obs_spec, action_spec; found keys {sorted(state)}"
        )
    return str(name), lcfg, obs_spec, action_spec, learner_state


def policy_from_checkpoint(path: str | pathlib.Path) -> Policy:
    """Rebuild a learner from a checkpoint (file or run directory) and return its `policy()`.

    Args:
        path: a ``ckpt_*.pt`` file written by `sc2agents.utils.checkpoint`, or a run directory
            (its newest checkpoint, searched in ``<dir>`` and ``<dir>/checkpoints``).

    Raises:
        FileNotFoundError: no checkpoint there.
        ValueError: the checkpoint lacks what is needed to rebuild the learner, or names a learner
            that `sc2agents.learners.LEARNERS` does not know.
    """
    from sc2agents.utils import checkpoint as ckpt_lib

    p = pathlib.Path(path)
    if p.is_dir():
        latest = ckpt_lib.latest_checkpoint(p) or ckpt_lib.latest_checkpoint(p / "checkpoints")
        if latest is None:
            raise FileNotFoundError(f"no ckpt_*.pt checkpoint in run directory {p}")
        p = latest
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    state = ckpt_lib.load_checkpoint(p, map_location="cpu")
    name, lcfg, obs_spec, action_spec, learner_state = _learner_parts(state, str(p))
    from sc2agents.learners import LEARNERS

    if name not in LEARNERS:
        raise ValueError(f"checkpoint {p}: learner {name!r} is not in LEARNERS {sorted(LEARNERS)}")
    learner_cls = LEARNERS[name]
    config_cls = _config_class(learner_cls)
    fields = {f.name for f in dataclasses.fields(config_cls) if f.init}
    config = config_cls(**{k: _tuples(v) for k, v in lcfg.items() if k in fields})
    obs_spec = {k: (tuple(v[0]), np.dtype(v[1])) for k, v in obs_spec.items()}
    learner = learner_cls(config, obs_spec, dict(action_spec), device="cpu")  # CPU policies
    learner.load_state_dict(learner_state)
    return learner.policy()


def _tuples(v: Any) -> Any:
    """JSON lists back to the tuples frozen configs use."""
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _config_class(learner_cls: type) -> type:
    """The ``<Name>Config`` dataclass next to ``<Name>Learner`` in its module."""
    module = importlib.import_module(learner_cls.__module__)
    name = learner_cls.__name__.removesuffix("Learner") + "Config"
    cfg = getattr(module, name, None)
    if cfg is None or not dataclasses.is_dataclass(cfg):
        raise ValueError(f"{learner_cls.__module__} has no dataclass {name}")
    return cfg


def _from_python(target: str, spec: str) -> Policy:
    """``module:factory`` (a `core.Policy` class or function returning one, called with no args)."""
    module, _, attr = target.partition(":")
    if not module or not attr:
        raise ValueError(f"policy spec {spec!r}: expected py:<module>:<factory>")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"policy spec {spec!r}: cannot import {target}: {e}") from e
    return factory()


def load_policy(
    spec: str | Policy | PySC2AgentSpec, *, map_name: str | None = None
) -> Policy | PySC2AgentSpec:
    """Resolve a policy spec (module docstring table) to a policy.

    Args:
        spec: a spec string, or an already-built policy (returned as is).
        map_name: the minigame being played (selects ``scripted``'s policy).

    Returns:
        A `core.Policy`, or a `PySC2AgentSpec` for ``pysc2:`` specs.

    Raises:
        ValueError: the spec is malformed or names something unknown.
        FileNotFoundError: a checkpoint path does not exist.
    """
    if not isinstance(spec, str):
        return spec
    text, eps = spec.strip(), 0.0
    if "@eps=" in text:
        text, _, e = text.rpartition("@eps=")
        try:
            eps = float(e)
        except ValueError as err:
            raise ValueError(f"policy spec {spec!r}: bad epsilon {e!r}") from err
    kind, sep, rest = text.partition(":")
    if not sep and text in ("random", "scripted"):
        kind, rest = text, ""
    elif not sep or len(kind) == 1:  # a bare path (or a Windows drive letter)
        kind, rest = "ckpt", text
    if kind == "random":
        policy: Policy = RandomPolicy()
    elif kind == "scripted":
        target = rest or map_name
        if not target:
            raise ValueError(f"policy spec {spec!r}: which map? use scripted:<Map>")
        from sc2agents.agents import make_policy

        return make_policy("scripted", target, epsilon=eps)
    elif kind == "ckpt":
        policy = policy_from_checkpoint(rest)
    elif kind == "py":
        policy = _from_python(rest, spec)
    elif kind == "pysc2":
        if eps:
            raise ValueError(f"policy spec {spec!r}: @eps does not apply to pysc2 agents")
        return PySC2AgentSpec(rest, map_name or "")
    else:
        raise ValueError(
            f"policy spec {spec!r}: unknown kind {kind!r} "
            "(random, scripted[:<Map>], ckpt:<path>, py:<module>:<factory>, pysc2:<module.Class>)"
        )
    if not isinstance(policy, Policy):
        raise ValueError(f"policy spec {spec!r} gave {type(policy).__name__}, not a core.Policy")
    return with_epsilon(policy, eps)
