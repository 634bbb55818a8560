"""SimVectorEnv / SimGymEnv: Gymnasium API, autoreset, seeding, spaces, action errors, registry."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import sc2agents.envs as envs
from sc2agents.agents import RandomPolicy
from sc2agents.envs import features
from sc2agents.envs.sim import scenarios
from sc2agents.envs.sim.vector_env import SimGymEnv, SimVectorEnv, StorageConverter

FN = features.FUNCTION_IDS
SMALL = {"screen_size": 32, "minimap_size": 32}


def _noop(n):
    return {"function": np.zeros(n, np.int64), "args": np.full((n, 13), -1, np.int64)}


def test_every_scenario_is_registered():
    assert set(scenarios.SCENARIOS) >= {
        "MoveToBeacon", "CollectMineralShards", "FindAndDefeatZerglings", "DefeatRoaches",
        "DefeatZerglingsAndBanelings",
    }  # fmt: skip
    for name in scenarios.SCENARIOS:
        spec = gymnasium.spec(envs.sim_env_id(name))
        assert spec.entry_point == "sc2agents.envs.sim.vector_env:SimGymEnv"
        assert spec.vector_entry_point == "sc2agents.envs.sim.vector_env:SimVectorEnv"
        assert spec.kwargs == {"map_name": name}


def test_register_picks_up_new_scenarios():
    ids = envs.register_sim_envs(("SomeFutureMap",))
    assert ids == ["sc2agents/Sim-SomeFutureMap-v0"]
    assert "sc2agents/Sim-SomeFutureMap-v0" in gymnasium.registry
    del gymnasium.registry["sc2agents/Sim-SomeFutureMap-v0"]


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_check_env(name):
    # check_env steps with action_space.sample(): mostly unavailable functions, so "warn" mode
    # (play no_op instead) is needed; "raise" is PySC2's default and tested below.
    env = gymnasium.make(envs.sim_env_id(name), action_error="warn", **SMALL)
    check_env(env.unwrapped)
    env.close()


def test_make_vec_uses_native_vector_env():
    vec = gymnasium.make_vec("sc2agents/Sim-MoveToBeacon-v0", num_envs=3, **SMALL)
    assert isinstance(vec.unwrapped, SimVectorEnv) and vec.num_envs == 3
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    obs, info = vec.reset(seed=0)
    assert obs["screen"].shape == (3, 26, 32, 32) and obs["minimap"].shape == (3, 10, 32, 32)
    vec.close()


def _rollout(vec, steps, seed, policy_seed):
    policy = RandomPolicy(seed=policy_seed)
    obs, _ = vec.reset(seed=seed)
    out = [obs]
    rewards, dones = [], []
    for _ in range(steps):
        fn, args = policy.act(obs)
        obs, r, term, trunc, info = vec.step({"function": fn, "args": args})
        assert vec.observation_space.contains(obs)
        out.append(obs)
        rewards.append(r)
        dones.append(term | trunc)
    return out, np.array(rewards), np.array(dones)


def test_spaces_contain_observations_and_seeds_reproduce():
    kw = dict(game_steps_per_episode=8 * 6, action_error="warn", **SMALL)
    a = SimVectorEnv(4, "DefeatZerglingsAndBanelings", **kw)
    b = SimVectorEnv(4, "DefeatZerglingsAndBanelings", **kw)
    obs_a, rew_a, done_a = _rollout(a, 14, seed=5, policy_seed=1)
    obs_b, rew_b, done_b = _rollout(b, 14, seed=5, policy_seed=1)
    assert done_a.any()  # crossed an autoreset
    for x, y in zip(obs_a, obs_b, strict=True):
        for k in x:
            np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    np.testing.assert_array_equal(rew_a, rew_b)
    for i in range(4):
        one = {k: v[i] for k, v in obs_a[3].items()}
        assert a.single_observation_space.contains(one)
    # Another seed: other starting positions.
    c = SimVectorEnv(4, "DefeatZerglingsAndBanelings", **kw)
    obs_c, _ = c.reset(seed=6)
    assert not all(np.array_equal(obs_c[k], obs_a[0][k]) for k in ("screen", "minimap"))


def test_observation_equals_per_game_pysc2_storage_form():
    vec = SimVectorEnv(3, "FindAndDefeatZerglings", seed=0, **SMALL)
    obs, _ = vec.reset()
    for _ in range(3):
        fn = np.full(3, FN["select_army"])
        args = np.full((3, 13), -1)
        args[:, features.ARG_TYPES.index("select_add")] = 0
        obs, *_ = vec.step({"function": fn, "args": args})
    for i in range(3):
        ref = features.observation_to_storage(vec.engine.observe_env(i))
        for k, v in ref.items():
            np.testing.assert_array_equal(obs[k][i], v, err_msg=k)
        assert obs["game_loop"][i, 0] == 3 * 8


def test_storage_converter_matches_features_on_random_layers():
    rng = np.random.default_rng(0)
    for specs in (features.SCREEN_LAYERS, features.MINIMAP_LAYERS):
        conv = StorageConverter(specs)
        for density in (0.0, 0.03, 0.6):
            x = np.zeros((3, len(specs), 16, 16), np.int32)
            foot = rng.random((3, 16, 16)) < density
            for s in specs:
                hi = {"unit_type": 2100, "buffs": 320}.get(s.name, 2 * s.scale)
                where = foot if rng.random() < 0.7 else rng.random((3, 16, 16)) < 0.5
                x[:, s.index] = rng.integers(-3, hi, size=(3, 16, 16)) * where
            ref = features.layers_to_storage(specs, x)
            layers, unit_type = conv(x)
            np.testing.assert_array_equal(layers, ref["layers"])
            np.testing.assert_array_equal(unit_type, ref["unit_type"])


def test_autoreset_next_step_and_episode_info():
    vec = SimVectorEnv(3, "DefeatRoaches", seed=0, game_steps_per_episode=8 * 50, **SMALL)
    obs, _ = vec.reset()
    obs, *_ = vec.step(_noop(3))
    # Kill every marine of game 1: the map ends that game (terminated), the others go on.
    st = vec.engine.state
    st.health[1] = np.where(st.owner[1] == 1, 0.0, st.health[1])
    st.alive[1] &= st.owner[1] != 1
    obs, r, term, trunc, info = vec.step(_noop(3))
    assert term.tolist() == [False, True, False] and not trunc.any()
    assert info["_episode"].tolist() == [False, True, False]
    assert info["episode"]["l"][1] == 2
    final_loop = obs["game_loop"][:, 0].copy()
    assert final_loop.tolist() == [16, 16, 16]
    # Next step: game 1 is reset (its action ignored, reward 0, not done) and shows its first
    # observation; games 0 and 2 advance.
    bad = _noop(3)
    bad["function"][1] = FN["Attack_screen"]  # no arguments: invalid, but ignored (resetting)
    obs, r, term, trunc, info = vec.step(bad)
    assert obs["game_loop"][:, 0].tolist() == [24, 0, 24]
    assert r[1] == 0 and not term.any() and not trunc.any() and "episode" not in info
    own = (obs["screen"][1, 5] == 1).sum()  # player_relative == SELF pixels: marines are back
    assert own > 0
    obs, *_ = vec.step(_noop(3))
    assert obs["game_loop"][:, 0].tolist() == [32, 8, 32]


def test_autoreset_ignores_the_action_of_the_resetting_game():
    vec = SimVectorEnv(2, "MoveToBeacon", seed=0, game_steps_per_episode=16, **SMALL)
    vec.reset()
    vec.step(_noop(2))
    _, _, _, trunc, info = vec.step(_noop(2))
    assert trunc.all() and info["episode"]["l"].tolist() == [2, 2]
    act = _noop(2)
    act["function"][:] = FN["Attack_screen"]  # not available (nothing selected): would raise
    act["args"][:, 0] = 5
    act["args"][:, 3] = 0
    obs, r, term, trunc, _ = vec.step(act)
    assert obs["game_loop"][:, 0].tolist() == [0, 0] and not (term | trunc).any()


def test_reset_mask_option():
    vec = SimVectorEnv(3, "MoveToBeacon", seed=0, **SMALL)
    vec.reset()
    vec.step(_noop(3))
    obs, _ = vec.reset(options={"reset_mask": np.array([False, True, False])})
    assert obs["game_loop"][:, 0].tolist() == [8, 0, 8]
    with pytest.raises(ValueError, match="reset_mask"):
        vec.reset(options={"reset_mask": np.array([True])})
    with pytest.raises(ValueError, match="seed must be one int"):
        vec.reset(seed=[1, 2, 3])


def test_bad_actions_raise_naming_the_function():
    vec = SimVectorEnv(2, "MoveToBeacon", seed=0, **SMALL)
    vec.reset()
    act = _noop(2)
    act["function"][1] = FN["Attack_screen"]
    act["args"][1, 0], act["args"][1, 3] = 5, 0
    with pytest.raises(ValueError, match=r"game 1: function Attack_screen \(id 12\) is not avail"):
        vec.step(act)
    act = _noop(2)
    act["function"][0] = FN["select_army"]  # available, but select_add missing
    with pytest.raises(ValueError, match="select_army.*select_add=-1"):
        vec.step(act)
    act["args"][0, features.ARG_TYPES.index("select_add")] = 7  # out of range (2 values)
    with pytest.raises(ValueError, match="select_army.*select_add=7 outside"):
        vec.step(act)
    act = _noop(2)
    act["function"][0] = 9999
    with pytest.raises(ValueError, match="unknown function id 9999"):
        vec.step(act)
    with pytest.raises(ValueError, match="expected function"):
        vec.step({"function": np.zeros(3, int), "args": np.zeros((3, 13), int)})
    with pytest.raises(ValueError, match="must be a dict"):
        vec.step(np.zeros(2))
    # "warn": the invalid action becomes no_op, the step goes on.
    warn = SimVectorEnv(2, "MoveToBeacon", seed=0, action_error="warn", **SMALL)
    warn.reset()
    act = _noop(2)
    act["function"][1] = FN["Attack_screen"]
    obs, *_ = warn.step(act)
    assert obs["game_loop"][:, 0].tolist() == [8, 8]


def test_single_env_api_render_and_step_after_end():
    env = SimGymEnv("CollectMineralShards", render_mode="rgb_array", render_size=96,
                    game_steps_per_episode=16, **SMALL)  # fmt: skip
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    frame = env.render()
    assert frame.shape == (96, 96, 3) and frame.dtype == np.uint8 and frame.std() > 0
    act = {"function": 0, "args": np.full(13, -1)}
    env.step(act)
    obs, r, term, trunc, info = env.step(act)
    assert trunc and isinstance(r, float) and info["episode"]["l"] == 2
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(act)
    env.reset()
    env.step(act)
    vec = SimVectorEnv(2, "MoveToBeacon", render_mode="rgb_array", render_size=64, **SMALL)
    vec.reset(seed=0)
    frames = vec.render()
    assert len(frames) == 2 and frames[0].shape == (64, 64, 3)
    with pytest.raises(RuntimeError, match="before reset"):
        SimVectorEnv(1, "MoveToBeacon", **SMALL).step(_noop(1))


def test_package_exports():
    from sc2agents.envs.sim.sc2_env import SimSC2Env

    assert envs.SimSC2Env is SimSC2Env
    assert envs.make is gymnasium.make
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = envs.Nope
    assert "sc2agents/Sim-DefeatRoaches-v0" in envs.SIM_ENV_IDS


def test_spaces_are_shared_with_the_pysc2_env():
    pysc2_env = pytest.importorskip("sc2agents.envs.pysc2_env")
    vec = SimVectorEnv(1, "MoveToBeacon", **SMALL)
    assert vec.single_observation_space == pysc2_env.storage_observation_space(32, 32)
    assert vec.single_action_space == pysc2_env.action_space(32, 32)
