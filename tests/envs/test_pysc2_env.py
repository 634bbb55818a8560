"""PySC2VectorEnv against PySC2's mock env (no game binary needed).

`ScriptedEnv` extends `pysc2_evolved.env.mock_sc2_env.SC2TestEnv` with fresh random feature layers
every step, a game loop that advances, rewards, a record of the FunctionCalls it received, and an
optional crash (the ConnectionError PySC2 raises when the game's websocket dies).
"""

from __future__ import annotations

import functools
import pathlib

import gymnasium as gym
import numpy as np
import pytest
from pysc2_evolved.agents import random_agent
from pysc2_evolved.env import environment, mock_sc2_env
from pysc2_evolved.lib import actions as sc2_actions
from pysc2_evolved.lib import named_array, protocol

from sc2agents.envs import features, maps, pysc2_env

SCREEN, MINIMAP = 16, 12


class ScriptedEnv(mock_sc2_env.SC2TestEnv):
    """Mock SC2Env with changing observations, rewards, an action log and optional failures."""

    made: list[ScriptedEnv] = []  # every instance, in creation order (reset per test)

    def __init__(
        self,
        *,
        crash_at_step: int | None = None,
        fail_start: bool = False,
        timeout: bool = False,
        all_available: bool = False,
        length: int = 6,
        random_seed: int | None = None,
        step_mul: int | None = None,
        **kwargs,
    ) -> None:
        if fail_start:
            raise protocol.ConnectionError("Failed to connect to the SC2 websocket.")
        super().__init__(random_seed=random_seed, step_mul=step_mul, **kwargs)
        self.episode_length = length
        self.kwargs = dict(kwargs, random_seed=random_seed, step_mul=step_mul)
        self.rng = np.random.default_rng(random_seed)
        self.step_mul = step_mul or 8
        self.crash_at_step = crash_at_step
        self.timeout = timeout
        self.all_available = all_available
        self.received: list[list[sc2_actions.FunctionCall]] = []
        self.raw: list[tuple] = []  # the TimeSteps returned, in order
        self.steps = 0
        self.loop = 0
        self.closed = False
        ScriptedEnv.made.append(self)

    def _observation(self, agent: int) -> named_array.NamedDict:
        base = self.next_timestep[agent].observation
        obs = named_array.NamedDict(base)
        for key, specs in (("feature_screen", features.SCREEN_LAYERS),
                           ("feature_minimap", features.MINIMAP_LAYERS)):  # fmt: skip
            shape = np.asarray(base[key]).shape
            planes = []
            for spec in specs:
                if spec.name == "unit_type":
                    p = self.rng.choice(features.UNIT_TYPE_VOCAB, size=shape[1:])
                elif spec.name == "buffs":
                    p = self.rng.choice(features.BUFF_VOCAB, size=shape[1:])
                elif spec.categorical:
                    p = self.rng.integers(0, spec.scale, size=shape[1:])
                else:
                    p = self.rng.integers(0, spec.scale + 1, size=shape[1:])
                planes.append(p)
            obs[key] = np.stack(planes).astype(np.int32)
        obs["player"] = self.rng.integers(0, 200, size=len(features.PLAYER_FIELDS)).astype(np.int32)
        obs["player"][0] = agent + 1
        if self.all_available:
            avail = np.arange(features.NUM_FUNCTIONS)
        else:
            avail = np.unique(np.r_[0, 1, 2, 3, 331, self.rng.integers(4, 573, size=5)])
        obs["available_actions"] = avail.astype(np.int32)
        obs["game_loop"] = np.array([self.loop], dtype=np.int32)
        return obs

    def step(self, actions, step_mul=None):
        if actions[0] is not None:
            self.steps += 1
            if self.crash_at_step is not None and self.steps >= self.crash_at_step:
                raise protocol.ConnectionError("Websocket is closed.")
            self.received.append(list(actions))
        timesteps = super().step(actions, step_mul)
        first = timesteps[0].step_type == environment.StepType.FIRST
        self.loop = 0 if first else self.loop + self.step_mul
        out = []
        for i, ts in enumerate(timesteps):
            reward = 0.0 if first else float(self.rng.integers(-3, 4)) + 10 * i
            discount = ts.discount
            if ts.step_type == environment.StepType.LAST and self.timeout:
                discount = 1.0
            out.append(ts._replace(observation=self._observation(i), reward=reward,
                                   discount=discount))  # fmt: skip
        self.raw.append(tuple(out))
        return tuple(out)

    def observation_spec(self):
        return super().observation_spec()

    def save_replay(self, replay_dir, prefix=None):
        path = pathlib.Path(replay_dir) / f"{prefix}_{len(ScriptedEnv.made)}_{self.steps}.SC2Replay"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"fake replay")
        return str(path)

    def close(self):
        self.closed = True


