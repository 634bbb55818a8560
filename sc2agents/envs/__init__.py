"""Environments: the embedded simulator and real PySC2, behind PySC2's and Gymnasium's APIs.

Importing this package registers the Gymnasium ids (cheaply: entry points are strings, nothing of
the simulator's step code or of the game is imported until an env is made):

* ``sc2agents/Sim-<Map>-v0`` for every simulator scenario, with ``entry_point`` the one-game
  `sim.vector_env.SimGymEnv` and ``vector_entry_point`` the natively batched
  `sim.vector_env.SimVectorEnv`;
* ``sc2agents/PySC2-<Map>-v0`` (the real game) through `pysc2_env.register_pysc2_envs`.

`SimSC2Env` (drop-in for ``pysc2.env.sc2_env.SC2Env``) is imported lazily on first access.

Example:
    >>> import sc2agents.envs as envs
    >>> "sc2agents/Sim-MoveToBeacon-v0" in envs.SIM_ENV_IDS
    True
    >>> env = envs.make("sc2agents/Sim-MoveToBeacon-v0")  # doctest: +SKIP
    >>> vec = envs.make_vec("sc2agents/Sim-DefeatRoaches-v0", num_envs=16)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import gymnasium
from absl import logging

__all__ = ["SIM_ENV_IDS", "SimSC2Env", "make", "make_vec", "register_sim_envs", "sim_env_id"]

make = gymnasium.make
make_vec = gymnasium.make_vec

_MINIGAMES: tuple[str, ...] = (
    "MoveToBeacon",
    "CollectMineralShards",
    "FindAndDefeatZerglings",
    "DefeatRoaches",
    "DefeatZerglingsAndBanelings",
)


def sim_env_id(map_name: str) -> str:
    """``sc2agents/Sim-<Map>-v0``."""
    return f"sc2agents/Sim-{map_name}-v0"


def _scenario_names() -> tuple[str, ...]:
    """Names in the simulator's scenario registry (the five minigames if it cannot be read)."""
    try:
        # The package, not just `sim.scenarios`: importing it registers every scenario module
        # (minigames, economy, melee, ...).
        import sc2agents.envs.sim as sim
        from sc2agents.envs.sim import scenarios
    except ImportError as e:
        logging.debug("simulator scenario registry unavailable (%s); using the minigames", e)
        return _MINIGAMES
    registry = getattr(sim, "SCENARIOS", None) or getattr(scenarios, "SCENARIOS", None)
    if not registry:
        return _MINIGAMES
    return tuple(registry)


def register_sim_envs(names: tuple[str, ...] | None = None) -> list[str]:
    """Register ``sc2agents/Sim-<Map>-v0`` for each scenario; safe to call again (new maps).

    Args:
        names: scenario names; default: every scenario of the simulator's registry.

    Returns:
        The ids.
    """
    ids = []
    for name in names if names is not None else _scenario_names():
        eid = sim_env_id(name)
        ids.append(eid)
        if eid in gymnasium.registry:
            continue
        gymnasium.register(
            id=eid,
            entry_point="sc2agents.envs.sim.vector_env:SimGymEnv",
            vector_entry_point="sc2agents.envs.sim.vector_env:SimVectorEnv",
            kwargs={"map_name": name},
        )
    return ids


SIM_ENV_IDS: tuple[str, ...] = tuple(register_sim_envs())
"""The simulator ids registered at import."""

try:
    from sc2agents.envs.pysc2_env import register_pysc2_envs
except ImportError as _e:  # the real-game wrapper is optional
    logging.debug("sc2agents.envs.pysc2_env unavailable (%s); no PySC2 ids registered", _e)
else:
    register_pysc2_envs()


def __getattr__(name: str) -> Any:
    # Lazy: SimSC2Env pulls in the whole simulator; importing sc2agents.envs must stay cheap.
    if name == "SimSC2Env":
        from sc2agents.envs.sim.sc2_env import SimSC2Env

        return SimSC2Env
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
