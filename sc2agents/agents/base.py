"""Shared pieces of the built-in agents: observation views, action building, the pysc2 adapter.

Built-in agents are batched `sc2agents.core.Policy` objects over *storage-form* observations (the
dict `features.observation_to_storage` returns, stacked over a leading batch axis, i.e. what a
`SimVectorEnv` returns). `PolicyAgent` wraps any such policy as a pysc2 `BaseAgent`, so the same
policy runs in `SimSC2Env`, in real PySC2 (`pysc2_evolved.env.run_loop.run_loop`) and in the vector
env unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pysc2_evolved.agents import base_agent
from pysc2_evolved.lib import actions as sc2_actions

from sc2agents import core
from sc2agents.envs import features

__all__ = [
    "ARG",
    "FN",
    "MINIMAP_CH",
    "SCREEN_CH",
    "ActionBatch",
    "PolicyAgent",
    "batch_size",
    "screen_size",
    "minimap_size",
]

FN = features.FUNCTION_IDS
"""Function id by name (``FN["Move_screen"] == 331``)."""
ARG: dict[str, int] = {name: i for i, name in enumerate(features.ARG_TYPES)}
"""Index of each argument type in the ``args[13]`` vector."""
SCREEN_CH: dict[str, int] = {
    s.name: i for i, s in enumerate(features.storage_channels(features.SCREEN_LAYERS))
}
"""Channel of each screen layer in the storage-form ``screen`` array."""
MINIMAP_CH: dict[str, int] = {
    s.name: i for i, s in enumerate(features.storage_channels(features.MINIMAP_LAYERS))
}
"""Channel of each minimap layer in the storage-form ``minimap`` array."""

# player_relative values (pysc2 PlayerRelative).
SELF, ALLY, NEUTRAL, ENEMY = 1, 2, 3, 4


def batch_size(obs: core.ObsBatch) -> int:
    return int(np.asarray(obs["available_actions"]).shape[0])


def screen_size(obs: core.ObsBatch) -> int:
    if "screen" not in obs:
        raise ValueError("observation has no 'screen' (feature_screen) key; agents need it")
    return int(np.asarray(obs["screen"]).shape[-1])


def minimap_size(obs: core.ObsBatch) -> int:
    return int(np.asarray(obs["minimap"]).shape[-1])


def game_loops(obs: core.ObsBatch) -> np.ndarray | None:
    """``int64 [B]`` game loop of each observation, or None when the observation lacks it."""
    if "game_loop" not in obs:
        return None
    return np.asarray(obs["game_loop"]).reshape(batch_size(obs), -1)[:, 0].astype(np.int64)


class ActionBatch:
    """Builds ``(function [B], args [B, 13])`` in `features.encode_action` layout."""

    def __init__(self, batch: int, screen: int, minimap: int) -> None:
        self.function = np.zeros(batch, dtype=np.int64)  # no_op
        self.args = np.full((batch, features.NUM_ARG_TYPES), -1, dtype=np.int64)
        self.screen = screen
        self.minimap = minimap

    def set(self, i: int, name: str, **arguments: Any) -> None:
        """Set row ``i`` to function ``name``; spatial arguments are ``(x, y)`` pixels."""
        fn = sc2_actions.FUNCTIONS[FN[name]]
        self.function[i] = int(fn.id)
        self.args[i] = -1
        for arg in fn.args:
            if arg.name not in arguments:
                raise ValueError(f"{fn.name} needs argument {arg.name}")
            v = arguments[arg.name]
            if arg.name in features.SPATIAL_ARG_TYPES:
                size = self.minimap if arg.name == "minimap" else self.screen
                x = int(np.clip(round(float(v[0])), 0, size - 1))
                y = int(np.clip(round(float(v[1])), 0, size - 1))
                self.args[i, arg.id] = y * size + x
            else:
                self.args[i, arg.id] = int(v)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        return self.function, self.args


def to_batch(storage: Mapping[str, np.ndarray], game_loop: Any = None) -> dict[str, np.ndarray]:
    """One storage-form observation as a batch of one (adds ``game_loop`` when given)."""
    out = {k: np.asarray(v)[None] for k, v in storage.items()}
    if game_loop is not None:
        out["game_loop"] = np.asarray(game_loop, dtype=np.int64).reshape(1, -1)[:, :1]
    return out


class PolicyAgent(base_agent.BaseAgent):
    """A pysc2 `BaseAgent` that acts with a batched storage-form `core.Policy`.

    Works with any environment that produces pysc2 `TimeStep`s with ``feature_screen`` (the
    simulator's `SimSC2Env` and real `pysc2_evolved.env.sc2_env.SC2Env`).

    Args:
        policy: the policy to run (batch of one per call).
        seed: seed of the generator passed to ``policy.act``.
    """

    def __init__(self, policy: core.Policy, seed: int | None = None) -> None:
        super().__init__()
        self.policy = policy
        self._rng = np.random.default_rng(seed)

    def step(self, obs: Any) -> sc2_actions.FunctionCall:
        super().step(obs)
        observation = obs.observation
        storage = features.observation_to_storage(observation)
        batch = to_batch(storage, observation.get("game_loop", None))
        fn, args = self.policy.act(batch, self._rng)
        return features.decode_action(int(fn[0]), args[0], screen_size(batch), minimap_size(batch))
