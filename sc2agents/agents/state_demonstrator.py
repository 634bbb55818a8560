"""A built-in bot as a dataset demonstrator: `bots.StatePolicy` behind the `core.Policy` interface.

`sc2agents.envs.sim.bots.StatePolicy` plays an agent's seat with real PySC2 function calls, but it
decides from the engine state (perfect information, like a human expert who knows the game well),
not from observations. `StateDemonstrator` binds it to one `SimVectorEnv` so that the dataset
builder (`sc2agents.data.sim_rollouts.collect_episodes`) can use it like any batched policy: the
recorded dataset holds only the observations and the actions it took, as human replays do.

Noise: with probability ``epsilon`` per game and step the action is a uniformly random available
one (`random_agent.random_actions`) instead of the bot's; the bot keeps its plan and re-checks
availability next step, so noisy games are weaker but still coherent.

New games are detected from the observations (``game_loop`` went back), so the bot's memory of a
game is reset after the env's NEXT_STEP autoreset without any hook in the env.

Example:
    >>> env = SimVectorEnv(4, "Simple64", screen_size=32, minimap_size=32)  # doctest: +SKIP
    >>> demo = StateDemonstrator(env, "hard", epsilon=0.0, seed=0)  # doctest: +SKIP
    >>> obs, _ = env.reset(seed=0)  # doctest: +SKIP
    >>> fn, args = demo.act(obs)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sc2agents import core
from sc2agents.agents.random_agent import random_actions

__all__ = ["StateDemonstrator"]


class StateDemonstrator:
    """`core.Policy` adapter of a built-in bot level playing the agent's seat of ``env``.

    Args:
        env: a `SimVectorEnv` (or anything with ``.engine``, a `SimEngine` whose scenario is an
            economy map: Simple64, BuildMarines, CollectMineralsAndGas).
        level: bot difficulty name / PySC2 ``Difficulty`` / `bots.BotParams` (see
            `bots.bot_params`).
        epsilon: per-step probability of a uniformly random available action instead.
        seed: seed of the noise generator.

    Raises:
        ValueError: ``epsilon`` outside [0, 1], an env without an engine, or an unknown level.
    """

    def __init__(self, env: Any, level: Any, epsilon: float = 0.0, seed: int | None = None) -> None:
        from sc2agents.envs.sim import bots

        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"StateDemonstrator: epsilon must be in [0, 1], got {epsilon}")
        engine = getattr(env, "engine", None)
        if engine is None:
            raise ValueError(
                f"StateDemonstrator needs a simulator env with an engine, got {type(env).__name__}"
            )
        self.engine = engine
        self.level = bots.bot_params(level).name
        self.epsilon = float(epsilon)
        self._policy = bots.StatePolicy(engine, level)
        self._rng = np.random.default_rng(seed)
        self._last_loop = np.full(engine.num_envs, np.iinfo(np.int64).max, np.int64)

    def _sync(self, loops: np.ndarray, rows: np.ndarray) -> None:
        """Reset the bot's memory of the games in ``rows`` that started since the last call."""
        fresh = rows[loops < self._last_loop[rows]] if loops.size else rows[:0]
        if fresh.size:
            self._policy.reset(fresh)
        self._last_loop[rows] = loops

    def act_rows(
        self,
        observations: core.ObsBatch,
        rows: np.ndarray,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions of the games ``rows`` of the env; ``observations`` holds those rows only.

        Returns:
            ``(function [len(rows)] int64, args [len(rows), 13] int64)``.

        Raises:
            KeyError: the observations lack ``game_loop`` (needed to detect new games).
        """
        rows = np.asarray(rows, np.int64)
        if "game_loop" not in observations:
            raise KeyError("StateDemonstrator: observations need 'game_loop' to detect new games")
        loops = np.asarray(observations["game_loop"], np.int64).reshape(len(rows), -1)[:, 0]
        self._sync(loops, rows)
        fn_all, args_all = self._policy.act(self.engine)
        fn = np.asarray(fn_all, np.int64)[rows].copy()
        args = np.asarray(args_all, np.int64)[rows].copy()
        if self.epsilon > 0:
            g = rng or self._rng
            noisy = g.random(len(rows)) < self.epsilon
            if noisy.any():
                sub = {k: np.asarray(v)[noisy] for k, v in observations.items()}
                fn[noisy], args[noisy] = random_actions(sub, g)
        return fn, args

    def act(
        self, observations: core.ObsBatch, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Actions for every game of the env (``observations`` holds all of them, in order)."""
        return self.act_rows(observations, np.arange(self.engine.num_envs), rng)
