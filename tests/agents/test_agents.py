"""Built-in agents on hand-built storage-form observations (no simulator needed)."""

from __future__ import annotations

import pickle
import types

import numpy as np
import pytest
from pysc2_evolved.agents import base_agent
from pysc2_evolved.lib import actions as sc2_actions

from sc2agents import agents, core
from sc2agents.agents import base
from sc2agents.envs import features

FN = features.FUNCTION_IDS
S = 32  # screen / minimap size used here


def _obs(batch=1, available=("no_op", "select_army", "select_point")):
    n_sc = len(features.storage_channels(features.SCREEN_LAYERS))
    n_mm = len(features.storage_channels(features.MINIMAP_LAYERS))
    avail = np.zeros((batch, features.NUM_FUNCTIONS), bool)
    for name in available:
        avail[:, FN[name]] = True
    return {
        "screen": np.zeros((batch, n_sc, S, S), np.uint8),
        "screen_unit_type": np.zeros((batch, S, S), np.uint16),
        "minimap": np.zeros((batch, n_mm, S, S), np.uint8),
        "minimap_unit_type": np.zeros((batch, S, S), np.uint16),
        "player": np.zeros((batch, 11), np.float32),
        "available_actions": avail,
        "game_loop": np.zeros((batch, 1), np.int64),
    }


def _paint(obs, i, layer, x, y, value, r=1, minimap=False):
    key, ch = ("minimap", base.MINIMAP_CH) if minimap else ("screen", base.SCREEN_CH)
    obs[key][i, ch[layer], max(0, y - r) : y + r + 1, max(0, x - r) : x + r + 1] = value


def _decode(fn, args, i=0):
    return features.decode_action(int(fn[i]), args[i], S, S)


ARMY = ("no_op", "select_army", "select_point", "Move_screen", "Attack_screen", "Attack_minimap",
        "move_camera", "Move_minimap", "HoldPosition_quick", "Stop_quick")  # fmt: skip


def test_random_policy_only_available_functions_and_in_range_args():
    obs = _obs(batch=64, available=ARMY)
    obs["available_actions"][::2, FN["Attack_screen"]] = False
    policy = agents.RandomPolicy(seed=0)
    assert isinstance(policy, core.Policy)
    fn, args = policy.act(obs)
    assert fn.shape == (64,) and args.shape == (64, 13) and fn.dtype == np.int64
    assert obs["available_actions"][np.arange(64), fn].all()
    assert len(set(fn.tolist())) > 3  # it does explore
    used = features.FUNCTION_ARG_MASK[fn]
    assert (args[~used] == -1).all() and (args[used] >= 0).all()
    for i in range(64):
        _decode(fn, args, i)  # every action decodes to a FunctionCall
    # Same rng seed: same actions.
    f1, a1 = policy.act(obs, np.random.default_rng(3))
    f2, a2 = policy.act(obs, np.random.default_rng(3))
    assert (f1 == f2).all() and (a1 == a2).all()


def test_scripted_move_to_beacon_selects_then_moves_to_beacon():
    policy = agents.make_policy("scripted", "MoveToBeacon")
    obs = _obs()
    _paint(obs, 0, "player_relative", 5, 5, base.SELF)
    _paint(obs, 0, "player_relative", 20, 12, base.NEUTRAL, r=2)
    fn, args = policy.act(obs)
    assert int(fn[0]) == FN["select_army"]
    obs["available_actions"][0, FN["Move_screen"]] = True
    _paint(obs, 0, "selected", 5, 5, 1)
    fn, args = policy.act(obs)
    call = _decode(fn, args)
    assert call.function == FN["Move_screen"] and list(call.arguments[1]) == [20, 12]


