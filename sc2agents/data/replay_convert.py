"""Binary-free conversion of a 1v1 replay into two `Episode`s (one per player's point of view).

`convert_replay(path, cfg)` decodes the replay (`replay_decode.decode_replay`) and samples the game
every ``cfg.step_mul`` game loops. Step ``k`` observes loop ``min(k * step_mul, L)``, with ``L`` the
game length (capped at ``cfg.max_game_loops``), so an episode has ``T = ceil(L / step_mul)`` steps
and ``T + 1`` observations.

**Observations** (storage form of `sc2agents.envs.features`, minimap only):

* ``minimap`` uint8 ``[T+1, 10, M, M]`` in `features.storage_channels(MINIMAP_LAYERS)` order (a
  `CodedArray`, see **Speed**), filled
  from tracker events where the events allow it: ``player_relative`` (1 self, 3 neutral, 4 enemy),
  ``player_id`` (1/2, neutral 16), ``camera`` (the player's camera rectangle, ``camera_width``
  world units wide as in PySC2), ``selected`` (the player's reconstructed selection). Channels that
  events cannot give -- ``height_map``, ``visibility_map``, ``creep``, ``alerts``, ``pathable``,
  ``buildable`` -- are **left zero, not faked**, and listed in ``info["absent_layers"]``.
* ``minimap_unit_type`` uint16 ``[T+1, M, M]``: dense `features.UNIT_TYPE_VOCAB` index of the unit
  drawn in each cell (tracker type names -> PySC2 unit ids -> dense index).
* ``player`` float32 ``[T+1, 11]`` (`features.PLAYER_FIELDS`): minerals, vespene, food used/cap from
  the last PlayerStats event (every 160 loops); ``food_workers`` = active workers,
  ``food_army`` = food used - workers; ``army_count``, ``warp_gate_count``, ``larva_count`` counted
  from the tracked units; ``idle_worker_count`` is unknown (0).
* ``unit_counts`` uint16 ``[T+1, U]``: the player's own live units per dense unit type
  (`features.UNIT_TYPE_VOCAB`, ``U = len(UNIT_TYPE_VOCAB)``; column 0 counts unknown types).
  Stored as
  uint16 (counts never reach 65535) to keep storage small; cast to float for a network.

Positions are cells from birth/init/death events and the periodic (240-loop) position snapshots of
units that recently fought; between snapshots a unit is drawn where it was last seen (the replay
holds nothing better). PySC2's minimap spans the map's playable area, which is not in the replay
(it lives in the map file); by default (``minimap_area="observed"``) we span the square around
everything ever seen in the game (every unit position, including the loop-0 neutrals that line
the bases, and every camera target), which REPLAYS.md section 4 found to track the playable area
closely; ``"map"`` spans the whole ``map_size``. ``y`` is flipped like PySC2;
``info["minimap_transform"]`` records the area.

**Fog of war** (``cfg.fog``): ``"approx"`` (default) hides enemy units that are not within
``sight_radius`` cells of one of the player's own units at that step (computed on a coarse grid);
``"none"`` shows every unit, like an observer. Default reasoning: a learned policy acts under fog
in the real game, so training on observer views leaks information it will never have at test time
(enemy tech, army composition). The approximation ignores high ground, detection, scans and
buildings' remembered snapshots; it errs both ways, but removes most of the leakage. Neutral units
(minerals, geysers, rocks) are always shown, as the real minimap does from the start.

**Actions** (``function`` int16 ``[T]``, ``args`` int32 ``[T, 13]``, `features.encode_action`
layout): per step the first player command in the step's window (commands > control-group hotkeys >
selections > camera moves), else ``no_op``. Commands go ability -> PySC2 function: the sc2reader
command name is matched against PySC2 function names (``pysc2_evolved.lib.actions``, whose ability
ids are the s2client-proto stable ids), with an alias table for names that differ, and the general
ability chosen (PySC2's ``hide_specific_actions`` default). Point/unit targets become ``screen``
coordinates relative to the camera (PySC2's ``camera_width_world_units``) or ``minimap`` ones when
the command was issued on the minimap or its target lies off screen (and the function has a
minimap form; otherwise the point is clipped to the screen edge and counted). Re-targeting updates
repeat the previous command. Hotkeys map to ``select_control_group``, selections to
``select_point``/``select_rect`` around the selected units' last known positions, camera moves to
``move_camera``. ``info["action_stats"]`` counts what was mapped, unmapped and dropped.

**Reward and end**: 0 everywhere except the last step: +1 win, -1 loss, 0 tie. The last step is a
terminal when the game ended with a result, a truncation otherwise (no result recorded, or the game
was cut at ``max_game_loops``).

**Speed.** Everything after the decode is vectorised: units become state segments (one per
tracker event), neutral units are painted once per distinct neutral frame, players' units are
expanded over the steps they live and scattered step-major into one packed grid shared by both
views; each view derives its unit types and owner codes from the grid with streaming passes and
blanks the enemy cells fog hides. The ``minimap`` is a `sc2agents.data.episodes.CodedArray`: one
uint8 code per cell (owner, camera, selected bits) plus per-channel lookup tables, never the dense
``[T+1, 10, M, M]`` frames (4 kB instead of 40 kB per step and view); it behaves like the dense
array for any user, and `sc2agents.data.dataset.DatasetWriter` encodes it from the codes into the
same bytes as the dense array. Python loops run over player events only (selection replay,
hotkeys). ``benchmarks/replay_conversion.py`` times decode + conversion + writing against the bare
sc2reader load: over the 36 usable replays of ``../shared/replays`` (2-core machine shared with
other jobs) ``decode / (conversion + writing)`` = 0.51-0.54 wall / 0.52-0.55 CPU (0.62-0.66
without writing), against 0.31-0.32 / 0.32 (0.42-0.43) with dense frames, two runs each; the
short-game ``--quick`` subset, where the decode is cheapest, stays below 0.5 (0.40 against 0.25).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
import re
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from sc2agents.data import replay_decode as rd
from sc2agents.data.episodes import CodedArray, Episode
from sc2agents.envs import features

__all__ = [
    "ABSENT_LAYERS",
    "ConvertConfig",
    "ability_to_function",
    "convert_decoded",
    "convert_replay",
]


@dataclasses.dataclass(frozen=True)
class ConvertConfig:
    """Replay conversion options (picklable; passed to workers)."""

    step_mul: int = 8  # game loops per step (PySC2's default)
    minimap_size: int = 64  # M: minimap side in pixels
    screen_size: int = 64  # side of the screen grid that screen-targeted actions index
    fog: Literal["none", "approx"] = "approx"  # see the module docstring
    sight_radius: float = 11.0  # cells, for fog="approx"
    camera_width: float = 24.0  # world units the screen spans (PySC2 camera_width_world_units)
    include_vs_ai: bool = False  # keep games against the built-in AI
    min_game_loops: int = 1344  # skip games shorter than this (1 minute on "faster")
    max_game_loops: int = 40320  # cut longer games here (30 minutes on "faster"): truncation
    hide_specific_actions: bool = True  # map to general abilities (PySC2's default)
    stableid_path: str | None = None  # s2client-proto stableid.json for exact ability ids
    minimap_area: Literal["observed", "map"] = "observed"  # what the minimap spans (docstring)

    def __post_init__(self) -> None:
        if self.step_mul < 1 or self.minimap_size < 8 or self.screen_size < 8:
            raise ValueError(f"ConvertConfig: bad sizes {self}")
        if self.minimap_area not in ("observed", "map"):
            raise ValueError(f"ConvertConfig: minimap_area must be 'observed' or 'map', got "
                             f"{self.minimap_area!r}")  # fmt: skip
        if self.fog not in ("none", "approx"):
            raise ValueError(f"ConvertConfig: fog must be 'none' or 'approx', got {self.fog!r}")


_CHANNELS = features.storage_channels(features.MINIMAP_LAYERS)
_CH = {s.name: i for i, s in enumerate(_CHANNELS)}
ABSENT_LAYERS: tuple[str, ...] = (
    "height_map", "visibility_map", "creep", "alerts", "pathable", "buildable",
)  # fmt: skip
"""Minimap channels a replay cannot give without the map file / game binary: left zero."""
# The minimap is held as one uint8 code per cell (a `CodedArray`): bits 0-5 the owner code (0 =
# empty, k = the k-th owner id of the game's sorted owners), bit 6 camera, bit 7 selected.
_OWNER_BITS, _CAMERA_BIT, _SELECTED_BIT = 63, 64, 128
_ARG = {name: i for i, name in enumerate(features.ARG_TYPES)}
_FN = features.FUNCTION_IDS
_NO_OP, _MOVE_CAMERA = _FN["no_op"], _FN["move_camera"]
_SELECT_POINT, _SELECT_RECT, _SELECT_CG = (
    _FN["select_point"],
    _FN["select_rect"],
    _FN["select_control_group"],
)
# SControlGroupUpdateEvent update -> PySC2 ControlGroupAct (3 = delete has no PySC2 equivalent).
_CG_ACT = {0: 1, 1: 2, 2: 0, 4: 3, 5: 4}
_NEUTRAL = 16
_POS_EVERY = 240  # game loops between SUnitPositionsEvent snapshots
_TOWNHALLS = frozenset({"CommandCenter", "Nexus", "Hatchery"})  # start location = first camera
_NUM_UNIT_TYPES = len(features.UNIT_TYPE_VOCAB)


# --------------------------------------------------------------------------------------------
# Unit names -> ids and categories
# --------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _unit_ids() -> dict[str, int]:
    from pysc2_evolved.lib import units as sc2_units

    out: dict[str, int] = {}
    for race in (sc2_units.Neutral, sc2_units.Protoss, sc2_units.Terran, sc2_units.Zerg):
        for u in race:
            out.setdefault(u.name, int(u))
    return out


@functools.lru_cache(maxsize=1)
def _unit_categories() -> dict[str, tuple[bool, bool, bool]]:
    """lower-case name -> (is_worker, is_army, is_building) from sc2reader's unit table."""
    from sc2reader.data import unit_lookup

    out = {}
    for race in unit_lookup.values():
        for name, d in race.items():
            out[name] = (
                bool(d.get("is_worker")),
                bool(d.get("is_army")),
                bool(d.get("is_building")),
            )
    return out


