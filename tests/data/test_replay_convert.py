"""Conversion invariants of `replay_convert.convert_replay` on the checked-in replay fixtures."""

from __future__ import annotations

import functools
import math
import pathlib

import numpy as np
import pytest

from sc2agents.data import replay_convert as rc
from sc2agents.data import replay_decode as rd
from sc2agents.envs import features

REPLAYS = pathlib.Path(__file__).resolve().parents[2] / "replays"
TVP = REPLAYS / "lotv_5_0_14_TvP_torches_kokr_21.SC2Replay"  # 4037 loops, Protoss wins
ZVP = REPLAYS / "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay"  # 2654 loops, Protoss wins
PVT = REPLAYS / "lotv_5_0_14_PvT_pylon_17.SC2Replay"  # 8950 loops, Terran wins
CH = {s.name: i for i, s in enumerate(features.storage_channels(features.MINIMAP_LAYERS))}


@functools.cache
def _convert(path: pathlib.Path, **kw) -> list:
    return rc.convert_replay(path, rc.ConvertConfig(**kw))


@functools.cache
def _decode(path: pathlib.Path) -> rd.DecodedReplay:
    return rd.decode_replay(path)


@pytest.mark.parametrize("path", [TVP, ZVP])
def test_two_points_of_view_with_the_right_length_and_end(path):
    eps = _convert(path)
    rep = _decode(path)
    assert [ep.info["player"] for ep in eps] == [1, 2]
    T = math.ceil(rep.game_loops / 8)
    for ep, p in zip(eps, rep.players, strict=True):
        assert ep.num_steps == T
        for k, v in ep.observations.items():
            assert v.shape[0] == T + 1, k
        assert ep.observations["minimap"].shape == (T + 1, len(CH), 64, 64)
        assert ep.observations["minimap"].dtype == np.uint8
        assert ep.observations["minimap_unit_type"].dtype == np.uint16
        assert ep.observations["unit_counts"].shape == (T + 1, len(features.UNIT_TYPE_VOCAB))
        assert ep.observations["player"].shape == (T + 1, len(features.PLAYER_FIELDS))
        assert ep.terminated and not ep.truncated and ep.info["end"] == "terminal"
        assert ep.rewards[-1] == {"Win": 1.0, "Loss": -1.0}[p.result]
        assert not ep.rewards[:-1].any()
        assert ep.info["race"] == p.race and ep.info["build"] == rep.build
        ep.validate()
    assert sorted(ep.rewards[-1] for ep in eps) == [-1.0, 1.0]


def test_step_mul_changes_length():
    rep = _decode(ZVP)
    eps = _convert(ZVP, step_mul=16)
    assert eps[0].num_steps == math.ceil(rep.game_loops / 16)


def test_time_limit_is_a_truncation_not_a_terminal():
    eps = _convert(TVP, max_game_loops=800)
    for ep in eps:
        assert ep.num_steps == 100
        assert ep.truncated and not ep.terminated and ep.info["end"] == "time_limit"
        assert not ep.rewards.any()


def test_actions_are_valid_function_calls():
    for ep in _convert(TVP) + _convert(PVT):
        fn = ep.actions["function"].astype(np.int64)
        args = ep.actions["args"]
        assert fn.min() >= 0 and fn.max() < features.NUM_FUNCTIONS
        mask = features.FUNCTION_ARG_MASK[fn]
        assert np.all((args >= 0) == mask), "exactly the arguments each function takes"
        for t, name in enumerate(features.ARG_TYPES):
            used = args[:, t][mask[:, t]]
            size = 64 * 64 if name in features.SPATIAL_ARG_TYPES else features.ARG_TYPE_SIZES[name]
            assert used.size == 0 or (used.min() >= 0 and used.max() < size), name
        for t in np.flatnonzero(fn)[:300]:  # round-trips through PySC2's FunctionCall
            call = features.decode_action(int(fn[t]), args[t], 64, 64)
            assert features.encode_action(call, 64, 64)[0] == fn[t]
        # A human plays: a good share of steps carry an action, of several kinds.
        assert (fn != 0).mean() > 0.3
        names = {features.FUNCTIONS[int(f)].name for f in np.unique(fn)}
        assert {"no_op", "move_camera", "select_control_group"} <= names
        assert any(n.startswith(("Smart_", "Attack_")) for n in names)
        stats = ep.info["action_stats"]
        assert stats["commands_mapped"] >= 0.9 * stats["commands"]