def test_scripted_collect_mineral_shards_splits_marines():
    policy = agents.make_policy("scripted", "CollectMineralShards", step_mul=8)
    obs = _obs(available=ARMY)
    _paint(obs, 0, "player_relative", 4, 16, base.SELF)  # marine A (left)
    _paint(obs, 0, "player_relative", 28, 16, base.SELF)  # marine B (right)
    _paint(obs, 0, "player_relative", 10, 16, base.NEUTRAL, r=0)  # shard nearest A
    _paint(obs, 0, "player_relative", 20, 16, base.NEUTRAL, r=0)  # shard in B's half
    _paint(obs, 0, "selected", 4, 16, 1)  # A selected
    obs["game_loop"][:] = 8  # phase 1: command the selected marine
    call = _decode(*policy.act(obs))
    assert call.function == FN["Move_screen"] and list(call.arguments[1]) == [10, 16]
    obs["game_loop"][:] = 16  # phase 0: select the other marine
    call = _decode(*policy.act(obs))
    assert call.function == FN["select_point"] and abs(call.arguments[1][0] - 28) <= 1
    # B selected: it goes for the shard in its own half, not the one nearest A.
    obs["screen"][0, base.SCREEN_CH["selected"]] = 0
    _paint(obs, 0, "selected", 28, 16, 1)
    obs["game_loop"][:] = 24
    call = _decode(*policy.act(obs))
    assert call.function == FN["Move_screen"] and list(call.arguments[1]) == [20, 16]


def test_scripted_defeat_roaches_focuses_one_roach():
    policy = agents.make_policy("scripted", "DefeatRoaches")
    obs = _obs(batch=2, available=ARMY)
    for i in range(2):
        _paint(obs, i, "player_relative", 4, 16, base.SELF)
        _paint(obs, i, "selected", 4, 16, 1)
        for x, y in [(24, 4), (20, 17), (28, 28)]:
            _paint(obs, i, "player_relative", x, y, base.ENEMY, r=0)
    _paint(obs, 1, "player_relative", 12, 12, base.ENEMY, r=0)  # game 1: a nearer roach
    fn, args = policy.act(obs)
    assert _decode(fn, args, 0).function == FN["Attack_screen"]
    assert list(_decode(fn, args, 0).arguments[1]) == [20, 17]
    assert list(_decode(fn, args, 1).arguments[1]) == [12, 12]
    # An own unit that is not selected (reinforcements): select the army first.
    _paint(obs, 0, "player_relative", 2, 2, base.SELF, r=0)
    assert int(policy.act(obs)[0][0]) == FN["select_army"]


def test_scripted_zerglings_weakest_first():
    policy = agents.make_policy("scripted", "DefeatZerglingsAndBanelings")
    obs = _obs(available=ARMY)
    _paint(obs, 0, "player_relative", 4, 16, base.SELF)
    _paint(obs, 0, "selected", 4, 16, 1)
    for x, hp in [(24, 200), (26, 90), (28, 200)]:
        _paint(obs, 0, "player_relative", x, 10, base.ENEMY, r=0)
        _paint(obs, 0, "unit_hit_points", x, 10, hp, r=0)
    call = _decode(*policy.act(obs))
    assert call.function == FN["Attack_screen"] and list(call.arguments[1]) == [26, 10]


def test_scripted_banelings_first():
    policy = agents.make_policy("scripted", "DefeatZerglingsAndBanelings")
    obs = _obs(available=ARMY)
    _paint(obs, 0, "player_relative", 4, 16, base.SELF)
    _paint(obs, 0, "selected", 4, 16, 1)
    _paint(obs, 0, "player_relative", 12, 16, base.ENEMY, r=0)  # zergling, nearer
    obs["screen_unit_type"][0, 16, 12] = features.unit_type_index(105)
    _paint(obs, 0, "player_relative", 25, 20, base.ENEMY, r=0)  # baneling
    obs["screen_unit_type"][0, 20, 25] = features.unit_type_index(9)
    call = _decode(*policy.act(obs))
    assert call.function == FN["Attack_screen"] and list(call.arguments[1]) == [25, 20]


