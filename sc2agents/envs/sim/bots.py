"""Built-in bots of the simulator: one scripted Terran player, one level per PySC2 Difficulty.

One bot with parameters plays every ``Difficulty`` from very_easy to cheat_insane.

A bot plays through exactly the interface agents use: every step it emits, for each game, one
PySC2 function call in `features.encode_action` layout (``select_point``, ``select_idle_worker``,
``select_army``, ``Harvest_Gather_screen``, ``Build_*_screen``, ``Train_*_quick``,
``Attack_minimap``, ``no_op``), checked against the player's available actions before it is issued
(the engine validates bot actions with ``action_error="raise"``, so an invalid one would raise). A
command that needs a selection takes two steps (select, then command), as for a human. Decisions
are vectorised over games; the bot reads the engine state (what the player could see: its own
units, visible enemies, remembered enemy buildings) instead of rendering feature layers.

What the parameters (`BotParams`) change, per level (`LEVELS`):

* ``apm``: actions per real minute (faster speed, 1344 game loops a minute); a level acts at most
  every ``1344 / (apm * step_mul)`` agent steps, selections and commands alike. Levels are spaced
  so that APM limits how fast every level can spend (one unit per order, as the bot queues at most
  one unit per building), which is the main source of their graded strength together with the
  worker and barracks counts; the attack threshold is the same from medium_hard up.
* ``reaction_s``: real seconds an enemy must be near its base before the army turns to defend.
* build order: ``max_workers``, ``barracks`` (how many), ``refinery``/``marauders`` (gas and
  Marauders), ``factory`` (Hellions), ``supply_buffer``.
* attack timing: ``attack_supply`` (army supply that starts an attack; it retreats below a third).
* micro: ``regroup`` (gather at the rally point until the army is together before attacking and
  re-issue the attack on the nearest known building as the fight moves).
* cheats, as the real game's cheat levels: ``full_vision`` (CheatVision, CheatInsane: knows every
  enemy building and unit) and ``income_mult`` (CheatMoney x1.5, CheatInsane x2 per trip; the real
  game's exact bonus is not documented, these are our choice).

Strength is monotone in the level: `benchmarks/bot_ladder.py` measures the round robin and
tests/envs/sim/test_bots.py checks adjacent levels on a small seeded one.

The per-step census a bot takes before choosing a task (its units by type, supply, threats) is
taken only in games where it may act, by `bots_jit.census_kernel` where numba is installed (the
same numbers as the numpy code, tested).

The same bot plays the economy mini-games (``BotPolicy`` on CollectMineralsAndGas / BuildMarines:
it mines, trains SCVs, builds refineries / depots, barracks and marines).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pysc2_evolved.env import sc2_env as pysc2_sc2_env

from sc2agents.envs import features
from sc2agents.envs.sim import bots_jit, dynamics, economy, units
from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim.state import NEUTRAL

if TYPE_CHECKING:
    from sc2agents.envs.sim.engine import SimEngine

__all__ = [
    "ECONOMY_PROFILES",
    "LEVELS",
    "BotParams",
    "Bots",
    "StatePolicy",
    "bot_params",
    "make_bots",
]

_F = features.FUNCTION_IDS
_A = {name: i for i, name in enumerate(features.ARG_TYPES)}
_T = units.type_index
_CC, _DEPOT, _REF, _RAX, _FAC = (
    _T(B.COMMAND_CENTER),
    _T(B.SUPPLY_DEPOT),
    _T(B.REFINERY),
    _T(B.BARRACKS),
    _T(B.FACTORY),
)
_SCV, _MARINE, _MARAUDER, _HELLION = _T(B.SCV), _T(B.MARINE), _T(B.MARAUDER), _T(B.HELLION)
_MIN, _GEY = _T(B.MINERAL), _T(B.GEYSER)
LOOPS_PER_REAL_MINUTE = 1344.0


@dataclasses.dataclass(frozen=True)
class BotParams:
    """Parameters of the built-in bot (see module docstring)."""

    name: str
    apm: float
    reaction_s: float
    max_workers: int
    barracks: int
    refinery: bool = False
    marauders: bool = False
    factory: bool = False
    attack_supply: int = 12
    regroup: bool = False
    supply_buffer: int = 4
    full_vision: bool = False
    income_mult: float = 1.0
    build_production: bool = True  # economy mini-games: CollectMineralsAndGas builds none


# fmt: off
LEVELS: dict[str, BotParams] = {
    "very_easy": BotParams("very_easy", apm=6, reaction_s=10, max_workers=13, barracks=1,
                           attack_supply=6, supply_buffer=3),
    "easy": BotParams("easy", apm=12, reaction_s=7, max_workers=14, barracks=1, attack_supply=8,
                      supply_buffer=3),
    "medium": BotParams("medium", apm=17, reaction_s=5, max_workers=16, barracks=2,
                        attack_supply=12),
    "medium_hard": BotParams("medium_hard", apm=23, reaction_s=4, max_workers=17, barracks=2,
                             refinery=True, marauders=True, attack_supply=14),
    "hard": BotParams("hard", apm=30, reaction_s=3, max_workers=18, barracks=3, refinery=True,
                      marauders=True, attack_supply=14, regroup=True, supply_buffer=5),
    "harder": BotParams("harder", apm=38, reaction_s=2, max_workers=20, barracks=3,
                        refinery=True, marauders=True, attack_supply=14, regroup=True,
                        supply_buffer=6),
    "very_hard": BotParams("very_hard", apm=48, reaction_s=1.5, max_workers=22, barracks=4,
                           refinery=True, marauders=True, attack_supply=14, regroup=True,
                           supply_buffer=6),
    "cheat_vision": BotParams("cheat_vision", apm=60, reaction_s=1, max_workers=24, barracks=5,
                              refinery=True, marauders=True, attack_supply=14, regroup=True,
                              supply_buffer=8, full_vision=True),
    "cheat_money": BotParams("cheat_money", apm=80, reaction_s=1, max_workers=24, barracks=6,
                             refinery=True, marauders=True, attack_supply=14, regroup=True,
                             supply_buffer=10, income_mult=1.5),
    "cheat_insane": BotParams("cheat_insane", apm=110, reaction_s=0.5, max_workers=24,
                              barracks=8, refinery=True, marauders=True, attack_supply=14,
                              regroup=True, supply_buffer=12, full_vision=True,
                              income_mult=2.0),
}
# fmt: on
"""One parameter set per PySC2 difficulty name, weakest first."""

ECONOMY_PROFILES: dict[str, BotParams] = {
    "CollectMineralsAndGas": BotParams(
        "collect",
        apm=300,
        reaction_s=1,
        max_workers=30,
        barracks=0,
        refinery=True,
        build_production=False,
        supply_buffer=3,
    ),
    "BuildMarines": BotParams(
        "marines",
        apm=300,
        reaction_s=1,
        max_workers=20,
        barracks=5,
        attack_supply=10**6,
        supply_buffer=6,
    ),
}
"""Bot parameters that play the economy mini-games well (scripted baselines)."""


def bot_params(spec: Any) -> BotParams:
    """`BotParams` from a PySC2 ``Difficulty``, its name/value, a `BotParams` or a PySC2 ``Bot``.

    Raises:
        ValueError: unknown difficulty or a non-Terran PySC2 bot.
    """
    if isinstance(spec, BotParams):
        return spec
    if isinstance(spec, dict):  # a replay header's custom bot
        try:
            return BotParams(**spec)
        except TypeError as e:
            raise ValueError(f"bad bot parameters {spec}: {e}") from None
    if isinstance(spec, pysc2_sc2_env.Bot):
        races = {pysc2_sc2_env.Race.terran, pysc2_sc2_env.Race.random}
        if any(r not in races for r in spec.race):
            raise ValueError(f"the simulator's built-in bots play Terran only, got {spec.race}")
        spec = spec.difficulty
    if isinstance(spec, pysc2_sc2_env.Difficulty):
        spec = spec.name
    if isinstance(spec, (int, np.integer)):
        try:
            spec = pysc2_sc2_env.Difficulty(int(spec)).name
        except ValueError:
            raise ValueError(f"unknown bot difficulty {spec}; known: {list(LEVELS)}") from None
    if isinstance(spec, str) and spec in LEVELS:
        return LEVELS[spec]
    raise ValueError(f"unknown bot difficulty {spec!r}; known: {list(LEVELS)}")


def make_bots(engine: SimEngine, specs: Sequence[Any]) -> Bots:
    """The bots of the players after the engine's agents (`SimEngine(bots=...)` calls this)."""
    first = engine.num_players
    return Bots(engine, [bot_params(s) for s in specs], list(range(first, first + len(specs))))