def _type_tables(names: Sequence[str]) -> dict[str, np.ndarray]:
    ids, cats = _unit_ids(), _unit_categories()
    raw = np.array([ids.get(n, 0) for n in names] + [0], dtype=np.int64)
    cat = np.array([cats.get(n.lower(), (False, False, False)) for n in names] + [(0, 0, 0)], bool)
    return {
        "dense": features.unit_type_index(raw).astype(np.int64),
        "worker": cat[:, 0],
        "army": cat[:, 1] & ~np.isin(np.array(list(names) + [""]), ["Larva", "Egg"]),
        "warpgate": np.array([n == "WarpGate" for n in names] + [False]),
        "larva": np.array([n == "Larva" for n in names] + [False]),
        "known": raw > 0,
    }


# --------------------------------------------------------------------------------------------
# Abilities -> PySC2 functions
# --------------------------------------------------------------------------------------------
# sc2reader command name -> PySC2 function stem, where the generic rules below do not find it.
_ALIASES = {
    "RightClick": "Smart", "Gather": "Harvest_Gather", "ReturnCargo": "Harvest_Return",
    "SpawnLarva": "Effect_InjectLarva", "ScannerSweep": "Effect_Scan", "UseStimpack": "Effect_Stim",
    "SiegeMode": "Morph_SiegeMode", "TankMode": "Morph_Unsiege",
    "CreepTumor": "Build_CreepTumor_Queen", "BuildCreepTumor": "Build_CreepTumor_Tumor",
    "MedivacSpeedBoost": "Effect_MedivacIgniteAfterburners",
    "QueenTransfusion": "Effect_Transfusion", "UnloadTargetMedivac": "UnloadAllAt_Medivac",
    "UnloadTargetWarpPrism": "UnloadAllAt_WarpPrism",
    "UnloadTargetOverlord": "UnloadAllAt_Overlord",
    "LowerSupplyDepot": "Morph_SupplyDepot_Lower", "RaiseSupplyDepot": "Morph_SupplyDepot_Raise",
    "LiberatorAGTarget": "Morph_LiberatorAGMode", "LiberatorAATarget": "Morph_LiberatorAAMode",
    "PsionicStorm": "Effect_PsiStorm", "AdeptPhaseShift": "Effect_AdeptPhaseShift",
    "ChronoBoostEnergyCost": "Effect_ChronoBoostEnergyCost", "ScanMove": "Scan_Move",
    "BurrowWidowMine": "BurrowDown_WidowMine", "UnburrowWidowMine": "BurrowUp_WidowMine",
    "SetRallyPoint": "Rally_Building", "SetWorkerRally": "Rally_Workers",
    "SetUnitRally": "Rally_Units", "CancelLast": "Cancel_Last", "CancelBuilding": "Cancel",
    "Blink": "Effect_Blink", "EMPRound": "Effect_EMP", "Consume": "Effect_ViperConsume",
    "TrainViking": "Train_VikingFighter", "RootSporeCrawler": "Morph_SporeCrawlerRoot",
    "UprootSporeCrawler": "Morph_SporeCrawlerUproot", "RootSpineCrawler": "Morph_SpineCrawlerRoot",
    "UprootSpineCrawler": "Morph_SpineCrawlerUproot", "SCVRepair": "Effect_Repair",
    "RavagerCorrosiveBile": "Effect_CorrosiveBile",
    "OverseerMorphtoOverseerSiegeMode": "Morph_OversightMode",
    "OverseerSiegeModeMorphtoOverseer": "Morph_OverseerMode",
    "ObserverMorphtoObserverSiege": "Morph_SurveillanceMode",
    "ObserverSiegeMorphtoObserver": "Morph_ObserverMode",
    "PurificationNovaTargeted": "Effect_PurificationNova", "GravitonBeam": "Effect_GravitonBeam",
    "PhasingMode": "Morph_WarpPrismPhasingMode", "TransportMode": "Morph_WarpPrismTransportMode",
    "Revelation": "Effect_OracleRevelation", "ArchonWarpSelection": "Morph_Archon",
    "BuildAutoTurret": "Effect_AutoTurret", "LoadTarget": "Load", "TrainBaneling": "Train_Baneling",
    "MorphToBaneling": "Train_Baneling", "BuildBattleHellion": "Train_Hellbat",
    "DarkTemplarBlink": "Effect_ShadowStride", "ChannelSnipe": "Effect_GhostSnipe",
    "EvolveMetabolicBoost": "Research_ZerglingMetabolicBoost",
    "OracleWeapon": "Behavior_PulsarBeamOn", "OracleWeaponOff": "Behavior_PulsarBeamOff",
    "ExtraSupplies": "Effect_SupplyDrop", "SpawnChangeling": "Effect_SpawnChangeling",
    "CalldownMULE": "Effect_CalldownMULE", "HoldPosition": "HoldPosition", "Stop": "Stop",
    "Attack": "Attack", "Move": "Move", "Patrol": "Patrol", "BattlecruiserAttack": "Attack",
    "BattlecruiserMove": "Move", "BattlecruiserStop": "Stop",
    "ForceField": "Effect_ForceField", "KD8Charge": "Effect_KD8Charge",
    "BattleMode": "Morph_Hellbat", "FighterMode": "Morph_Hellion", "Abduct": "Effect_Abduct",
    "FungalGrowth": "Effect_FungalGrowth", "ParasiticBomb": "Effect_ParasiticBomb",
    "PrismaticAlignment": "Effect_VoidRayPrismaticAlignment", "LockOn": "Effect_LockOn",
    "AdeptShadePhaseShiftCancel": "Cancel_AdeptShadePhaseShift",
    "VoidRaySwarmDamageBoostCancel": "Cancel_VoidRayPrismaticAlignment",
    "NexusMassRecall": "Effect_MassRecall_Nexus", "MassRecall": "Effect_MassRecall",
}  # fmt: skip
_REWRITES = (
    ("Morph", "Train_"), ("Build", "Train_"), ("WarpIn", "TrainWarp_"), ("Upgrade", "Research_"),
    ("Evolve", "Research_"), ("Research", "Research_"), ("Burrow", "BurrowDown_"),
    ("Unburrow", "BurrowUp_"), ("Use", "Effect_"), ("Calldown", "Effect_Calldown"),
    ("UpgradeTo", "Morph_"), ("MorphTo", "Morph_"), ("Hallucinate", "Hallucination_"),
    ("Lift", "Lift_"), ("Land", "Land_"), ("Cancel", "Cancel_"),
)  # fmt: skip


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


