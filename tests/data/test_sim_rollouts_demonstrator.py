"""The engine-demonstrator hook of `sim_rollouts`: factories made per env, ``act_rows`` rows."""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.data import sim_rollouts
from sc2agents.data.sim_rollouts import SimRolloutConfig, SimTask, collect_episodes


class _Env:
    """Two-game env: episodes end after ``limit`` steps; ``player[0]`` = game index."""

    def __init__(self, n: int = 3, limit: int = 4) -> None:
        self.n, self.limit = n, limit
        self.t = np.zeros(n, np.int64)
        self.auto = np.zeros(n, bool)
        self.engine = object()  # what an engine demonstrator would read

    def _obs(self):
        player = np.zeros((self.n, 11), np.float32)
        player[:, 0] = np.arange(self.n)
        avail = np.zeros((self.n, 573), bool)
        avail[:, :2] = True
        return {
            "screen": np.zeros((self.n, 1, 4, 4), np.uint8),  # the random level needs sizes
            "minimap": np.zeros((self.n, 1, 4, 4), np.uint8),
            "player": player,
            "available_actions": avail,
            "game_loop": self.t[:, None] * 8,
        }

    def reset(self, seed=None):
        self.t[:] = 0
        return self._obs(), {}

    def step(self, actions):
        self.t[self.auto] = 0
        self.t[~self.auto] += 1
        trunc = (self.t >= self.limit) & ~self.auto
        self.auto = trunc.copy()
        return self._obs(), np.zeros(self.n, np.float32), np.zeros(self.n, bool), trunc, {}

    def close(self):
        pass


class _RowsPolicy:
    """Returns function = the env row index it was told, and checks it against the obs."""

    def __init__(self) -> None:
        self.calls: list[np.ndarray] = []

    def act_rows(self, obs, rows):
        rows = np.asarray(rows)
        np.testing.assert_array_equal(obs["player"][:, 0], rows)  # the rows are these games
        self.calls.append(rows)
        return rows % 2, np.full((len(rows), 13), -1, np.int64)

    def act(self, obs, rng=None):  # pragma: no cover - act_rows must be preferred
        raise AssertionError("act_rows should be used")


def test_collect_episodes_passes_rows_to_act_rows():
    pol = _RowsPolicy()
    eps = collect_episodes(_Env(3), {"expert": pol}, 6, seed=0)
    assert len(eps) == 6 and all(c.size for c in pol.calls)
    for e in eps:  # every action the game's own index (mod 2): rows matched the games
        assert set(e.actions["function"].tolist()) == {e.info["env"] % 2}


def test_rollout_builds_registered_demonstrators_per_env(monkeypatch):
    made = []

    def factory(env, level, epsilon, seed):
        assert isinstance(env, _Env)
        made.append((level, epsilon))
        return _RowsPolicy()

    monkeypatch.setattr(sim_rollouts, "DEMONSTRATORS", {})
    monkeypatch.setattr(sim_rollouts, "_make_env", lambda cfg, n, seed: _Env(n))
    sim_rollouts.register_demonstrator("FakeMelee", factory)
    cfg = SimRolloutConfig(
        map_name="FakeMelee", policy="mixed", episodes=6, num_envs=3, medium_epsilon=0.25,
        obs_keys=("player",),
    )  # fmt: skip
    eps = sim_rollouts.rollout(SimTask(index=0, num_episodes=6, seed=5), cfg)
    assert made == [("expert", 0.0), ("medium", 0.25)]  # random stays RandomPolicy
    assert len(eps) == 6
    assert {e.info["policy"] for e in eps} <= {"expert", "medium", "random"}
    with pytest.raises(ValueError, match="must be callable"):
        sim_rollouts.register_demonstrator("FakeMelee", "not a function")


def test_demonstrator_without_env_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(sim_rollouts, "DEMONSTRATORS", {"FakeMelee": lambda *a: _RowsPolicy()})
    with pytest.raises(ValueError, match="FakeMelee.*needs the env"):
        sim_rollouts._make_policies(SimRolloutConfig(map_name="FakeMelee"), 0)