@pytest.fixture(autouse=True)
def _fresh_registry():
    ScriptedEnv.made = []
    yield
    ScriptedEnv.made = []


def make_env(map_name="MoveToBeacon", num_envs=1, *, env_kwargs=None, **kwargs):
    factory = functools.partial(ScriptedEnv, **(env_kwargs or {}))
    return pysc2_env.PySC2VectorEnv(
        num_envs, map_name, screen_size=SCREEN, minimap_size=MINIMAP, env_factory=factory,
        **kwargs,
    )  # fmt: skip


def noop(n):
    return {"function": np.zeros(n, np.int64), "args": -np.ones((n, 13), np.int64)}


def test_observation_every_layer_matches_features_table():
    env = make_env()
    obs, _ = env.reset(seed=3)
    for step in range(3):
        raw = ScriptedEnv.made[0].raw[-1][0].observation
        assert env.observation_space.contains(obs)
        for key, specs in (
            ("screen", features.SCREEN_LAYERS),
            ("minimap", features.MINIMAP_LAYERS),
        ):
            stack = raw[f"feature_{key}"]
            channels = features.storage_channels(specs)
            assert obs[key].shape[1] == len(channels)
            for spec in specs:
                expect = features.layer_to_storage(spec, stack[spec.index])
                if spec.name == "unit_type":
                    got = obs[f"{key}_unit_type"][0]
                    assert got.dtype == np.uint16
                    # Raw ids go through the dense vocabulary, never clipped to 255.
                    assert np.array_equal(
                        np.asarray(features.UNIT_TYPE_VOCAB)[got], stack[spec.index]
                    ), spec.name
                else:
                    got = obs[key][0, channels.index(spec)]
                assert np.array_equal(got, expect), f"{key}/{spec.name} at step {step}"
        np.testing.assert_array_equal(obs["player"][0], raw["player"].astype(np.float32))
        assert set(np.flatnonzero(obs["available_actions"][0])) == set(raw["available_actions"])
        assert obs["game_loop"][0, 0] == raw["game_loop"][0] == step * 8
        obs, *_ = env.step(noop(1))
    env.close()


def test_actions_both_ways_through_pysc2_features():
    """encode_action -> env -> FunctionCall -> PySC2 sc_pb.Action -> reverse_action -> same code."""
    env = make_env(env_kwargs={"all_available": True, "length": 100})
    env.reset()
    game = ScriptedEnv.made[0]
    feats = game._features[0]
    rng = np.random.default_rng(0)
    names = [
        "Move_screen", "Attack_minimap", "select_point", "select_rect", "move_camera",
        "select_army", "Stop_quick", "Smart_screen", "select_control_group", "no_op",
    ]  # fmt: skip
    space = env.single_action_space["args"]
    for name in names:
        fn = features.FUNCTION_IDS[name]
        args = rng.integers(0, np.asarray(space.high) + 1)
        args = np.where(features.FUNCTION_ARG_MASK[fn], args, -1)
        if name == "select_rect":  # PySC2 stores a rect as (min corner, max corner)
            args[features.ARG_TYPES.index("screen")] = 3 * SCREEN + 2
            args[features.ARG_TYPES.index("screen2")] = 11 * SCREEN + 9
        env.step({"function": np.array([fn]), "args": args[None]})
        call = game.received[-1][0]
        assert int(call.function) == fn
        assert np.array_equal(features.encode_action(call, SCREEN, MINIMAP)[1], args), name
        sc_action = feats.transform_action(None, call, skip_available=True)
        back = feats.reverse_action(sc_action)
        assert int(back.function) == fn, name
        assert np.array_equal(features.encode_action(back, SCREEN, MINIMAP)[1], args), name
    env.close()


