"""Small fake environments with the real storage-form spaces (acme `testing/fakes.py` style).

`FakeBeaconEnv`: a beacon on an 8x8 screen (channel 0 of ``screen`` marks it); ``Move_screen`` onto
it scores +1 and moves it. With ``difficulty=`` it is a "game against a bot": the last step's
``info["outcome"]`` is +1 when the score beats the bot's threshold, 0 on equal, -1 below.
`FakeTwoPlayerVectorEnv`: two slots = two players of one beacon game; the closer hit scores.

Registered as ``tests.acting.fakes:FakeBeacon-v0`` (Gymnasium imports this module by that id, in
workers too).
"""

from __future__ import annotations

import os
import pathlib
from typing import Any

import gymnasium
import numpy as np
from gymnasium import spaces

from sc2agents.envs import features

SIZE = 8
STEPS = 8
MOVE = features.FUNCTION_IDS["Move_screen"]
ENV_ID = "tests.acting.fakes:FakeBeacon-v0"
_SCREEN_ARG = features.ARG_TYPES.index("screen")
_QUEUED_ARG = features.ARG_TYPES.index("queued")
THRESHOLDS = {"very_easy": 1, "easy": 3, "medium": 5, "hard": 7}


def _obs(beacon: int, t: int) -> dict[str, np.ndarray]:
    screen = np.zeros((26, SIZE, SIZE), np.uint8)
    screen[0].flat[beacon] = 3
    avail = np.zeros(features.NUM_FUNCTIONS, bool)
    avail[[0, MOVE]] = True
    return {
        "minimap": np.zeros((10, SIZE, SIZE), np.uint8),
        "minimap_unit_type": np.zeros((SIZE, SIZE), np.uint16),
        "screen": screen,
        "screen_unit_type": np.zeros((SIZE, SIZE), np.uint16),
        "player": np.zeros(11, np.float32),
        "available_actions": avail,
        "game_loop": np.array([8 * t], np.int64),
    }


class FakeBeaconEnv(gymnasium.Env):
    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        difficulty: str | None = None,
        bot_race: str = "random",
        render_mode: str | None = None,
        crash_marker: str | None = None,
        **_: Any,  # screen_size, step_mul, ...: accepted like the real envs, ignored
    ) -> None:
        self.difficulty = difficulty
        self.render_mode = render_mode
        self.crash_marker = crash_marker
        self.action_space = spaces.Dict(
            {
                "function": spaces.Discrete(features.NUM_FUNCTIONS),
                "args": spaces.Box(-1, SIZE * SIZE, (13,), np.int64),
            }
        )
        self.observation_space = spaces.Dict({})
        self._rng = np.random.default_rng(0)
        self.beacon = 0
        self.t = 0
        self.score = 0

    def reset(self, *, seed: int | None = None, options: Any = None):
        self._rng = np.random.default_rng(seed)
        self.beacon = int(self._rng.integers(SIZE * SIZE))
        self.t = 0
        self.score = 0
        return _obs(self.beacon, 0), {}

    def step(self, action):
        reward = 0.0
        if int(action["function"]) == MOVE and int(action["args"][_SCREEN_ARG]) == self.beacon:
            reward = 1.0
            self.score += 1
            self.beacon = int(self._rng.integers(SIZE * SIZE))
        self.t += 1
        done = self.t >= STEPS
        info: dict[str, Any] = {}
        if done and self.crash_marker and not os.path.exists(self.crash_marker):
            pathlib.Path(self.crash_marker).write_text("crashed")
            info["episode_failed"] = True
        if done and self.difficulty is not None:
            info["outcome"] = int(np.sign(self.score - THRESHOLDS[self.difficulty]))
        return _obs(self.beacon, self.t), reward, False, done, info

    def render(self):
        frame = np.zeros((16, 16, 3), np.uint8)
        frame[..., 0] = self.beacon
        return frame


class FakeTwoPlayerVectorEnv(gymnasium.vector.VectorEnv):
    """Slots 0 and 1 are the two players of one beacon game (PySC2's ``num_agents=2``)."""

    metadata = {"autoreset_mode": gymnasium.vector.AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 2, num_agents: int = 2, **kwargs: Any) -> None:
        assert num_envs == 2 and num_agents == 2
        self.num_envs = 2
        self.game = FakeBeaconEnv()
        self.scores = np.zeros(2)

    def reset(self, *, seed: int | None = None, options: Any = None):
        obs, _ = self.game.reset(seed=seed)
        self.scores[:] = 0
        return {k: np.stack([v, v]) for k, v in obs.items()}, {}

    def step(self, actions):
        rewards = np.zeros(2, np.float32)
        beacon = self.game.beacon
        for p in range(2):
            if (
                int(actions["function"][p]) == MOVE
                and int(actions["args"][p][_SCREEN_ARG]) == beacon
            ):
                rewards[p] = 1.0
        if rewards.any():
            self.game.beacon = int(self.game._rng.integers(SIZE * SIZE))
        self.scores += rewards
        self.game.t += 1
        done = self.game.t >= STEPS
        info: dict[str, Any] = {}
        zero_sum = rewards - rewards[::-1]
        if done:
            o = int(np.sign(self.scores[0] - self.scores[1]))
            info["outcome"] = np.array([o, -o])
        obs = _obs(self.game.beacon, self.game.t)
        return (
            {k: np.stack([v, v]) for k, v in obs.items()},
            zero_sum,
            np.zeros(2, bool),
            np.full(2, done),
            info,
        )


class OraclePolicy:
    """Moves onto the beacon every step (scores STEPS per game)."""

    def act(self, observations, rng=None):
        b = observations["screen"].shape[0]
        target = observations["screen"][:, 0].reshape(b, -1).argmax(axis=1)
        args = np.full((b, 13), -1, np.int64)
        args[:, _SCREEN_ARG] = target
        args[:, _QUEUED_ARG] = 0
        return np.full(b, MOVE, np.int64), args


class HalfOraclePolicy:
    """Hits the beacon on even game loops only (half the oracle's score)."""

    def act(self, observations, rng=None):
        fn, args = OraclePolicy().act(observations)
        odd = (np.asarray(observations["game_loop"]).reshape(len(fn), -1)[:, 0] // 8) % 2 == 1
        fn[odd] = 0
        args[odd] = -1
        return fn, args


class SlowHalfOraclePolicy(HalfOraclePolicy):
    """HalfOracle that takes 10 ms per step (so a league run can be killed mid-way)."""

    def act(self, observations, rng=None):
        import time

        time.sleep(0.01)
        return super().act(observations, rng)


if "FakeBeacon-v0" not in gymnasium.registry:
    gymnasium.register(
        "FakeBeacon-v0",
        entry_point=FakeBeaconEnv,
        vector_entry_point=FakeTwoPlayerVectorEnv,
        disable_env_checker=True,
    )
