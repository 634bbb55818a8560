"""Terran economy data of the simulator: buildings, resources, production (real SC2 numbers).

Importing this module registers, through `units.register_unit`, the unit types the economy
scenarios need (Command Center, Supply Depot, Refinery, Barracks, Factory, Hellion, Mineral Field,
Vespene Geyser) and builds the lookup tables `sc2agents.envs.sim.economy` uses, indexed by the
dense type index of `units.TABLE`.

Sources (LotV, patch 5.0.x):

* Costs, hit points, armor, supply: Liquipedia unit/building pages
  (https://liquipedia.net/starcraft2/<Name>_(Legacy_of_the_Void)).
* Build times: the editor values in *game seconds at "normal"* (16 game loops each), the numbers
  Liquipedia lists divided by 1.4 at "faster": SCV 17 (12 faster), Marine 25 (18), Marauder 30 (21),
  Hellion 30 (21), Supply Depot 30 (21), Refinery 30 (21), Barracks 65 (46), Factory 60 (43),
  Command Center 100 (71).
* Footprints (cells): Command Center 5x5, Barracks/Factory/Refinery 3x3 (the refinery sits on the
  3x3 geyser), Supply Depot 2x2, Mineral Field 2x1.
* Supply provided: Command Center 15, Supply Depot 8 (cap 200).
* Tech requirements: Barracks needs a Supply Depot, Factory needs a Barracks.

Simplifications (documented, deliberate): no add-ons (a Barracks trains Marauders without a Tech
Lab), no lowering of depots, no flying buildings, the Hellion's line splash is a single-target hit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs import features
from sc2agents.envs.sim import units
from sc2agents.envs.sim.units import Attr, UnitStats

__all__ = [
    "BUILD_FUNCTIONS",
    "ECON",
    "GEYSER",
    "MINERAL",
    "TRAIN_FUNCTIONS",
    "EconTable",
    "footprint_cells",
]

_T = sc2_units.Terran
_N = sc2_units.Neutral
_F = features.FUNCTION_IDS
_LP = "Liquipedia LotV 5.0 / editor"
_STRUCT = Attr.ARMORED | Attr.MECHANICAL | Attr.STRUCTURE

MINERAL = int(_N.MineralField)
GEYSER = int(_N.VespeneGeyser)
COMMAND_CENTER = int(_T.CommandCenter)
SUPPLY_DEPOT = int(_T.SupplyDepot)
REFINERY = int(_T.Refinery)
BARRACKS = int(_T.Barracks)
FACTORY = int(_T.Factory)
HELLION = int(_T.Hellion)
SCV = int(_T.SCV)
MARINE = int(_T.Marine)
MARAUDER = int(_T.Marauder)

_NEW_UNITS = [
    # Command Center: 1500 hp, armor 1, 400 minerals, 5x5, sight 11.
    UnitStats(
        "CommandCenter",
        COMMAND_CENTER,
        hp=1500,
        armor=1,
        attrs=_STRUCT,
        radius=2.5,
        sight=11,
        minerals=400,
        army=False,
        structure=True,
        functions=(),
        source=_LP,
    ),
    # Supply Depot: 400 hp, armor 1, 100 minerals, 2x2.
    UnitStats(
        "SupplyDepot",
        SUPPLY_DEPOT,
        hp=400,
        armor=1,
        attrs=_STRUCT,
        radius=1.0,
        sight=9,
        minerals=100,
        army=False,
        structure=True,
        functions=(),
        source=_LP,
    ),
    # Refinery: 500 hp, armor 1, 75 minerals, 3x3 on a geyser.
    UnitStats(
        "Refinery",
        REFINERY,
        hp=500,
        armor=1,
        attrs=_STRUCT,
        radius=1.5,
        sight=9,
        minerals=75,
        army=False,
        structure=True,
        functions=(),
        source=_LP,
    ),
    # Barracks: 1000 hp, armor 1, 150 minerals, 3x3.
    UnitStats(
        "Barracks",
        BARRACKS,
        hp=1000,
        armor=1,
        attrs=_STRUCT,
        radius=1.5,
        sight=9,
        minerals=150,
        army=False,
        structure=True,
        functions=(),
        source=_LP,
    ),
    # Factory: 1250 hp, armor 1, 150/100, 3x3.
    UnitStats(
        "Factory",
        FACTORY,
        hp=1250,
        armor=1,
        attrs=_STRUCT,
        radius=1.5,
        sight=9,
        minerals=150,
        vespene=100,
        army=False,
        structure=True,
        functions=(),
        source=_LP,
    ),
    # Hellion: 90 hp, 8 (+6 light), cooldown 1.79 faster (2.5 normal), range 5, speed 5.95 faster
    # (4.25 normal), radius 0.625, sight 10, 2 supply, 100 minerals. Light, Mechanical.
    UnitStats(
        "Hellion",
        HELLION,
        hp=90,
        attrs=Attr.LIGHT | Attr.MECHANICAL,
        damage=8,
        bonus=6,
        bonus_attr=Attr.LIGHT,
        period_normal=2.5,
        range=5,
        speed_normal=4.25,
        radius=0.625,
        sight=10,
        acquire_range=6.5,
        supply=2,
        minerals=100,
        source=_LP,
    ),
    # Resources: neutral, no hit points; the economy keeps their remaining amount.
    UnitStats(
        "MineralField",
        MINERAL,
        hp=0,
        radius=0.75,
        sight=0,
        army=False,
        structure=True,
        functions=(),
        source="Liquipedia (2x1 footprint)",
    ),
    UnitStats(
        "VespeneGeyser",
        GEYSER,
        hp=0,
        radius=1.5,
        sight=0,
        army=False,
        structure=True,
        functions=(),
        source="Liquipedia (3x3 footprint)",
    ),
]
for _u in _NEW_UNITS:
    if units.TYPE_INDEX[_u.raw_id] < 0:
        units.register_unit(_u)


@dataclasses.dataclass(frozen=True)
class _Econ:
    """Economy data of one type (raw id)."""

    build_s: float  # game seconds at "normal"
    footprint: int = 0  # cells per side (structures)
    provides: int = 0  # supply provided
    requires: int = 0  # raw id of the tech requirement (0 = none)
    producer: int = 0  # raw id of the building that trains it (units)


_ECON: dict[int, _Econ] = {
    SCV: _Econ(17, producer=COMMAND_CENTER),
    MARINE: _Econ(25, producer=BARRACKS),
    MARAUDER: _Econ(30, producer=BARRACKS),
    HELLION: _Econ(30, producer=FACTORY),
    COMMAND_CENTER: _Econ(100, footprint=5, provides=15),
    SUPPLY_DEPOT: _Econ(30, footprint=2, provides=8),
    REFINERY: _Econ(30, footprint=3),
    BARRACKS: _Econ(65, footprint=3, requires=SUPPLY_DEPOT),
    FACTORY: _Econ(60, footprint=3, requires=BARRACKS),
}

BUILD_FUNCTIONS: dict[int, int] = {
    _F["Build_CommandCenter_screen"]: COMMAND_CENTER,
    _F["Build_SupplyDepot_screen"]: SUPPLY_DEPOT,
    _F["Build_Refinery_screen"]: REFINERY,
    _F["Build_Barracks_screen"]: BARRACKS,
    _F["Build_Factory_screen"]: FACTORY,
}
"""PySC2 function id -> raw id of the building it places."""

TRAIN_FUNCTIONS: dict[int, int] = {
    _F["Train_SCV_quick"]: SCV,
    _F["Train_Marine_quick"]: MARINE,
    _F["Train_Marauder_quick"]: MARAUDER,
    _F["Train_Hellion_quick"]: HELLION,
}
"""PySC2 function id -> raw id of the unit it trains."""


@dataclasses.dataclass
class EconTable:
    """Per dense type index (rows of `units.TABLE`): the economy columns.

    Attributes:
        build_loops: float32 build/train time in game loops (0 = not buildable).
        footprint: int32 cells per side (0 = not a placed structure).
        provides: int32 supply provided when complete.
        requires: int32 type index of the tech requirement (-1 = none).
        producer: int32 type index of the producing building (-1 = none).
        minerals, vespene: int32 cost.
        supply: float32 supply used.
    """

    build_loops: np.ndarray
    footprint: np.ndarray
    provides: np.ndarray
    requires: np.ndarray
    producer: np.ndarray
    minerals: np.ndarray
    vespene: np.ndarray
    supply: np.ndarray


def _build() -> EconTable:
    n = len(units.UNITS)
    t = EconTable(
        build_loops=np.zeros(n, np.float32),
        footprint=np.zeros(n, np.int32),
        provides=np.zeros(n, np.int32),
        requires=np.full(n, -1, np.int32),
        producer=np.full(n, -1, np.int32),
        minerals=np.array([u.minerals for u in units.UNITS], np.int32),
        vespene=np.array([u.vespene for u in units.UNITS], np.int32),
        supply=np.array([u.supply for u in units.UNITS], np.float32),
    )
    for raw, e in _ECON.items():
        i = units.type_index(raw)
        t.build_loops[i] = e.build_s * 16.0
        t.footprint[i] = e.footprint
        t.provides[i] = e.provides
        t.requires[i] = units.type_index(e.requires) if e.requires else -1
        t.producer[i] = units.type_index(e.producer) if e.producer else -1
    for raw in (MINERAL, GEYSER):
        t.footprint[units.type_index(raw)] = 3 if raw == GEYSER else 2
    return t


ECON: EconTable = _build()
"""Economy columns of every registered unit type (see `EconTable`)."""


def footprint_cells(centre: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower-left cell ``(x0, y0)`` of a ``size``x``size`` footprint centred at ``centre``.

    Mineral fields are 2x1; everything else is square. ``centre`` ``[..., 2]``, ``size`` ``[...]``.
    """
    c = np.asarray(centre, np.float32)
    s = np.asarray(size)
    x0 = np.floor(c[..., 0] - s / 2.0 + 0.5).astype(np.int64)
    y0 = np.floor(c[..., 1] - s / 2.0 + 0.5).astype(np.int64)
    return x0, y0


def snap_centre(point: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Centre of the grid-aligned ``size``x``size`` footprint nearest ``point`` (``[..., 2]``)."""
    p = np.asarray(point, np.float32)
    s = np.asarray(size)[..., None]
    odd = (s % 2) == 1
    return np.where(odd, np.floor(p) + 0.5, np.round(p)).astype(np.float32)
