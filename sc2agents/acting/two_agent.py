"""Two agents in one simulator game, in the two-slot vector convention of `PySC2VectorEnv`.

`env_loop.run_two_agent_episode` plays A against B on a vector env of two slots (slot 0 = player
1, slot 1 = player 2 of one game), PySC2VectorEnv's ``num_agents=2`` layout. `SimVectorEnv` has
no ``num_agents`` yet, so this bridge puts the simulator's pysc2 front end (`SimSC2Env` with two
`Agent`s, e.g. on ``Simple64``) behind that layout: observations go through the one storage
conversion (`features.observation_to_storage`), actions through `features.decode_action`. When
`SimVectorEnv` grows ``num_agents``, `evaluator.make_env` can drop this class.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sc2agents.envs import features

__all__ = ["SimTwoAgentEnv"]


class SimTwoAgentEnv:
    """Player 1 and player 2 of one `SimSC2Env` game as two batch slots.

    Args:
        map_name: a two-player simulator map (``Simple64``).
        screen_size: screen resolution.
        minimap_size: minimap resolution.
        step_mul: game loops per agent step.
        game_steps_per_episode: time limit in game loops (None: the map's).
        **kwargs: ``num_agents`` (always 2), ``render_mode`` / ``render_size`` (ignored: videos
            are drawn from `engine`).
    """

    num_envs = 2

    def __init__(
        self,
        map_name: str,
        *,
        screen_size: int = 64,
        minimap_size: int = 64,
        step_mul: int = 8,
        game_steps_per_episode: int | None = None,
        **kwargs: Any,
    ) -> None:
        from pysc2_evolved.env import sc2_env
        from pysc2_evolved.lib import features as sc2_features

        from sc2agents.envs import SimSC2Env

        kwargs.pop("num_agents", None)
        kwargs.pop("render_mode", None)  # frames come from `engine` (render.render_rgb)
        kwargs.pop("render_size", None)
        if kwargs:
            raise ValueError(f"SimTwoAgentEnv: unsupported env kwargs {sorted(kwargs)}")
        self.screen_size, self.minimap_size = int(screen_size), int(minimap_size)
        self._env = SimSC2Env(
            map_name=map_name,
            players=[sc2_env.Agent(sc2_env.Race.terran), sc2_env.Agent(sc2_env.Race.terran)],
            agent_interface_format=sc2_features.AgentInterfaceFormat(
                feature_dimensions=sc2_features.Dimensions(
                    screen=self.screen_size, minimap=self.minimap_size
                )
            ),
            step_mul=int(step_mul),
            game_steps_per_episode=game_steps_per_episode or 0,
        )

    @property
    def unwrapped(self) -> SimTwoAgentEnv:
        return self

    @property
    def engine(self) -> Any:
        """The underlying `SimEngine` (rendering)."""
        return self._env.engine

    @staticmethod
    def _batch(timesteps: Any) -> dict[str, np.ndarray]:
        obs = []
        for ts in timesteps:
            o = features.observation_to_storage(ts.observation)
            o["game_loop"] = np.asarray(ts.observation["game_loop"], dtype=np.int64).reshape(1)
            obs.append(o)
        return {k: np.stack([o[k] for o in obs]) for k in obs[0]}

    def reset(
        self, *, seed: int | None = None, options: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        del options
        if seed is not None:  # reseed the engine: the game is a function of the seed
            self._env.engine.reset(seed=int(seed) % 2**63)
        return self._batch(self._env.reset()), {}

    def step(
        self, actions: Mapping[str, np.ndarray]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        calls = [
            features.decode_action(
                int(actions["function"][p]), actions["args"][p], self.screen_size, self.minimap_size
            )
            for p in range(2)
        ]
        timesteps = self._env.step([[c] for c in calls])
        rewards = np.array([float(ts.reward or 0.0) for ts in timesteps], dtype=np.float32)
        last = bool(timesteps[0].last())
        # The melee reward is the result (+1/-1, 0 on a tie or time limit): the map ended the game
        # when its discount is 0, else the episode was cut (truncated).
        ended = last and float(timesteps[0].discount) == 0.0
        info: dict[str, Any] = {}
        if last:
            o = int(np.sign(rewards[0]))
            info["outcome"] = np.array([o, -o])
        return (
            self._batch(timesteps),
            rewards,
            np.full(2, ended),
            np.full(2, last and not ended),
            info,
        )

    def close(self) -> None:
        self._env.close()
