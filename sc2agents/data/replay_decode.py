"""Binary-free decoding of `.SC2Replay` files into one typed, columnar structure.

`decode_replay` reads a replay with **sc2reader** (every era, ~2.5x faster than s2protocol; see
``../shared/docs/REPLAYS.md`` section 2) and returns a frozen `DecodedReplay`:

* `PlayerInfo` per player (observers dropped): player id, user id, name, race (never the
  localized string: ``gamemetadata.json`` ``AssignedRace`` first, then the first worker/townhall
  born, then the lobby's selected race), result, human or AI, team;
* map name and size, build and base build, duration in game loops (16 per game-second);
* tracker events as struct-of-arrays (`UnitEvents`: born/init/done/died/type change/owner change and
  the periodic position snapshots, with cell positions), `PlayerStats` every 160 loops (the 39
  ``m_scoreValue*`` fields in ``STAT_FIELDS`` order, food already divided by 4096) and upgrades;
* game events of the players (observers' camera/selection events are dropped): `Commands`
  (ability name, CAbil name and command index, target point or unit, queued/minimap flags, and
  whether the event only re-targets the previous command), `Selections`, `ControlGroups`, `Cameras`.

Columnar arrays (not one object per event) keep conversion vectorisable and cheap: a replay has
10k-100k events and a Python object per event would cost as much as the decode itself.

Decoder quirks handled here:

* **Ability names for 5.0.12-5.0.14** (builds 91115-95121): sc2reader applies its 89720 table,
  whose links >= ~700 are off by one (``ChronoBoostEnergyCost`` comes out as ``NexusMassRecall``).
  We use sc2reader's own 96883 table for those builds, as REPLAYS.md section 5 recommends; the
  race-consistency check in ``tests/data/test_replay_decode.py`` guards it.
* sc2reader's context engine is not run (``engine=None``): it costs ~25% of the load and refuses
  resumed games with tracker events; we attribute events ourselves through ``SPlayerSetupEvent``.
* When sc2reader cannot read a replay whose base build is >= 51702, the s2protocol fallback
  (`_decode_with_s2protocol`) reads it with the nearest lower protocol module, loaded with
  ``importlib`` so that it also works on Python 3.12+ (s2protocol's own ``versions`` package
  does ``import imp``). s2protocol is optional (the ``sc2`` extra).

A replay that cannot be used raises `ReplayError` naming the file and the reason.

Example:
    >>> rep = decode_replay("replays/lotv_5_0_14_ZvT_torches_16.SC2Replay")  # doctest: +SKIP
    >>> [(p.name, p.race, p.result) for p in rep.players]  # doctest: +SKIP
    [('Rogue', 'Zerg', 'Win'), ('HeroMarine', 'Terran', 'Loss')]
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import json
import os
import pathlib
import pkgutil
import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = [
    "BORN",
    "DIED",
    "DONE",
    "INIT",
    "OWNER",
    "POSITION",
    "RACES",
    "STAT_FIELDS",
    "TYPE_CHANGE",
    "Cameras",
    "Commands",
    "ControlGroups",
    "DecodedReplay",
    "PlayerInfo",
    "PlayerStats",
    "ReplayError",
    "Selection",
    "UnitEvents",
    "Upgrade",
    "decode_replay",
]

RACES: tuple[str, ...] = ("Terran", "Zerg", "Protoss", "Random")
Result = Literal["Win", "Loss", "Tie", "Undecided"]

# Tracker unit-event kinds (`UnitEvents.kind`).
BORN, INIT, DONE, DIED, TYPE_CHANGE, OWNER, POSITION = range(7)
KIND_NAMES = ("born", "init", "done", "died", "type_change", "owner_change", "position")

STAT_FIELDS: tuple[str, ...] = (
    "minerals_current", "vespene_current", "minerals_collection_rate", "vespene_collection_rate",
    "workers_active_count",
    "minerals_used_in_progress_army", "minerals_used_in_progress_economy",
    "minerals_used_in_progress_technology",
    "vespene_used_in_progress_army", "vespene_used_in_progress_economy",
    "vespene_used_in_progress_technology",
    "minerals_used_current_army", "minerals_used_current_economy",
    "minerals_used_current_technology",
    "vespene_used_current_army", "vespene_used_current_economy", "vespene_used_current_technology",
    "minerals_lost_army", "minerals_lost_economy", "minerals_lost_technology",
    "vespene_lost_army", "vespene_lost_economy", "vespene_lost_technology",
    "minerals_killed_army", "minerals_killed_economy", "minerals_killed_technology",
    "vespene_killed_army", "vespene_killed_economy", "vespene_killed_technology",
    "food_used", "food_made", "minerals_used_active_forces", "vespene_used_active_forces",
    "ff_minerals_lost_army", "ff_minerals_lost_economy", "ff_minerals_lost_technology",
    "ff_vespene_lost_army", "ff_vespene_lost_economy", "ff_vespene_lost_technology",
)  # fmt: skip
"""Columns of `PlayerStats.values`: the SPlayerStatsEvent ``m_scoreValue*`` fields in wire order."""
_FOOD_COLS = (STAT_FIELDS.index("food_used"), STAT_FIELDS.index("food_made"))

# sc2reader's 89720 table is wrong for these builds (REPLAYS.md section 5); 96883's is right.
_FIXED_TABLE_BUILDS = (91115, 95122)
_FIXED_TABLE = "96883"

_WORKER_OR_TOWNHALL = {
    "SCV": "Terran", "CommandCenter": "Terran", "Drone": "Zerg", "Hatchery": "Zerg",
    "Larva": "Zerg", "Probe": "Protoss", "Nexus": "Protoss",
}  # fmt: skip
_META_RACES = {"Prot": "Protoss", "Terr": "Terran", "Zerg": "Zerg", "Rand": "Random"}


class ReplayError(Exception):
    """A replay that cannot be used: corrupt, truncated, not 1v1, no tracker events, ...

    Attributes:
        path: the replay file.
        reason: a short human-readable reason (also used to group skip counts).
    """

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across worker processes
        return (ReplayError, (self.path, self.reason))


@dataclasses.dataclass(frozen=True)
class PlayerInfo:
    """One player (observers and referees are not players).

    Attributes:
        player_id: in-game player id (1-based; tracker events use it).
        user_id: lobby user id (game events use it), None for AI players.
        name: display name, HTML entities and clan-tag markup removed.
        race: ``Terran``/``Zerg``/``Protoss`` (``Random`` only if no unit was ever born).
        result: ``Win``/``Loss``/``Tie``/``Undecided``.
        is_human: False for the built-in AI.
        team: team number (1-based).
    """

    player_id: int
    user_id: int | None
    name: str
    race: str
    result: Result
    is_human: bool
    team: int


@dataclasses.dataclass(frozen=True)
class UnitEvents:
    """Tracker unit events as struct of arrays, in game-loop order. ``N`` = number of events.

    Attributes:
        kind: int8 ``[N]``: `BORN`, `INIT`, `DONE`, `DIED`, `TYPE_CHANGE`, `OWNER`, `POSITION`.
        loop: int32 ``[N]`` game loop.
        tag: int64 ``[N]`` unit tag ``index << 18 | recycle`` (the game events' packing).
        unit_type: int32 ``[N]`` index into ``type_names`` (born/init/type change), else -1.
        owner: int8 ``[N]`` controlling player id (born/init/owner change), else -1; for `DIED` the
            killing player id (or -1).
        x, y: int16 ``[N]`` cell position (born/init/died/position), else -1.
        type_names: unit type names (tracker events carry names: no per-build id table needed).
    """

    kind: np.ndarray
    loop: np.ndarray
    tag: np.ndarray
    unit_type: np.ndarray
    owner: np.ndarray
    x: np.ndarray
    y: np.ndarray
    type_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.kind.shape[0])


@dataclasses.dataclass(frozen=True)
class PlayerStats:
    """SPlayerStatsEvent rows: every 160 loops per player, plus one at the end.

    Attributes:
        loop: int32 ``[M]``; player: int8 ``[M]`` (player id); values: float32 ``[M, 39]`` in
        `STAT_FIELDS` order (food already divided by 4096).
    """

    loop: np.ndarray
    player: np.ndarray
    values: np.ndarray


@dataclasses.dataclass(frozen=True)
class Upgrade:
    """An upgrade completion (tracker SUpgradeEvent)."""

    loop: int
    player_id: int
    name: str
    count: int


@dataclasses.dataclass(frozen=True)
class Commands:
    """Player commands (SCmdEvent and its re-targeting updates), ``K`` rows.

    Attributes:
        loop: int32 ``[K]``; player: int8 ``[K]`` (player id).
        ability: int32 ``[K]`` index into ``ability_names`` (sc2reader command names such as
            ``TrainSCV``; ``RightClick`` for the default smart command); -1 for an update event.
        cabil: int32 ``[K]`` index into ``cabil_names`` (the CAbil catalog id, e.g.
            ``BarracksTrain``); -1 when unknown (smart click, update, unknown link).
        cmd_index: int16 ``[K]`` command index inside the CAbil.
        target: int8 ``[K]``: 0 none (immediate), 1 point, 2 unit.
        x, y: float32 ``[K]`` target position in map cells (NaN for immediate commands).
        target_tag: int64 ``[K]`` target unit tag (0 if none).
        queued, minimap: bool ``[K]`` shift-queued / issued on the minimap.
        update: bool ``[K]`` True for SCmdUpdateTarget* events (re-target the previous command).
        ability_names, cabil_names: the name vocabularies.
    """

    loop: np.ndarray
    player: np.ndarray
    ability: np.ndarray
    cabil: np.ndarray
    cmd_index: np.ndarray
    target: np.ndarray
    x: np.ndarray
    y: np.ndarray
    target_tag: np.ndarray
    queued: np.ndarray
    minimap: np.ndarray
    update: np.ndarray
    ability_names: tuple[str, ...]
    cabil_names: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.loop.shape[0])

    def names(self) -> list[str]:
        """Ability name of every row (``""`` for updates and unknown ids)."""
        return [self.ability_names[i] if i >= 0 else "" for i in self.ability.tolist()]


@dataclasses.dataclass(frozen=True)
class Selection:
    """A selection (control group 10) or control-group buffer delta (SSelectionDeltaEvent).

    Attributes:
        loop, player_id, control_group: where (10 = the active selection).
        remove_type: ``None``/``Mask``/``OneIndices``/``ZeroIndices``; remove_data its payload.
        add_tags: tags of the units added.
    """

    loop: int
    player_id: int
    control_group: int
    remove_type: str
    remove_data: Any
    add_tags: tuple[int, ...]


@dataclasses.dataclass(frozen=True)
class ControlGroups:
    """Hotkey use (SControlGroupUpdateEvent).

    Attributes:
        loop: int32 ``[G]``; player: int8 ``[G]``; group: int8 ``[G]`` 0-9; update: int8 ``[G]``
        0 set, 1 add, 2 recall, 3 delete, 4 set+steal, 5 add+steal.
    """

    loop: np.ndarray
    player: np.ndarray
    group: np.ndarray
    update: np.ndarray


@dataclasses.dataclass(frozen=True)
class Cameras:
    """Camera moves (SCameraUpdateEvent): loop int32, player int8, x/y float32 centre in cells."""

    loop: np.ndarray
    player: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclasses.dataclass(frozen=True)
class DecodedReplay:
    """Everything `decode_replay` recovers from a replay, without the game binary."""

    path: str
    decoder: str
    release: str
    build: int
    base_build: int
    map_name: str
    map_size: tuple[int, int]
    game_loops: int
    players: tuple[PlayerInfo, ...]
    units: UnitEvents
    stats: PlayerStats
    upgrades: tuple[Upgrade, ...]
    commands: Commands
    selections: tuple[Selection, ...]
    control_groups: ControlGroups
    cameras: Cameras
    leave_loops: dict[int, int]
    """Player id -> game loop at which the player left (absent if never)."""
    ability_table: str
    """Which ability table named the commands (e.g. ``LotV/96883``)."""
    map_size_estimated: bool = False
    """True when initData had no map size and it was estimated from observed coordinates."""

    @property
    def is_1v1(self) -> bool:
        return len(self.players) == 2 and len({p.team for p in self.players}) == 2

    @property
    def vs_ai(self) -> bool:
        return any(not p.is_human for p in self.players)

    @property
    def winner(self) -> PlayerInfo | None:
        return next((p for p in self.players if p.result == "Win"), None)

    def player(self, player_id: int) -> PlayerInfo:
        for p in self.players:
            if p.player_id == player_id:
                return p
        raise KeyError(f"{self.path}: no player {player_id}")


# --------------------------------------------------------------------------------------------
# Ability tables
# --------------------------------------------------------------------------------------------
@functools.cache
def _cabil_table(expansion: str, version: str) -> dict[int, str]:
    """``link -> CAbil name`` from sc2reader's per-build ``{version}_abilities.csv``."""
    raw = pkgutil.get_data("sc2reader.data", f"{expansion}/{version}_abilities.csv")
    table: dict[int, str] = {}
    for line in (raw or b"").decode("utf8").splitlines():
        if line.strip():
            link, name = line.strip().split(",")
            table[int(link)] = name
    return table


def _datapack_for(replay: Any) -> tuple[Any, str, str]:
    """(datapack, expansion, version) naming this replay's abilities, with the 5.0.12-14 fix."""
    from sc2reader.data import datapacks

    if (
        replay.expansion == "LotV"
        and _FIXED_TABLE_BUILDS[0] <= replay.build < _FIXED_TABLE_BUILDS[1]
    ):
        return datapacks["LotV"][_FIXED_TABLE], "LotV", _FIXED_TABLE
    dp = replay.datapack
    if dp is None:
        return None, "", ""
    version = str(dp.id)
    for exp, packs in datapacks.items():
        if packs.get(version) is dp:
            return dp, exp, version
    return dp, str(replay.expansion), version


# --------------------------------------------------------------------------------------------
# Decoding with sc2reader
# --------------------------------------------------------------------------------------------
def _clean_name(name: Any) -> str:
    s = name.decode("utf8", "replace") if isinstance(name, bytes) else str(name or "")
    s = re.sub(r"&lt;[^&]*&gt;(<sp/>)?", "", s)
    return s.replace("<sp/>", " ").replace("&amp;", "&").strip()


def _metadata_races(archive: Any) -> dict[int, str]:
    try:
        raw = archive.read_file("replay.gamemetadata.json")
        meta = json.loads(raw) if raw else {}
    except Exception:  # noqa: BLE001 - metadata is optional (absent before 3.x)
        return {}
    out = {}
    for p in meta.get("Players", []):
        race = _META_RACES.get(str(p.get("AssignedRace", ""))[:4])
        if race and "PlayerID" in p:
            out[int(p["PlayerID"])] = race
    return out


class _Columns:
    """Append-only column builder (lists -> numpy at the end; cheaper than per-event objects)."""

    def __init__(self, *names: str) -> None:
        self.cols: dict[str, list[Any]] = {n: [] for n in names}

    def arrays(self, dtypes: dict[str, Any]) -> dict[str, np.ndarray]:
        return {n: np.asarray(v, dtype=dtypes[n]) for n, v in self.cols.items()}


class _Vocab:
    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def __call__(self, name: str) -> int:
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.index)
        return i

    def names(self) -> tuple[str, ...]:
        return tuple(self.index)


