"""The numba observation kernels give the numpy reference's values on random states.

`test_dynamics_jit` compares whole games on both paths; here the states are drawn at random
(owners, deaths, orders, unit types of every race, economy counters), so that every branch of the
kernels is reached: ``player`` (`observe.player_vector`), ``total_value_units`` and
``killed_value_units`` (`SimEngine._total_value` / `_killed_value`).
"""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.envs import features
from sc2agents.envs.sim import dynamics, observe, observe_jit, units
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.state import NEUTRAL
from tests.envs.sim.helpers import Arena

needs_numba = pytest.mark.skipif(not observe_jit.AVAILABLE, reason="numba is not installed")


def _randomise(eng: SimEngine, rng: np.random.Generator) -> None:
    """Random unit types, owners (players, neutral, empty), deaths and orders in every slot."""
    st = eng.state
    shape = st.alive.shape
    st.type_idx[...] = rng.integers(0, units.TABLE.value.size, shape)
    st.owner[...] = rng.choice(np.array([0, 1, 2, NEUTRAL], np.int8), shape)
    st.alive[...] = rng.random(shape) < 0.7
    st.order[...] = rng.integers(0, 3, shape)
    for key in ("minerals", "vespene", "food_cap"):
        if key in st.extra:
            st.extra[key][...] = rng.integers(0, 500, st.extra[key].shape)
    if "food_queued" in st.extra:
        st.extra["food_queued"][...] = rng.integers(0, 9, st.extra["food_queued"].shape) / 2


@needs_numba
@pytest.mark.parametrize("map_name", ["DefeatRoaches", "CollectMineralsAndGas", "Simple64"])
def test_player_vector_and_unit_values_match_numpy(map_name, path):
    eng = SimEngine(map_name, num_envs=12, seed=1)
    eng.reset()
    rng = np.random.default_rng(4)
    st = eng.state
    for _ in range(10):
        _randomise(eng, rng)
        st.score_cumulative[...] = rng.integers(0, 1000, st.score_cumulative.shape)
        ids = np.sort(rng.choice(eng.num_envs, 5, replace=False))
        died = rng.random((eng.num_envs, st.mobile_slots)) < 0.3
        got = {}
        for jit in (False, True):
            dynamics.set_jit(jit)
            players = [observe.player_vector(st, p) for p in range(st.num_players)]
            before = st.score_cumulative.copy()
            eng._total_value(ids)
            subset = st.score_cumulative.copy()
            eng._total_value()
            every = st.score_cumulative.copy()
            eng._killed_value(dynamics.Events(died=died, k=died.shape[1]))
            got[jit] = (players, subset, every, st.score_cumulative.copy())
            st.score_cumulative[...] = before
        names = ("player", "subset", "all", "killed")
        for name, ref, new in zip(names, got[False], got[True], strict=True):
            np.testing.assert_array_equal(np.asarray(ref), np.asarray(new), err_msg=name)
        # The draws reach the kernels' branches: armies, kills and (economy) workers and extras.
        players = np.asarray(got[True][0])
        assert players[..., features.PLAYER_FIELDS.index("army_count")].any()
        assert (got[True][3] != got[True][2]).any()
        if map_name == "CollectMineralsAndGas":
            assert players[..., features.PLAYER_FIELDS.index("idle_worker_count")].any()
            assert players[..., features.PLAYER_FIELDS.index("food_cap")].any()


@needs_numba
def test_half_supply_units_round_up_on_both_paths(path):
    # Zerglings cost half a supply: three of them use 2 (ceil 1.5), as in PySC2.
    eng = SimEngine("DefeatZerglingsAndBanelings", num_envs=1, seed=0)
    eng.reset()
    st = eng.state
    zergling = units.type_index(units.BY_NAME["Zergling"].raw_id)
    st.alive[0] = False
    st.alive[0, :3] = True
    st.owner[0, :3] = 1
    st.type_idx[0, :3] = zergling
    food = features.PLAYER_FIELDS.index("food_army")
    for jit in (False, True):
        dynamics.set_jit(jit)
        assert observe.player_vector(st, 0)[0, food] == 2


@needs_numba
@pytest.mark.parametrize(
    "map_name, minimap",
    [("FindAndDefeatZerglings", 64), ("FindAndDefeatZerglings", 48), ("Simple64", 64),
     ("DefeatRoaches", 64), ("wide", 64)],
)  # fmt: skip
def test_visible_units_and_fog_layers_match_numpy(map_name, minimap, path):
    # Random visibility, owners and positions (some off the map, some negative): the visible
    # units, then the storage layers (terrain under moved cameras, fog) on both paths, with one
    # minimap pixel per map cell or not, and a map wider than high (minimap rows off the map).
    scenario = (
        Arena(map_size=(48, 30), playable=(2.0, 2.0, 46.0, 28.0), fog=True, max_units=24)
        if map_name == "wide"
        else map_name
    )
    eng = SimEngine(scenario, num_envs=6, seed=2, minimap_size=minimap)
    eng.reset()
    st = eng.state
    w, h = eng.map_size
    rng = np.random.default_rng(9)
    lo, hi = eng.camera_bounds()[:2], eng.camera_bounds()[2:]
    seen = 0
    for _ in range(8):
        _randomise(eng, rng)
        st.pos[...] = rng.uniform(-3, max(w, h) + 3, st.pos.shape).astype(np.float32)
        st.visibility[...] = rng.integers(0, 3, st.visibility.shape)
        # Inside the camera bounds, or anywhere (the screen then reaches off the map).
        cam = rng.uniform(lo, hi, (eng.num_envs, 2))
        cam[::2] = rng.uniform(-5, max(w, h) + 5, (len(cam[::2]), 2))
        st.camera[0] = cam.astype(np.float32)
        got = []
        for jit in (False, True):
            dynamics.set_jit(jit)
            eng._invalidate()
            ob = eng.observers[0]
            b = ob.storage
            if b is not None:  # both paths draw every static layer again, over junk
                b.drawn_camera[:] = np.nan
                b.screen[:, observe._TERRAIN_CHANS] = 77
                b.minimap[:, observe._MC["camera"]] = 77
                if eng.fog:  # (without fog the visibility layers are drawn once)
                    b.screen[:, observe._SC["visibility_map"]] = 77
                    b.minimap[:, observe._MC["visibility_map"]] = 77
            got.append(
                (ob.visible_units(st), {k: v.copy() for k, v in eng.observe_storage().items()})
            )
        np.testing.assert_array_equal(got[0][0], got[1][0])
        for key, ref in got[0][1].items():
            np.testing.assert_array_equal(ref, got[1][1][key], err_msg=key)
        seen += int((got[1][0] != st.alive).sum())
    if eng.fog:
        assert seen > 0  # the fog hid some units