def test_abilities_map_to_pysc2_functions():
    f = features.FUNCTION_IDS
    assert rc.ability_to_function("TrainSCV") == {"quick": f["Train_SCV_quick"]}
    assert rc.ability_to_function("Attack") == {
        "screen": f["Attack_screen"],
        "minimap": f["Attack_minimap"],
    }
    assert rc.ability_to_function("RightClick")["screen"] == f["Smart_screen"]
    assert rc.ability_to_function("BuildPylon") == {"screen": f["Build_Pylon_screen"]}
    assert rc.ability_to_function("MorphDrone") == {"quick": f["Train_Drone_quick"]}
    assert rc.ability_to_function("TrainStalker", "WarpGateTrain") == {
        "screen": f["TrainWarp_Stalker_screen"]
    }
    assert rc.ability_to_function("TrainStalker", "GatewayTrain") == {
        "quick": f["Train_Stalker_quick"]
    }
    assert rc.ability_to_function("ChronoBoostEnergyCost") == {
        "screen": f["Effect_ChronoBoostEnergyCost_screen"]
    }
    research = rc.ability_to_function("UpgradeTerranInfantryWeapons1")
    assert research == {"quick": f["Research_TerranInfantryWeapons_quick"]}
    assert rc.ability_to_function("NoSuchAbilityXYZ") == {}


def test_stableid_table_gives_exact_ids_when_present(tmp_path, monkeypatch):
    import json

    monkeypatch.delenv("SC2PATH", raising=False)
    monkeypatch.delenv("SC2AGENTS_STABLEID", raising=False)
    f = features.FUNCTION_IDS
    sid = tmp_path / "stableid.json"
    # Deliberately "wrong" on purpose: proves the table, not the name, decides.
    abilities = [{"id": 560, "name": "BarracksTrain", "index": 0},  # Train_Marine
                 {"id": 524, "name": "BarracksTrain", "index": 3}]  # Train_SCV  # fmt: skip
    sid.write_text(json.dumps({"Abilities": abilities}))
    got = rc.ability_to_function("TrainMarauder", "BarracksTrain", True, 3, str(sid))
    assert got == {"quick": f["Train_SCV_quick"]}
    # Not in the table: falls back to the names.
    got = rc.ability_to_function("TrainMarauder", "BarracksTrain", True, 1, str(sid))
    assert got == {"quick": f["Train_Marauder_quick"]}
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(ValueError, match="bad.json"):
        rc.ability_to_function("TrainMarine", "BarracksTrain", True, 0, str(bad))


def test_5_0_14_chrono_boost_reaches_the_action_labels():
    """The 5.0.12-14 ability-table fix flows into the PySC2 labels of the Protoss player."""
    eps = _convert(PVT)
    protoss = next(ep for ep in eps if ep.info["race"] == "Protoss")
    chrono = features.FUNCTION_IDS["Effect_ChronoBoostEnergyCost_screen"]
    assert (protoss.actions["function"] == chrono).sum() >= 3


def test_points_of_view_mirror_each_other_without_fog():
    a, b = _convert(TVP, fog="none")
    pa = a.observations["minimap"][:, CH["player_relative"]]
    pb = b.observations["minimap"][:, CH["player_relative"]]
    assert np.array_equal(pa == 1, pb == 4) and np.array_equal(pa == 4, pb == 1)
    assert np.array_equal(pa == 3, pb == 3)
    assert np.array_equal(a.observations["minimap_unit_type"], b.observations["minimap_unit_type"])
    ida = a.observations["minimap"][:, CH["player_id"]]
    assert set(np.unique(ida).tolist()) == {0, 1, 2, 16}
    assert ((pa == 1) == (ida == 1)).all()


def test_fog_approx_hides_distant_enemies_only():
    fog = _convert(TVP)[0]
    full = _convert(TVP, fog="none")[0]
    pf = fog.observations["minimap"][:, CH["player_relative"]]
    pn = full.observations["minimap"][:, CH["player_relative"]]
    assert fog.info["fog"] == "approx" and full.info["fog"] == "none"
    assert np.array_equal(pf == 1, pn == 1)  # own units unchanged
    assert np.array_equal(pf == 3, pn == 3) or ((pf == 3) >= (pn == 3)).all()
    hidden = (pn == 4) & (pf != 4)
    assert hidden.any() and not ((pf == 4) & (pn != 4)).any()
    assert not fog.observations["minimap_unit_type"][hidden].any()  # types hidden too
    assert (full.observations["minimap_unit_type"][hidden] > 0).all()
    # The enemy main at game start is far away: hidden at step 0, visible without fog.
    assert (pn[0] == 4).any() and not (pf[0] == 4).any()