def test_unavailable_action_raises_or_becomes_noop():
    env = make_env()
    obs, _ = env.reset()
    missing = int(np.flatnonzero(obs["available_actions"][0] == 0)[0])
    bad = {"function": np.array([missing]), "args": -np.ones((1, 13), np.int64)}
    with pytest.raises(ValueError, match=features.FUNCTIONS[missing].name):
        env.step(bad)
    env.close()
    env = make_env(action_error="warn")
    env.reset()
    _, _, _, _, info = env.step(bad)
    assert info["invalid_action"][0]
    assert int(ScriptedEnv.made[-1].received[-1][0].function) == 0
    env.close()


def test_two_agents_in_one_game_route_actions_and_rewards():
    env = make_env("Simple64", 4, num_agents=2)
    obs, info = env.reset(seed=1)
    assert len(ScriptedEnv.made) == 2  # a process per game, not per agent
    assert info["game"].tolist() == [0, 0, 1, 1] and info["player"].tolist() == [0, 1, 0, 1]
    assert obs["player"][:, 0].tolist() == [1, 2, 1, 2]  # each slot sees its own player
    players = ScriptedEnv.made[0].kwargs["players"]
    assert [type(p).__name__ for p in players] == ["Agent", "Agent"]
    calls = [
        sc2_actions.FUNCTIONS.no_op(),
        sc2_actions.FUNCTIONS.select_point("select", (3, 4)),
        sc2_actions.FUNCTIONS.move_camera((7, 5)),
        sc2_actions.FUNCTIONS.no_op(),
    ]
    enc = [features.encode_action(c, SCREEN, MINIMAP) for c in calls]
    act = {"function": np.array([f for f, _ in enc]), "args": np.stack([a for _, a in enc])}
    _, reward, *_ = env.step(act)
    game0, game1 = sorted(ScriptedEnv.made, key=lambda g: g.kwargs["random_seed"])
    g0, g1 = game0.received[-1], game1.received[-1]
    assert [int(c.function) for c in g0] == [0, 2] and [int(c.function) for c in g1] == [1, 0]
    assert list(g1[0].arguments[0]) == [7, 5]
    raw = [ts.reward for g in (game0, game1) for ts in g.raw[-1]]
    np.testing.assert_array_equal(reward, np.asarray(raw, np.float32))
    env.close()


def test_melee_vs_bot_players():
    make_env("Simple64", 1, bot_race="zerg", difficulty="hard", bot_build="rush").reset()
    players = ScriptedEnv.made[0].kwargs["players"]
    assert players[0].race[0].name == "random"
    assert players[1].race[0].name == "zerg" and players[1].difficulty.name == "hard"
    with pytest.raises(ValueError, match="difficulty.*very_easy"):
        make_env("Simple64", difficulty="impossible")
    with pytest.raises(ValueError, match="one-player map"):
        make_env("MoveToBeacon", 2, num_agents=2)


def test_full_episode_gymnasium_vector_api_and_autoreset():
    pysc2_env.register_pysc2_envs()
    factory = functools.partial(ScriptedEnv, length=5)
    env = gym.make_vec(
        "sc2agents/PySC2-MoveToBeacon-v0", num_envs=2, vectorization_mode="vector_entry_point",
        screen_size=SCREEN, minimap_size=MINIMAP, env_factory=factory,
    )  # fmt: skip
    assert env.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    obs, _ = env.reset(seed=0)
    returns, steps = np.zeros(2), 0
    while True:
        obs, r, term, trunc, info = env.step(noop(2))
        assert env.observation_space.contains(obs)
        returns += r
        steps += 1
        if term.all():
            break
    assert steps == 5 and not trunc.any() and not info["episode_failed"].any()
    games = sorted(ScriptedEnv.made, key=lambda g: g.kwargs["random_seed"])  # game g: seed + g
    expect = [sum(ts[0].reward for ts in g.raw) for g in games]
    np.testing.assert_allclose(returns, expect)
    n_received = len(ScriptedEnv.made[0].received)
    obs, r, term, trunc, _ = env.step(noop(2))  # NEXT_STEP: this step resets, action ignored
    assert len(ScriptedEnv.made[0].received) == n_received
    assert (r == 0).all() and not term.any() and (obs["game_loop"] == 0).all()
    env.close()
    assert all(g.closed for g in ScriptedEnv.made)