def test_scripted_find_and_defeat_explores_unseen_minimap():
    policy = agents.make_policy("scripted", "FindAndDefeatZerglings")
    obs = _obs(available=ARMY)
    _paint(obs, 0, "player_relative", 16, 16, base.SELF, minimap=True)
    _paint(obs, 0, "selected", 16, 16, 1, minimap=True)
    _paint(obs, 0, "camera", 16, 16, 1, r=5, minimap=True)
    obs["minimap"][0, base.MINIMAP_CH["visibility_map"]] = 2
    obs["minimap"][0, base.MINIMAP_CH["visibility_map"], 0:4, 28:32] = 0  # unseen corner
    _paint(obs, 0, "player_relative", 16, 16, base.SELF)
    _paint(obs, 0, "selected", 16, 16, 1)
    call = _decode(*policy.act(obs))
    assert call.function == FN["Attack_minimap"] and list(call.arguments[1]) == [28, 3]
    # A zergling on the screen is attacked first.
    _paint(obs, 0, "player_relative", 22, 9, base.ENEMY, r=0)
    call = _decode(*policy.act(obs))
    assert call.function == FN["Attack_screen"] and list(call.arguments[1]) == [22, 9]
    # Camera far from the army: bring it back.
    obs["minimap"][0, base.MINIMAP_CH["camera"]] = 0
    _paint(obs, 0, "camera", 5, 5, 1, r=3, minimap=True)
    call = _decode(*policy.act(obs))
    assert call.function == FN["move_camera"] and list(call.arguments[0]) == [16, 16]


def test_epsilon_mixes_random_actions_and_stays_available():
    obs = _obs(batch=400, available=ARMY)
    _paint(obs, slice(None), "player_relative", 20, 12, base.NEUTRAL)  # beacon everywhere
    for eps, lo, hi in [(0.0, 0, 0), (0.3, 0.15, 0.45), (1.0, 0.85, 1.0)]:
        policy = agents.make_policy("scripted", "MoveToBeacon", epsilon=eps, seed=1)
        fn, args = policy.act(obs)
        assert obs["available_actions"][np.arange(400), fn].all()
        scripted = (fn == FN["Move_screen"]) & (args[:, 0] == 12 * S + 20)
        frac_random = 1.0 - scripted.mean()
        assert lo <= frac_random <= hi, (eps, frac_random)
    with pytest.raises(ValueError, match="epsilon"):
        agents.make_policy("scripted", "MoveToBeacon", epsilon=1.5)


def test_policies_pickle_and_registry_errors():
    policy = agents.make_scripted("DefeatRoaches", noise=0.2)
    clone = pickle.loads(pickle.dumps(policy))
    assert clone.epsilon == pytest.approx(0.2) and clone.map_name == "DefeatRoaches"
    obs = _obs(available=ARMY)
    assert clone.act(obs)[0].shape == (1,)
    with pytest.raises(ValueError, match="no scripted policy for map 'Simple64'"):
        agents.make_policy("scripted", "Simple64")
    with pytest.raises(ValueError, match="unknown built-in policy"):
        agents.make_policy("greedy", "MoveToBeacon")


def _timestep(obs_storage_like):
    """A pysc2-like TimeStep from a raw observation dict."""
    return types.SimpleNamespace(observation=obs_storage_like, reward=0.0)


def _raw_obs():
    screen = np.zeros((len(features.SCREEN_LAYERS), S, S), np.int32)
    minimap = np.zeros((len(features.MINIMAP_LAYERS), S, S), np.int32)
    pr = features.SCREEN["player_relative"].index
    screen[pr, 3:6, 3:6] = base.SELF
    screen[features.SCREEN["selected"].index, 3:6, 3:6] = 1
    screen[pr, 20, 11] = base.NEUTRAL
    return {
        "feature_screen": screen,
        "feature_minimap": minimap,
        "player": np.zeros(11, np.int32),
        "available_actions": np.array([FN["no_op"], FN["select_army"], FN["Move_screen"]]),
        "game_loop": np.array([8]),
    }


