"""Built-in agents: ``random`` and ``scripted`` policies, and pysc2 `BaseAgent` adapters.

Two forms of the same agents:

* `make_policy(name, map_name, epsilon=...)`: a batched `sc2agents.core.Policy` over storage-form
  observations (what `SimVectorEnv` returns); used by dataset building and evaluation.
* `make_agent(name_or_class_path, map_name)`: a pysc2 `BaseAgent` that runs in `SimSC2Env` and in
  real PySC2 (`pysc2_evolved.env.run_loop.run_loop`) unchanged; a built-in name, or the import path
  of any pysc2 agent class, e.g. ``pysc2_evolved.agents.random_agent.RandomAgent``.

The per-map scripted agents also exist as classes with a no-argument constructor
(`MoveToBeaconAgent`, ...), so they can be named by class path like pysc2's own scripted agents.

Example:
    >>> from sc2agents.agents import make_policy
    >>> policy = make_policy("scripted", "MoveToBeacon", epsilon=0.1)
    >>> type(policy).__name__
    'ScriptedPolicy'
"""

from __future__ import annotations

import importlib
from typing import Any

from pysc2_evolved.agents import base_agent

from sc2agents import core
from sc2agents.agents.base import PolicyAgent
from sc2agents.agents.random_agent import RandomPolicy
from sc2agents.agents.scripted import SCRIPTED_POLICIES, ScriptedPolicy

__all__ = [
    "BUILTIN_AGENTS",
    "CollectMineralShardsAgent",
    "DefeatRoachesAgent",
    "DefeatZerglingsAndBanelingsAgent",
    "FindAndDefeatZerglingsAgent",
    "MoveToBeaconAgent",
    "PolicyAgent",
    "RandomAgent",
    "RandomPolicy",
    "ScriptedAgent",
    "ScriptedPolicy",
    "SCRIPTED",
    "make_agent",
    "make_policy",
    "make_scripted",
]

BUILTIN_AGENTS: tuple[str, ...] = ("random", "scripted")


def make_policy(
    name: str,
    map_name: str,
    *,
    epsilon: float = 0.0,
    step_mul: int = 8,
    seed: int | None = None,
) -> core.Policy:
    """A built-in batched policy.

    Args:
        name: ``"random"`` or ``"scripted"``.
        map_name: the minigame (scenario name) the policy plays.
        epsilon: for ``scripted``, the per-step probability of a uniformly random action.
        step_mul: game loops per agent step (the env's ``step_mul``).
        seed: seed of the policy's own generator.

    Raises:
        ValueError: unknown name, or no scripted policy for the map.
    """
    if name == "random":
        return RandomPolicy(seed=seed)
    if name == "scripted":
        return ScriptedPolicy(map_name, epsilon=epsilon, step_mul=step_mul, seed=seed)
    raise ValueError(f"unknown built-in policy {name!r}; choose one of {BUILTIN_AGENTS}")


def make_scripted(
    map_name: str,
    *,
    epsilon: float = 0.0,
    noise: float | None = None,
    step_mul: int = 8,
    seed: int | None = None,
) -> ScriptedPolicy:
    """The scripted policy of ``map_name`` (the ``scripted:<map>?noise=0.1`` policy spec).

    Args:
        map_name: a key of `SCRIPTED`.
        epsilon: probability of a uniformly random action per step.
        noise: alias of ``epsilon`` (the policy-spec spelling); wins when given.
        step_mul: game loops per agent step.
        seed: seed of the policy's own generator.
    """
    eps = float(noise) if noise is not None else float(epsilon)
    return ScriptedPolicy(map_name, epsilon=eps, step_mul=step_mul, seed=seed)


SCRIPTED: tuple[str, ...] = tuple(SCRIPTED_POLICIES)
"""Maps with a scripted policy."""


class RandomAgent(PolicyAgent):
    """pysc2 agent: uniform random available function and arguments (`RandomPolicy`)."""

    def __init__(self, seed: int | None = None) -> None:
        super().__init__(RandomPolicy(seed=seed), seed=seed)