def test_single_env_passes_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    pysc2_env.register_pysc2_envs()
    env = gym.make(
        "sc2agents/PySC2-MoveToBeacon-v0", screen_size=SCREEN, minimap_size=MINIMAP,
        env_factory=functools.partial(ScriptedEnv, all_available=True, length=50),
        action_error="warn",  # check_env steps with random samples of the action space
    )  # fmt: skip
    check_env(env.unwrapped, skip_render_check=True)
    obs, _ = env.reset(seed=1)
    obs, r, term, trunc, info = env.step({"function": 0, "args": -np.ones(13, np.int64)})
    assert obs["screen"].shape == (26, SCREEN, SCREEN) and isinstance(r, float)
    env.close()


def test_time_limit_is_truncation_not_termination():
    env = make_env(env_kwargs={"timeout": True, "length": 3})
    env.reset()
    for _ in range(3):
        _, _, term, trunc, _ = env.step(noop(1))
    assert trunc[0] and not term[0]
    env.close()


def test_crash_mid_episode_reports_failure_and_continues_with_fresh_game():
    made = []

    def factory(**kw):
        # The first game dies on its 3rd step; its replacement behaves.
        env = ScriptedEnv(crash_at_step=3 if not made else None, length=4, **kw)
        made.append(env)
        return env

    env = pysc2_env.PySC2VectorEnv(
        1, "MoveToBeacon", screen_size=SCREEN, minimap_size=MINIMAP, env_factory=factory
    )
    obs, _ = env.reset(seed=5)
    last = None
    for _ in range(2):
        last, r, term, trunc, info = env.step(noop(1))
        assert not info["episode_failed"].any()
    obs, r, term, trunc, info = env.step(noop(1))
    assert info["episode_failed"][0] and trunc[0] and not term[0] and r[0] == 0
    for k in obs:  # the final observation of the failed episode is the last good one
        np.testing.assert_array_equal(obs[k], last[k])
    assert made[0].closed and len(made) == 1 and env.crashes == 1
    obs, r, term, trunc, info = env.step(noop(1))  # fresh game, new episode
    assert len(made) == 2 and obs["game_loop"][0, 0] == 0 and not info["episode_failed"][0]
    for _ in range(4):
        obs, r, term, trunc, info = env.step(noop(1))
    assert term[0] and not info["episode_failed"][0]  # the run went on to a full episode
    env.close()


def test_game_that_never_starts_gives_up_with_clear_error():
    env = make_env(env_kwargs={"fail_start": True}, max_restarts=2)
    with pytest.raises(pysc2_env.SC2GameError, match="failed to start 2 times"):
        env.reset()
    env.close()


def test_replays_saved_per_finished_episode(tmp_path):
    env = make_env(env_kwargs={"length": 2}, save_replay_dir=tmp_path / "replays")
    env.reset()
    for _ in range(5):  # 2 steps, reset, 2 steps
        env.step(noop(1))
    assert len(env.replays) == 2
    assert all(pathlib.Path(p).is_file() and p.endswith(".SC2Replay") for p in env.replays)
    env.close()


def test_play_runs_episodes_with_a_pysc2_agent_and_a_policy(tmp_path):
    class AlwaysNoop:
        def act(self, observations, rng=None):
            fn = np.array([0] * len(observations["available_actions"]))
            return fn, -np.ones((len(fn), 13), np.int64)

    factory = functools.partial(ScriptedEnv, length=3)
    res = pysc2_env.play(map="Simple64", agent=AlwaysNoop(), episodes=2, bot_race="zerg",
                         difficulty="hard", save_replay=str(tmp_path), env_factory=factory,
                         video=None, backend="pysc2")  # fmt: skip
    assert res["episodes"] == 2 and res["steps"] == [3, 3] and len(res["replays"]) == 2
    assert all(pathlib.Path(p).parent == tmp_path for p in res["replays"])
    assert ScriptedEnv.made[0].kwargs["players"][1].difficulty.name == "hard"
    res = pysc2_env.play(map="MoveToBeacon", agent=random_agent.RandomAgent(), episodes=1,
                         env_factory=factory, seed=0)  # fmt: skip
    assert res["steps"] == [3] and res["failed"] == [False]
    got = [int(c[0].function) for c in ScriptedEnv.made[-1].received]
    assert any(f != 0 for f in got)  # the PySC2 agent really chose the actions


