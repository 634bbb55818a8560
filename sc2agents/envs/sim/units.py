"""Unit data of the embedded simulator: real StarCraft II (LotV, patch 5.0.x) stats.

One row per unit type, with its raw SC2 unit type id (`pysc2_evolved.lib.units`, or the map-specific
ids the DeepMind mini-games use for the beacon and the mineral shards). The simulator never reads
`UNITS` in its step path: `TABLE` holds the same data as numpy columns indexed by a dense *type
index* (`TYPE_INDEX[raw_id]`), so every per-unit lookup is one fancy-indexing gather over
``[N, U]``.

Sources (checked against each other; the editor value wins where they differ by rounding):

* Liquipedia unit pages, https://liquipedia.net/starcraft2/<Unit>_(Legacy_of_the_Void), patch
  5.0.x. Liquipedia lists cooldowns and speeds in *real seconds at "faster"* game speed.
* The SC2 editor data (``Mods/Liberty.SC2Mod`` / ``Swarm`` / ``Void`` ``UnitData.xml`` and
  ``WeaponData.xml``), which stores weapon periods and speeds in *game seconds at "normal"* speed.

Units conversion (the reason both columns exist below): one game loop is 1/16 of a game second at
"normal" speed and the game runs 22.4 loops per real second at "faster", so a "faster" value is the
"normal" value divided by 1.4. Everything the simulator stores is per game loop:

* ``cooldown_loops = period_normal_s * 16 = period_faster_s * 22.4``;
* ``speed_per_loop = speed_normal / 16 = speed_faster / 22.4`` (map cells per game loop).

Weapon range is edge to edge (SC2 measures range between the unit radii), melee range is 0.1.
Damage per hit is ``max(0.5, damage + bonus[if target has bonus_attr] - armor)``, applied ``hits``
times per attack (zealot: 2), shields absorb first (shield armor 0 without upgrades).

``acquire_range`` (how far an idle unit looks for an enemy) is SC2's "scan range"; where the data
is not listed on Liquipedia we use ``max(range, 4) + 1.5``, an approximation (marked ``~``).
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs import features

__all__ = [
    "Attr",
    "BEACON",
    "MINERAL_SHARD",
    "NUM_TYPES",
    "TABLE",
    "TYPE_INDEX",
    "UNITS",
    "UnitStats",
    "register_unit",
    "type_index",
]

GAME_LOOPS_PER_NORMAL_SECOND = 16.0
GAME_LOOPS_PER_FASTER_SECOND = 22.4

# Raw ids of the two map-specific neutral units of the DeepMind mini-games. They are not in
# `pysc2_evolved.lib.units` (they come from the mini-game maps / the Liberty campaign mod), but real
# PySC2 observations of MoveToBeacon / CollectMineralShards carry exactly these ids.
BEACON = 317
MINERAL_SHARD = 1680


class Attr(enum.IntFlag):
    """Unit attributes (bit flags) used by bonus damage."""

    NONE = 0
    LIGHT = 1
    ARMORED = 2
    BIOLOGICAL = 4
    MECHANICAL = 8
    PSIONIC = 16
    MASSIVE = 32
    STRUCTURE = 64


# Function ids every commandable army unit offers (PySC2 general ids, hide_specific_actions=True):
# Attack_screen/minimap, HoldPosition_quick, Move_screen/minimap, Patrol_screen/minimap,
# Smart_screen/minimap, Stop_quick.
_ARMY_FUNCTIONS = tuple(
    features.FUNCTION_IDS[n]
    for n in (
        "Attack_screen",
        "Attack_minimap",
        "HoldPosition_quick",
        "Move_screen",
        "Move_minimap",
        "Patrol_screen",
        "Patrol_minimap",
        "Smart_screen",
        "Smart_minimap",
        "Stop_quick",
    )
)


@dataclasses.dataclass(frozen=True)
class UnitStats:
    """Static data of one unit type.

    Attributes:
        name: SC2 name.
        raw_id: raw SC2 unit type id.
        hp: hit points.
        shields: shield points (Protoss).
        armor: armor.
        attrs: `Attr` flags.
        damage: damage per hit.
        bonus: bonus damage per hit against targets with ``bonus_attr``.
        bonus_attr: attribute the bonus applies to.
        hits: hits per attack (zealot 2).
        period_normal: weapon cooldown in game seconds at "normal" (editor value); 0 = no weapon.
        range: weapon range, edge to edge (melee 0.1).
        speed_normal: movement speed in cells per game second at "normal" (editor value).
        radius: collision radius in cells.
        sight: sight range in cells.
        acquire_range: auto-acquire (scan) range in cells.
        splash: splash radius (full damage inside), 0 = none.
        suicide: the unit dies when it attacks (baneling).
        supply: supply (food) cost.
        minerals: mineral cost.
        vespene: vespene cost.
        collides: takes part in unit separation (neutral markers do not).
        army: counts in ``army_count`` and ``select_army``.
        worker: is a worker.
        structure: is a building.
        functions: PySC2 function ids the unit offers when selected by its owner.
        source: where the numbers come from.
    """

    name: str
    raw_id: int
    hp: float
    shields: float = 0.0
    armor: float = 0.0
    attrs: Attr = Attr.NONE
    damage: float = 0.0
    bonus: float = 0.0
    bonus_attr: Attr = Attr.NONE
    hits: int = 1
    period_normal: float = 0.0
    range: float = 0.0
    speed_normal: float = 0.0
    radius: float = 0.5
    sight: float = 9.0
    acquire_range: float = 0.0
    splash: float = 0.0
    suicide: bool = False
    supply: float = 0.0
    minerals: int = 0
    vespene: int = 0
    collides: bool = True
    army: bool = True
    worker: bool = False
    structure: bool = False
    functions: tuple[int, ...] = _ARMY_FUNCTIONS
    source: str = ""

    @property
    def cooldown_loops(self) -> float:
        """Weapon cooldown in game loops."""
        return self.period_normal * GAME_LOOPS_PER_NORMAL_SECOND

    @property
    def speed_per_loop(self) -> float:
        """Movement per game loop, in map cells."""
        return self.speed_normal / GAME_LOOPS_PER_NORMAL_SECOND

    @property
    def has_weapon(self) -> bool:
        return self.damage > 0


_LP = "Liquipedia LotV 5.0 / editor"
_T, _Z, _P = sc2_units.Terran, sc2_units.Zerg, sc2_units.Protoss

# fmt: off
UNITS: list[UnitStats] = [
    # Marine: 45 hp, 6 dmg, cooldown 0.61 s faster (editor period 0.8608 normal), range 5,
    # speed 3.15 faster (2.25 normal), radius 0.375, sight 9. Light, Biological.
    UnitStats("Marine", int(_T.Marine), hp=45, attrs=Attr.LIGHT | Attr.BIOLOGICAL, damage=6,
              period_normal=0.8608, range=5, speed_normal=2.25, radius=0.375, sight=9,
              acquire_range=5.5, supply=1, minerals=50, source=_LP),
    # Marauder: 125 hp, armor 1, 10 (+10 armored), cooldown 1.07 faster (1.5 normal), range 6,
    # speed 3.15 faster, radius 0.5625, sight 10. Armored, Biological.
    UnitStats("Marauder", int(_T.Marauder), hp=125, armor=1,
              attrs=Attr.ARMORED | Attr.BIOLOGICAL, damage=10, bonus=10, bonus_attr=Attr.ARMORED,
              period_normal=1.5, range=6, speed_normal=2.25, radius=0.5625, sight=10,
              acquire_range=7.0, supply=2, minerals=100, vespene=25, source=_LP),
    # SCV: 45 hp, 5 dmg melee, cooldown 1.07 faster (1.5 normal), speed 3.94 faster (2.8125
    # normal), radius 0.375, sight 8. Light, Biological, Mechanical.
    UnitStats("SCV", int(_T.SCV), hp=45, attrs=Attr.LIGHT | Attr.BIOLOGICAL | Attr.MECHANICAL,
              damage=5, period_normal=1.5, range=0.1, speed_normal=2.8125, radius=0.375, sight=8,
              acquire_range=5.5, supply=1, minerals=50, army=False, worker=True, source=_LP),
    # Zergling: 35 hp, 5 dmg melee, cooldown 0.497 faster (0.696 normal), speed 4.13 faster
    # (2.9531 normal), radius 0.375, sight 8. Light, Biological. Cost is per zergling (pair 50).
    UnitStats("Zergling", int(_Z.Zergling), hp=35, attrs=Attr.LIGHT | Attr.BIOLOGICAL, damage=5,
              period_normal=0.696, range=0.1, speed_normal=2.9531, radius=0.375, sight=8,
              acquire_range=5.5, supply=0.5, minerals=25, source=_LP),
    # Baneling: 30 hp, Volatile Burst 16 (+19 light), splash radius 2.2, suicide, range 0.25,
    # speed 3.5 faster (2.5 normal), radius 0.375, sight 8. Biological. Enemies only.
    UnitStats("Baneling", int(_Z.Baneling), hp=30, attrs=Attr.BIOLOGICAL, damage=16, bonus=19,
              bonus_attr=Attr.LIGHT, period_normal=0.833, range=0.25, speed_normal=2.5,
              radius=0.375, sight=8, acquire_range=5.5, splash=2.2, suicide=True, supply=0.5,
              minerals=50, vespene=25, source=_LP),
    # Roach: 145 hp, armor 1, 16 dmg, cooldown 1.43 faster (2.0 normal), range 4, speed 3.15
    # faster (2.25 normal), radius 0.625, sight 9. Armored, Biological.
    UnitStats("Roach", int(_Z.Roach), hp=145, armor=1, attrs=Attr.ARMORED | Attr.BIOLOGICAL,
              damage=16, period_normal=2.0, range=4, speed_normal=2.25, radius=0.625, sight=9,
              acquire_range=5.5, supply=2, minerals=75, vespene=25, source=_LP),
    # Hydralisk: 90 hp, 12 dmg, cooldown 0.59 faster (0.83 normal), range 5, speed 3.15 faster
    # (2.25 normal), radius 0.625, sight 9. Light, Biological.
    UnitStats("Hydralisk", int(_Z.Hydralisk), hp=90, attrs=Attr.LIGHT | Attr.BIOLOGICAL,
              damage=12, period_normal=0.83, range=5, speed_normal=2.25, radius=0.625, sight=9,
              acquire_range=6.5, supply=2, minerals=100, vespene=50, source=_LP),
    # Zealot: 100 hp + 50 shields, armor 1, 8x2 melee, cooldown 0.86 faster (1.2 normal),
    # speed 3.15 faster (2.25 normal), radius 0.5, sight 9. Light, Biological.
    UnitStats("Zealot", int(_P.Zealot), hp=100, shields=50, armor=1,
              attrs=Attr.LIGHT | Attr.BIOLOGICAL, damage=8, hits=2, period_normal=1.2, range=0.1,
              speed_normal=2.25, radius=0.5, sight=9, acquire_range=5.5, supply=2, minerals=100,
              source=_LP),
    # Stalker: 80 hp + 80 shields, armor 1, 13 (+5 armored), cooldown 1.34 faster (1.87
    # normal), range 6, speed 4.13 faster (2.9531 normal), radius 0.625, sight 10. Armored,
    # Mechanical.
    UnitStats("Stalker", int(_P.Stalker), hp=80, shields=80, armor=1,
              attrs=Attr.ARMORED | Attr.MECHANICAL, damage=13, bonus=5, bonus_attr=Attr.ARMORED,
              period_normal=1.87, range=6, speed_normal=2.9531, radius=0.625, sight=10,
              acquire_range=7.0, supply=2, minerals=125, vespene=50, source=_LP),
    # Neutral markers of the mini-games: no weapon, not solid, not commandable. Radii are the
    # footprints seen on the feature layers (approximation ~).
    UnitStats("Beacon", BEACON, hp=0, radius=1.0, sight=0, collides=False, army=False,
              functions=(), source="MoveToBeacon map (~)"),
    UnitStats("MineralShard", MINERAL_SHARD, hp=0, radius=0.5, sight=0, collides=False,
              army=False, functions=(), source="CollectMineralShards map (~)"),
]
# fmt: on

_MAX_RAW_ID = 2048


@dataclasses.dataclass
class UnitTable:
    """Column form of `UNITS`, indexed by dense type index (row ``i`` = ``UNITS[i]``)."""

    raw_id: np.ndarray
    hp: np.ndarray
    shields: np.ndarray
    armor: np.ndarray
    attrs: np.ndarray
    damage: np.ndarray
    bonus: np.ndarray
    bonus_attr: np.ndarray
    hits: np.ndarray
    cooldown: np.ndarray
    range: np.ndarray
    speed: np.ndarray
    radius: np.ndarray
    sight: np.ndarray
    acquire: np.ndarray
    splash: np.ndarray
    suicide: np.ndarray
    supply: np.ndarray
    value: np.ndarray
    collides: np.ndarray
    army: np.ndarray
    worker: np.ndarray
    structure: np.ndarray
    has_weapon: np.ndarray
    functions: np.ndarray  # bool [T, NUM_FUNCTIONS]


def _build_table(rows: list[UnitStats]) -> UnitTable:
    f32 = np.float32
    fn = np.zeros((len(rows), features.NUM_FUNCTIONS), dtype=bool)
    for i, u in enumerate(rows):
        fn[i, list(u.functions)] = True
    return UnitTable(
        raw_id=np.array([u.raw_id for u in rows], np.int32),
        hp=np.array([u.hp for u in rows], f32),
        shields=np.array([u.shields for u in rows], f32),
        armor=np.array([u.armor for u in rows], f32),
        attrs=np.array([int(u.attrs) for u in rows], np.int32),
        damage=np.array([u.damage for u in rows], f32),
        bonus=np.array([u.bonus for u in rows], f32),
        bonus_attr=np.array([int(u.bonus_attr) for u in rows], np.int32),
        hits=np.array([u.hits for u in rows], f32),
        cooldown=np.array([u.cooldown_loops for u in rows], f32),
        range=np.array([u.range for u in rows], f32),
        speed=np.array([u.speed_per_loop for u in rows], f32),
        radius=np.array([u.radius for u in rows], f32),
        sight=np.array([u.sight for u in rows], f32),
        acquire=np.array([u.acquire_range for u in rows], f32),
        splash=np.array([u.splash for u in rows], f32),
        suicide=np.array([u.suicide for u in rows], bool),
        supply=np.array([u.supply for u in rows], f32),
        value=np.array([u.minerals + u.vespene for u in rows], np.int32),
        collides=np.array([u.collides for u in rows], bool),
        army=np.array([u.army for u in rows], bool),
        worker=np.array([u.worker for u in rows], bool),
        structure=np.array([u.structure for u in rows], bool),
        has_weapon=np.array([u.has_weapon for u in rows], bool),
        functions=fn,
    )


TABLE: UnitTable = _build_table(UNITS)
NUM_TYPES: int = len(UNITS)
TYPE_INDEX: np.ndarray = np.full(_MAX_RAW_ID, -1, dtype=np.int16)
"""Raw SC2 unit type id -> dense type index (-1 = unknown to the simulator)."""
BY_NAME: dict[str, UnitStats] = {u.name: u for u in UNITS}
for _i, _u in enumerate(UNITS):
    TYPE_INDEX[_u.raw_id] = _i


def type_index(raw_id: int) -> int:
    """Dense type index of a raw SC2 unit type id.

    Raises:
        KeyError: if the simulator has no data for that unit type.
    """
    if not 0 <= int(raw_id) < _MAX_RAW_ID or TYPE_INDEX[int(raw_id)] < 0:
        raise KeyError(f"unit type {raw_id} is not in sc2agents.envs.sim.units.UNITS")
    return int(TYPE_INDEX[int(raw_id)])


def register_unit(stats: UnitStats) -> int:
    """Add a unit type (used by later scenarios, e.g. buildings); returns its type index.

    Must be called at import time, before any `SimEngine` is built, since engines capture `TABLE`.
    """
    global TABLE, NUM_TYPES
    if 0 <= stats.raw_id < _MAX_RAW_ID and TYPE_INDEX[stats.raw_id] >= 0:
        raise ValueError(f"unit type {stats.raw_id} ({stats.name}) is already registered")
    UNITS.append(stats)
    BY_NAME[stats.name] = stats
    TYPE_INDEX[stats.raw_id] = len(UNITS) - 1
    TABLE = _build_table(UNITS)
    NUM_TYPES = len(UNITS)
    return len(UNITS) - 1
