"""Simulator rollouts: autoreset bookkeeping, flags, info, determinism, dataset round trip."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from sc2agents.data import sim_rollouts
from sc2agents.data.dataset import DatasetWriter, open_dataset
from sc2agents.data.sim_rollouts import SimRolloutConfig, SimTask, collect_episodes, plan_tasks


class CorridorVectorEnv:
    """A tiny NEXT_STEP-autoreset vector env: walk right to x=goal (terminated) or time out.

    Observation ``minimap`` marks the position; ``player[0]`` = position, ``player[1]`` = episode
    counter of the game, ``player[2]`` = step in the episode.
    """

    def __init__(self, n: int, goal: int = 5, limit: int = 8) -> None:
        self.n, self.goal, self.limit = n, goal, limit
        self.pos = np.zeros(n, np.int64)
        self.t = np.zeros(n, np.int64)
        self.count = np.zeros(n, np.int64)
        self.autoreset = np.zeros(n, bool)
        self.rng = np.random.default_rng()

    def _obs(self):
        mm = np.zeros((self.n, 2, 8, 8), np.uint8)
        mm[np.arange(self.n), 0, 0, np.minimum(self.pos, 7)] = 1
        player = np.zeros((self.n, 11), np.float32)
        player[:, 0], player[:, 1], player[:, 2] = self.pos, self.count, self.t
        avail = np.zeros((self.n, 573), bool)
        avail[:, [0, 1]] = True
        return {
            "minimap": mm,
            "player": player,
            "available_actions": avail,
            "game_loop": self.t[:, None] * 8,
        }

    def reset(self, seed=None):
        self.rng = np.random.default_rng(seed)
        self.pos[:] = self.rng.integers(0, 3, self.n)
        self.t[:] = 0
        return self._obs(), {}

    def step(self, actions):
        fn = np.asarray(actions["function"])
        rew = np.zeros(self.n, np.float32)
        term = np.zeros(self.n, bool)
        trunc = np.zeros(self.n, bool)
        for i in range(self.n):
            if self.autoreset[i]:
                self.pos[i], self.t[i] = self.rng.integers(0, 3), 0
                self.count[i] += 1
                continue
            self.pos[i] += int(fn[i] == 1)
            self.t[i] += 1
            rew[i] = float(fn[i] == 1)
            if self.pos[i] >= self.goal:
                term[i] = True
                rew[i] += 10
            elif self.t[i] >= self.limit:
                trunc[i] = True
        self.autoreset = term | trunc
        return self._obs(), rew, term, trunc, {}


class StepRight:
    def __init__(self, p: float) -> None:
        self.p = p
        self.rng = np.random.default_rng(0)

    def act(self, obs, rng=None):
        b = obs["player"].shape[0]
        fn = (self.rng.random(b) < self.p).astype(np.int64)
        return fn, np.full((b, 13), -1, np.int64)


def collect(seed=0, n=3, episodes=10, policies=None):
    env = CorridorVectorEnv(n)
    pol = policies or {"expert": StepRight(1.0), "random": StepRight(0.3)}
    return collect_episodes(
        env, pol, episodes, seed=seed, epsilons={"expert": 0.0, "random": 1.0},
        info={"map": "Corridor", "source": "t0"},
    )  # fmt: skip


def test_episodes_follow_the_games():
    eps = collect()
    assert len(eps) == 10
    for ep in eps:
        p = ep.observations["player"]
        T = ep.num_steps
        assert "game_loop" not in ep.observations
        assert np.all(p[:, 1] == p[0, 1])  # one game episode, never two glued together
        assert list(p[:, 2]) == list(range(T + 1))  # starts at the reset obs, ends at the final obs
        # Rewards are those of the recorded actions (the autoreset step is not recorded).
        moved = np.diff(p[:, 0])
        assert np.array_equal(moved, ep.actions["function"])
        expect = ep.actions["function"].astype(np.float32)
        if ep.terminated:
            expect[-1] += 10
            assert p[-1, 0] >= 5 and not ep.truncated
        else:
            assert ep.truncated and T == 8
        assert np.array_equal(ep.rewards, expect)
        assert ep.info["map"] == "Corridor" and ep.info["seed"] == 0
        assert ep.info["policy"] in ("expert", "random")
        assert ep.info["epsilon"] == (0.0 if ep.info["policy"] == "expert" else 1.0)
        if ep.info["policy"] == "expert":
            assert np.all(ep.actions["function"] == 1) and ep.terminated
    assert {e.info["policy"] for e in eps} == {"expert", "random"}
    assert len({e.info["source"] for e in eps}) == 10


def test_deterministic_for_a_seed():
    a, b, c = collect(seed=4), collect(seed=4), collect(seed=5)

    def sig(eps):
        return [(e.info["env"], e.info["policy"], e.rewards.tobytes()) for e in eps]

    assert sig(a) == sig(b)
    assert sig(a) != sig(c)


def test_written_dataset_round_trip(tmp_path):
    eps = collect(episodes=6)
    with DatasetWriter(tmp_path, shard_size=20) as w:
        for ep in eps:
            w.add_episode(ep)
    ds = open_dataset(tmp_path)
    assert ds.num_episodes == 6 and ds.manifest["maps"] == ["Corridor"]
    back = list(ds.episodes())
    for x, y in zip(eps, back, strict=True):
        assert np.array_equal(x.observations["minimap"], y.observations["minimap"])
        assert y.info["policy"] == x.info["policy"]


def test_plan_tasks_and_config_validation():
    cfg = SimRolloutConfig(episodes=35, episodes_per_task=16, seed=7)
    tasks = plan_tasks(cfg)
    assert [t.num_episodes for t in tasks] == [16, 16, 3]
    assert len({t.seed for t in tasks}) == 3 and tasks[0].seed == 7
    assert tasks[2].source == "sim-task-000002"
    with pytest.raises(ValueError, match="policy must be one of"):
        SimRolloutConfig(policy="great")
    with pytest.raises(ValueError, match="medium_epsilon"):
        SimRolloutConfig(medium_epsilon=1.5)


def test_rollout_uses_env_factory_and_levels(monkeypatch):
    made = {}

    def fake_env(cfg, num_envs, seed):
        made["args"] = (num_envs, seed)
        return CorridorVectorEnv(num_envs)

    def fake_policies(cfg, seed):
        made["levels"] = cfg.policy
        return {"medium": StepRight(0.5)}

    monkeypatch.setattr(sim_rollouts, "_make_env", fake_env)
    monkeypatch.setattr(sim_rollouts, "_make_policies", fake_policies)
    cfg = SimRolloutConfig(
        map_name="Corridor", policy="medium", episodes=5, num_envs=8, obs_keys=("minimap", "player")
    )
    eps = sim_rollouts.rollout(SimTask(index=3, num_episodes=5, seed=11), cfg)
    assert made["args"] == (5, 11) and len(eps) == 5
    assert all(e.info["policy"] == "medium" and e.info["epsilon"] == 0.5 for e in eps)
    assert all(e.info["source"].startswith("sim-task-000003/") for e in eps)


def _sim_engine_available() -> bool:
    return importlib.util.find_spec("sc2agents.envs.sim.engine") is not None


@pytest.mark.skipif(not _sim_engine_available(), reason="simulator engine not available")
@pytest.mark.parametrize("policy", ["expert", "mixed"])
def test_real_simulator_rollout(tmp_path, policy):
    cfg = SimRolloutConfig(
        map_name="MoveToBeacon", policy=policy, episodes=2, num_envs=2, screen_size=32,
        minimap_size=32, game_steps_per_episode=8 * 40,
    )  # fmt: skip
    eps = sim_rollouts.rollout(plan_tasks(cfg)[0], cfg)
    assert len(eps) == 2
    for ep in eps:
        assert ep.observations["minimap"].shape[1:] == (10, 32, 32)
        assert ep.observations["screen"].dtype == np.uint8
        assert ep.terminated or ep.truncated
    again = sim_rollouts.rollout(plan_tasks(cfg)[0], cfg)
    assert [e.rewards.tobytes() for e in eps] == [e.rewards.tobytes() for e in again]
    with DatasetWriter(tmp_path) as w:
        w.add_episodes(eps)
    assert open_dataset(tmp_path).num_episodes == 2


def test_rollout_accepts_the_build_runner_dicts(monkeypatch):
    """`sc2agents.data.build` sends plain dicts for the task and the config."""
    seen = {}

    def fake_env(cfg, num_envs, seed):
        seen["cfg"] = cfg
        return CorridorVectorEnv(num_envs)

    monkeypatch.setattr(sim_rollouts, "_make_env", fake_env)
    monkeypatch.setattr(
        sim_rollouts, "_make_policies", lambda cfg, seed: {"random": StepRight(0.5)}
    )
    task = {"map": "Corridor", "policy": "random", "index": 4, "num_episodes": 1, "seed": 9}
    cfg = {"step_mul": 4, "screen_size": 32, "minimap_size": 16, "policy": "expert", "map": "X",
           "seed": 0, "obs_keys": ["minimap", "player"]}  # fmt: skip
    eps = sim_rollouts.rollout(task, cfg)
    assert len(eps) == 1 and eps[0].info["seed"] == 9 and eps[0].info["map"] == "Corridor"
    c = seen["cfg"]
    assert (c.map_name, c.policy, c.step_mul, c.screen_size, c.minimap_size) == (
        "Corridor", "random", 4, 32, 16,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown key 'bogus'"):
        sim_rollouts.as_config({"bogus": 1})


def test_each_game_plays_its_share():
    """Completion order must not decide which episodes are kept (no bias to short ones)."""
    env = CorridorVectorEnv(3)
    eps = collect_episodes(
        env, {"slow": StepRight(0.2), "fast": StepRight(1.0)}, 7, seed=2,
        choose=lambda r: "slow" if r.random() < 0.5 else "fast",
    )  # fmt: skip
    per_env = [sum(e.info["env"] == i for e in eps) for i in range(3)]
    assert per_env == [3, 2, 2]
    assert [e.info["env"] for e in eps] == sorted(e.info["env"] for e in eps)
    assert [e.info["episode"] for e in eps] == list(range(7))
    # Each game's episodes are consecutive games of that env (episode counter player[1]).
    for i in range(3):
        counters = [int(e.observations["player"][0, 1]) for e in eps if e.info["env"] == i]
        assert counters == list(range(per_env[i]))
