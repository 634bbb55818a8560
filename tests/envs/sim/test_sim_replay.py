"""Simulator replays (sim.sim_replay): exact round trip, autoresets, versions, damaged files."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
from pysc2_evolved.env import sc2_env
from pysc2_evolved.lib import actions

from sc2agents.envs import features
from sc2agents.envs.sim import SimSC2Env, sim_replay
from sc2agents.envs.sim.engine import SimEngine

AIF = sc2_env.AgentInterfaceFormat(feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64))
HI = np.array(
    [64 * 64 if n in ("screen", "screen2", "minimap") else features.ARG_TYPE_SIZES[n]
     for n in features.ARG_TYPES]
)  # fmt: skip


def _random_actions(rng, avail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    fn = np.argmax(rng.random(avail.shape) * avail, axis=1)
    args = (rng.random((fn.size, HI.size)) * HI).astype(np.int64)
    args[~features.FUNCTION_ARG_MASK[fn]] = -1
    return fn, args


def test_simsc2env_save_replay_round_trip_bit_for_bit(tmp_path):
    env = SimSC2Env(
        map_name="Simple64",
        players=[
            sc2_env.Agent(sc2_env.Race.terran),
            sc2_env.Bot(sc2_env.Race.terran, sc2_env.Difficulty.medium),
        ],
        agent_interface_format=AIF,
        random_seed=3,
    )
    ts = env.reset()
    rng = np.random.default_rng(0)
    for _ in range(150):
        avail = np.zeros((1, features.NUM_FUNCTIONS), bool)
        avail[0, ts[0].observation.available_actions] = True
        fn, args = _random_actions(rng, avail)
        call = features.decode_action(int(fn[0]), args[0], 64, 64)
        ts = env.step([call])
    path = env.save_replay(str(tmp_path), prefix="melee")
    assert path.endswith(".simreplay") and "melee_" in path
    final = env.engine.state.copy()
    rep = sim_replay.load_replay(path)
    assert rep.num_steps == 150 and rep.map_name == "Simple64"
    assert rep.header["engine"]["bots"] == ["medium"]
    eng = rep.play()
    assert sim_replay.state_digest(eng.state) == sim_replay.state_digest(final)
    for k, v in sim_replay._state_arrays(final).items():
        assert np.array_equal(sim_replay._state_arrays(eng.state)[k], v), k
    env.close()


def test_round_trip_with_autoresets(tmp_path):
    eng = SimEngine("BuildMarines", 3, seed=5, game_steps_per_episode=96, action_error="warn")
    sim_replay.record(eng)
    eng.reset()
    rng = np.random.default_rng(1)
    for t in range(40):
        fn, args = _random_actions(rng, eng.available_mask(0))
        if t == 7:
            fn[1] = features.FUNCTION_IDS["Attack_screen"]  # not available: dropped, recorded
        res = eng.step_encoded(fn[None], args[None])
        if t == 4:
            eng.reset(np.array([1]), seed=11)  # games out of step: later resets are partial
        done = np.flatnonzero(res.terminated | res.truncated)
        if done.size:
            eng.reset(done)
    path = sim_replay.save_replay(eng, tmp_path / "bm.simreplay")
    rep = sim_replay.load_replay(path)
    assert len(rep.header["resets"]) >= 3
    seen = []
    out = rep.play(on_step=lambda e, t: seen.append(t))
    assert seen == list(range(41))
    assert sim_replay.state_digest(out.state) == sim_replay.state_digest(eng.state)


def test_rejected_actions_are_not_recorded(tmp_path):
    eng = SimEngine("BuildMarines", 1, seed=0)
    sim_replay.record(eng)
    eng.reset()
    eng.step([[actions.FUNCTIONS.no_op()]])
    with pytest.raises(ValueError):
        eng.step([[actions.FUNCTIONS.Attack_screen("now", (3, 3))]])
    eng.step([[actions.FUNCTIONS.no_op()]])
    rep = sim_replay.load_replay(sim_replay.save_replay(eng, tmp_path / "r.simreplay"))
    assert rep.num_steps == 2
    rep.play()


def _saved(tmp_path) -> str:
    eng = SimEngine("CollectMineralsAndGas", 1, seed=0)
    sim_replay.record(eng)
    eng.reset()
    for _ in range(5):
        eng.step([[actions.FUNCTIONS.no_op()]])
    return str(sim_replay.save_replay(eng, tmp_path / "c.simreplay"))


def _rewrite_header(path: str, out: str, **changes) -> None:
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    header = json.loads(bytes(arrays["header"]).decode())
    header.update(changes)
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    with open(out, "wb") as f:
        np.savez_compressed(f, **arrays)


def test_other_format_version_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    other = str(tmp_path / "v2.simreplay")
    _rewrite_header(path, other, version=sim_replay.VERSION + 1)
    with pytest.raises(sim_replay.ReplayError, match="version 2 is not supported"):
        sim_replay.load_replay(other)
    _rewrite_header(path, other, format="something-else")
    with pytest.raises(sim_replay.ReplayError, match="not a simulator replay"):
        sim_replay.load_replay(other)


def test_damaged_file_is_a_clear_error(tmp_path):
    path = _saved(tmp_path)
    data = open(path, "rb").read()
    cut = tmp_path / "cut.simreplay"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(sim_replay.ReplayError, match="damaged"):
        sim_replay.load_replay(cut)
    junk = tmp_path / "junk.simreplay"
    junk.write_bytes(b"not a replay at all")
    with pytest.raises(sim_replay.ReplayError, match="damaged|not a simulator"):
        sim_replay.load_replay(junk)
    with pytest.raises(FileNotFoundError):
        sim_replay.load_replay(tmp_path / "missing.simreplay")
    # a replay whose recorded final state does not match (e.g. a changed simulator)
    bad = str(tmp_path / "bad.simreplay")
    _rewrite_header(path, bad, final_digest="0" * 64)
    with pytest.raises(sim_replay.ReplayError, match="final state differs"):
        sim_replay.load_replay(bad).play()
    assert zipfile.is_zipfile(path)


def test_play_replay_writes_a_video(tmp_path):
    path = _saved(tmp_path)
    out = tmp_path / "replay.gif"
    eng = sim_replay.play_replay(path, video=str(out), render_size=64)
    assert out.stat().st_size > 0 and int(eng.state.game_loop[0]) == 5 * 8
