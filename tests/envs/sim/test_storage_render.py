"""The storage-form render path (`SimEngine.observe_storage`) against the reference conversion.

Every game's storage observation must equal ``features.observation_to_storage(observe_env(i))``
(the int32 PySC2 layers converted by the feature table) on every registered scenario, over many
random steps: deaths, respawns, selection changes, camera moves and episode resets included.
"""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs import features
from sc2agents.envs.sim import SCENARIOS, observe
from sc2agents.envs.sim.engine import SimEngine
from tests.envs.sim.helpers import F, arena, place

_KEYS = ("minimap", "minimap_unit_type", "screen", "screen_unit_type", "player")


def _random_actions(eng: SimEngine, rng: np.random.Generator, p_camera: float = 0.15):
    """A random available function per game with random in-range arguments (encoded)."""
    avail = eng.available_mask(0)
    fn = np.argmax(rng.random(avail.shape) * avail, axis=1)
    # Move the camera now and then (an available function on every map).
    cam = rng.random(fn.size) < p_camera
    fn[cam & avail[:, features.FUNCTION_IDS["move_camera"]]] = features.FUNCTION_IDS["move_camera"]
    hi = np.array(
        [
            eng.minimap_size**2
            if n == "minimap"
            else eng.screen_size**2
            if n in features.SPATIAL_ARG_TYPES
            else features.ARG_TYPE_SIZES[n]
            for n in features.ARG_TYPES
        ]
    )
    args = (rng.random((fn.size, hi.size)) * hi).astype(np.int64)
    args[~features.FUNCTION_ARG_MASK[fn]] = -1
    return fn[None], args[None]


def _assert_equal(eng: SimEngine, where: str, player: int = 0) -> None:
    got = eng.observe_storage(player)
    assert got["screen"].dtype == np.uint8 and got["screen_unit_type"].dtype == np.uint16
    for i in range(eng.num_envs):
        want = features.observation_to_storage(eng.observe_env(i, player))
        for key in _KEYS:
            g, w = got[key][i], want[key]
            if not np.array_equal(g, w):
                bad = np.argwhere(g != w)
                chan = ""
                if key in ("screen", "minimap") and bad.size:
                    specs = features.storage_channels(
                        features.SCREEN_LAYERS if key == "screen" else features.MINIMAP_LAYERS
                    )
                    chan = f" channels {sorted({specs[c].name for c in bad[:, 0]})}"
                pytest.fail(f"{where}: game {i} {key} differs at {len(bad)} pixels{chan}")
        assert np.array_equal(got["available_actions"][i], want["available_actions"]), where
        assert got["game_loop"][i, 0] == eng.state.game_loop[i]


