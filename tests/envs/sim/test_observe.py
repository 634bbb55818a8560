"""Observations against PySC2's own spec for the same AgentInterfaceFormat."""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import named_array, point
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs import features
from sc2agents.envs.sim import scenarios, units
from sc2agents.envs.sim.engine import SimEngine
from tests.envs.sim.helpers import F, arena, noop, place, screen_px

MARINE = int(sc2_units.Terran.Marine)
ROACH = int(sc2_units.Zerg.Roach)
# Layers no mini-game uses stay zero, as PySC2 returns them.
UNUSED_SCREEN = (
    "creep",
    "power",
    "effects",
    "hallucinations",
    "cloaked",
    "blip",
    "buffs",
    "buff_duration",
    "active",
    "build_progress",
    "placeholder",
)
UNUSED_MINIMAP = ("creep", "alerts", "unit_type")
MINIGAMES = (
    "MoveToBeacon",
    "CollectMineralShards",
    "FindAndDefeatZerglings",
    "DefeatRoaches",
    "DefeatZerglingsAndBanelings",
)


def _spec(size: int, minimap: int, use_feature_units: bool, map_size=(64, 64)):
    aif = sc2_features.AgentInterfaceFormat(
        feature_dimensions=sc2_features.Dimensions(screen=size, minimap=minimap),
        use_feature_units=use_feature_units,
    )
    return sc2_features.Features(aif, map_size=point.Point(*map_size)).observation_spec()


@pytest.mark.parametrize("size,minimap", [(64, 64), (84, 64), (84, 84), (32, 48)])
@pytest.mark.parametrize("map_name", MINIGAMES)
def test_observation_matches_pysc2_spec(map_name, size, minimap):
    assert map_name in scenarios.SCENARIOS
    eng = SimEngine(
        map_name, 2, screen_size=size, minimap_size=minimap, seed=0, use_feature_units=True
    )
    eng.reset()
    eng.step([[F.select_army("select")] * 2])
    spec = _spec(size, minimap, True, eng.scenario.map_size)
    obs = eng.observe_env(1)
    assert isinstance(obs, named_array.NamedDict)
    assert set(spec) <= set(obs), set(spec) - set(obs)
    for key, shape in spec.items():
        got = np.asarray(obs[key]).shape if key != "map_name" else (0,)
        if key == "map_name":
            assert obs[key] == map_name
            continue
        assert len(got) == len(shape), key
        for g, s in zip(got, shape, strict=True):
            assert s == 0 or g == s, (key, got, shape)
    for key in (
        "feature_screen",
        "feature_minimap",
        "player",
        "game_loop",
        "score_cumulative",
        "available_actions",
        "control_groups",
        "single_select",
        "multi_select",
    ):
        assert np.asarray(obs[key]).dtype == np.int32, key
    assert obs["feature_units"].dtype == np.int64
    # Named access as the stock agents use it.
    assert obs.feature_screen.player_relative.shape == (size, size)
    assert obs.player.army_count == obs["player"][features.PLAYER_FIELDS.index("army_count")]


@pytest.mark.parametrize("size", [64, 84])
@pytest.mark.parametrize("map_name", MINIGAMES)
def test_layer_values_in_range_and_unused_layers_zero(map_name, size):
    eng = SimEngine(map_name, 3, screen_size=size, minimap_size=size, seed=2)
    eng.reset()
    for _ in range(5):
        eng.step([[F.select_army("select")] * 3])
    obs = eng.observe()
    for specs, key, unused in (
        (features.SCREEN_LAYERS, "feature_screen", UNUSED_SCREEN),
        (features.MINIMAP_LAYERS, "feature_minimap", UNUSED_MINIMAP),
    ):
        stack = obs[key]
        assert stack.shape == (3, len(specs), size, size) and stack.dtype == np.int32
        for spec in specs:
            layer = stack[:, spec.index]
            assert layer.min() >= 0, spec.name
            assert layer.max() <= spec.scale - (1 if spec.categorical else 0), spec.name
            if spec.name in unused:
                assert not layer.any(), spec.name
    scr = obs["feature_screen"]
    s = {n: spec.index for n, spec in features.SCREEN.items()}
    units_px = scr[:, s["player_relative"]] > 0
    assert units_px.any()
    # Every unit pixel carries a type, an owner and a density; background carries none.
    assert (scr[:, s["unit_type"]][units_px] > 0).all()
    assert (scr[:, s["player_id"]][units_px] > 0).all()
    assert (scr[:, s["unit_density"]][units_px] >= 1).all()
    assert not scr[:, s["unit_type"]][~units_px].any()
    assert (scr[:, s["unit_density_aa"]][units_px] > 0).all()
    # Static layers: the playable area is pathable.
    assert scr[:, s["pathable"]].any() and scr[:, s["height_map"]].any()


