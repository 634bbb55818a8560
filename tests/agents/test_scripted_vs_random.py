"""Scripted agents beat random by a clear margin on every minigame (short simulator episodes)."""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.env import run_loop, sc2_env
from pysc2_evolved.lib import features as sc2_features

from sc2agents import agents
from sc2agents.envs.sim.vector_env import SimVectorEnv

# (map, minimum margin of the scripted mean score over the random mean) for 30 s (480 loops)
# episodes; the full 120-180 s maps give about four times these scores.
MARGINS = [
    ("MoveToBeacon", 2.0),
    ("CollectMineralShards", 8.0),
    ("FindAndDefeatZerglings", 2.5),
    ("DefeatRoaches", 20.0),
    ("DefeatZerglingsAndBanelings", 30.0),
]


def first_episode_scores(map_name, policy, num_envs=4, loops=480, seed=0):
    """Score (PySC2 score_cumulative[0]) of the first episode of each of ``num_envs`` games."""
    env = SimVectorEnv(num_envs, map_name, game_steps_per_episode=loops, screen_size=32,
                       minimap_size=32)  # fmt: skip
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    out = np.full(num_envs, np.nan)
    while np.isnan(out).any():
        fn, args = policy.act(obs, rng)
        obs, _, _, _, info = env.step({"function": fn, "args": args})
        if "episode" in info:
            first = info["_episode"] & np.isnan(out)
            out[first] = info["episode"]["score"][first]
    return out


@pytest.mark.parametrize("map_name,margin", MARGINS)
def test_scripted_beats_random(map_name, margin):
    scripted = first_episode_scores(map_name, agents.make_policy("scripted", map_name))
    rand = first_episode_scores(map_name, agents.make_policy("random", map_name))
    assert scripted.mean() >= rand.mean() + margin, (map_name, scripted, rand)
    assert scripted.min() > rand.mean(), (map_name, scripted, rand)


def test_epsilon_degrades_the_scripted_policy():
    m = "DefeatZerglingsAndBanelings"
    expert = first_episode_scores(m, agents.make_policy("scripted", m)).mean()
    medium = first_episode_scores(m, agents.make_policy("scripted", m, epsilon=0.5)).mean()
    noisy = first_episode_scores(m, agents.make_policy("scripted", m, epsilon=1.0)).mean()
    assert expert > medium > noisy, (expert, medium, noisy)


@pytest.mark.parametrize("agent", ["scripted", "random"])
def test_base_agent_adapters_run_in_sim_sc2_env_with_pysc2_run_loop(agent):
    from sc2agents.envs import SimSC2Env

    env = SimSC2Env(
        map_name="CollectMineralShards",
        players=[sc2_env.Agent(sc2_env.Race.terran)],
        agent_interface_format=sc2_features.AgentInterfaceFormat(
            feature_dimensions=sc2_features.Dimensions(screen=32, minimap=32)
        ),
        step_mul=8,
        game_steps_per_episode=160,
        random_seed=0,
    )
    bot = agents.make_agent(agent, "CollectMineralShards", seed=0)
    run_loop.run_loop([bot], env, max_episodes=2)
    env.close()
    assert bot.episodes == 2 and bot.steps == 2 * 21  # 20 steps + the final observation each
    if agent == "scripted":
        assert bot.reward > 0