@pytest.mark.parametrize("spec", ["random", "pysc2:pysc2_evolved.agents.random_agent.RandomAgent"])
def test_play_agent_specs_as_bin_play_passes_them(spec):
    pytest.importorskip("sc2agents.acting.policy")
    factory = functools.partial(ScriptedEnv, length=4)
    res = pysc2_env.play(map="MoveToBeacon", agent=spec, episodes=1, env_factory=factory, seed=1)
    assert res["steps"] == [4] and res["failed"] == [False]
    assert any(int(c[0].function) != 0 for c in ScriptedEnv.made[-1].received)


def test_play_replay_hands_pysc2s_player_a_valid_call(monkeypatch, tmp_path):
    import inspect

    from pysc2_evolved.bin import play as pysc2_play

    game = tmp_path / "game"
    (game / "Versions" / "Base75689").mkdir(parents=True)
    monkeypatch.setenv("SC2PATH", str(game))
    replay = tmp_path / "x.SC2Replay"
    replay.write_bytes(b"r")
    calls = []
    signature = inspect.signature(pysc2_play.play)
    monkeypatch.setattr(pysc2_play, "play", lambda **kw: calls.append(signature.bind(**kw)))
    res = pysc2_env.play(replay=str(replay), step_mul=4)
    assert res["replays"] == [str(replay)]
    (bound,) = calls
    assert bound.arguments["replay"] == str(replay) and bound.arguments["render"] is True
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pysc2_env.play(replay=str(tmp_path / "missing.SC2Replay"))


# --- errors a user meets without a game ---
def test_sc2path_unset_says_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.delenv("SC2PATH", raising=False)
    monkeypatch.setattr(maps, "default_sc2_path", lambda: tmp_path / "StarCraftII")
    with pytest.raises(maps.SC2NotFoundError) as e:
        pysc2_env.PySC2VectorEnv(map_name="MoveToBeacon")
    msg = str(e.value)
    assert "SC2PATH is not set" in msg and str(tmp_path / "StarCraftII") in msg
    assert "SC2.4.10.zip" in msg and "install_maps" in msg


def test_sc2path_wrong_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "nowhere"))
    with pytest.raises(maps.SC2NotFoundError, match="nowhere, which does not exist"):
        pysc2_env.PySC2VectorEnv(map_name="MoveToBeacon")
    (tmp_path / "game").mkdir()
    monkeypatch.setenv("SC2PATH", str(tmp_path / "game"))
    with pytest.raises(maps.SC2NotFoundError, match="Versions has no Base"):
        pysc2_env.PySC2VectorEnv(map_name="MoveToBeacon")


def test_map_not_installed_lists_where_and_what(monkeypatch, tmp_path):
    (tmp_path / "Versions" / "Base75689").mkdir(parents=True)
    (tmp_path / "Maps" / "Melee").mkdir(parents=True)
    (tmp_path / "Maps" / "Melee" / "Flat64.SC2Map").write_bytes(b"x")
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    with pytest.raises(maps.MapNotFoundError) as e:
        pysc2_env.PySC2VectorEnv(map_name="Simple64")
    msg = str(e.value)
    assert str(tmp_path / "Maps" / "Melee" / "Simple64.SC2Map") in msg
    assert "Melee/Flat64.SC2Map" in msg and "Download it from" in msg
    with pytest.raises(maps.MapNotFoundError, match="install_maps"):
        pysc2_env.PySC2VectorEnv(map_name="MoveToBeacon")  # bundled: the fix is install_maps
    with pytest.raises(maps.MapNotFoundError, match="Known maps: mini-games .*MoveToBeacon"):
        pysc2_env.PySC2VectorEnv(map_name="NoSuchMap")