def test_absent_layers_are_zero_and_documented():
    ep = _convert(ZVP)[0]
    mm = ep.observations["minimap"]
    assert set(ep.info["absent_layers"]) == set(rc.ABSENT_LAYERS)
    for name in rc.ABSENT_LAYERS:
        assert not mm[:, CH[name]].any(), name
    for name in ("player_relative", "player_id", "camera", "selected"):
        assert mm[:, CH[name]].any(), name
    # The camera is a rectangle in every frame.
    cam = mm[:, CH["camera"]].astype(bool)
    assert cam.reshape(len(cam), -1).any(1).all()


def test_start_of_game_units_and_player_vector():
    rep = _decode(TVP)
    for ep, p in zip(_convert(TVP), rep.players, strict=True):
        counts = ep.observations["unit_counts"]
        worker = {"Terran": "SCV", "Protoss": "Probe", "Zerg": "Drone"}[p.race]
        from pysc2_evolved.lib import units

        race_units = {"Terran": units.Terran, "Protoss": units.Protoss, "Zerg": units.Zerg}[p.race]
        dense = int(features.unit_type_index(int(getattr(race_units, worker))))
        assert counts[0, dense] == 12  # LotV starts with 12 workers
        assert counts[0].sum() == 13  # + the town hall
        assert counts[-1, dense] > 12  # workers were built
        pv = ep.observations["player"]
        pf = {n: i for i, n in enumerate(features.PLAYER_FIELDS)}
        assert (pv[:, pf["player_id"]] == p.player_id).all()
        assert pv[1, pf["food_used"]] == 12 and pv[1, pf["food_cap"]] == 15
        assert pv[1, pf["minerals"]] == 50
        assert pv[-1, pf["food_used"]] > 12
        # Own unit pixels at step 0 sit where this player's units are.
        mine = ep.observations["minimap"][0, CH["player_relative"]] == 1
        assert 1 <= mine.sum() <= 20


def test_vs_ai_rejected_by_default_and_accepted_on_request():
    path = REPLAYS / "lotv_5_0_13_ZvP_fieldsofdeath_vsai_23.SC2Replay"
    with pytest.raises(rd.ReplayError, match="built-in AI"):
        rc.convert_replay(path)
    eps = rc.convert_replay(path, rc.ConvertConfig(include_vs_ai=True))
    assert len(eps) == 2 and {ep.info["is_human"] for ep in eps} == {True, False}


def test_unusable_replays_raise_replay_error(tmp_path):
    with pytest.raises(rd.ReplayError, match="too short"):
        rc.convert_replay(REPLAYS / "lotv_5_0_11_ZvT_neohumanity_instantleave_26.SC2Replay")
    with pytest.raises(rd.ReplayError, match="not 1v1"):
        rc.convert_replay(REPLAYS / "lotv_5_0_11_2v2_PTvPZ_arcticdream_27.SC2Replay")
    bad = tmp_path / "bad.SC2Replay"
    bad.write_bytes(b"not a replay")
    with pytest.raises(rd.ReplayError, match="bad.SC2Replay"):
        rc.convert_replay(bad)


def test_conversion_is_deterministic():
    a = rc.convert_replay(ZVP)
    b = _convert(ZVP)
    for x, y in zip(a, b, strict=True):
        for k in x.observations:
            assert np.array_equal(x.observations[k], y.observations[k]), k
        assert np.array_equal(x.actions["args"], y.actions["args"])


def test_config_validation():
    with pytest.raises(ValueError, match="fog"):
        rc.ConvertConfig(fog="partial")
    with pytest.raises(ValueError):
        rc.ConvertConfig(step_mul=0)


def test_minimap_spans_the_observed_area_by_default():
    rep = _decode(PVT)  # Pylon LE: a 248x248 map whose playable area is much smaller
    seen = rc._geometry(rep, rc.ConvertConfig())
    whole = rc._geometry(rep, rc.ConvertConfig(minimap_area="map"))
    assert whole.extent == 248 and whole.x0 == 0
    assert 100 < seen.extent < 200 and seen.x0 > 0 and seen.y0 > 0
    u = rep.units
    px, py = seen.to_px(u.x[u.x >= 0], u.y[u.x >= 0])
    assert px.min() > 0 and py.min() > 0 and px.max() < 63 and py.max() < 63  # all inside
    ep = _convert(ZVP)[0]
    assert ep.info["minimap_transform"].startswith("cells x [")
    with pytest.raises(ValueError, match="minimap_area"):
        rc.ConvertConfig(minimap_area="playable")