def test_unit_drawn_where_it_stands_with_its_values():
    eng = arena(screen_size=84, minimap_size=64)
    m = place(eng, MARINE, 1, (30.2, 33.7))
    r = place(eng, ROACH, 2, (36.0, 30.0))
    eng.state.health[0, r] = 100.0
    eng.state.selected[0, 0, m] = True
    obs = eng.observe()
    scr = obs["feature_screen"][0]
    s = {n: spec.index for n, spec in features.SCREEN.items()}
    x, y = screen_px(eng, (30.2, 33.7))
    assert scr[s["unit_type"], y, x] == MARINE
    assert scr[s["player_relative"], y, x] == 1 and scr[s["player_id"], y, x] == 1
    assert scr[s["selected"], y, x] == 1
    assert scr[s["unit_hit_points"], y, x] == 45
    assert scr[s["unit_hit_points_ratio"], y, x] == 255
    x, y = screen_px(eng, (36.0, 30.0))
    assert scr[s["unit_type"], y, x] == ROACH
    assert scr[s["player_relative"], y, x] == 4 and scr[s["selected"], y, x] == 0
    assert scr[s["unit_hit_points"], y, x] == 100
    assert scr[s["unit_hit_points_ratio"], y, x] == int(100 / 145 * 255)
    # Size on screen: a disc of the unit's radius (84 px for 24 cells).
    px_per_cell = 84 / 24
    area = (scr[s["unit_type"]] == ROACH).sum()
    r_px = units.BY_NAME["Roach"].radius * px_per_cell
    assert 0.6 * np.pi * r_px**2 <= area <= 1.6 * np.pi * r_px**2
    # Minimap: whole 64x64 map, 1 pixel per cell.
    mm = obs["feature_minimap"][0]
    mi = {n: spec.index for n, spec in features.MINIMAP.items()}
    assert mm[mi["player_relative"], 33, 30] == 1 and mm[mi["selected"], 33, 30] == 1
    assert mm[mi["player_relative"], 30, 36] == 4
    cam = mm[mi["camera"]]
    ys, xs = np.nonzero(cam)
    assert (xs.min(), xs.max() + 1, ys.min(), ys.max() + 1) == (20, 44, 20, 44)


def test_units_move_and_old_pixels_are_cleared():
    eng = arena()
    m = place(eng, MARINE, 1, (25.0, 32.0))
    s = features.SCREEN["unit_type"].index
    before = eng.observe()["feature_screen"][0, s].copy()
    eng.state.pos[0, m] = (38.0, 27.0)
    eng._invalidate()
    after = eng.observe()["feature_screen"][0, s]
    assert before.sum() == after.sum() > 0  # same footprint, moved
    assert not (before & after).any()
    eng.state.alive[0, m] = False
    eng._invalidate()
    assert (
        not eng.observe()["feature_screen"][0, :]
        .any(axis=0)[eng.observe()["feature_screen"][0, features.SCREEN["pathable"].index] == 0]
        .any()
    )
    assert not eng.observe()["feature_screen"][0, s].any()


def test_batched_and_single_game_observations_agree():
    eng = SimEngine("DefeatRoaches", 3, seed=5, use_feature_units=True)
    eng.reset()
    noop(eng, 3)
    batch = eng.observe()
    for e in range(3):
        one = eng.observe_env(e)
        np.testing.assert_array_equal(one["feature_screen"], batch["feature_screen"][e])
        np.testing.assert_array_equal(one["feature_minimap"], batch["feature_minimap"][e])
        np.testing.assert_array_equal(one["player"], batch["player"][e])
        assert set(one["available_actions"]) == set(np.flatnonzero(batch["available_actions"][e]))
        fu = one["feature_units"]
        assert (fu[:, features.FEATURE_UNIT_FIELDS.index("alliance")] == 1).sum() == 9
        assert (fu[:, features.FEATURE_UNIT_FIELDS.index("unit_type")] == ROACH).sum() == 4
    assert len(one["multi_select"]) == 9 and len(one["single_select"]) == 0  # preselected


def test_structured_observations():
    eng = SimEngine("CollectMineralShards", 1, seed=0)
    eng.reset()
    obs = eng.observe_env(0)
    p = dict(zip(features.PLAYER_FIELDS, obs["player"].tolist(), strict=True))
    assert p["player_id"] == 1 and p["army_count"] == 2 and p["food_used"] == 2
    assert obs["game_loop"].tolist() == [0]
    eng.step([[F.select_army("select")]])
    obs = eng.observe_env(0)
    assert obs["last_actions"].tolist() == [F.select_army.id]
    assert obs["multi_select"].shape == (2, 7) and (obs["multi_select"][:, 0] == MARINE).all()
    assert obs["game_loop"].tolist() == [8]
    eng.step([[F.select_control_group("set", 3)]])
    obs = eng.observe_env(0)
    assert obs["control_groups"][3].tolist() == [MARINE, 2]
    assert (
        obs["score_cumulative"][features.SCORE_CUMULATIVE_FIELDS.index("total_value_units")] == 100
    )


def test_fog_hides_enemies_and_camera_moves_the_screen():
    eng = SimEngine("FindAndDefeatZerglings", 1, seed=4)
    eng.reset()
    st = eng.state
    rel_mm = features.MINIMAP["player_relative"].index
    obs = eng.observe()
    seen = (obs["feature_minimap"][0, rel_mm] == 4).sum()
    zs = np.flatnonzero(st.alive[0] & (st.owner[0] == 2))
    assert 0 < seen < zs.size  # a few zerglings in sight, most in the fog
    vis = features.SCREEN["visibility_map"].index
    assert (obs["feature_screen"][0, vis] == 2).any() and (obs["feature_screen"][0, vis] == 0).any()
    nofog = SimEngine("FindAndDefeatZerglings", 1, seed=4, disable_fog=True)
    nofog.reset()
    mm = nofog.observe()["feature_minimap"][0, rel_mm]
    assert (mm == 4).sum() > seen
    # Moving the camera to a corner of the minimap shows another part of the map.
    before = obs["feature_screen"][0, vis].copy()
    eng.step([[F.move_camera([5, 5])]])
    cam = st.camera[0, 0]
    assert np.allclose(cam, eng.camera_bounds()[:2])
    after = eng.observe()["feature_screen"][0, vis]
    assert (after == 0).mean() > (before == 0).mean()  # the corner is mostly unexplored