def test_register_is_lazy_and_make_reports_missing_game(monkeypatch):
    monkeypatch.setenv("SC2PATH", "/definitely/not/here")
    ids = pysc2_env.register_pysc2_envs()
    assert "sc2agents/PySC2-MoveToBeacon-v0" in ids and "sc2agents/PySC2-Simple64-v0" in ids
    assert pysc2_env.register_pysc2_envs() == ids  # idempotent
    with pytest.raises(maps.SC2NotFoundError, match="/definitely/not/here"):
        gym.make("sc2agents/PySC2-Simple64-v0")


def test_spaces_identical_to_simulator():
    vector_env = pytest.importorskip("sc2agents.envs.sim.vector_env")
    env = make_env(num_envs=2)
    # The simulator's own space builders (what SimVectorEnv uses): equal, not just similar.
    assert env.single_observation_space == vector_env.storage_observation_space(SCREEN, MINIMAP)
    assert env.single_action_space == vector_env.action_space(SCREEN, MINIMAP)
    assert env.metadata["autoreset_mode"] == vector_env.SimVectorEnv.metadata["autoreset_mode"]
    obs, _ = env.reset(seed=0)
    for k, space in env.single_observation_space.spaces.items():
        # available_actions is bool in both backends (MultiBinary accepts it; its dtype is int8).
        assert obs[k].dtype == (bool if k == "available_actions" else space.dtype), k
    env.close()
    try:
        sim = vector_env.SimVectorEnv(2, "MoveToBeacon", screen_size=SCREEN, minimap_size=MINIMAP)
    except ImportError:
        return  # the engine has not landed yet: the space builders above are what it uses
    assert sim.single_observation_space == env.single_observation_space
    assert sim.single_action_space == env.single_action_space
    sim.close()


def test_a_policy_built_for_the_simulator_acts_in_the_game_unchanged():
    """One policy object, built from the simulator's spaces, plays both backends without change."""
    vector_env = pytest.importorskip("sc2agents.envs.sim.vector_env")
    bc = pytest.importorskip("sc2agents.learners.bc")
    try:
        sim = vector_env.SimVectorEnv(2, "MoveToBeacon", screen_size=SCREEN, minimap_size=MINIMAP)
    except ImportError:
        pytest.skip("the simulator engine is not available")
    obs_spec = {k: (s.shape, s.dtype) for k, s in sim.single_observation_space.spaces.items()}
    learner = bc.BCLearner(
        bc.BCConfig(), obs_spec, {"screen_size": SCREEN, "minimap_size": MINIMAP}
    )
    policy = learner.policy()
    rng = np.random.default_rng(0)
    obs, _ = sim.reset(seed=0)
    for _ in range(3):  # action_error="raise": every action must be valid in the simulator
        fn, args = policy.act(obs, rng)
        obs, *_ = sim.step({"function": fn, "args": args})
    sim.close()
    env = make_env(num_envs=2, env_kwargs={"length": 4})
    obs, _ = env.reset(seed=0)
    for _ in range(4):  # ... and in the (mock) game, through the same conversion
        fn, args = policy.act(obs, rng)
        obs, r, term, trunc, _ = env.step({"function": fn, "args": args})
        games = sorted(ScriptedEnv.made, key=lambda g: g.kwargs["random_seed"])
        sent = [g.received[-1][0] for g in games]
        for i, call in enumerate(sent):
            assert int(call.function) == fn[i]
            assert np.array_equal(features.encode_action(call, SCREEN, MINIMAP)[1], args[i])
    assert term.all()
    env.close()


def test_play_max_steps_cuts_and_still_saves_the_replay(tmp_path):
    factory = functools.partial(ScriptedEnv, length=50)
    res = pysc2_env.play(map="MoveToBeacon", agent="random", episodes=2, max_steps=5,
                         save_replay=str(tmp_path), env_factory=factory)  # fmt: skip
    assert res["steps"] == [5, 5] and len(res["replays"]) == 2
