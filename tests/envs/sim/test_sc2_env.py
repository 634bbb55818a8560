"""SimSC2Env is a drop-in for PySC2's SC2Env: run_loop and the stock agents run unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.agents import random_agent, scripted_agent
from pysc2_evolved.env import environment, run_loop, sc2_env
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import point

from sc2agents.envs.sim.sc2_env import SimSC2Env


def make_env(map_name: str, screen: int = 64, minimap: int = 64, seed: int = 1, **kw):
    return SimSC2Env(
        map_name=map_name,
        players=[sc2_env.Agent(sc2_env.Race.terran)],
        agent_interface_format=sc2_env.AgentInterfaceFormat(
            feature_dimensions=sc2_env.Dimensions(screen=screen, minimap=minimap),
            use_feature_units=kw.pop("use_feature_units", False),
        ),
        step_mul=8,
        random_seed=seed,
        **kw,
    )


def play(agent, env, episodes: int) -> float:
    np.random.seed(0)  # RandomAgent draws from numpy's global generator
    run_loop.run_loop([agent], env, max_episodes=episodes)
    assert agent.episodes == episodes
    return agent.reward / episodes


def test_is_a_pysc2_environment_with_pysc2_specs():
    env = make_env("MoveToBeacon", screen=84, minimap=64)
    assert isinstance(env, environment.Base)
    aif = sc2_features.AgentInterfaceFormat(
        feature_dimensions=sc2_features.Dimensions(screen=84, minimap=64)
    )
    ref = sc2_features.Features(aif, map_size=point.Point(64, 64))
    assert env.observation_spec() == (ref.observation_spec(),)
    assert env.action_spec() == (ref.action_spec(),)
    (ts,) = env.reset()
    assert ts.step_type == environment.StepType.FIRST and ts.reward == 0 and ts.discount == 0
    assert ts.observation.feature_screen.shape == (27, 84, 84)
    (ts,) = env.step([sc2_env.actions_lib.FUNCTIONS.no_op()])
    assert ts.step_type == environment.StepType.MID and ts.discount == 1.0


def test_optional_observations_follow_the_interface_format():
    aif = sc2_env.AgentInterfaceFormat(
        feature_dimensions=sc2_env.Dimensions(screen=64, minimap=32),
        use_camera_position=True,
        use_unit_counts=True,
        use_feature_units=True,
    )
    env = SimSC2Env(
        map_name="DefeatRoaches",
        players=[sc2_env.Agent(sc2_env.Race.terran)],
        agent_interface_format=aif,
    )
    (ts,) = env.reset()
    spec = env.observation_spec()[0]
    assert set(spec) <= set(ts.observation), set(spec) - set(ts.observation)
    assert ts.observation["camera_position"].tolist() == [16, 16]
    assert ts.observation["camera_size"].tolist() == [12, 12]
    assert ts.observation["unit_counts"].tolist() == [[48, 9]]
    with pytest.raises(ValueError, match="raw units"):
        SimSC2Env(
            map_name="DefeatRoaches",
            players=[sc2_env.Agent(sc2_env.Race.terran)],
            agent_interface_format=sc2_env.AgentInterfaceFormat(
                feature_dimensions=sc2_env.Dimensions(64, 64), use_raw_units=True
            ),
        )


def test_scripted_move_to_beacon_beats_random():
    env = make_env("MoveToBeacon")
    scripted = play(scripted_agent.MoveToBeacon(), env, 2)
    rand = play(random_agent.RandomAgent(), make_env("MoveToBeacon", seed=2), 2)
    assert scripted >= 15, scripted
    assert rand <= 3, rand


def test_scripted_collect_mineral_shards_and_defeat_roaches_beat_random():
    shards = play(scripted_agent.CollectMineralShards(), make_env("CollectMineralShards"), 1)
    shards_rand = play(random_agent.RandomAgent(), make_env("CollectMineralShards"), 1)
    assert shards >= 30 and shards > 3 * shards_rand, (shards, shards_rand)
    fu = play(
        scripted_agent.CollectMineralShardsFeatureUnits(),
        make_env("CollectMineralShards", use_feature_units=True),
        1,
    )
    assert fu >= 30, fu
    roach = play(scripted_agent.DefeatRoaches(), make_env("DefeatRoaches"), 2)
    roach_rand = play(random_agent.RandomAgent(), make_env("DefeatRoaches"), 2)
    assert roach > roach_rand and roach >= 20, (roach, roach_rand)


@pytest.mark.parametrize("map_name", ["FindAndDefeatZerglings", "DefeatZerglingsAndBanelings"])
def test_random_agent_runs_on_every_map(map_name):
    env = make_env(map_name, screen=84, minimap=64)
    agent = random_agent.RandomAgent()
    np.random.seed(0)
    run_loop.run_loop([agent], env, max_frames=150)
    assert agent.steps == 150


def test_episode_end_and_restart():
    env = make_env("MoveToBeacon", game_steps_per_episode=80)
    (ts,) = env.reset()
    steps = 0
    while not ts.last():
        (ts,) = env.step([sc2_env.actions_lib.FUNCTIONS.no_op()])
        steps += 1
    assert steps == 10 and ts.observation.game_loop[0] == 80
    assert ts.discount == 1.0  # cut by game_steps_per_episode, not ended by the map
    (ts,) = env.step([sc2_env.actions_lib.FUNCTIONS.no_op()])  # after LAST: a new episode
    assert ts.first() and ts.observation.game_loop[0] == 0


def test_map_time_limit_ends_with_discount_zero():
    env = make_env("MoveToBeacon")
    (ts,) = env.reset()
    while not ts.last():
        (ts,) = env.step([sc2_env.actions_lib.FUNCTIONS.no_op()])
    assert ts.observation.game_loop[0] == 1920 and ts.discount == 0.0


def test_constructor_errors_are_clear():
    aif = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(64, 64))
    agent = sc2_env.Agent(sc2_env.Race.terran)
    with pytest.raises(ValueError, match="list of players"):
        SimSC2Env(map_name="MoveToBeacon", agent_interface_format=aif)
    with pytest.raises(ValueError, match="unknown simulator map"):
        SimSC2Env(map_name="NoSuchMap", players=[agent], agent_interface_format=aif)
    with pytest.raises(ValueError, match="agent_interface_format"):
        SimSC2Env(map_name="MoveToBeacon", players=[agent])
    with pytest.raises(ValueError, match="single player"):
        SimSC2Env(map_name="MoveToBeacon", players=[agent, agent], agent_interface_format=aif)


def test_unavailable_action_raises_unless_not_ensured():
    env = make_env("MoveToBeacon")
    env.reset()
    with pytest.raises(ValueError, match="not available"):
        env.step([sc2_env.actions_lib.FUNCTIONS.Move_screen("now", [1, 1])])
    lax = make_env("MoveToBeacon", ensure_available_actions=False)
    lax.reset()
    (ts,) = lax.step([sc2_env.actions_lib.FUNCTIONS.Move_screen("now", [1, 1])])
    assert ts.mid()


def test_visualize_without_a_display_keeps_running(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    env = make_env("MoveToBeacon", visualize=True)
    env.reset()
    env.step([sc2_env.actions_lib.FUNCTIONS.no_op()])
    env.close()