def test_policy_agent_adapter_returns_function_calls():
    agent = agents.make_agent("scripted", "MoveToBeacon")
    assert isinstance(agent, base_agent.BaseAgent)
    call = agent.step(_timestep(_raw_obs()))
    assert isinstance(call, sc2_actions.FunctionCall)
    assert call.function == FN["Move_screen"] and list(call.arguments[1]) == [11, 20]
    assert agent.steps == 1
    rand = agents.make_agent("random", "MoveToBeacon", seed=0)
    for _ in range(10):
        assert rand.step(_timestep(_raw_obs())).function in (0, 7, 331)


def test_make_agent_class_paths():
    agent = agents.make_agent("pysc2_evolved.agents.random_agent.RandomAgent", "MoveToBeacon")
    assert type(agent).__name__ == "RandomAgent" and isinstance(agent, base_agent.BaseAgent)
    agent = agents.make_agent("sc2agents.agents.DefeatRoachesAgent", "ignored")
    assert agent.policy.map_name == "DefeatRoaches"
    with pytest.raises(ValueError, match="cannot import module"):
        agents.make_agent("no_such_pkg.Agent", "MoveToBeacon")
    with pytest.raises(ValueError, match="has no attribute"):
        agents.make_agent("pysc2_evolved.agents.random_agent.Nope", "MoveToBeacon")
    with pytest.raises(ValueError, match="not a pysc2 BaseAgent"):
        agents.make_agent("numpy.ndarray", "MoveToBeacon")
    with pytest.raises(ValueError, match="neither a built-in"):
        agents.make_agent("greedy", "MoveToBeacon")
    with pytest.raises(ValueError, match="no policy for map"):
        agents.make_agent("scripted", "Simple64")


def test_acting_policy_spec_resolves_scripted():
    from sc2agents.acting import policy as policy_lib

    p = policy_lib.load_policy("scripted:CollectMineralShards@eps=0.1")
    assert isinstance(p, core.Policy)
    assert p.map_name == "CollectMineralShards" and p.epsilon == pytest.approx(0.1)


def test_make_agent_accepts_policy_specs():
    agent = agents.make_agent("scripted:DefeatRoaches@eps=0.25", "ignored")
    assert isinstance(agent, agents.PolicyAgent)
    assert agent.policy.map_name == "DefeatRoaches" and agent.policy.epsilon == pytest.approx(0.25)
    agent = agents.make_agent("pysc2:pysc2_evolved.agents.random_agent.RandomAgent", "x")
    assert type(agent).__name__ == "RandomAgent"


@pytest.mark.parametrize("name", ["scripted", "random"])
def test_agents_on_real_pysc2_observations(name):
    """PySC2's own mock env (NamedDict observations of the real spec): valid actions come out."""
    from pysc2_evolved.env import mock_sc2_env
    from pysc2_evolved.lib import features as sc2_features

    env = mock_sc2_env.SC2TestEnv(
        agent_interface_format=sc2_features.AgentInterfaceFormat(
            feature_dimensions=sc2_features.Dimensions(screen=S, minimap=24)
        )
    )
    agent = agents.make_agent(name, "DefeatRoaches", seed=0)
    agent.setup(env.observation_spec()[0], env.action_spec()[0])
    timestep = env.reset()[0]
    for _ in range(20):
        call = agent.step(timestep)
        assert int(call.function) in set(timestep.observation["available_actions"].tolist())
        fn = sc2_actions.FUNCTIONS[int(call.function)]
        for arg_type, value in zip(fn.args, call.arguments, strict=True):
            limit = 24 if arg_type.name == "minimap" else S
            sizes = (
                [limit, limit] if arg_type.name in features.SPATIAL_ARG_TYPES else arg_type.sizes
            )
            assert all(0 <= int(v) < s for v, s in zip(value, sizes, strict=True))
        timestep = env.step([call])[0]