# Tasks: the first function is a selection, the second the command.
(
    _NONE,
    _GATHER,
    _SCV_T,
    _DEPOT_T,
    _RAX_T,
    _REF_T,
    _FAC_T,
    _MARINE_T,
    _MARAUDER_T,
    _HELLION_T,
    _GAS_T,
    _ARMY_T,
) = range(12)
_BUILD_TASK = {_DEPOT_T: _DEPOT, _RAX_T: _RAX, _REF_T: _REF, _FAC_T: _FAC}
_BUILD_FN = {
    _DEPOT: _F["Build_SupplyDepot_screen"],
    _RAX: _F["Build_Barracks_screen"],
    _REF: _F["Build_Refinery_screen"],
    _FAC: _F["Build_Factory_screen"],
}
_TRAIN_TASK = {
    _SCV_T: (_SCV, _CC, _F["Train_SCV_quick"]),
    _MARINE_T: (_MARINE, _RAX, _F["Train_Marine_quick"]),
    _MARAUDER_T: (_MARAUDER, _RAX, _F["Train_Marauder_quick"]),
    _HELLION_T: (_HELLION, _FAC, _F["Train_Hellion_quick"]),
}


class Bots:
    """Built-in bots of some players of an engine, vectorised over its games.

    Args:
        engine: the engine (its scenario must be an `economy.EconomyScenario`).
        params: one `BotParams` per bot.
        players: the 0-based player index each bot plays.
    """

    def __init__(self, engine: SimEngine, params: list[BotParams], players: list[int]) -> None:
        if not isinstance(engine.scenario, economy.EconomyScenario):
            raise ValueError(
                f"built-in bots need an economy map, not {engine.scenario.name!r} "
                "(Simple64, BuildMarines, CollectMineralsAndGas)"
            )
        self.engine = engine
        self.params = params
        self.players = players
        n = engine.num_envs
        b = len(params)
        self.next_act = np.zeros((b, n), np.float64)
        self.pending = np.zeros((b, n), np.int64)  # task whose command comes next (0 = none)
        self.step_count = np.zeros(n, np.int64)
        self.threat_steps = np.zeros((b, n), np.int64)
        self.attacking = np.zeros((b, n), bool)
        self.last_army = np.full((b, n), -(10**9), np.int64)
        self.known = np.zeros((b, n, engine.state.max_units), bool)  # enemy buildings seen
        self.home = np.zeros((b, 2), np.float32)
        self.side = np.ones(b, np.float32)
        self._sites: list[tuple[np.ndarray, np.ndarray]] = []
        for i, p in enumerate(players):
            sc = engine.scenario
            home = np.asarray(sc.camera_start_of(p), np.float32)
            self.home[i] = home
        self._sites_ready = False

    # ------------------------------------------------------------------ setup
    def _layout(self) -> None:
        """Per bot: the side away from its minerals and its candidate building sites."""
        st = self.engine.state
        self._sites = []
        for i in range(len(self.params)):
            home = self.home[i]
            res = st.alive[0] & (st.type_idx[0] == _MIN)
            d = np.linalg.norm(st.pos[0] - home, axis=-1)
            near = res & (d < 12)
            if near.any():
                mx = st.pos[0, near, 0].mean()
                both = (st.pos[0, near, 0] > home[0]).any() and (st.pos[0, near, 0] < home[0]).any()
                self.side[i] = 1.0 if both or mx < home[0] else -1.0
            s = self.side[i]
            # offsets mirror with the side, so mirrored bases try mirrored sites in the same order
            big = [
                (home[0] + s * (6 + 4 * a), home[1] + s * 4 * b)
                for a in range(3)
                for b in (0, -1, 1, -2, 2)
            ]
            small = [
                (np.floor(home[0]) + (s > 0) + s * 2 * a, np.floor(home[1]) + (s > 0) + s * dy)
                for dy in (-8, 8, -10, 10)
                for a in range(-1, 6)
            ]
            self._sites.append((np.array(big, np.float32), np.array(small, np.float32)))
        self._sites_ready = True

    def reset(self, env_ids: np.ndarray) -> None:
        """New games in ``env_ids``: forget everything; apply the cheat income."""
        ids = np.asarray(env_ids)
        self.next_act[:, ids] = 0
        self.pending[:, ids] = 0
        self.step_count[ids] = 0
        self.threat_steps[:, ids] = 0
        self.attacking[:, ids] = False
        self.last_army[:, ids] = -(10**9)
        self.known[:, ids] = False
        st = self.engine.state
        for i, p in enumerate(self.players):
            st.extra["income_mult"][ids, p] = self.params[i].income_mult
        if not self._sites_ready:
            self._layout()

    # ------------------------------------------------------------------ helpers
    def _screen(self, p: int, pts: np.ndarray, envs: np.ndarray) -> np.ndarray:
        """Flat screen index of world points for player ``p``'s camera in ``envs``."""
        eng = self.engine
        s = eng.screen_size
        cam = eng.state.camera[p, envs]
        scale = s / eng.camera_width
        x = np.floor((pts[:, 0] - cam[:, 0] + eng.camera_width / 2) * scale).astype(np.int64)
        y = np.floor((pts[:, 1] - cam[:, 1] + eng.camera_width / 2) * scale).astype(np.int64)
        return np.clip(y, 0, s - 1) * s + np.clip(x, 0, s - 1)

    def _minimap(self, pts: np.ndarray) -> np.ndarray:
        eng = self.engine
        m = eng.minimap_size
        cell = max(eng.scenario.map_size) / m
        x = np.clip(np.floor(pts[:, 0] / cell), 0, m - 1).astype(np.int64)
        y = np.clip(np.floor(pts[:, 1] / cell), 0, m - 1).astype(np.int64)
        return y * m + x

    def _on_screen(self, p: int, mask: np.ndarray, envs: np.ndarray | None = None) -> np.ndarray:
        """``mask`` (``[N, U]`` or ``[len(envs), U]``) restricted to units well inside the screen.

        The screen is player ``p``'s.
        """
        eng = self.engine
        st = eng.state
        cam = st.camera[p] if envs is None else st.camera[p, envs]
        pos = st.pos if envs is None else st.pos[envs]
        half = eng.camera_width / 2 - 0.6
        return mask & (np.abs(pos - cam[:, None, :]) <= half).all(axis=-1)

    def _free_sites(self, i: int, big: bool, envs: np.ndarray | None = None) -> np.ndarray:
        """Bool ``[N, S]``: candidate sites of bot ``i`` that are placeable now.

        ``envs``: only these games (rows in that order; default all).
        """
        st = self.engine.state
        rows = np.arange(st.num_envs) if envs is None else np.asarray(envs)
        sites = self._sites[i][0 if big else 1]
        size = 3 if big else 2
        occ = st.extra["occupied"][rows]
        buildable = self.engine.scenario.buildable
        w, h = st.map_size
        blocked = occ | ~buildable[None]
        # sites an SCV of this bot is already walking to
        X = st.extra
        pe, pu = np.nonzero(
            st.alive[rows]
            & (st.owner[rows] == self.players[i] + 1)
            & (X["job"][rows] == 3)
            & (X["phase"][rows] == 5)
        )
        if pe.size:
            t = X["job_type"][rows[pe], pu].astype(np.int64) - 1
            size_p = B.ECON.footprint[t]
            px0, py0 = B.footprint_cells(X["job_pos"][rows[pe], pu], size_p)
            for k in range(pe.size):  # a few pending builds
                a, b, sz = int(px0[k]), int(py0[k]), int(size_p[k])
                blocked[pe[k], max(0, b) : b + sz, max(0, a) : a + sz] = True
        integ = np.zeros((rows.size, h + 1, w + 1), np.int32)
        integ[:, 1:, 1:] = blocked.cumsum(1).cumsum(2)
        x0, y0 = B.footprint_cells(sites, np.full(len(sites), size))
        ok = (x0 >= 0) & (y0 >= 0) & (x0 + size <= w) & (y0 + size <= h)
        x0c = np.clip(x0, 0, w - size)
        y0c = np.clip(y0, 0, h - size)
        tot = (
            integ[:, y0c + size, x0c + size]
            - integ[:, y0c, x0c + size]
            - integ[:, y0c + size, x0c]
            + integ[:, y0c, x0c]
        )
        cam = st.camera[self.players[i]][rows]
        half = self.engine.camera_width / 2 - size / 2 - 0.5
        inside = (np.abs(sites[None] - cam[:, None, :]) <= half).all(axis=-1)
        # keep a cell of room around production buildings so units can walk out
        return ok[None] & (tot == 0) & inside

    # ------------------------------------------------------------------ acting
    def act(self, eng: SimEngine) -> tuple[np.ndarray, np.ndarray]:
        """``(function [B, N], args [B, N, 13])`` for every bot in every game."""
        n = eng.num_envs
        fn = np.zeros((len(self.params), n), np.int64)
        args = np.full((len(self.params), n, features.NUM_ARG_TYPES), -1, np.int64)
        if not self._sites_ready:
            self._layout()
        for i in range(len(self.params)):
            self._act_one(eng, i, fn[i], args[i])
        self.step_count += 1
        return fn, args

    def _act_one(self, eng: SimEngine, i: int, fn: np.ndarray, args: np.ndarray) -> None:
        prm = self.params[i]
        p = self.players[i]
        st = eng.state
        X = st.extra
        n = eng.num_envs
        tab = units.TABLE
        avail = eng.available_mask(p)
        # --- 1. pending commands (second half of a select + command) ---
        # Every action (selection or command) spends the APM budget: one per `gap` steps.
        gap = LOOPS_PER_REAL_MINUTE / (prm.apm * eng.step_mul)
        gate = self.step_count >= self.next_act[i]
        pend = self.pending[i].copy()
        has_p = (pend > 0) & gate
        self.pending[i][has_p] = 0
        if has_p.any():
            self._command(eng, i, p, np.flatnonzero(has_p), pend[has_p], fn, args, avail)
            self.next_act[i][has_p] = self.step_count[has_p] + gap
        # --- 2. new tasks, for games whose action budget allows one ---
        ready = gate & (pend == 0)
        if not ready.any():
            return
        # (the counts below are only needed when some game takes a new task)
        minerals = X["minerals"][:, p]
        gas = X["vespene"][:, p]
        cap = X["food_cap"][:, p]
        if dynamics.jit_enabled():
            c = self._census_jit(eng, i, p, prm)
            t_all, t_done, queued, planned, used_units, army_supply, flags = c
            army_any, idle_w, cc_ok, miner_ok, under, depot_b = flags.T
            used = used_units + X["food_queued"][:, p]
        else:
            ti = st.type_idx
            own = st.alive & (st.owner == p + 1)
            done = own & ~X["building"]
            t_all = np.zeros((n, units.NUM_TYPES), np.int64)
            t_done = np.zeros((n, units.NUM_TYPES), np.int64)
            ee, uu = np.nonzero(own)
            np.add.at(t_all, (ee, ti[ee, uu]), 1)
            ee2, uu2 = np.nonzero(done)
            np.add.at(t_done, (ee2, ti[ee2, uu2]), 1)
            queued = np.zeros((n, units.NUM_TYPES), np.int64)
            q = X["queue"]
            qe, qu, qk = np.nonzero((q > 0) & own[:, :, None])
            np.add.at(queued, (qe, q[qe, qu, qk].astype(np.int64) - 1), 1)
            # a building ordered but not started counts as planned
            planned = np.zeros((n, units.NUM_TYPES), np.int64)
            pe, pu = np.nonzero(own & (X["job"] == 3) & (X["phase"] == 5))
            np.add.at(planned, (pe, X["job_type"][pe, pu].astype(np.int64) - 1), 1)
            used = np.where(own, tab.supply[ti], 0).sum(axis=1) + X["food_queued"][:, p]
            army_units = own & tab.army[ti]
            army_supply = np.where(army_units, tab.supply[ti], 0).sum(axis=1)
            army_any = army_units.any(axis=1)
            idle_w = (own & tab.worker[ti] & (st.order == 0)).any(axis=1)
            cc_ok = self._on_screen(p, done & (ti == _CC)).any(axis=1)
            miner_ok = self._on_screen(p, own & (X["job"] == 1) & (X["cargo"] == 0)).any(axis=1)
            # threats near home
            foe = st.alive & (st.owner != p + 1) & (st.owner != NEUTRAL)
            if not prm.full_vision:
                foe &= eng.visible_units(p)
            d_home = np.linalg.norm(st.pos - self.home[i], axis=-1)
            threat = foe & (d_home < 16)
            under = threat.any(axis=1)
            depot_b = (own & X["building"] & (ti == _DEPOT)).any(axis=1)
        left = cap - used
        workers = t_all[:, _SCV] + queued[:, _SCV]
        task = np.zeros(n, np.int64)
        self.threat_steps[i] = np.where(under, self.threat_steps[i] + 1, 0)
        react = max(1, int(round(prm.reaction_s * 22.4 / eng.step_mul)))
        defend = (self.threat_steps[i] >= react) & army_any
        # attack state
        self.attacking[i] |= army_supply >= prm.attack_supply
        self.attacking[i] &= army_supply >= max(2, prm.attack_supply // 3)
        army_due = (self.step_count - self.last_army[i]) >= (12 if prm.regroup else 30)
        army_now = army_any & (defend | (army_due & (self.attacking[i] | True)))
        n_rax = t_all[:, _RAX] + planned[:, _RAX]
        depot_building = depot_b | (planned[:, _DEPOT] > 0)
        rules = [
            (defend, _ARMY_T),
            (idle_w & (minerals >= 0), _GATHER),
            (
                (left < prm.supply_buffer)
                & (cap < 200)
                & ~depot_building
                & (minerals >= 100)
                & miner_ok,
                _DEPOT_T,
            ),
            (
                (workers < prm.max_workers)
                & cc_ok
                & (queued[:, _SCV] < 1)
                & (minerals >= 50)
                & (left >= 1),
                _SCV_T,
            ),
            (
                prm.refinery
                & (t_all[:, _REF] + planned[:, _REF] < (1 if prm.build_production else 4))
                & ((t_all[:, _RAX] > 0) if prm.build_production else (workers >= 16))
                & (minerals >= 75)
                & miner_ok,
                _REF_T,
            ),
            (
                (t_done[:, _REF] > 0) & (self._gas_workers(st, p) < 3 * t_done[:, _REF]) & miner_ok,
                _GAS_T,
            ),
            (
                prm.build_production
                & (n_rax < prm.barracks)
                & (t_done[:, _DEPOT] > 0)
                # more barracks only with minerals to spare: production never starves the army
                & (minerals >= 150 + 75 * t_all[:, _RAX])
                & miner_ok,
                _RAX_T,
            ),
            (
                prm.factory
                & (t_all[:, _FAC] + planned[:, _FAC] < 1)
                & (t_done[:, _RAX] > 0)
                & (minerals >= 150)
                & (gas >= 100)
                & miner_ok,
                _FAC_T,
            ),
            (army_now & self.attacking[i], _ARMY_T),
            (
                prm.factory
                & (t_done[:, _FAC] > 0)
                & (minerals >= 100)
                & (left >= 2)
                & (queued[:, _HELLION] < t_done[:, _FAC])
                & (t_all[:, _HELLION] * 3 < t_all[:, _MARINE] + 3),
                _HELLION_T,
            ),
            (
                prm.marauders
                & (t_done[:, _RAX] > 0)
                & (minerals >= 100)
                & (gas >= 25)
                & (left >= 2)
                & (queued[:, _MARINE] + queued[:, _MARAUDER] < t_done[:, _RAX])
                & (t_all[:, _MARAUDER] * 2 < t_all[:, _MARINE] + 2),
                _MARAUDER_T,
            ),
            (
                (t_done[:, _RAX] > 0)
                & (minerals >= 50)
                & (left >= 1)
                & (queued[:, _MARINE] + queued[:, _MARAUDER] < t_done[:, _RAX]),
                _MARINE_T,
            ),
            (army_now & ~self.attacking[i] & army_due, _ARMY_T),
        ]
        for cond, t in rules:
            pick = ready & (task == 0) & cond  # (cond: a [N] array or a scalar)
            task[pick] = t
        self._defend = defend
        self._select(eng, i, p, np.flatnonzero(task > 0), task[task > 0], fn, args, avail)
        acted = task > 0
        self.next_act[i] = np.where(acted, self.step_count + gap, self.next_act[i])
        self.last_army[i] = np.where(task == _ARMY_T, self.step_count, self.last_army[i])

    def _census_jit(self, eng: SimEngine, i: int, p: int, prm: BotParams) -> tuple:
        """The per-type counts, supply and facts of `_act_one` by `bots_jit.census_kernel`."""
        st = eng.state
        X = st.extra
        tab = units.TABLE
        n, nt = st.num_envs, units.NUM_TYPES
        out = [np.empty((n, nt), np.int64) for _ in range(4)]
        used = np.empty(n, np.float32)
        army_supply = np.empty(n, np.float32)
        flags = np.empty((n, 6), bool)
        vis = st.alive if prm.full_vision else eng.visible_units(p)
        bots_jit.census_kernel(
            st.alive, st.owner, st.type_idx, st.order, st.pos, X["building"], X["queue"],
            X["job"], X["phase"], X["job_type"], X["cargo"], vis, not prm.full_vision,
            st.camera[p], np.float32(eng.camera_width / 2 - 0.6), self.home[i], p + 1, NEUTRAL,
            tab.supply, tab.army, tab.worker, _CC, _DEPOT, *out, used, army_supply, flags,
        )  # fmt: skip
        return (*out, used, army_supply, flags)

    @staticmethod
    def _gas_workers(st, p: int) -> np.ndarray:
        X = st.extra
        return ((st.owner == p + 1) & st.alive & (X["job"] == 2)).sum(axis=1)

    def _select(self, eng, i, p, envs, tasks, fn, args, avail) -> None:
        """Issue the selection half of each task; remember the command half."""
        if envs.size == 0:
            return
        st = eng.state
        X = st.extra
        own = st.alive & (st.owner == p + 1)
        for t in np.unique(tasks):
            e = envs[tasks == t]
            if t == _GATHER:
                f = _F["select_idle_worker"]
                ok = avail[e, f]
                e = e[ok]
                fn[e] = f
                args[e, _A["select_worker"]] = 2  # all idle workers
            elif t == _ARMY_T:
                f = _F["select_army"]
                ok = avail[e, f]
                e = e[ok]
                fn[e] = f
                args[e, _A["select_add"]] = 0
            elif t in _TRAIN_TASK:
                _, prod, _f = _TRAIN_TASK[t]
                cand = self._on_screen(p, own[e] & ~X["building"][e] & (st.type_idx[e] == prod), e)
                if t != _SCV_T:
                    qlen = (X["queue"][e] > 0).sum(axis=2)
                    score = np.where(cand, qlen, 99)
                else:
                    score = np.where(cand, 0, 99)
                slot = np.argmin(score, axis=1)
                ok = cand.any(axis=1)
                e, slot = e[ok], slot[ok]
                fn[e] = _F["select_point"]
                args[e, _A["select_point_act"]] = 0
                args[e, _A["screen"]] = self._screen(p, st.pos[e, slot], e)
            else:  # a worker: builds and gas
                cand = self._on_screen(
                    p, own[e] & (X["job"][e] == 1) & (X["cargo"][e] == 0) & (X["phase"][e] <= 2), e
                )
                ok = cand.any(axis=1)
                slot = np.argmax(cand, axis=1)
                e, slot = e[ok], slot[ok]
                fn[e] = _F["select_point"]
                args[e, _A["select_point_act"]] = 0
                args[e, _A["screen"]] = self._screen(p, st.pos[e, slot], e)
            self.pending[i, e] = t

    def _command(self, eng, i, p, envs, tasks, fn, args, avail) -> None:
        """Issue the command half of pending tasks (dropped if no longer available)."""
        st = eng.state
        X = st.extra
        prm = self.params[i]
        for t in np.unique(tasks):
            e = envs[tasks == t]
            if t in _TRAIN_TASK:
                f = _TRAIN_TASK[t][2]
                e = e[avail[e, f]]
                fn[e] = f
                args[e, _A["queued"]] = 0
            elif t == _GATHER:
                f = _F["Harvest_Gather_screen"]
                e = e[avail[e, f]]
                pts = self._patch_for(st, p, i, e)
                ok = ~np.isnan(pts[:, 0])
                e, pts = e[ok], pts[ok]
                fn[e] = f
                args[e, _A["queued"]] = 0
                args[e, _A["screen"]] = self._screen(p, pts, e)
            elif t == _GAS_T:
                f = _F["Harvest_Gather_screen"]
                e = e[avail[e, f]]
                ref = self._on_screen(
                    p,
                    st.alive[e]
                    & (st.owner[e] == p + 1)
                    & (st.type_idx[e] == _REF)
                    & ~X["building"][e],
                    e,
                )
                ok = ref.any(axis=1)
                e, slot = e[ok], np.argmax(ref[ok], axis=1)
                fn[e] = f
                args[e, _A["queued"]] = 0
                args[e, _A["screen"]] = self._screen(p, st.pos[e, slot], e)
            elif t in _BUILD_TASK:
                bt = _BUILD_TASK[t]
                f = _BUILD_FN[bt]
                e = e[avail[e, f]]
                if bt == _REF:
                    gey = self._on_screen(
                        p,
                        st.alive[e] & (st.type_idx[e] == _GEY) & (X["refinery"][e] == 0),
                        e,
                    )
                    d = np.linalg.norm(st.pos[e] - self.home[i], axis=-1)
                    d = np.where(gey, d, np.inf)
                    slot = np.argmin(d, axis=1)
                    ok = gey.any(axis=1)
                    e, pts = e[ok], st.pos[e[ok], slot[ok]]
                else:
                    free = self._free_sites(i, big=bt != _DEPOT, envs=e)
                    ok = free.any(axis=1)
                    k = np.argmax(free, axis=1)
                    sites = self._sites[i][0 if bt != _DEPOT else 1]
                    e, pts = e[ok], sites[k[ok]]
                fn[e] = f
                args[e, _A["queued"]] = 0
                args[e, _A["screen"]] = self._screen(p, pts, e)
            elif t == _ARMY_T:
                f = _F["Attack_minimap"]
                e = e[avail[e, f]]
                pts = self._army_target(eng, i, p, e, prm)
                fn[e] = f
                args[e, _A["queued"]] = 0
                args[e, _A["minimap"]] = self._minimap(pts)

    def _patch_for(self, st, p: int, i: int, e: np.ndarray) -> np.ndarray:
        """The least-used mineral field near the bot's home (NaN if none) for games ``e``."""
        X = st.extra
        out = np.full((e.size, 2), np.nan, np.float32)
        if e.size == 0:
            return out
        res = self._on_screen(p, st.alive[e] & (st.type_idx[e] == _MIN), e)
        res &= X["resource"][e] > 0
        d = np.linalg.norm(st.pos[e] - self.home[i], axis=-1)
        res &= d < 11
        u = st.max_units
        tgt = X["job_tgt"][e].astype(np.int64) - 1
        mine = (X["job"][e] == 1) & (tgt >= 0)
        cnt = np.zeros((e.size, u), np.int64)
        r, c = np.nonzero(mine)
        np.add.at(cnt, (r, tgt[r, c]), 1)
        score = np.where(res, cnt * 100 + d, np.inf)
        k = np.argmin(score, axis=1)
        ok = np.isfinite(score[np.arange(e.size), k])
        out[ok] = st.pos[e[ok], k[ok]]
        return out

    def _army_target(self, eng, i, p, e, prm: BotParams) -> np.ndarray:
        """Where the army goes.

        The threat (defending), the nearest known enemy building (attacking) or the rally point
        in front of home.
        """
        st = eng.state
        foe_b = st.alive & (st.owner != p + 1) & (st.owner != NEUTRAL)
        foe_b &= units.TABLE.structure[st.type_idx]
        if prm.full_vision:
            self.known[i] = foe_b
        else:
            self.known[i] = (self.known[i] | (foe_b & eng.visible_units(p))) & foe_b
        out = np.empty((e.size, 2), np.float32)
        sc = eng.scenario
        mid = np.asarray(sc.map_size, np.float32) / 2
        rally = self.home[i] + 0.5 * (mid - self.home[i])  # in front of the base, off the sites
        enemy_start = (
            np.asarray(sc.start_location(1 - p), np.float32)
            if hasattr(sc, "start_location")
            else rally
        )
        army = st.alive[e] & (st.owner[e] == p + 1) & units.TABLE.army[st.type_idx[e]]
        cnt = np.maximum(army.sum(axis=1), 1)
        centre = (st.pos[e] * army[..., None]).sum(axis=1) / cnt[:, None]
        known = self.known[i, e]
        d = np.linalg.norm(st.pos[e] - centre[:, None, :], axis=-1)
        d = np.where(known, d, np.inf)
        k = np.argmin(d, axis=1)
        has = known.any(axis=1)
        tgt = np.where(has[:, None], st.pos[e, k], enemy_start)
        # unknown enemy buildings but the start is reached: try the other bases
        if hasattr(sc, "base_locations"):
            near_start = np.linalg.norm(centre - enemy_start, axis=-1) < 6
            alt = np.asarray(sc.base_locations(1 - p), np.float32)[1]
            tgt = np.where((~has & near_start)[:, None], alt, tgt)
        foe = st.alive[e] & (st.owner[e] != p + 1) & (st.owner[e] != NEUTRAL)
        if not prm.full_vision:
            foe &= eng.visible_units(p)[e]
        d_home = np.linalg.norm(st.pos[e] - self.home[i], axis=-1)
        threat = foe & (d_home < 16)
        tc = (st.pos[e] * threat[..., None]).sum(axis=1) / np.maximum(threat.sum(axis=1), 1)[
            :, None
        ]
        attacking = self.attacking[i, e]
        if prm.regroup:
            # gather first: attack only once most of the army is near its centre
            spread = np.where(army, np.linalg.norm(st.pos[e] - centre[:, None], axis=-1), 0).max(
                axis=1
            )
            far_from_rally = np.linalg.norm(centre - rally, axis=-1) > 8
            attacking = attacking & ((spread < 9) | far_from_rally)
        out[:] = np.where(attacking[:, None], tgt, rally)
        defend = self._defend[e] if hasattr(self, "_defend") else np.zeros(e.size, bool)
        out[:] = np.where((defend & threat.any(axis=1))[:, None], tc, out)
        return out


class StatePolicy:
    """A built-in bot playing an *agent* player: a scripted baseline / demonstrator.

    It reads the engine state (privileged, unlike a `core.Policy` over observations) and returns
    actions in `features.encode_action` layout for that player, to pass to
    `SimEngine.step_encoded` (and to log as demonstrations). Call `reset` after each engine reset.

    Example:
        >>> eng = SimEngine("BuildMarines", 4, seed=0)  # doctest: +SKIP
        >>> pol = StatePolicy(eng, ECONOMY_PROFILES["BuildMarines"])  # doctest: +SKIP
        >>> eng.reset(); pol.reset()  # doctest: +SKIP
        >>> fn, args = pol.act(eng)  # doctest: +SKIP
        >>> eng.step_encoded(fn[None], args[None])  # doctest: +SKIP

    Args:
        engine: the engine.
        params: difficulty or `BotParams` (see `bot_params`); `ECONOMY_PROFILES` for mini-games.
        player: the agent player it plays (0-based, < ``engine.num_players``).
    """

    def __init__(self, engine: SimEngine, params: Any, player: int = 0) -> None:
        if not 0 <= player < engine.num_players:
            raise ValueError(f"player {player} is not an agent player of this engine")
        self._bots = Bots(engine, [bot_params(params)], [player])

    def reset(self, env_ids: np.ndarray | None = None) -> None:
        """Forget the games ``env_ids`` (all by default), after the engine reset them."""
        n = self._bots.engine.num_envs
        self._bots.reset(np.arange(n) if env_ids is None else np.asarray(env_ids))

    def act(self, engine: SimEngine) -> tuple[np.ndarray, np.ndarray]:
        """``(function [N], args [N, 13])`` of the player for every game."""
        fn, args = self._bots.act(engine)
        return fn[0], args[0]