def _load_sc2reader(path: str, load_game_events: bool) -> Any:
    import sc2reader

    return sc2reader.load_replay(path, load_level=4 if load_game_events else 3, engine=None)


def _decode_with_sc2reader(path: str, load_game_events: bool) -> DecodedReplay:
    from sc2reader.events import game as ge
    from sc2reader.events import tracker as te

    r = _load_sc2reader(path, load_game_events)
    if not r.tracker_events:
        raise ReplayError(path, "no tracker events (replays before 2.0.8 or stripped files)")

    # Players: details entries without observers; pid -> uid through SPlayerSetupEvent.
    setup_uid = {e.pid: e.uid for e in r.tracker_events if isinstance(e, te.PlayerSetupEvent)}
    meta_races = _metadata_races(r.archive)
    first_race: dict[int, str] = {}
    for e in r.tracker_events:
        if isinstance(e, te.UnitBornEvent) and e.control_pid not in first_race:
            race = _WORKER_OR_TOWNHALL.get(e.unit_type_name)
            if race:
                first_race[e.control_pid] = race
        if e.frame > 0 and len(first_race) >= len(r.players):
            break
    players = []
    for p in r.players:
        race = meta_races.get(p.pid) or first_race.get(p.pid)
        if race is None:
            race = p.pick_race if p.pick_race in RACES else "Random"
        result = p.result or ("Tie" if p.detail_data.get("result") == 3 else "Undecided")
        uid = setup_uid.get(p.pid, getattr(p, "uid", None)) if p.is_human else None
        players.append(
            PlayerInfo(
                player_id=int(p.pid),
                user_id=None if uid is None else int(uid),
                name=_clean_name(p.name),
                race=race,
                result=result,
                is_human=bool(p.is_human),
                team=int(p.team_id or 0),
            )
        )
    players.sort(key=lambda p: p.player_id)
    uid_to_pid = {p.user_id: p.player_id for p in players if p.user_id is not None}

    # Tracker events -> columns.
    types = _Vocab()
    u = _Columns("kind", "loop", "tag", "unit_type", "owner", "x", "y")
    uk, ul, ut, uty, uo, ux, uy = (u.cols[n] for n in u.cols)
    stat_loop: list[int] = []
    stat_player: list[int] = []
    stat_values: list[list[int]] = []
    upgrades: list[Upgrade] = []
    alive_by_index: dict[int, int] = {}  # tag index -> tag, for position snapshots
    for e in r.tracker_events:
        cls = type(e)
        if cls is te.UnitBornEvent or cls is te.UnitInitEvent:
            tag = e.unit_id
            alive_by_index[e.unit_id_index] = tag
            uk.append(BORN if cls is te.UnitBornEvent else INIT)
            ul.append(e.frame)
            ut.append(tag)
            uty.append(types(e.unit_type_name))
            uo.append(e.control_pid)
            ux.append(e.x)
            uy.append(e.y)
        elif cls is te.UnitDiedEvent:
            uk.append(DIED)
            ul.append(e.frame)
            ut.append(e.unit_id)
            uty.append(-1)
            uo.append(-1 if e.killer_pid is None else e.killer_pid)
            ux.append(e.x)
            uy.append(e.y)
        elif cls is te.UnitDoneEvent:
            uk.append(DONE)
            ul.append(e.frame)
            ut.append(e.unit_id)
            uty.append(-1)
            uo.append(-1)
            ux.append(-1)
            uy.append(-1)
        elif cls is te.UnitTypeChangeEvent:
            uk.append(TYPE_CHANGE)
            ul.append(e.frame)
            ut.append(e.unit_id)
            uty.append(types(e.unit_type_name))
            uo.append(-1)
            ux.append(-1)
            uy.append(-1)
        elif cls is te.UnitOwnerChangeEvent:
            uk.append(OWNER)
            ul.append(e.frame)
            ut.append(e.unit_id)
            uty.append(-1)
            uo.append(e.control_pid)
            ux.append(-1)
            uy.append(-1)
        elif cls is te.UnitPositionsEvent:
            for index, (x, y) in e.positions:
                tag = alive_by_index.get(index)
                if tag is None:
                    continue
                uk.append(POSITION)
                ul.append(e.frame)
                ut.append(tag)
                uty.append(-1)
                uo.append(-1)
                ux.append(x)
                uy.append(y)
        elif cls is te.PlayerStatsEvent:
            stat_loop.append(e.frame)
            stat_player.append(e.pid)
            raw = e.stats  # sc2reader: {field index: value}
            stat_values.append([_signed(raw.get(i, 0)) for i in range(len(STAT_FIELDS))])
        elif cls is te.UpgradeCompleteEvent:
            upgrades.append(Upgrade(e.frame, int(e.pid), e.upgrade_type_name, int(e.count)))
    ua = u.arrays(
        {"kind": np.int8, "loop": np.int32, "tag": np.int64, "unit_type": np.int32,
         "owner": np.int8, "x": np.int16, "y": np.int16}
    )  # fmt: skip
    units = UnitEvents(type_names=types.names(), **ua)
    values = np.asarray(stat_values, dtype=np.float32).reshape(-1, len(STAT_FIELDS))
    values[:, _FOOD_COLS] /= 4096.0
    stats = PlayerStats(
        loop=np.asarray(stat_loop, np.int32), player=np.asarray(stat_player, np.int8), values=values
    )

    # Game events of players (observers dropped).
    dp, expansion, version = _datapack_for(r)
    cabil_table = _cabil_table(expansion, version) if version else {}
    abil_vocab, cabil_vocab = _Vocab(), _Vocab()
    c = _Columns("loop", "player", "ability", "cabil", "cmd_index", "target", "x", "y",
                 "target_tag", "queued", "minimap", "update")  # fmt: skip
    cl, cp, ca, cc, ci, ctg, cx, cy, ctt, cq, cm, cu = (c.cols[n] for n in c.cols)
    g = _Columns("loop", "player", "group", "update")
    cam = _Columns("loop", "player", "x", "y")
    selections: list[Selection] = []
    leave_loops: dict[int, int] = {}
    abilities = dp.abilities if dp is not None else {}
    update_classes = (ge.UpdateTargetPointCommandEvent, ge.UpdateTargetUnitCommandEvent)
    nan = float("nan")
    for e in r.game_events:
        pid = uid_to_pid.get(e.pid)
        if pid is None:
            continue
        if isinstance(e, ge.CommandEvent):
            cls = type(e)
            update = cls in update_classes
            cl.append(e.frame)
            cp.append(pid)
            if update:
                ca.append(-1)
                cc.append(-1)
                ci.append(0)
            else:
                abil = abilities.get(e.ability_id)
                ca.append(abil_vocab(abil.name if abil is not None else f"Unknown{e.ability_id}"))
                cab = cabil_table.get(e.ability_link) if e.has_ability else None
                cc.append(cabil_vocab(cab) if cab else -1)
                ci.append(e.command_index)
            if isinstance(e, ge.TargetUnitCommandEvent):
                ctg.append(2)
                ctt.append(e.target_unit_id or 0)
                cx.append(e.x)
                cy.append(e.y)
            elif isinstance(e, ge.TargetPointCommandEvent):
                ctg.append(1)
                ctt.append(0)
                cx.append(e.x)
                cy.append(e.y)
            else:
                ctg.append(0)
                ctt.append(0)
                cx.append(nan)
                cy.append(nan)
            flags = e.flags
            cq.append(bool(flags & 0x2))
            cm.append(bool(flags & 0x10000))
            cu.append(update)
        elif isinstance(e, ge.CameraEvent):
            if e.x == 0 and e.y == 0:  # no target (zoom/pitch/yaw only): sc2reader says (0, 0)
                continue
            cam.cols["loop"].append(e.frame)
            cam.cols["player"].append(pid)
            cam.cols["x"].append(e.x)
            cam.cols["y"].append(e.y)
        elif isinstance(e, ge.SelectionEvent):
            selections.append(
                Selection(
                    e.frame,
                    pid,
                    int(e.control_group),
                    str(e.mask_type),
                    e.mask_data,
                    tuple(e.new_unit_ids),
                )  # fmt: skip
            )
        elif isinstance(e, ge.ControlGroupEvent):
            g.cols["loop"].append(e.frame)
            g.cols["player"].append(pid)
            g.cols["group"].append(e.control_group)
            g.cols["update"].append(e.update_type)
        elif isinstance(e, ge.PlayerLeaveEvent):
            leave_loops.setdefault(pid, e.frame)
    commands = Commands(
        ability_names=abil_vocab.names(),
        cabil_names=cabil_vocab.names(),
        **c.arrays(
            {"loop": np.int32, "player": np.int8, "ability": np.int32, "cabil": np.int32,
             "cmd_index": np.int16, "target": np.int8, "x": np.float32, "y": np.float32,
             "target_tag": np.int64, "queued": bool, "minimap": bool, "update": bool}
        ),
    )  # fmt: skip
    init = getattr(r, "raw_data", {}).get("replay.initData", {}) or {}
    desc = init.get("game_description", {}) if isinstance(init, dict) else {}
    size = (int(desc.get("map_size_x", 0) or 0), int(desc.get("map_size_y", 0) or 0))
    estimated = min(size) <= 0
    if estimated:
        size = _estimate_map_size(units, cam.cols["x"], cam.cols["y"])
    return DecodedReplay(
        path=path,
        decoder=f"sc2reader {_sc2reader_version()}",
        release=str(r.release_string),
        build=int(r.build),
        base_build=int(r.base_build),
        map_name=str(r.map_name),
        map_size=size,
        game_loops=int(r.frames),
        players=tuple(players),
        units=units,
        stats=stats,
        upgrades=tuple(upgrades),
        commands=commands,
        selections=tuple(selections),
        control_groups=ControlGroups(
            **g.arrays({"loop": np.int32, "player": np.int8, "group": np.int8, "update": np.int8})
        ),
        cameras=Cameras(
            **cam.arrays({"loop": np.int32, "player": np.int8, "x": np.float32, "y": np.float32})
        ),
        leave_loops=leave_loops,
        ability_table=f"{expansion}/{version}" if version else "",
        map_size_estimated=estimated,
    )