class ScriptedAgent(PolicyAgent):
    """pysc2 agent running the scripted policy of ``map_name``."""

    def __init__(
        self, map_name: str, epsilon: float = 0.0, step_mul: int = 8, seed: int | None = None
    ) -> None:
        super().__init__(ScriptedPolicy(map_name, epsilon, step_mul, seed=seed), seed=seed)


class MoveToBeaconAgent(ScriptedAgent):
    """Scripted MoveToBeacon agent (no-argument constructor, for ``--agent=<class path>``)."""

    def __init__(self) -> None:
        super().__init__("MoveToBeacon")


class CollectMineralShardsAgent(ScriptedAgent):
    """Scripted CollectMineralShards agent."""

    def __init__(self) -> None:
        super().__init__("CollectMineralShards")


class FindAndDefeatZerglingsAgent(ScriptedAgent):
    """Scripted FindAndDefeatZerglings agent."""

    def __init__(self) -> None:
        super().__init__("FindAndDefeatZerglings")


class DefeatRoachesAgent(ScriptedAgent):
    """Scripted DefeatRoaches agent."""

    def __init__(self) -> None:
        super().__init__("DefeatRoaches")


class DefeatZerglingsAndBanelingsAgent(ScriptedAgent):
    """Scripted DefeatZerglingsAndBanelings agent."""

    def __init__(self) -> None:
        super().__init__("DefeatZerglingsAndBanelings")


def _import_class(path: str) -> type:
    module_name, _, attr = path.rpartition(".")
    if not module_name:
        raise ValueError(
            f"agent {path!r} is neither a built-in agent {BUILTIN_AGENTS} nor a class path "
            "like 'pysc2_evolved.agents.random_agent.RandomAgent'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ValueError(f"agent {path!r}: cannot import module {module_name!r}: {e}") from e
    cls = getattr(module, attr, None)
    if cls is None:
        raise ValueError(f"agent {path!r}: module {module_name!r} has no attribute {attr!r}")
    if not (isinstance(cls, type) and issubclass(cls, base_agent.BaseAgent)):
        raise ValueError(f"agent {path!r} is not a pysc2 BaseAgent subclass")
    return cls


def make_agent(
    name_or_class_path: str,
    map_name: str,
    *,
    epsilon: float = 0.0,
    step_mul: int = 8,
    seed: int | None = None,
) -> Any:
    """A pysc2 `BaseAgent`: a built-in (``random``, ``scripted``) or an agent class path.

    Args:
        name_or_class_path: ``"random"``, ``"scripted"``, ``"package.module.Class"`` of a pysc2
            `BaseAgent` subclass with a no-argument constructor, or a policy spec of
            `sc2agents.acting.policy.load_policy` (contains ``:`` or ``@``, e.g. a learner
            checkpoint ``ckpt:runs/x/ckpt.pt``), run through `PolicyAgent`.
        map_name: the map the agent plays (selects the scripted policy).
        epsilon: for ``scripted``, the probability of a random action per step.
        step_mul: game loops per agent step.
        seed: seed of a built-in agent's random generator.

    Raises:
        ValueError: unknown name, class path that does not import, or not a `BaseAgent`.
    """
    if name_or_class_path == "random":
        return RandomAgent(seed=seed)
    if name_or_class_path == "scripted":
        if map_name not in SCRIPTED_POLICIES:
            raise ValueError(
                f"--agent=scripted has no policy for map {map_name!r}; "
                f"scripted maps: {sorted(SCRIPTED_POLICIES)}"
            )
        return ScriptedAgent(map_name, epsilon=epsilon, step_mul=step_mul, seed=seed)
    if ":" in name_or_class_path or "@" in name_or_class_path:
        # A policy spec of `sc2agents.acting.policy` (``ckpt:<path>``, ``scripted:<Map>@eps=..``).
        from sc2agents.acting import policy as policy_lib

        policy = policy_lib.load_policy(name_or_class_path, map_name=map_name)
        if hasattr(policy, "act"):
            return PolicyAgent(policy, seed=seed)
        return policy.make()  # a pysc2 agent spec
    return _import_class(name_or_class_path)()
