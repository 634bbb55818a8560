"""Per-build decode regression over the `replays/` fixtures (see replays/MANIFEST.tsv)."""

from __future__ import annotations

import csv
import functools
import importlib.util
import pathlib
import shutil

import numpy as np
import pytest

from sc2agents.data import replay_decode as rd

REPLAYS = pathlib.Path(__file__).resolve().parents[2] / "replays"
RACE_LETTER = {"Terran": "T", "Zerg": "Z", "Protoss": "P"}


def _manifest() -> list[dict[str, str]]:
    with open(REPLAYS / "MANIFEST.tsv", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


MANIFEST = _manifest()
WITH_TRACKER = [r for r in MANIFEST if not r["file"].startswith("wol_")]


@functools.cache
def _decode(name: str) -> rd.DecodedReplay:
    return rd.decode_replay(REPLAYS / name, require_1v1=False, include_vs_ai=True)


def test_manifest_lists_the_fixtures():
    files = {p.name for p in REPLAYS.glob("*.SC2Replay")}
    assert files == {r["file"] for r in MANIFEST}
    assert sum(p.stat().st_size for p in REPLAYS.iterdir()) < 2_000_000


@pytest.mark.parametrize("row", WITH_TRACKER, ids=lambda r: r["file"][:28])
def test_decode_matches_manifest(row):
    rep = _decode(row["file"])
    assert rep.build == int(row["build"])
    assert rep.game_loops == int(row["game_loops"])
    assert len(rep.players) == int(row["players_count"])
    assert ",".join(RACE_LETTER[p.race] for p in rep.players) == row["races"]
    assert (rep.winner is not None) == (row["winner_known"] == "true")
    assert rep.map_size[0] > 0 and rep.map_size[1] > 0
    # Event counts within the ranges REPLAYS.md measured (per game minute, both players).
    minutes = rep.game_loops / 22.4 / 60
    ids = {p.player_id for p in rep.players}
    if rep.game_loops > 1000:
        assert len(rep.units) > 200  # loop-0 neutrals + start units alone are > 200
        per_player_stats = len(rep.stats.loop) / len(ids)
        assert abs(per_player_stats - rep.game_loops / 160) <= 3
        assert set(np.unique(rep.stats.player).tolist()) == ids
        assert 5 * minutes < len(rep.commands) < 2000 * minutes
        assert len(rep.cameras.loop) > 0 and len(rep.selections) > 0
    # Event arrays are consistent and sorted by loop.
    for arr in (rep.units.loop, rep.commands.loop, rep.cameras.loop, rep.stats.loop):
        assert np.all(np.diff(arr) >= 0)
    # Camera targets are real positions on the map (events without a target are dropped).
    if len(rep.cameras.loop):
        assert rep.cameras.x.min() > 0 and rep.cameras.y.min() > 0
        assert rep.cameras.x.max() < rep.map_size[0] and rep.cameras.y.max() < rep.map_size[1]
    assert set(np.unique(rep.commands.player).tolist()) <= ids
    assert rep.units.loop.max() <= rep.game_loops + 1
    food_used = rep.stats.values[:, rd.STAT_FIELDS.index("food_used")]
    assert 0 <= food_used.max() <= 200  # fixed point / 4096 already applied
    kinds = set(np.unique(rep.units.kind).tolist())
    assert rd.BORN in kinds
    if rep.game_loops > 1000:
        assert {rd.DIED, rd.INIT, rd.DONE}.issubset(kinds)


def test_observers_dropped_and_user_ids_from_setup_events():
    rep = _decode("lotv_5_0_14_PvT_pylon_17.SC2Replay")  # tournament game with observers
    assert len(rep.players) == 2
    assert all(p.is_human and p.user_id is not None for p in rep.players)
    assert {p.result for p in rep.players} == {"Win", "Loss"}
    # Only the players' user ids produce game events: their commands exist for both players.
    assert set(np.unique(rep.commands.player).tolist()) == {1, 2}


def test_vs_ai_and_rules():
    name = "lotv_5_0_13_ZvP_fieldsofdeath_vsai_23.SC2Replay"
    rep = _decode(name)
    assert rep.vs_ai and sum(p.is_human for p in rep.players) == 1
    ai = next(p for p in rep.players if not p.is_human)
    assert ai.user_id is None and ai.race == "Protoss"
    with pytest.raises(rd.ReplayError, match="built-in AI") as e:
        rd.decode_replay(REPLAYS / name, include_vs_ai=False)
    assert e.value.path.endswith(name)


def test_not_1v1_and_too_short_and_no_tracker():
    with pytest.raises(rd.ReplayError, match=r"not 1v1 \(4 players"):
        rd.decode_replay(REPLAYS / "lotv_5_0_11_2v2_PTvPZ_arcticdream_27.SC2Replay")
    with pytest.raises(rd.ReplayError, match="too short"):
        rd.decode_replay(
            REPLAYS / "lotv_5_0_11_ZvT_neohumanity_instantleave_26.SC2Replay", min_game_loops=1344
        )
    with pytest.raises(rd.ReplayError, match="no tracker events"):
        rd.decode_replay(REPLAYS / "wol_1_2_2_PvT_losttemple_43.SC2Replay")


def test_corrupt_and_truncated_files_name_the_file(tmp_path):
    junk = tmp_path / "junk.SC2Replay"
    junk.write_bytes(b"MPQ\x1b" + bytes(range(256)) * 8)
    trunc = tmp_path / "truncated.SC2Replay"
    src = (REPLAYS / "lotv_5_0_14_TvP_torches_kokr_21.SC2Replay").read_bytes()
    trunc.write_bytes(src[: len(src) // 3])
    for f in (junk, trunc, tmp_path / "missing.SC2Replay"):
        with pytest.raises(rd.ReplayError) as e:
            rd.decode_replay(f)
        assert e.value.path == str(f) and str(f) in str(e.value)
        assert e.value.reason


def test_replay_error_pickles():
    import pickle

    e = pickle.loads(pickle.dumps(rd.ReplayError("/x/y.SC2Replay", "too short")))
    assert (e.path, e.reason) == ("/x/y.SC2Replay", "too short")


def _command_races(rep: rd.DecodedReplay, names: list[str]) -> tuple[int, int]:
    """(race-consistent, inconsistent) Build/Train/WarpIn/Morph commands (REPLAYS.md section 5)."""
    from sc2reader.data import unit_lookup

    race_of = {n: race for race, table in unit_lookup.items() for n in table}
    good = bad = 0
    for name, pid in zip(names, rep.commands.player.tolist(), strict=True):
        for prefix in ("Train", "Build", "WarpIn", "Morph"):
            if name.startswith(prefix):
                unit = name[len(prefix) :].lower()
                race = race_of.get(unit)
                if race is None or unit == "changeling":
                    continue
                if race == rep.player(pid).race:
                    good += 1
                else:
                    bad += 1
    return good, bad


@pytest.mark.parametrize(
    "name", ["lotv_5_0_14_PvT_pylon_17.SC2Replay", "lotv_5_0_14_TvP_torches_kokr_21.SC2Replay"]
)
def test_5_0_14_ability_names_are_race_consistent(name):
    rep = _decode(name)
    assert rep.ability_table == "LotV/96883"
    names = rep.commands.names()
    good, bad = _command_races(rep, names)
    assert good > 20 and bad == 0
    protoss = next(p.player_id for p in rep.players if p.race == "Protoss")
    p_names = {
        n for n, pid in zip(names, rep.commands.player.tolist(), strict=True) if pid == protoss
    }
    assert "NexusMassRecall" not in p_names  # what sc2reader's 89720 table calls chrono boost
    if name.startswith("lotv_5_0_14_PvT"):
        assert "ChronoBoostEnergyCost" in p_names


def test_sc2readers_own_table_is_wrong_for_5_0_14():
    """The regression the fix guards: sc2reader's default (89720) names fail the race check."""
    import sc2reader

    name = "lotv_5_0_14_PvT_pylon_17.SC2Replay"
    rep = _decode(name)
    r = sc2reader.load_replay(str(REPLAYS / name), load_level=4, engine=None)
    assert r.datapack.id == "89720"
    raw = [e for e in r.game_events if isinstance(e, sc2reader.events.game.CommandEvent)]
    uid_to_pid = {p.user_id: p.player_id for p in rep.players}
    raw = [e for e in raw if e.pid in uid_to_pid and type(e).__name__.find("Update") < 0]
    old = {}
    for e in raw:
        a = r.datapack.abilities.get(e.ability_id)
        old[(e.frame, uid_to_pid[e.pid])] = a.name if a else ""
    new = {}
    for lp, pid, n, upd in zip(
        rep.commands.loop.tolist(), rep.commands.player.tolist(), rep.commands.names(),
        rep.commands.update.tolist(), strict=True,
    ):  # fmt: skip
        if not upd:
            new[(lp, pid)] = n
    differ = [k for k in old if k in new and old[k] != new[k]]
    assert differ, "the 96883 table should rename some 5.0.14 commands"
    assert any(old[k] == "NexusMassRecall" and new[k] == "ChronoBoostEnergyCost" for k in differ)


def test_tracker_only_decode_is_cheaper_subset():
    full = _decode("lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay")
    rep = rd.decode_replay(
        REPLAYS / "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay", load_game_events=False
    )
    assert len(rep.commands) == 0 and len(rep.units) == len(full.units)
    assert [p.race for p in rep.players] == [p.race for p in full.players]  # zh-CN: not localized


@pytest.mark.skipif(
    importlib.util.find_spec("s2protocol") is None, reason="s2protocol not installed"
)
def test_s2protocol_fallback_agrees_with_sc2reader(tmp_path):
    """Nearest-lower protocol fallback (94137 -> 93333), importlib-loaded: same tracker events."""
    name = "lotv_5_0_14_TvP_torches_kokr_21.SC2Replay"
    ref = _decode(name)
    copy = tmp_path / name
    shutil.copy(REPLAYS / name, copy)
    rep = rd._decode_with_s2protocol(str(copy), load_game_events=True)
    assert rep.decoder.startswith("s2protocol protocol93333")
    assert len(rep.units) == len(ref.units)
    assert np.array_equal(rep.units.kind, ref.units.kind)
    assert np.array_equal(rep.units.tag, ref.units.tag)
    assert [(p.player_id, p.race, p.result) for p in rep.players] == [
        (p.player_id, p.race, p.result) for p in ref.players
    ]
    assert rep.map_size == ref.map_size and rep.game_loops == ref.game_loops
    assert np.allclose(rep.stats.values, ref.stats.values)
    assert abs(len(rep.commands) - len(ref.commands)) <= 0.05 * len(ref.commands)


def test_fallback_used_when_sc2reader_fails(monkeypatch, tmp_path):
    name = "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay"

    def boom(path, load_game_events):
        raise IndexError("sc2reader failure")

    monkeypatch.setattr(rd, "_decode_with_sc2reader", boom)
    if importlib.util.find_spec("s2protocol") is None:
        with pytest.raises(rd.ReplayError, match="IndexError"):
            rd.decode_replay(REPLAYS / name)
        return
    rep = rd.decode_replay(REPLAYS / name)
    assert rep.decoder.startswith("s2protocol")
    with pytest.raises(rd.ReplayError, match="IndexError: sc2reader failure"):
        rd.decode_replay(REPLAYS / name, fallback=False)


def test_map_size_estimated_when_init_data_lacks_it(monkeypatch):
    """Some 4.12 replays have map size 0 in initData: estimate it from observed coordinates."""
    name = "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay"
    ref = _decode(name)
    assert not ref.map_size_estimated

    real = rd._load_sc2reader

    def no_size(path, load_game_events):
        r = real(path, load_game_events)
        r.raw_data["replay.initData"]["game_description"]["map_size_x"] = 0
        return r

    monkeypatch.setattr(rd, "_load_sc2reader", no_size)
    rep = rd.decode_replay(REPLAYS / name)
    assert rep.map_size_estimated and rep.map_size[0] % 8 == 0
    assert rep.units.x.max() < rep.map_size[0] <= ref.map_size[0] + 16
    assert rep.units.y.max() < rep.map_size[1] <= ref.map_size[1] + 16