def _play(eng: SimEngine, steps: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    seen = {"deaths": 0, "resets": 0, "camera_moves": 0, "selection_changes": 0}
    _assert_equal(eng, "after reset")
    for t in range(steps):
        alive, sel = eng.state.alive.copy(), eng.state.selected[0].copy()
        cam = eng.state.camera[0].copy()
        fn, args = _random_actions(eng, rng)
        res = eng.step_encoded(fn, args)
        seen["deaths"] += int((alive & ~eng.state.alive).sum())
        seen["camera_moves"] += int((cam != eng.state.camera[0]).any(axis=1).sum())
        seen["selection_changes"] += int((sel != eng.state.selected[0]).any(axis=1).sum())
        done = np.flatnonzero(res.terminated | res.truncated)
        if done.size:
            eng.reset(done)
            seen["resets"] += done.size
        if t % 3 != 2:  # skipping renders must not leave stale pixels behind
            _assert_equal(eng, f"{eng.scenario.name} step {t}")
    _assert_equal(eng, f"{eng.scenario.name} end")
    return seen


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_storage_equals_reference_conversion(name):
    eng = SimEngine(
        name, 3, seed=1, action_error="warn", game_steps_per_episode=22 * 8 * 10, step_mul=8
    )
    eng.reset()
    seen = _play(eng, 40, seed=2)
    assert seen["camera_moves"] + seen["selection_changes"] > 0, seen


def test_storage_sees_deaths_respawns_and_episode_resets():
    # DefeatRoaches: marines and roaches die, roaches respawn, short episodes reset.
    eng = SimEngine("DefeatRoaches", 4, seed=3, action_error="warn", game_steps_per_episode=600)
    eng.reset()
    seen = _play(eng, 70, seed=4)
    assert seen["deaths"] > 0 and seen["resets"] > 0, seen


@pytest.mark.parametrize(
    "kw",
    [
        {"screen_size": 84, "minimap_size": 64},
        {"screen_size": 32, "minimap_size": 48, "allow_cheating_layers": True},
        {"disable_fog": True},
    ],
)
def test_storage_other_resolutions_fog_and_cheat_layers(kw):
    eng = SimEngine("FindAndDefeatZerglings", 2, seed=5, action_error="warn", **kw)
    eng.reset()
    _play(eng, 20, seed=6)
    if kw.get("allow_cheating_layers"):
        assert eng.observe_storage()["minimap_unit_type"].any()


def test_storage_shields_energy_and_log_quantised_values():
    eng = arena(2)
    zealot = place(eng, int(sc2_units.Protoss.Zealot), 1, (30.0, 30.0))
    marine = place(eng, int(sc2_units.Terran.Marine), 2, (33.0, 31.0), env=1)
    eng.state.shield[0, zealot] = 37.4
    eng.state.energy[1, marine] = 123.0
    eng.state.health[0, zealot] = 99.2
    eng._invalidate()
    _assert_equal(eng, "shields/energy")
    got = eng.observe_storage()
    spec = features.SCREEN["unit_shields"]
    assert spec.log_quantised and got["screen"][0, observe._SC["unit_shields"]].max() > 0
    assert got["screen"][1, observe._SC["unit_energy"]].max() > 0
    # Units leave the picture: their pixels are cleared in every layer.
    eng.state.kill(eng.state.alive.copy())
    eng._invalidate()
    _assert_equal(eng, "all dead")
    got = eng.observe_storage()
    assert not got["screen_unit_type"].any()
    for name in ("player_id", "unit_hit_points", "unit_density", "selected"):
        assert not got["screen"][:, observe._SC[name]].any(), name


def test_storage_energy_ratio_with_an_energy_max_table():
    # A scenario that keeps ``energy_max`` (st.extra) gets the energy ratio layer too.
    eng = arena(2)
    a = place(eng, int(sc2_units.Terran.Marine), 1, (30.0, 30.0))
    b = place(eng, int(sc2_units.Terran.Marine), 2, (31.5, 30.5), env=1)
    eng.state.extra["energy_max"] = np.full(eng.state.alive.shape, 200.0, np.float32)
    eng.state.energy[0, a] = 50.0
    eng.state.energy[1, b] = 199.0
    eng._invalidate()
    _assert_equal(eng, "energy ratio")
    got = eng.observe_storage()["screen"]
    assert got[:, observe._SC["unit_energy_ratio"]].max(axis=(1, 2)).tolist() == [63, 253]
    eng.state.energy[...] = 0  # the layers drawn change: the ratio pixels are cleared
    eng._invalidate()
    _assert_equal(eng, "no energy")
    assert not eng.observe_storage()["screen"][:, observe._SC["unit_energy_ratio"]].any()


@pytest.mark.parametrize("direct", [True, False])
def test_storage_density_of_a_crowd_saturates_like_the_reference(direct, monkeypatch):
    # Sixteen marines on one point: 16 units per pixel, coverage 16 * 16 = 256 clipped to 255;
    # then the crowd spreads (the counts fall) and moves away (no stale pixels). The numba render
    # counts in the layers (identity tables) or, for other tables, in its scratch array.
    monkeypatch.setattr(observe, "_DENSITY_DIRECT", direct)
    eng = arena(1)
    for i in range(eng.scenario.max_units):
        place(eng, int(sc2_units.Terran.Marine), 1 + i % 2, (30.0, 30.0))
    _assert_equal(eng, "crowd")
    got = eng.observe_storage()["screen"][0]
    assert got[observe._SC["unit_density"]].max() == 16
    assert got[observe._SC["unit_density_aa"]].max() == 255
    st = eng.state
    for shift in (0.3, 7.0):
        st.pos[0, :, 0] += shift * np.arange(st.max_units) / st.max_units
        eng._invalidate()
        _assert_equal(eng, f"crowd spread by {shift}")
    assert eng.observe_storage()["screen"][0, observe._SC["unit_density"]].max() < 16


def test_storage_is_independent_of_the_int32_render():
    # Only the storage form is rendered for many steps, then both must still agree.
    eng = SimEngine("CollectMineralShards", 2, seed=7, action_error="warn")
    eng.reset()
    rng = np.random.default_rng(8)
    for _ in range(15):
        eng.step_encoded(*_random_actions(eng, rng))
        eng.observe_storage()
    _assert_equal(eng, "storage-only steps")
    view = eng.observe_storage()["screen"]
    assert not view.flags.writeable
    eng.step([[F.no_op()] * 2])
    _assert_equal(eng, "after FunctionCall step")


def test_storage_lut_matches_layer_to_storage_everywhere():
    for spec in (*features.SCREEN_LAYERS, *features.MINIMAP_LAYERS):
        if spec.name in ("unit_type", "buffs"):
            continue
        lut = observe._storage_lut(spec)
        x = np.arange(-5, 3 * spec.scale + 300)
        want = features.layer_to_storage(spec, x)
        assert np.array_equal(np.take(lut, x, mode="clip"), want), spec.name
    raw = np.array([-1, 0, *features.UNIT_TYPE_VOCAB[1:50], 10**6])
    assert np.array_equal(
        np.take(observe._UNIT_LUT, raw, mode="clip"), features.unit_type_index(raw)
    )


def test_vector_env_copy_and_views_agree_with_reference():
    from sc2agents.envs.sim.vector_env import SimVectorEnv

    envs = [SimVectorEnv(3, "DefeatRoaches", seed=0, copy=c, action_error="warn") for c in (1, 0)]
    obs = [e.reset(seed=0)[0] for e in envs]
    rng = np.random.default_rng(0)
    kept = []
    for t in range(12):
        fn, args = _random_actions(envs[0].engine, rng)
        obs = [e.step({"function": fn[0], "args": args[0]})[0] for e in envs]
        for key, v in obs[0].items():
            np.testing.assert_array_equal(v, obs[1][key], err_msg=key)
        assert not obs[1]["screen"].flags.writeable
        kept.append({k: v.copy() for k, v in obs[0].items()})
        if t == 0:
            first = obs[0]
    # The vector env never renders (nor allocates) the int32 PySC2 layers.
    assert all(e.engine.observers[0]._int32 is None for e in envs)
    # copy=True arrays are the caller's: later steps do not change them.
    for key, v in first.items():
        np.testing.assert_array_equal(v, kept[0][key], err_msg=key)
    for i in range(3):
        ref = features.observation_to_storage(envs[0].engine.observe_env(i))
        for key, v in ref.items():
            np.testing.assert_array_equal(obs[0][key][i], v, err_msg=key)


def test_storage_two_agents_each_player_sees_its_own_view():
    eng = SimEngine("Simple64", 2, num_players=2, seed=0, action_error="warn")
    eng.reset()
    rng = np.random.default_rng(1)
    for t in range(12):
        per_player = []
        for p in range(2):
            avail = eng.available_mask(p)
            fn = np.argmax(rng.random(avail.shape) * avail, axis=1)
            hi = np.array(
                [
                    eng.screen_size**2 if n in features.SPATIAL_ARG_TYPES else
                    features.ARG_TYPE_SIZES[n]
                    for n in features.ARG_TYPES
                ]
            )  # fmt: skip
            args = (rng.random((2, hi.size)) * hi).astype(np.int64)
            args[~features.FUNCTION_ARG_MASK[fn]] = -1
            per_player.append((fn, args))
        eng.step_encoded(np.stack([f for f, _ in per_player]), np.stack([a for _, a in per_player]))
        for p in (1, 0):
            _assert_equal(eng, f"Simple64 two agents step {t} player {p}", player=p)
    a, b = eng.observe_storage(0), eng.observe_storage(1)
    assert not np.array_equal(a["screen"], b["screen"])  # two different points of view