def _estimate_map_size(
    units: UnitEvents, cam_x: Sequence[float], cam_y: Sequence[float]
) -> tuple[int, int]:
    """Map size when initData lacks it (seen on 4.12): the extent of every observed coordinate.

    Units and camera targets stay inside the playable area, which ends a few cells before the map
    edge; round the extent up to a multiple of 8 cells (map sizes are multiples of 8).
    """
    xs = [int(units.x.max(initial=0)), int(max(cam_x, default=0))]
    ys = [int(units.y.max(initial=0)), int(max(cam_y, default=0))]
    return (int(-(-(max(xs) + 8) // 8) * 8), int(-(-(max(ys) + 8) // 8) * 8))


@functools.lru_cache(maxsize=1)
def _sc2reader_version() -> str:
    import sc2reader

    return str(getattr(sc2reader, "__version__", "?"))


# --------------------------------------------------------------------------------------------
# s2protocol fallback (nearest-lower protocol module, importlib-loaded)
# --------------------------------------------------------------------------------------------
def _s2protocol_versions_dir() -> pathlib.Path | None:
    spec = importlib.util.find_spec("s2protocol")
    if spec is None or not spec.submodule_search_locations:
        return None
    return pathlib.Path(next(iter(spec.submodule_search_locations))) / "versions"


@functools.cache
def _s2protocol_module(base_build: int) -> tuple[Any, int]:
    """Load ``protocol{B}.py`` for the nearest shipped build B <= base_build (importlib, no imp)."""
    vdir = _s2protocol_versions_dir()
    if vdir is None:
        raise ImportError("s2protocol is not installed (pip install sc2agents[sc2])")
    builds = sorted(
        int(m.group(1))
        for f in vdir.glob("protocol*.py")
        if (m := re.match(r"protocol(\d+)\.py", f.name))
    )
    lower = [b for b in builds if b <= base_build]
    if not lower:
        raise ImportError(f"no s2protocol module at or below base build {base_build}")
    chosen = lower[-1]
    spec = importlib.util.spec_from_file_location(
        f"_s2p_protocol{chosen}", vdir / f"protocol{chosen}.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, chosen


def _decode_with_s2protocol(path: str, load_game_events: bool) -> DecodedReplay:
    """Fallback decoder for replays sc2reader rejects (build >= 51702 only).

    Commands are decoded but not named (s2protocol has no ability tables): ``ability_names`` holds
    ``Link<link>/<cmd>`` strings so that the row is kept, and ``cabil`` is -1.
    """
    import mpyq

    archive = mpyq.MPQArchive(path, listfile=False)
    header_proto, _ = _s2protocol_module(98310)
    header = header_proto.decode_replay_header(archive.header["user_data_header"]["content"])
    ver = header["m_version"]
    base_build = int(ver["m_baseBuild"])
    if base_build < 51702:
        raise ReplayError(
            path, f"sc2reader failed and s2protocol has no usable module for {base_build}"
        )
    proto, _chosen = _s2protocol_module(base_build)
    details = proto.decode_replay_details(
        archive.read_file("replay.details") or archive.read_file("replay.details.backup")
    )
    init = proto.decode_replay_initdata(
        archive.read_file("replay.initData") or archive.read_file("replay.initData.backup")
    )
    tracker_raw = archive.read_file("replay.tracker.events")
    if not tracker_raw:
        raise ReplayError(path, "no tracker events (replays before 2.0.8 or stripped files)")
    tracker = list(proto.decode_replay_tracker_events(tracker_raw))
    meta_races = _metadata_races(archive)
    setup_uid = {
        e["m_playerId"]: e["m_userId"]
        for e in tracker
        if e["_event"].endswith("SPlayerSetupEvent") and e.get("m_userId") is not None
    }
    res_names = {1: "Win", 2: "Loss", 3: "Tie"}
    players = []
    pid = 0
    for p in details["m_playerList"]:
        pid += 1
        if p.get("m_observe", 0):
            continue
        players.append(
            PlayerInfo(
                player_id=pid,
                user_id=setup_uid.get(pid) if p["m_control"] == 2 else None,
                name=_clean_name(p["m_name"]),
                race=meta_races.get(pid, "Random"),
                result=res_names.get(p["m_result"], "Undecided"),  # type: ignore[arg-type]
                is_human=p["m_control"] == 2,
                team=int(p["m_teamId"]) + 1,
            )
        )
    uid_to_pid = {p.user_id: p.player_id for p in players if p.user_id is not None}
    types = _Vocab()
    rows: list[tuple[int, int, int, int, int, int, int]] = []
    stat_loop, stat_player, stat_values, upgrades = [], [], [], []
    alive_by_index: dict[int, int] = {}
    for e in tracker:
        ev = e["_event"].rsplit(".", 1)[-1]
        loop = e["_gameloop"]
        if ev in ("SUnitBornEvent", "SUnitInitEvent"):
            tag = e["m_unitTagIndex"] << 18 | e["m_unitTagRecycle"]
            alive_by_index[e["m_unitTagIndex"]] = tag
            kind = BORN if ev == "SUnitBornEvent" else INIT
            name = types(e["m_unitTypeName"].decode())
            rows.append((kind, loop, tag, name, e["m_controlPlayerId"], e["m_x"], e["m_y"]))
        elif ev == "SUnitDiedEvent":
            tag = e["m_unitTagIndex"] << 18 | e["m_unitTagRecycle"]
            killer = e.get("m_killerPlayerId")
            rows.append((DIED, loop, tag, -1, -1 if killer is None else killer, e["m_x"], e["m_y"]))
        elif ev == "SUnitDoneEvent":
            rows.append(
                (DONE, loop, e["m_unitTagIndex"] << 18 | e["m_unitTagRecycle"], -1, -1, -1, -1)
            )
        elif ev == "SUnitTypeChangeEvent":
            rows.append((TYPE_CHANGE, loop, e["m_unitTagIndex"] << 18 | e["m_unitTagRecycle"],
                         types(e["m_unitTypeName"].decode()), -1, -1, -1))  # fmt: skip
        elif ev == "SUnitOwnerChangeEvent":
            rows.append((OWNER, loop, e["m_unitTagIndex"] << 18 | e["m_unitTagRecycle"], -1,
                         e["m_controlPlayerId"], -1, -1))  # fmt: skip
        elif ev == "SUnitPositionsEvent":
            index, items = e["m_firstUnitIndex"], e["m_items"]
            for i in range(0, len(items), 3):
                index += items[i]
                tag = alive_by_index.get(index)
                if tag is not None:
                    rows.append((POSITION, loop, tag, -1, -1, items[i + 1], items[i + 2]))
        elif ev == "SPlayerStatsEvent":
            stat_loop.append(loop)
            stat_player.append(e["m_playerId"])
            s = e["m_stats"]
            vals = list(s.values())[: len(STAT_FIELDS)]  # wire order == STAT_FIELDS order
            stat_values.append(vals + [0] * (len(STAT_FIELDS) - len(vals)))
        elif ev == "SUpgradeEvent":
            upgrades.append(
                Upgrade(loop, e["m_playerId"], e["m_upgradeTypeName"].decode(), e["m_count"])
            )
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 7)
    units = UnitEvents(
        kind=arr[:, 0].astype(np.int8), loop=arr[:, 1].astype(np.int32), tag=arr[:, 2],
        unit_type=arr[:, 3].astype(np.int32), owner=arr[:, 4].astype(np.int8),
        x=arr[:, 5].astype(np.int16), y=arr[:, 6].astype(np.int16), type_names=types.names(),
    )  # fmt: skip
    values = np.asarray(stat_values, dtype=np.float32).reshape(-1, len(STAT_FIELDS))
    values[:, _FOOD_COLS] /= 4096.0
    abil_vocab = _Vocab()
    cmd_rows: list[tuple[Any, ...]] = []
    cam_rows: list[tuple[Any, ...]] = []
    grp_rows: list[tuple[Any, ...]] = []
    selections: list[Selection] = []
    leave_loops: dict[int, int] = {}
    game_raw = archive.read_file("replay.game.events") if load_game_events else None
    for e in proto.decode_replay_game_events(game_raw) if game_raw else ():
        pid_ = uid_to_pid.get(e["_userid"]["m_userId"])
        if pid_ is None:
            continue
        ev = e["_event"].rsplit(".", 1)[-1]
        loop = e["_gameloop"]
        if ev in ("SCmdEvent", "SCmdUpdateTargetPointEvent", "SCmdUpdateTargetUnitEvent"):
            update = ev != "SCmdEvent"
            abil = e.get("m_abil")
            ability = (
                -1
                if update
                else abil_vocab(
                    "RightClick"
                    if abil is None
                    else f"Link{abil['m_abilLink']}/{abil['m_abilCmdIndex']}"
                )
            )
            data = e["m_target"] if update else e["m_data"]
            if update and ev.endswith("PointEvent"):
                data = {"TargetPoint": data}
            elif update:
                data = {"TargetUnit": data}
            target, x, y, ttag = 0, np.nan, np.nan, 0
            if "TargetPoint" in data:
                target, x, y = (
                    1,
                    data["TargetPoint"]["x"] / 4096.0,
                    data["TargetPoint"]["y"] / 4096.0,
                )
            elif "TargetUnit" in data:
                tu = data["TargetUnit"]
                target, ttag = 2, tu["m_tag"]
                x, y = tu["m_snapshotPoint"]["x"] / 4096.0, tu["m_snapshotPoint"]["y"] / 4096.0
            flags = e.get("m_cmdFlags", 0) if not update else 0
            cmd_index = 0 if abil is None else abil["m_abilCmdIndex"]
            queued, minimap = bool(flags & 2), bool(flags & 0x10000)
            cmd_rows.append(
                (loop, pid_, ability, -1, cmd_index, target, x, y, ttag, queued, minimap, update)
            )
        elif ev == "SCameraUpdateEvent" and e.get("m_target"):
            cam_rows.append((loop, pid_, e["m_target"]["x"] / 256.0, e["m_target"]["y"] / 256.0))
        elif ev == "SSelectionDeltaEvent":
            rm = e["m_delta"]["m_removeMask"]
            kind, data = next(iter(rm.items()))
            selections.append(Selection(loop, pid_, e["m_controlGroupId"], kind, data,
                                        tuple(e["m_delta"]["m_addUnitTags"])))  # fmt: skip
        elif ev == "SControlGroupUpdateEvent":
            grp_rows.append((loop, pid_, e["m_controlGroupIndex"], e["m_controlGroupUpdate"]))
        elif ev == "SGameUserLeaveEvent":
            leave_loops.setdefault(pid_, loop)

    def cols(rows: Sequence[tuple[Any, ...]], n: int) -> list[list[Any]]:
        return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(n)]

    cr = cols(cmd_rows, 12)
    names = ("loop", "player", "ability", "cabil", "cmd_index", "target", "x", "y", "target_tag",
             "queued", "minimap", "update")  # fmt: skip
    dts = (np.int32, np.int8, np.int32, np.int32, np.int16, np.int8, np.float32, np.float32,
           np.int64, bool, bool, bool)  # fmt: skip
    commands = Commands(
        ability_names=abil_vocab.names(), cabil_names=(),
        **{n: np.asarray(v, dtype=d) for n, v, d in zip(names, cr, dts, strict=True)},
    )  # fmt: skip
    ca = cols(cam_rows, 4)
    ga = cols(grp_rows, 4)
    desc = init["m_syncLobbyState"]["m_gameDescription"]
    return DecodedReplay(
        path=path,
        decoder=f"s2protocol protocol{_chosen}",
        release="{}.{}.{}.{}".format(
            *(ver[k] for k in ("m_major", "m_minor", "m_revision", "m_build"))
        ),
        build=int(ver["m_build"]),
        base_build=base_build,
        map_name=_clean_name(details["m_title"]),
        map_size=(int(desc["m_mapSizeX"]), int(desc["m_mapSizeY"])),
        game_loops=int(header["m_elapsedGameLoops"]),
        players=tuple(players),
        units=units,
        stats=PlayerStats(
            np.asarray(stat_loop, np.int32), np.asarray(stat_player, np.int8), values
        ),
        upgrades=tuple(upgrades),
        commands=commands,
        selections=tuple(selections),
        control_groups=ControlGroups(
            *(
                np.asarray(a, dtype=d)
                for a, d in zip(ga, (np.int32, np.int8, np.int8, np.int8), strict=True)
            )
        ),  # fmt: skip
        cameras=Cameras(
            *(
                np.asarray(a, dtype=d)
                for a, d in zip(ca, (np.int32, np.int8, np.float32, np.float32), strict=True)
            )
        ),  # fmt: skip
        leave_loops=leave_loops,
        ability_table="",
    )


def _signed(v: int) -> int:
    """Stats are 32-bit on the wire; sc2reader leaves negative values (refunds) unsigned."""
    return v - (1 << 32) if v >= (1 << 31) else v


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------
def decode_replay(
    path: str | os.PathLike[str],
    *,
    load_game_events: bool = True,
    require_1v1: bool = True,
    include_vs_ai: bool = True,
    min_game_loops: int = 0,
    fallback: bool = True,
) -> DecodedReplay:
    """Decode one replay without the game binary.

    Args:
        path: the ``.SC2Replay`` file.
        load_game_events: also decode player input (commands, selections, camera); the tracker
            events alone are ~5x cheaper.
        require_1v1: reject anything but two players on two teams (observers do not count).
        include_vs_ai: accept games against the built-in AI.
        min_game_loops: reject shorter games (16 loops per game-second).
        fallback: try s2protocol (nearest lower protocol) when sc2reader cannot read the file.

    Returns:
        The `DecodedReplay`.

    Raises:
        ReplayError: unreadable/corrupt/truncated file, no tracker events, not 1v1, vs AI when
            excluded, or too short; ``str(err)`` names the file and the reason.
    """
    spath = str(path)
    if not os.path.isfile(spath):
        raise ReplayError(spath, "file not found")
    try:
        rep = _decode_with_sc2reader(spath, load_game_events)
    except ReplayError:
        raise
    except Exception as sr_exc:  # noqa: BLE001 - any decoder failure is a per-file skip
        reason = f"corrupt or unreadable ({type(sr_exc).__name__}: {str(sr_exc)[:200]})"
        if not fallback:
            raise ReplayError(spath, reason) from sr_exc
        try:
            rep = _decode_with_s2protocol(spath, load_game_events)
        except ReplayError:
            raise
        except Exception as s2_exc:  # noqa: BLE001
            raise ReplayError(spath, reason) from s2_exc
    validate(
        rep, require_1v1=require_1v1, include_vs_ai=include_vs_ai, min_game_loops=min_game_loops
    )
    return rep


def validate(
    rep: DecodedReplay,
    *,
    require_1v1: bool = True,
    include_vs_ai: bool = True,
    min_game_loops: int = 0,
) -> None:
    """Raise `ReplayError` if ``rep`` is not usable under these rules (see `decode_replay`)."""
    if len(rep.units) == 0:
        raise ReplayError(rep.path, "no tracker events (replays before 2.0.8 or stripped files)")
    if require_1v1 and not rep.is_1v1:
        teams = sorted({p.team for p in rep.players})
        raise ReplayError(rep.path, f"not 1v1 ({len(rep.players)} players on {len(teams)} teams)")
    if not include_vs_ai and rep.vs_ai:
        raise ReplayError(rep.path, "game vs the built-in AI (pass include_vs_ai to keep it)")
    if rep.game_loops < min_game_loops:
        raise ReplayError(rep.path, f"too short ({rep.game_loops} < {min_game_loops} game loops)")
    if rep.map_size[0] <= 0 or rep.map_size[1] <= 0:
        raise ReplayError(rep.path, "no map size in initData (truncated file?)")