@functools.lru_cache(maxsize=2)
def _function_index(hide_specific: bool) -> tuple[dict[str, set[int]], dict[int, dict[str, int]]]:
    """(normalised stem -> ability ids, ability id -> {quick/screen/minimap: function id})."""
    stems: dict[str, set[int]] = {}
    by_ability: dict[int, dict[str, int]] = {}
    for f in features.FUNCTIONS:
        if f.ability_id == 0:
            continue
        aid = (f.general_id or f.ability_id) if hide_specific else f.ability_id
        stem = re.sub(r"_(quick|screen|minimap|autocast)$", "", f.name)
        stems.setdefault(_norm(stem), set()).add(aid)
        kind = f.name.rsplit("_", 1)[-1]
        if kind in ("quick", "screen", "minimap") and (f.general_id == 0 or not hide_specific):
            by_ability.setdefault(aid, {}).setdefault(kind, int(f.id))
    return stems, by_ability


def _stableid_path(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if os.environ.get("SC2AGENTS_STABLEID"):
        return os.environ["SC2AGENTS_STABLEID"]
    sc2 = os.environ.get("SC2PATH")
    if sc2 and os.path.isfile(os.path.join(sc2, "stableid.json")):
        return os.path.join(sc2, "stableid.json")
    return None


@functools.lru_cache(maxsize=4)
def _stableid_table(path: str) -> dict[tuple[str, int], int]:
    """``(CAbil name, command index) -> API ability id`` from an s2client-proto ``stableid.json``.

    Raises:
        ValueError: the file is not a stableid.json (names the file).
    """
    import json

    try:
        with open(path, encoding="utf8") as f:
            data = json.load(f)
        return {(a["name"], int(a["index"])): int(a["id"]) for a in data["Abilities"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path}: not a readable stableid.json ({e})") from e


@functools.lru_cache(maxsize=4096)
def ability_to_function(
    name: str,
    cabil: str = "",
    hide_specific: bool = True,
    cmd_index: int = -1,
    stableid: str | None = None,
) -> dict[str, int]:
    """PySC2 function ids ``{"quick"|"screen"|"minimap": id}`` for a replay command.

    With a ``stableid.json`` (s2client-proto's id table: ``stableid`` argument, the
    ``SC2AGENTS_STABLEID`` variable, or ``$SC2PATH/stableid.json``) the CAbil name and command
    index map exactly to the API ability id, hence to PySC2's functions. Without one (the table is
    not vendored here) the sc2reader command name is matched against PySC2's function names, with
    the alias table and prefix rewrites above. Checked against the real ``stableid.json`` on 20
    replays of ``../shared/replays`` (4.x-5.x, 17k commands): where the table knows the command the
    names agree on 99.4% and never pick a different function (the rest are misses, labelled
    ``no_op`` and counted in ``info["action_stats"]``); commands newer than the table (2019) are
    mapped by name only.

    Args:
        name: sc2reader command name (``TrainSCV``, ``Attack``, ``RightClick`` ...).
        cabil: the CAbil catalog name when known (disambiguates warp-gate trains).
        hide_specific: map to the general ability (``Attack`` for ``Attack_Attack``), as PySC2.
        cmd_index: the command index inside the CAbil (for the stableid lookup).
        stableid: path of a ``stableid.json`` (default: see above).

    Returns:
        The available forms; empty when the command has no PySC2 function.
    """
    stems, by_ability = _function_index(hide_specific)
    sid_path = _stableid_path(stableid)
    if sid_path and cabil and cmd_index >= 0:
        api = _stableid_table(sid_path).get((cabil, cmd_index))
        fns = _functions_of_ability(api, hide_specific) if api is not None else None
        if fns:
            return dict(fns)

    def lookup(stem: str) -> dict[str, int] | None:
        ids = stems.get(_norm(stem))
        if ids and len(ids) == 1:
            return by_ability.get(next(iter(ids)))
        return None

    if cabil == "WarpGateTrain" and name.startswith("Train"):
        name = "WarpIn" + name[len("Train") :]
    candidates = []
    if name in _ALIASES:
        candidates.append(_ALIASES[name])
    candidates.append(name)
    base = re.sub(r"(Level)?\d+$", "", name)
    for src in dict.fromkeys((name, base)):
        for prefix, repl in _REWRITES:
            if src.startswith(prefix):
                rest = src[len(prefix) :]
                candidates.append(repl + rest)
                if repl == "Research_":
                    candidates += [repl + race + rest for race in ("Protoss", "Terran", "Zerg")]
    candidates.append("Effect_" + name)  # most spells: Effect_<name>
    if name.endswith("Cancel"):
        candidates.append("Cancel_" + name[: -len("Cancel")])
    for stem in candidates:
        fns = lookup(stem)
        if fns:
            return dict(fns)
    return {}


def _functions_of_ability(api_id: int, hide_specific: bool) -> dict[str, int] | None:
    _, by_ability = _function_index(hide_specific)
    for f in features.FUNCTIONS:
        if int(f.ability_id) == api_id:
            aid = (f.general_id or f.ability_id) if hide_specific else f.ability_id
            return by_ability.get(int(aid))
    return None


# --------------------------------------------------------------------------------------------
# Geometry helpers
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Geometry:
    """World cells -> minimap pixels (PySC2's world-to-minimap transform).

    The area ``[x0, x0 + extent) x [y0, y0 + extent)`` maps onto ``size x size`` pixels, y
    flipped; the area stands in for PySC2's playable area.
    """

    x0: float
    y0: float
    extent: float
    size: int  # minimap pixels

    @property
    def scale(self) -> float:
        return self.size / self.extent

    def to_px(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s = self.scale
        fx = np.floor((np.asarray(x, np.float64) - self.x0) * s)
        fy = np.floor((self.y0 + self.extent - np.asarray(y, np.float64)) * s)
        px = np.clip(fx, 0, self.size - 1).astype(np.int64)
        return px, np.clip(fy, 0, self.size - 1).astype(np.int64)

    def describe(self) -> str:
        return (
            f"cells x [{self.x0:g}, {self.x0 + self.extent:g}) y [{self.y0:g}, "
            f"{self.y0 + self.extent:g}) -> {self.size}x{self.size} px, y flipped"
        )


def _geometry(rep: rd.DecodedReplay, cfg: ConvertConfig) -> _Geometry:
    """The minimap area: the whole map, or (default) the area where anything was ever seen."""
    w, h = rep.map_size
    if cfg.minimap_area == "map":
        return _Geometry(0.0, 0.0, float(max(w, h)), cfg.minimap_size)
    u = rep.units
    ok = u.x >= 0
    xs = np.concatenate([u.x[ok].astype(np.float64), rep.cameras.x.astype(np.float64)])
    ys = np.concatenate([u.y[ok].astype(np.float64), rep.cameras.y.astype(np.float64)])
    if xs.size == 0:
        return _Geometry(0.0, 0.0, float(max(w, h)), cfg.minimap_size)
    margin = 4.0  # a unit's footprint around its centre cell
    x0, x1 = max(0.0, xs.min() - margin), min(float(w), xs.max() + margin + 1)
    y0, y1 = max(0.0, ys.min() - margin), min(float(h), ys.max() + margin + 1)
    extent = max(x1 - x0, y1 - y0, 8.0)
    # Centre the shorter side, like PySC2 centres the playable area.
    x0 -= (extent - (x1 - x0)) / 2
    y0 -= (extent - (y1 - y0)) / 2
    return _Geometry(
        float(np.floor(x0)), float(np.floor(y0)), float(np.ceil(extent)), cfg.minimap_size
    )


def _divmod(a: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a // d, a % d)`` for non-negative ints.

    Shifts and masks when ``d`` is a power of two (64x64 grids): ~5x cheaper than int64 division
    on the million-element index arrays here.
    """
    if d > 0 and d & (d - 1) == 0:
        shift = d.bit_length() - 1
        return a >> shift, a & (d - 1)
    return a // d, a % d


def _ceil_div(a: np.ndarray, b: int) -> np.ndarray:
    return -((-a) // b)


def _expand(k0: np.ndarray, k1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows with step ranges ``[k0, k1)``: (row index, step) of every covered step."""
    n = np.maximum(k1 - k0, 0)
    total = int(n.sum())
    rows = np.repeat(np.arange(len(n)), n)
    starts = np.cumsum(n) - n
    steps = np.arange(total, dtype=np.int64) - np.repeat(starts - k0, n)
    return rows, steps


def _ffill_index(valid: np.ndarray, group_start: np.ndarray) -> np.ndarray:
    idx = np.where(valid | group_start, np.arange(len(valid)), 0)
    return np.maximum.accumulate(idx) if len(idx) else idx


# --------------------------------------------------------------------------------------------
# Unit segments (state between two tracker events of a unit)
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Segments:
    tag: np.ndarray
    type_idx: np.ndarray
    owner: np.ndarray
    x: np.ndarray
    y: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _unit_segments(units: rd.UnitEvents, horizon: int) -> _Segments:
    n = len(units)
    order = np.lexsort((np.arange(n), units.loop, units.tag))
    kind, tag, loop = units.kind[order], units.tag[order], units.loop[order].astype(np.int64)
    gstart = np.ones(n, bool)
    gstart[1:] = tag[1:] != tag[:-1]
    gend = np.ones(n, bool)
    gend[:-1] = gstart[1:]
    is_state = (kind == rd.BORN) | (kind == rd.INIT)
    typ_raw = units.unit_type[order].astype(np.int64)
    typ = np.where(gstart & (typ_raw < 0), -1, typ_raw)[_ffill_index(typ_raw >= 0, gstart)]
    own_raw = np.where(is_state | (kind == rd.OWNER), units.owner[order], -1).astype(np.int64)
    own = own_raw[_ffill_index(own_raw >= 0, gstart)]
    has_pos = is_state | (kind == rd.POSITION)
    xr = np.where(has_pos, units.x[order], -1).astype(np.int64)
    yr = np.where(has_pos, units.y[order], -1).astype(np.int64)
    pidx = _ffill_index(xr >= 0, gstart)
    x, y = xr[pidx], yr[pidx]
    end = np.empty(n, np.int64)
    end[:-1] = loop[1:]
    end[gend] = horizon
    keep = (kind != rd.DIED) & (typ >= 0) & (own >= 0) & (x >= 0) & (end > loop)
    if len(typ):  # UI beacons are units owned by players but never drawn (nor seen by PySC2)
        beacon = np.array([n.startswith("Beacon") for n in units.type_names] + [False])
        keep &= ~beacon[typ]
    return _Segments(tag[keep], typ[keep], own[keep], x[keep], y[keep], loop[keep], end[keep])


# --------------------------------------------------------------------------------------------
# Selection reconstruction (approximate; see module docstring)
# --------------------------------------------------------------------------------------------
def _deselect(sel: list[int], kind: str, data: Any) -> list[int]:
    if kind == "None" or data is None:
        return sel
    if kind == "Mask":
        if isinstance(data, int):  # bit i set: drop unit i (bits past the selection: none)
            return [u for i, u in enumerate(sel) if not data >> i & 1]
        bits = list(data)
        return [u for i, u in enumerate(sel) if not (i < len(bits) and bits[i])]
    if kind == "OneIndices":
        drop = set(data)
        return [u for i, u in enumerate(sel) if i not in drop]
    if kind == "ZeroIndices":
        return [sel[i] for i in data if i < len(sel)]
    return sel


def _selection_states(
    rep: rd.DecodedReplay, pid: int
) -> tuple[list[int], list[list[int]], list[tuple[int, int, list[int], bool]]]:
    """Replay one player's selection and hotkey events (approximately: see the module docstring).

    The game orders a selection by subgroup priority (game data we do not have); we keep it sorted
    by unit tag, so index-based removals (``Mask``/``OneIndices``/``ZeroIndices``) can hit the
    wrong units when the selection mixes types. Selection deltas that add units to the active
    selection are taken as user selections (deaths and morphs only remove or replace).

    Returns:
        (loops where the active selection changed, its unit tags from each loop on, user
        selections as ``(loop, units removed, added tags, add_mode)``).
    """
    cg = rep.control_groups
    events: list[tuple[int, int, Any]] = [
        (s.loop, 1, s) for s in rep.selections if s.player_id == pid
    ]
    m = cg.player == pid
    events += [
        (int(lp), 0, (int(g), int(u)))
        for lp, g, u in zip(cg.loop[m], cg.group[m], cg.update[m], strict=True)
    ]
    events.sort(key=lambda e: (e[0], e[1]))
    groups: list[list[int]] = [[] for _ in range(11)]
    loops: list[int] = [0]
    states: list[list[int]] = [groups[10]]
    user: list[tuple[int, int, list[int], bool]] = []
    for loop, is_sel, ev in events:
        if is_sel:
            g = ev.control_group if 0 <= ev.control_group <= 10 else 10
            before = groups[g]
            kept = _deselect(before, ev.remove_type, ev.remove_data)
            kept_set = set(kept)
            added = [t for t in ev.add_tags if t not in kept_set]
            groups[g] = sorted(kept + added)
            if g == 10 and ev.add_tags:
                user.append((loop, len(before) - len(kept), list(ev.add_tags), len(kept) > 0))
        else:
            g, upd = ev
            if not 0 <= g <= 9:
                continue
            if upd in (0, 4):
                groups[g] = list(groups[10])
            elif upd in (1, 5):
                groups[g] = sorted(set(groups[g]) | set(groups[10]))
            elif upd == 2:
                groups[10] = list(groups[g])
            elif upd == 3:
                groups[g] = []
        if groups[10] is states[-1]:
            continue  # the active selection did not change (a hotkey on another group)
        if loops[-1] == loop:
            states[-1] = groups[10]
        else:
            loops.append(loop)
            states.append(groups[10])
    return loops, states, user


# --------------------------------------------------------------------------------------------
# Conversion
# --------------------------------------------------------------------------------------------
def convert_replay(path: str | os.PathLike[str], cfg: ConvertConfig | None = None) -> list[Episode]:
    """Convert one 1v1 replay into two episodes (player 1's and player 2's point of view).

    Raises:
        ReplayError: the replay is unusable (see `replay_decode.decode_replay`).
    """
    cfg = cfg or ConvertConfig()
    rep = rd.decode_replay(
        path,
        require_1v1=True,
        include_vs_ai=cfg.include_vs_ai,
        min_game_loops=cfg.min_game_loops,
    )
    return convert_decoded(rep, cfg)


def convert_decoded(rep: rd.DecodedReplay, cfg: ConvertConfig) -> list[Episode]:
    """Convert an already decoded 1v1 replay (see `convert_replay`)."""
    if not rep.is_1v1:
        raise rd.ReplayError(rep.path, f"not 1v1 ({len(rep.players)} players)")
    s = cfg.step_mul
    horizon = min(rep.game_loops, cfg.max_game_loops)
    cut = rep.game_loops > cfg.max_game_loops
    T = max(1, math.ceil(horizon / s))
    geo = _geometry(rep, cfg)
    seg = _unit_segments(rep.units, T * s + 1)  # alive to the end: through step T
    tt = _type_tables(rep.units.type_names)
    k0 = np.minimum(_ceil_div(seg.start, s), T + 1)
    k1 = np.minimum(_ceil_div(seg.end, s), T + 1)
    px, py = geo.to_px(seg.x, seg.y)
    cell = py * geo.size + px
    owner = np.where(seg.owner == 0, _NEUTRAL, seg.owner)
    dense = tt["dense"][seg.type_idx]
    grid, owners = _unit_grids(k0, k1, cell, owner, dense, T, geo.size)
    segs = {"k0": k0, "k1": k1, "cell": cell, "owner": owner, "dense": dense, "typ": seg.type_idx}
    if len(owners) > _OWNER_BITS:
        raise rd.ReplayError(rep.path, f"{len(owners)} unit owners (at most {_OWNER_BITS})")
    # Both views start from these (shared without fog, copied and fogged with it): streaming
    # passes over the grid, cheaper than scattering its occupied cells into zeroed arrays.
    segs.update(owners=owners, owner_code=(grid >> 10).astype(np.uint8))
    unit_type = (grid & np.uint16(1023)).reshape(T + 1, geo.size, geo.size)
    del grid
    pos_index = _PositionIndex(seg)
    last = len(rep.players) - 1  # the last view may modify the shared arrays in place
    return [_episode_for(rep, cfg, p.player_id, T, horizon, cut, geo, tt, segs, unit_type,
                         pos_index, i == last) for i, p in enumerate(rep.players)]  # fmt: skip


def _unit_grids(
    k0: np.ndarray, k1: np.ndarray, cell: np.ndarray, owner: np.ndarray, dense: np.ndarray,
    T: int, M: int,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The unit drawn in every cell at every step, as one uint16 grid ``[T+1, M*M]``.

    A cell holds ``(owner code << 10) | dense unit type`` (0 = empty), with ``owners[code - 1]``
    the owner id: one grid, one scatter, one gather instead of two of each.

    Neutral units (minerals, geysers, rocks) change a few dozen times per game, so they are painted
    once per distinct neutral frame and broadcast to the steps (a row gather). Players' units are
    drawn on top: their (segment, step) pairs are put in step-major order with a stable radix sort
    so that the scatter writes stay within one frame (~5x faster than segment-major writes into a
    100+ MB array).

    Returns:
        (grid, owners): owners is the sorted array of owner ids the codes index.
    """
    plane = M * M
    owners = np.unique(owner)
    code = (np.searchsorted(owners, owner).astype(np.uint16) + 1) << 10
    value = (code | dense.astype(np.uint16)).astype(np.uint16)
    neu = owner == _NEUTRAL
    bounds = np.unique(np.concatenate([[0], k0[neu], k1[neu]]))
    bounds = bounds[bounds <= T]
    fk0, fk1 = np.searchsorted(bounds, k0[neu]), np.searchsorted(bounds, k1[neu])
    rows, frame = _expand(fk0, fk1)
    frames = np.zeros((len(bounds), plane), np.uint16)
    frames[frame, cell[neu][rows]] = value[neu][rows]
    frame_of_step = np.searchsorted(bounds, np.arange(T + 1), side="right") - 1
    grid = frames[frame_of_step]
    pl = np.flatnonzero(~neu)
    rows, steps = _expand(k0[pl], k1[pl])
    rows = pl[rows]
    so = np.argsort(steps.astype(np.uint16 if T < 65535 else np.uint32), kind="stable")
    rows, steps = rows[so], steps[so]
    grid.reshape(-1)[steps * plane + cell[rows]] = value[rows]
    return grid, owners


def _step_counts(k0: np.ndarray, k1: np.ndarray, col: np.ndarray, T: int, n: int) -> np.ndarray:
    """``[T+1, n]`` number of rows alive at each step per column (difference array + cumsum)."""
    delta = np.zeros((T + 2) * n, np.int32)
    np.add.at(delta, k0 * n + col, 1)
    np.add.at(delta, k1 * n + col, -1)
    return _cumsum_rows(delta.reshape(T + 2, n))[: T + 1]


def _cumsum_rows(a: np.ndarray, block: int = 64) -> np.ndarray:
    """``a.cumsum(axis=0)`` in row blocks: ~4x faster than numpy's strided axis-0 scan here."""
    out = np.empty_like(a)
    carry = np.zeros(a.shape[1:], a.dtype)
    for i in range(0, a.shape[0], block):
        b = a[i : i + block].cumsum(axis=0)
        b += carry
        out[i : i + block] = b
        carry = b[-1]
    return out


class _PositionIndex:
    """Last known position of a unit at a loop (vectorised lookup over segments)."""

    def __init__(self, seg: _Segments) -> None:
        key = (seg.tag << 24) + seg.start
        order = np.argsort(key, kind="stable")
        self.key, self.tag = key[order], seg.tag[order]
        self.x, self.y = seg.x[order], seg.y[order]

    def lookup(
        self, tags: np.ndarray, loops: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        q = (np.asarray(tags, np.int64) << 24) + np.asarray(loops, np.int64)
        i = np.searchsorted(self.key, q, side="right") - 1
        ok = (i >= 0) & (self.tag[np.maximum(i, 0)] == tags)
        i = np.maximum(i, 0)
        return self.x[i], self.y[i], ok


def _episode_for(
    rep: rd.DecodedReplay,
    cfg: ConvertConfig,
    pid: int,
    T: int,
    horizon: int,
    cut: bool,
    geo: _Geometry,
    tt: dict[str, np.ndarray],
    segs: dict[str, np.ndarray],
    shared_type: np.ndarray,
    pos_index: _PositionIndex,
    owns_shared: bool = False,
) -> Episode:
    M = geo.size
    me = rep.player(pid)
    opp = next(p for p in rep.players if p.player_id != pid)
    own = segs["owner"] == pid
    plane = M * M
    lut_rel = np.zeros(256, np.uint8)
    lut_rel[pid], lut_rel[opp.player_id], lut_rel[_NEUTRAL] = 1, 4, 3
    owners = segs["owners"]
    code = segs["owner_code"]  # [T+1, M*M]: see _OWNER_BITS
    unit_type = shared_type  # [T+1, M, M], shared by the views without fog
    if cfg.fog == "approx":
        # Blank the enemy cells no own unit sees (found on the 1-byte codes).
        oc = int(np.searchsorted(owners, opp.player_id))
        has = oc < len(owners) and owners[oc] == opp.player_id
        enemy = np.flatnonzero(code == oc + 1) if has else np.zeros(0, np.int64)
        seen = _vision(segs["k0"][own], segs["k1"][own], segs["cell"][own], T, M,
                       cfg.sight_radius * geo.scale, enemy)  # fmt: skip
        hidden = enemy[~seen]
        if not owns_shared:
            code, unit_type = code.copy(), unit_type.copy()
        code.reshape(-1)[hidden] = 0
        unit_type.reshape(-1)[hidden] = 0
    else:
        # The camera and selection bits are the view's own (the unit types are shared).
        code = code if owns_shared else code.copy()
    flat = code.reshape(-1)
    # Camera rectangle (sparse: a small box per step).
    cam_x, cam_y = _camera_track(rep, pid, T, s=cfg.step_mul, horizon=horizon)
    half = cfg.camera_width / 2.0
    x0, y0 = geo.to_px(cam_x - half, cam_y + half)
    x1, y1 = geo.to_px(cam_x + half, cam_y - half)
    w = int((x1 - x0).max(initial=0)) + 1
    h = int((y1 - y0).max(initial=0)) + 1
    dx, dy = np.arange(w), np.arange(h)
    xs = x0[:, None, None] + dx[None, None, :]
    ys = y0[:, None, None] + dy[None, :, None]
    inside = (xs <= x1[:, None, None]) & (ys <= y1[:, None, None])
    steps = np.broadcast_to(np.arange(T + 1)[:, None, None], inside.shape)
    cam_idx = steps * plane + ys * M + xs
    flat[cam_idx[inside]] |= _CAMERA_BIT
    # Selection.
    sel_loops, sel_states, user_sel = _selection_states(rep, pid)
    _draw_selected(flat, sel_loops, sel_states, pos_index, geo, T, cfg.step_mul)
    # The code's tables: one row per storage channel (absent layers: all zero).
    v = np.arange(256)
    ids = np.zeros(_OWNER_BITS + 1, np.uint8)
    ids[1 : len(segs["owners"]) + 1] = segs["owners"]
    luts = np.zeros((len(_CHANNELS), 256), np.uint8)
    luts[_CH["player_id"]] = ids[v & _OWNER_BITS]
    luts[_CH["player_relative"]] = lut_rel[ids[v & _OWNER_BITS]]
    luts[_CH["camera"]] = (v & _CAMERA_BIT) > 0
    luts[_CH["selected"]] = (v & _SELECTED_BIT) > 0
    # Unit counts and the player vector.
    counts = _step_counts(segs["k0"][own], segs["k1"][own], segs["dense"][own], T, _NUM_UNIT_TYPES)
    unit_counts = np.clip(counts, 0, 65535).astype(np.uint16)

    def count_of(flag: np.ndarray) -> np.ndarray:
        # Sum of the flagged columns (a few): cheaper than a float matmul over all of them.
        cols = np.unique(tt["dense"][: len(flag)][flag & tt["known"]])
        return counts[:, cols].sum(axis=1).astype(np.float32)

    player = np.zeros((T + 1, len(features.PLAYER_FIELDS)), np.float32)
    pf = {n: i for i, n in enumerate(features.PLAYER_FIELDS)}
    player[:, pf["player_id"]] = pid
    st = rep.stats
    sm = st.player == pid
    if sm.any():
        sl, sv = st.loop[sm], st.values[sm]
        obs_loops = np.minimum(np.arange(T + 1) * cfg.step_mul, horizon)
        i = np.searchsorted(sl, obs_loops, side="right") - 1
        v = sv[np.maximum(i, 0)] * (i >= 0)[:, None]
        col = {n: j for j, n in enumerate(rd.STAT_FIELDS)}
        workers = v[:, col["workers_active_count"]]
        player[:, pf["minerals"]] = v[:, col["minerals_current"]]
        player[:, pf["vespene"]] = v[:, col["vespene_current"]]
        player[:, pf["food_used"]] = v[:, col["food_used"]]
        player[:, pf["food_cap"]] = v[:, col["food_made"]]
        player[:, pf["food_workers"]] = workers
        player[:, pf["food_army"]] = np.maximum(v[:, col["food_used"]] - workers, 0)
    player[:, pf["army_count"]] = count_of(tt["army"])
    player[:, pf["warp_gate_count"]] = count_of(tt["warpgate"])
    player[:, pf["larva_count"]] = count_of(tt["larva"])
    # Actions.
    fn, args, stats = _actions(rep, cfg, pid, T, geo, cam_x, cam_y, user_sel, pos_index)
    # Reward / end.
    rewards = np.zeros(T, np.float32)
    terminated = (not cut) and me.result in ("Win", "Loss", "Tie")
    if terminated:
        rewards[-1] = {"Win": 1.0, "Loss": -1.0, "Tie": 0.0}[me.result]
    info = {
        "source": _source_id(rep.path),
        "replay": os.path.basename(rep.path),
        "build": rep.build,
        "base_build": rep.base_build,
        "release": rep.release,
        "map": rep.map_name,
        "map_size": list(rep.map_size),
        "map_size_estimated": rep.map_size_estimated,
        "player": pid,
        "player_name": me.name,
        "race": me.race,
        "opponent_race": opp.race,
        "result": me.result,
        "is_human": me.is_human,
        "opponent_is_human": opp.is_human,
        "game_loops": rep.game_loops,
        "step_mul": cfg.step_mul,
        "minimap_size": M,
        "screen_size": cfg.screen_size,
        "fog": cfg.fog,
        "absent_layers": list(ABSENT_LAYERS),
        "unit_counts_vocab": "sc2agents.envs.features.UNIT_TYPE_VOCAB",
        "minimap_transform": geo.describe(),
        "decoder": rep.decoder,
        "ability_table": rep.ability_table,
        "end": "terminal" if terminated else ("time_limit" if cut else "no_result"),
        "action_stats": stats,
        "policy": "human" if me.is_human else "built-in AI",
    }
    return Episode(
        observations={
            "minimap": CodedArray(code.reshape(T + 1, M, M), luts),
            "minimap_unit_type": unit_type,
            "player": player,
            "unit_counts": unit_counts,
        },  # fmt: skip
        actions={"function": fn, "args": args},
        rewards=rewards,
        terminated=terminated,
        truncated=not terminated,
        info=info,
    )


def _source_id(path: str) -> str:
    return "replay:" + os.path.basename(path)


def _vision(
    k0: np.ndarray, k1: np.ndarray, cell: np.ndarray, T: int, M: int, radius_px: float,
    query: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Approximate vision at flat ``step * M*M + cell`` positions ``query``: bool per query.

    A position is seen when an own unit (rows ``k0, k1, cell``) is within ``radius_px`` (box) of
    it. Computed on a coarse grid (``M/16`` pixels per block) with a difference array over steps
    and a box dilation: ``fog="approx"`` is coarse by nature.
    """
    f = max(1, M // 16)
    G = -(-M // f)
    r = max(1, int(math.ceil(radius_px / f)))
    coarse = (cell // M // f) * G + (cell % M // f)
    pres = _step_counts(k0, k1, coarse, T, G * G).reshape(T + 1, G, G) > 0
    # Box dilation by shifted ORs (r is 1-2 coarse blocks; cheaper than an integral image).
    pad = np.zeros((T + 1, G + 2 * r, G + 2 * r), bool)
    pad[:, r : r + G, r : r + G] = pres
    vis = np.zeros((T + 1, G, G), bool)
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            vis |= pad[:, dy : dy + G, dx : dx + G]
    plane = M * M
    step, c = _divmod(query, plane)
    cy, cx = _divmod(c, M)
    return vis[step, cy // f, cx // f]


def _camera_track(
    rep: rd.DecodedReplay, pid: int, T: int, *, s: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Camera centre (cells) at every observation: last camera event, else the start location."""
    cam = rep.cameras
    m = cam.player == pid
    loops, xs, ys = cam.loop[m], cam.x[m].astype(np.float64), cam.y[m].astype(np.float64)
    obs_loops = np.minimum(np.arange(T + 1) * s, horizon)
    u = rep.units
    halls = np.array([n in _TOWNHALLS for n in u.type_names] + [False])
    first = np.flatnonzero((u.kind == rd.BORN) & (u.owner == pid) & halls[u.unit_type])
    x0, y0 = (float(u.x[first[0]]), float(u.y[first[0]])) if len(first) else (
        rep.map_size[0] / 2, rep.map_size[1] / 2)  # fmt: skip
    i = np.searchsorted(loops, obs_loops, side="right") - 1
    cx = np.where(i >= 0, xs[np.maximum(i, 0)] if len(xs) else x0, x0)
    cy = np.where(i >= 0, ys[np.maximum(i, 0)] if len(ys) else y0, y0)
    return cx, cy


def _draw_selected(
    flat: np.ndarray, loops: list[int], states: list[list[int]], pos: _PositionIndex,
    geo: _Geometry, T: int, s: int,
) -> None:  # fmt: skip
    """Set the selected bit of ``flat`` (the ``[T+1, M*M]`` codes) where selected units are."""
    lens = np.array([len(st) for st in states], np.int64)
    if lens.sum() == 0:
        return
    tags = np.fromiter(itertools.chain.from_iterable(states), np.int64, int(lens.sum()))
    first_tag = np.cumsum(lens) - lens
    start = np.asarray(loops, np.int64)
    end = np.asarray(loops[1:] + [T * s + 1], np.int64)
    # Split long-lived selections at the position-snapshot cadence so that the drawn positions
    # follow the units' last known positions, not only where they were when selected.
    sub_state, sub_j = _expand(np.zeros(len(start), np.int64), _ceil_div(end - start, _POS_EVERY))
    sub_start = start[sub_state] + sub_j * _POS_EVERY
    sub_end = np.minimum(sub_start + _POS_EVERY, end[sub_state])
    sub, tag_i = _expand(first_tag[sub_state], first_tag[sub_state] + lens[sub_state])
    x, y, ok = pos.lookup(tags[tag_i], sub_start[sub])
    px, py = geo.to_px(x, y)
    M = geo.size
    # One entry per (sub-state, cell): selected units clump, so this is far smaller than per unit.
    key = np.unique(sub[ok] * (M * M) + (py * M + px)[ok])
    sub_of, cells = _divmod(key, M * M)
    k0 = np.minimum(_ceil_div(sub_start[sub_of], s), T + 1)
    k1 = np.minimum(_ceil_div(sub_end[sub_of], s), T + 1)
    rows, steps = _expand(k0, k1)
    flat[steps * (M * M) + cells[rows]] |= _SELECTED_BIT


def _screen_xy(
    x: np.ndarray, y: np.ndarray, cx: np.ndarray, cy: np.ndarray, cfg: ConvertConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    S = cfg.screen_size
    sx = np.floor((x - cx) / cfg.camera_width * S + S / 2)
    sy = np.floor((cy - y) / cfg.camera_width * S + S / 2)
    inside = (sx >= 0) & (sx < S) & (sy >= 0) & (sy < S)
    return np.clip(sx, 0, S - 1).astype(np.int64), np.clip(sy, 0, S - 1).astype(np.int64), inside


def _first_per_step(loops: np.ndarray, s: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """(step, index of the first event in that step) for events before the horizon."""
    st = loops.astype(np.int64) // s
    ok = np.flatnonzero(st < T)
    ust, first = np.unique(st[ok], return_index=True)
    return ust, ok[first]


def _actions(
    rep: rd.DecodedReplay, cfg: ConvertConfig, pid: int, T: int, geo: _Geometry,
    cam_x: np.ndarray, cam_y: np.ndarray, user_sel: list[tuple[int, int, list[int], bool]],
    pos: _PositionIndex,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:  # fmt: skip
    s, S, M = cfg.step_mul, cfg.screen_size, geo.size
    fn = np.zeros(T, np.int16)
    args = np.full((T, features.NUM_ARG_TYPES), -1, np.int32)
    stats = {"commands": 0, "commands_mapped": 0, "commands_unmapped": 0, "screen_clipped": 0,
             "camera": 0, "control_groups": 0, "selections": 0, "steps_with_action": 0,
             "events_dropped": 0}  # fmt: skip
    obs_loops_cam = (cam_x, cam_y)

    def cam_at(loops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.minimum(loops.astype(np.int64) // s, T)
        return obs_loops_cam[0][k], obs_loops_cam[1][k]

    total_events = 0
    # 1. Camera moves (lowest priority).
    cam = rep.cameras
    m = np.flatnonzero(cam.player == pid)
    total_events += len(m)
    if len(m):
        st, i = _first_per_step(cam.loop[m], s, T)
        i = m[i]
        px, py = geo.to_px(cam.x[i], cam.y[i])
        fn[st] = _MOVE_CAMERA
        args[st] = -1
        args[st, _ARG["minimap"]] = py * M + px
        stats["camera"] = len(st)
    # 2. Selections (user selections: units were added to the active selection).
    if user_sel:
        total_events += len(user_sel)
        loops = np.array([u[0] for u in user_sel], np.int64)
        st, idx = _first_per_step(loops, s, T)
        # All chosen selections at once: last known positions of their units, on the screen.
        n_tags = np.array([len(user_sel[j][2]) for j in idx.tolist()], np.int64)
        tags = np.fromiter(
            (t for j in idx.tolist() for t in user_sel[j][2]), np.int64, n_tags.sum()
        )
        sel_of = np.repeat(np.arange(len(idx)), n_tags)
        at = loops[idx][sel_of]
        x, y, ok = pos.lookup(tags, at)
        cx, cy = cam_at(at)
        sx, sy, _ = _screen_xy(x.astype(np.float64), y.astype(np.float64), cx, cy, cfg)
        big = np.int64(1 << 30)
        sxo, syo = np.where(ok, sx, big), np.where(ok, sy, big)
        starts = np.cumsum(n_tags) - n_tags
        nonempty = n_tags > 0
        x_lo = np.full(len(idx), big)
        y_lo = np.full(len(idx), big)
        x_hi = np.full(len(idx), -1)
        y_hi = np.full(len(idx), -1)
        n_ok = np.zeros(len(idx), np.int64)
        if nonempty.any():
            st_ne = starts[nonempty]
            x_lo[nonempty] = np.minimum.reduceat(sxo, st_ne)
            y_lo[nonempty] = np.minimum.reduceat(syo, st_ne)
            x_hi[nonempty] = np.maximum.reduceat(np.where(ok, sx, -1), st_ne)
            y_hi[nonempty] = np.maximum.reduceat(np.where(ok, sy, -1), st_ne)
            n_ok[nonempty] = np.add.reduceat(ok.astype(np.int64), st_ne)
        add_mode = np.array([user_sel[j][3] for j in idx.tolist()], bool)
        one, many = n_ok == 1, n_ok > 1
        k1, k2 = st[one], st[many]
        args[k1] = -1
        fn[k1] = _SELECT_POINT
        args[k1, _ARG["select_point_act"]] = add_mode[one].astype(np.int32)
        args[k1, _ARG["screen"]] = y_lo[one] * S + x_lo[one]
        args[k2] = -1
        fn[k2] = _SELECT_RECT
        args[k2, _ARG["select_add"]] = add_mode[many].astype(np.int32)
        args[k2, _ARG["screen"]] = y_lo[many] * S + x_lo[many]
        args[k2, _ARG["screen2"]] = y_hi[many] * S + x_hi[many]
        stats["selections"] = int(one.sum() + many.sum())
    # 3. Control-group hotkeys.
    cg = rep.control_groups
    m = np.flatnonzero(
        (cg.player == pid) & np.isin(cg.update, list(_CG_ACT)) & (cg.group >= 0) & (cg.group <= 9)
    )
    total_events += int((cg.player == pid).sum())
    if len(m):
        st, i = _first_per_step(cg.loop[m], s, T)
        i = m[i]
        fn[st] = _SELECT_CG
        args[st] = -1
        args[st, _ARG["control_group_act"]] = np.vectorize(_CG_ACT.get, otypes=[np.int32])(
            cg.update[i]
        )
        args[st, _ARG["control_group_id"]] = cg.group[i]
        stats["control_groups"] = len(st)
    # 4. Commands (highest priority).
    c = rep.commands
    m = np.flatnonzero(c.player == pid)
    total_events += len(m)
    stats["commands"] = len(m)
    if len(m):
        ability = c.ability[m].astype(np.int64)
        # Re-targeting updates repeat the player's previous command.
        valid = ability >= 0
        ffi = np.maximum.accumulate(np.where(valid, np.arange(len(m)), -1))
        ability = np.where(ffi >= 0, ability[np.maximum(ffi, 0)], -1)
        cabil = c.cabil[m].astype(np.int64)
        cabil = np.where(ffi >= 0, cabil[np.maximum(ffi, 0)], -1)
        cmd_idx = c.cmd_index[m].astype(np.int64)
        cmd_idx = np.where(ffi >= 0, cmd_idx[np.maximum(ffi, 0)], -1)
        # Per unique (ability, cabil): the PySC2 function forms.
        pairs = ability * 100000 + (cabil + 1)
        uniq, first, inv = np.unique(pairs, return_index=True, return_inverse=True)
        quick = np.full(len(uniq), -1, np.int64)
        screen = np.full(len(uniq), -1, np.int64)
        minimap = np.full(len(uniq), -1, np.int64)
        for j, pr in enumerate(uniq.tolist()):
            if pr < 0:
                continue
            a, cb = divmod(pr, 100000)
            cb -= 1
            name = c.ability_names[a]
            cname = c.cabil_names[cb] if 0 <= cb < len(c.cabil_names) else ""
            forms = ability_to_function(
                name, cname, cfg.hide_specific_actions, int(cmd_idx[first[j]]), cfg.stableid_path
            )
            quick[j], screen[j], minimap[j] = (
                forms.get("quick", -1),
                forms.get("screen", -1),
                forms.get("minimap", -1),
            )
        q, sc, mi = quick[inv], screen[inv], minimap[inv]
        target = c.target[m]
        x, y = c.x[m].astype(np.float64), c.y[m].astype(np.float64)
        cx, cy = cam_at(c.loop[m])
        sx, sy, inside = _screen_xy(np.nan_to_num(x), np.nan_to_num(y), cx, cy, cfg)
        mpx, mpy = geo.to_px(np.nan_to_num(x), np.nan_to_num(y))
        use_mm = (target > 0) & (mi >= 0) & (c.minimap[m] | ~inside | (sc < 0))
        use_sc = (target > 0) & (sc >= 0) & ~use_mm
        use_q = (target == 0) & (q >= 0)
        mapped = use_mm | use_sc | use_q
        stats["commands_mapped"] = int(mapped.sum())
        stats["commands_unmapped"] = int((~mapped).sum())
        stats["screen_clipped"] = int((use_sc & ~inside).sum())
        idx = np.flatnonzero(mapped)
        st, first = _first_per_step(c.loop[m][idx], s, T)
        j = idx[first]
        f = np.where(use_mm[j], mi[j], np.where(use_sc[j], sc[j], q[j]))
        fn[st] = f
        args[st] = -1
        args[st, _ARG["queued"]] = c.queued[m][j]
        sel_sc = use_sc[j]
        args[st[sel_sc], _ARG["screen"]] = (sy * S + sx)[j][sel_sc]
        sel_mm = use_mm[j]
        args[st[sel_mm], _ARG["minimap"]] = (mpy * M + mpx)[j][sel_mm]
    stats["steps_with_action"] = int((fn != _NO_OP).sum())
    stats["events_dropped"] = int(total_events - stats["steps_with_action"])
    # Clear arguments the chosen functions do not take (keeps encode_action's -1 convention).
    args[~features.FUNCTION_ARG_MASK[fn.astype(np.int64)]] = -1
    return fn, args, stats
