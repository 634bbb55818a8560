"""The Terran 1v1 melee (sim.melee.Simple64): PySC2-style env, outcome rewards, fog, Gym id."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from pysc2_evolved.env import sc2_env
from pysc2_evolved.lib import actions

from sc2agents.envs import SIM_ENV_IDS
from sc2agents.envs.sim import SimSC2Env, units
from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim.engine import SimEngine

F = actions.FUNCTIONS
AIF = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64))


def _structures(eng: SimEngine, owner: int) -> np.ndarray:
    st = eng.state
    return st.alive & (st.owner == owner) & units.TABLE.structure[st.type_idx]


def test_agent_vs_builtin_bot_works_like_sc2env():
    env = SimSC2Env(
        map_name="Simple64",
        players=[
            sc2_env.Agent(sc2_env.Race.terran),
            sc2_env.Bot(sc2_env.Race.terran, sc2_env.Difficulty.medium),
        ],
        agent_interface_format=AIF,
        random_seed=0,
    )
    assert env.engine.num_players == 1 and env.engine.num_bots == 1
    ts = env.reset()
    assert len(ts) == 1 and ts[0].first()
    obs = ts[0].observation
    assert obs.feature_screen.shape == (27, 64, 64) and obs.feature_minimap.shape == (11, 64, 64)
    assert obs.player.minerals == 50 and obs.player.food_used == 12 and obs.player.food_cap == 15
    assert len(env.observation_spec()) == 1 and len(env.action_spec()) == 1
    # fog: the own main is visible, the enemy main (the reflection) is not
    vis = obs.feature_minimap.visibility_map
    assert vis[14, 14] == 2 and vis[64 - 15, 64 - 15] == 0
    # the camera starts on the own main: the command center is on the screen
    pr = obs.feature_screen.player_relative
    ut = obs.feature_screen.unit_type
    assert ((pr == 1) & (ut == B.COMMAND_CENTER)).any()
    for _ in range(60):
        ts = env.step([F.no_op()])
    assert ts[0].mid() and ts[0].reward == 0
    # the bot plays: it has trained SCVs and gathers
    x = env.engine.state.extra
    assert x["collected"][0, 1, 0] > 0
    # destroying the bot's last building wins: reward +1 on the last step, discount 0
    env.engine.state.health[_structures(env.engine, 2)] = 0
    ts = env.step([F.no_op()])
    assert ts[0].last() and ts[0].reward == 1 and ts[0].discount == 0
    env.close()


def test_non_terran_bot_is_refused():
    with pytest.raises(ValueError, match="Terran"):
        SimSC2Env(
            map_name="Simple64",
            players=[
                sc2_env.Agent(sc2_env.Race.terran),
                sc2_env.Bot(sc2_env.Race.zerg, sc2_env.Difficulty.easy),
            ],
            agent_interface_format=AIF,
        )


def _two_agents(num_envs: int = 1, **kw) -> SimEngine:
    eng = SimEngine("Simple64", num_envs, num_players=2, seed=0, **kw)
    eng.reset()
    return eng


def _noop2(eng: SimEngine):
    n = eng.num_envs
    return eng.step_encoded(np.zeros((2, n), np.int64), np.full((2, n, 13), -1, np.int64))


@pytest.mark.parametrize("loser,expected", [(2, (1.0, -1.0)), (1, (-1.0, 1.0)), (0, (0.0, 0.0))])
def test_game_ends_when_a_side_has_no_buildings(loser, expected):
    eng = _two_agents()
    res = _noop2(eng)
    assert not res.terminated[0] and (res.reward == 0).all()
    for owner in (1, 2) if loser == 0 else (loser,):
        eng.state.health[_structures(eng, owner)] = 0
    res = _noop2(eng)
    assert res.terminated[0]
    assert tuple(res.reward[:, 0]) == expected
    assert tuple(eng.episode_reward[:, 0]) == expected  # paid once


def test_time_limit_is_a_tie():
    eng = _two_agents(game_steps_per_episode=80)
    for _ in range(10):  # 80 game loops
        res = _noop2(eng)
    assert res.truncated[0] and not res.terminated[0]
    assert (eng.episode_reward == 0).all()


def test_each_player_sees_its_own_view():
    eng = _two_agents()
    o0, o1 = eng.observe(0), eng.observe(1)
    pr0 = o0["feature_minimap"][0, 5]  # player_relative
    pr1 = o1["feature_minimap"][0, 5]
    # each sees its own main as "self" and not the other's (fog)
    assert pr0[14, 14] == 1 and pr1[64 - 15, 64 - 15] == 1
    assert pr0[64 - 15, 64 - 15] == 0 and pr1[14, 14] == 0
    assert not np.array_equal(o0["feature_screen"], o1["feature_screen"])
    assert o0["player"][0, 0] == 1 and o1["player"][0, 0] == 2


def test_gym_id_registered_and_plays_against_a_chosen_bot():
    assert "sc2agents/Sim-Simple64-v0" in SIM_ENV_IDS
    env = gymnasium.make_vec("sc2agents/Sim-Simple64-v0", num_envs=2, bots=["hard"])
    obs, _ = env.reset(seed=0)
    assert obs["screen"].shape[0] == 2
    vec = env.unwrapped if hasattr(env, "unwrapped") else env
    assert vec.engine.bots.params[0].name == "hard"
    noop = {"function": np.zeros(2, np.int64), "args": np.full((2, 13), -1, np.int64)}
    for _ in range(5):
        obs, reward, term, trunc, _ = env.step(noop)
    assert reward.shape == (2,) and not term.any()
    env.close()
