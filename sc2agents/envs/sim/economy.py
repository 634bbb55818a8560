"""Terran economy of the simulator: gathering, construction, production, supply.

`EconomyScenario` is a `Scenario` base class that the economy mini-games (CollectMineralsAndGas,
BuildMarines, defined here) and the 1v1 melee (`melee.Simple64`) build on. The engine calls three
hooks of the scenario (see `engine.SimEngine` and `actions`): `attach` (once, with the engine),
`available_hook` (adds the economy functions to the available-actions mask) and `apply_action`
(for the function ids in `action_functions`); the per-sub-step work is done in `update`, the
scenario's trigger hook. Every operation is vectorised over games and units; where numba is
installed (`dynamics.jit_enabled`) the per-sub-step work (workers, construction, production,
supply), the availability hook and the small actions run as the kernels of `economy_jit`, which
give this module's numpy results bit for bit (``tests/envs/sim/test_economy_jit.py``).

Mechanics and their sources (LotV, patch 5.0.x; times in game loops, 16 per game second at
"normal", 22.4 per real second at "faster"):

* **Minerals.** A worker carries 5 minerals per trip; mining takes 2.786 game seconds
  (`MINE_LOOPS` = 44.6 loops; Liquipedia "Resources"/"Mining"). One worker mines a patch at a
  time; others wait, which is how a patch saturates at 3 workers. A worker arriving at a busy
  patch moves to the least-used patch of the same base ("worker bouncing"). Mineral fields hold
  1800 (LotV main-base patch).
* **Gas.** 4 gas per trip from a finished Refinery; one worker inside at a time.
* **Rates.** Reference: PiousFlea, "Harvested minerals per minute" (TL.net, 2010,
  https://tl.net/forum/viewpost.php?post_id=5888322): ~42 minerals per game minute per worker up
  to 2 per patch, 672/game minute for 16 workers on 8 patches, 816 for 24 (saturation ~102 per
  patch), ~114 gas per game minute per saturated geyser (x1.4 per real "faster" minute). Workers
  here move in straight lines at the SCV's speed without acceleration; `TRIP_OVERHEAD_LOOPS`, a
  pause at the drop-off, stands for SC2's acceleration, turning and drop-off animation and is
  calibrated so that a worker alone on a patch of our mineral line makes the measured 42/min
  (checked by tests/envs/sim/test_economy.py).
* **Construction.** An SCV walks to the site and builds; the building starts at 10% hit points
  and is finished after its build time (`buildings.ECON`). Resources are taken when the order is
  given and given back if the site is blocked when the SCV arrives. Construction pauses while
  its SCV is away or dead.
* **Production.** Queues of 5; cost and supply are taken when a unit is queued (a supply-blocked
  player cannot queue); supply cap = 15 per finished Command Center + 8 per finished depot, <= 200.
* **Placement.** On the map's cell grid: the footprint must be buildable, inside the map and free
  of other structures and resources; a Refinery must be placed on a free Vespene Geyser.

Per-unit and per-player economy state lives in ``SimState.extra`` (leading axis N, zeros = the
defaults, so `SimState.clear_envs` resets it; slots are stored +1 so 0 means "none").
"""

from __future__ import annotations

import dataclasses
import math
import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from sc2agents.envs import features
from sc2agents.envs.sim import actions as sim_actions
from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim import dynamics, economy_jit, units
from sc2agents.envs.sim.dynamics import Events
from sc2agents.envs.sim.scenarios import Scenario, register_scenario
from sc2agents.envs.sim.state import NEUTRAL, Order, SimState

if TYPE_CHECKING:
    from sc2agents.envs.sim.engine import SimEngine

__all__ = [
    "BuildMarines",
    "CollectMineralsAndGas",
    "EconomyScenario",
    "JOB_ORDER",
    "MINE_LOOPS",
    "place_ok",
]

_F = features.FUNCTION_IDS
_A = {name: i for i, name in enumerate(features.ARG_TYPES)}

MINE_LOOPS = 2.786 * 16
"""Mining time of one trip (2.786 game seconds)."""
GAS_LOOPS = 2.1 * 16
"""Time inside the refinery per trip (~114 gas / game minute per saturated geyser)."""
TRIP_OVERHEAD_LOOPS = 11.0
"""Pause at the drop-off per trip (acceleration, turning, drop-off; see module docstring)."""
MINERALS_PER_TRIP = 5.0
GAS_PER_TRIP = 4.0
MINERAL_AMOUNT = 1800.0
GEYSER_AMOUNT = 2250.0
MAX_QUEUE = 5
SUPPLY_MAX = 200
JOB_ORDER = 6
"""`SimState.order` value of a worker busy with an economy job (not an `Order` member: the
dynamics neither move nor retarget it; the economy moves it). Any player command ends the job."""

# jobs and phases
_MINE, _GAS, _BUILD = 1, 2, 3
_TO_RES, _WAIT, _MINING, _TO_BASE, _DROP, _TO_SITE, _CONSTRUCT = 0, 1, 2, 3, 4, 5, 6

_T = units.type_index
_CC = _T(B.COMMAND_CENTER)
_REF = _T(B.REFINERY)
_MIN = _T(B.MINERAL)
_GEY = _T(B.GEYSER)
_SCV = _T(B.SCV)
_MARINE = _T(B.MARINE)

_HARVEST = (_F["Harvest_Gather_screen"], _F["Harvest_Return_quick"])
_SELECT_IDLE = _F["select_idle_worker"]
_IDLE = int(Order.IDLE)  # comparing an int8 array with an IntEnum member is several times slower
_ECON_FUNCTIONS = (
    *_HARVEST,
    *B.BUILD_FUNCTIONS,
    *B.TRAIN_FUNCTIONS,
    _SELECT_IDLE,
)

# Per-unit extras ([N, U] unless noted) and per-player extras ([N, P]).
_UNIT_KEYS = {
    "job": np.int8,
    "phase": np.int8,
    "job_tgt": np.int32,  # slot + 1 (resource / refinery / building under construction)
    "job_t": np.float32,
    "cargo": np.float32,
    "cargo_gas": np.bool_,
    "job_type": np.int16,  # type index + 1 of the building to place
    "progress": np.float32,  # construction loops done
    "building": np.bool_,  # under construction
    "builder": np.int32,  # slot + 1
    "resource": np.float32,
    "geyser": np.int32,  # refinery -> geyser slot + 1
    "refinery": np.int32,  # geyser -> refinery slot + 1
    "qprog": np.float32,
    "held": np.bool_,  # the economy moved this worker last sub-step (its position is in wpos)
}


def _player_keys(p: int) -> dict[str, tuple[tuple[int, ...], Any]]:
    return {
        "minerals": ((p,), np.float32),
        "vespene": ((p,), np.float32),
        "food_cap": ((p,), np.int32),
        "food_queued": ((p,), np.float32),
        "income_mult": ((p,), np.float32),
        "collected": ((p, 2), np.float32),
        "spent": ((p, 2), np.float32),
    }


_HOOK_TABLES: list[tuple[np.ndarray, ...]] = []


def _hook_tables() -> tuple[np.ndarray, ...]:
    """Function ids and their type columns for `economy_jit.available_hook_kernel` (built once)."""
    if not _HOOK_TABLES:
        i64 = np.int64
        _HOOK_TABLES.append(
            (
                np.array(_HARVEST, i64),
                np.array(list(B.BUILD_FUNCTIONS), i64),
                np.array([B.ECON.requires[_T(r)] for r in B.BUILD_FUNCTIONS.values()], i64),
                np.array(list(B.TRAIN_FUNCTIONS), i64),
                np.array([B.ECON.producer[_T(r)] for r in B.TRAIN_FUNCTIONS.values()], i64),
            )
        )
    return _HOOK_TABLES[0]


def ensure_extras(st: SimState) -> None:
    """Allocate the economy arrays in ``st.extra`` (idempotent)."""
    n, u, p = st.num_envs, st.max_units, st.num_players
    w, h = st.map_size
    for k, dt in _UNIT_KEYS.items():
        if k not in st.extra:
            st.extra[k] = np.zeros((n, u), dt)
    for k in ("job_pos", "wpos"):
        if k not in st.extra:
            st.extra[k] = np.zeros((n, u, 2), np.float32)
    if "queue" not in st.extra:
        st.extra["queue"] = np.zeros((n, u, MAX_QUEUE), np.int16)  # type index + 1
    if "occupied" not in st.extra:
        st.extra["occupied"] = np.zeros((n, h, w), np.bool_)
    for k, (shape, dt) in _player_keys(p).items():
        if k not in st.extra:
            st.extra[k] = np.zeros((n, *shape), dt)


def init_units(st: SimState, e: np.ndarray, s: np.ndarray) -> None:
    """Reset the economy fields of freshly spawned units (``e``, ``s`` index arrays)."""
    X = st.extra
    # One flat index into the [N, U, ...] arrays (a 1-d scatter costs about half of an (e, s)
    # one; spawn calls this for every unit made).
    flat = (np.asarray(e, np.int64) * st.max_units + np.asarray(s, np.int64)).ravel()
    for k in (*_UNIT_KEYS, "queue", "job_pos", "wpos"):
        a = X[k]
        if a.flags.c_contiguous:
            a.reshape((-1,) + a.shape[2:])[flat] = 0
        else:
            a[e, s] = 0


def spawn(st: SimState, env_ids: np.ndarray, types: np.ndarray, owner: int, pos: np.ndarray):
    """`SimState.spawn` plus the economy fields (``types`` raw ids ``[n, k]`` or scalar)."""
    slots = st.spawn(env_ids, types, owner, pos)
    e = np.broadcast_to(np.asarray(env_ids)[:, None], slots.shape)
    init_units(st, e, slots)
    return slots


def spawn_high(st: SimState, env_ids: np.ndarray, types: Any, owner: int, pos: np.ndarray):
    """Spawn into the *highest* free slots (resources: kept out of the dynamics' active range)."""
    env_ids = np.asarray(env_ids)
    k = np.asarray(pos).shape[1]
    alive = st.alive[env_ids].copy()
    # Temporarily mark everything but the top-k free slots as used.
    free = ~alive
    rank_from_top = np.cumsum(free[:, ::-1], axis=1)[:, ::-1]
    block = free & (rank_from_top > k)
    st.alive[env_ids] |= block
    try:
        slots = spawn(st, env_ids, types, owner, pos)
    finally:
        st.alive[env_ids] &= ~block
    return slots


def mark_footprint(
    st: SimState, e: np.ndarray, centre: np.ndarray, size: np.ndarray, v: bool, height=None
) -> None:
    """Set the occupancy grid under footprints (``e`` [m], ``centre`` [m, 2], ``size`` [m]).

    ``height`` [m] defaults to ``size`` (square footprints); mineral fields are 2 wide, 1 high.
    """
    occ = st.extra["occupied"]
    w, h = st.map_size
    size = np.asarray(size)
    hh = size if height is None else np.asarray(height)
    c = np.asarray(centre, np.float32).reshape(-1, 2)
    x0 = np.floor(c[:, 0] - size / 2.0 + 0.5).astype(np.int64)
    y0 = np.floor(c[:, 1] - hh / 2.0 + 0.5).astype(np.int64)
    for i in range(len(e)):  # structures are placed/destroyed a few at a time
        a, b = max(0, int(x0[i])), max(0, int(y0[i]))
        occ[int(e[i]), b : min(h, int(y0[i] + hh[i])), a : min(w, int(x0[i] + size[i]))] = v


def _sorted(a: np.ndarray) -> bool:
    """Whether ``a`` is non-decreasing."""
    return bool(a.size < 2 or (a[1:] >= a[:-1]).all())


def place_ok(
    st: SimState, buildable: np.ndarray, e: np.ndarray, centre: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """Bool ``[m]``: each footprint is inside the map, buildable and unoccupied."""
    w, h = st.map_size
    x0, y0 = B.footprint_cells(centre, size)
    out = np.zeros(len(e), bool)
    occ = st.extra["occupied"]
    if dynamics.jit_enabled():
        e64 = np.asarray(e, np.int64)
        s64 = np.asarray(size, np.int64)
        economy_jit.place_ok_kernel(buildable, occ, w, h, e64, x0, y0, s64, out)
        return out
    for i in range(len(e)):
        s = int(size[i])
        a, b = int(x0[i]), int(y0[i])
        if a < 0 or b < 0 or a + s > w or b + s > h:
            continue
        out[i] = (
            bool(buildable[b : b + s, a : a + s].all())
            and not occ[e[i], b : b + s, a : a + s].any()
        )
    return out


@dataclasses.dataclass
class EconomyScenario(Scenario):
    """A map with the Terran economy (see module docstring). Subclasses place the start units.

    Attributes:
        allowed_functions: if set, the only function ids ever available (BuildMarines).
        reward_mode: ``"collected"`` (minerals + gas gathered), ``"marines"`` (marines trained) or
            ``"melee"`` (+1 win / -1 loss when one side has no buildings; 0 otherwise).
    """

    allowed_functions: tuple[int, ...] | None = None
    reward_mode: str = "collected"

    def __post_init__(self) -> None:
        self._dt = 8.0
        self._buildable: np.ndarray | None = None
        self._allowed: np.ndarray | None = None
        if self.allowed_functions is not None:
            self._allowed = np.zeros(features.NUM_FUNCTIONS, bool)
            self._allowed[list(self.allowed_functions)] = True

    # ------------------------------------------------------------------ engine hooks
    action_functions: tuple[int, ...] = _ECON_FUNCTIONS

    def attach(self, engine: SimEngine) -> None:
        """Called once by the engine: learn the sub-step length."""
        n_sub = max(1, math.ceil(engine.step_mul / engine.substep_loops))
        self._dt = engine.step_mul / n_sub
        ensure_extras(engine.state)

    @property
    def buildable(self) -> np.ndarray:
        if self._buildable is None:
            self._buildable = self.static_layers()["buildable"].astype(bool)
        return self._buildable

    def camera_start_of(self, player: int) -> tuple[float, float]:
        """Camera centre of ``player`` at reset (default: the map's camera start)."""
        return self.camera_start

    def available_hook(self, eng: SimEngine, player: int, mask: np.ndarray) -> None:
        """Add the economy functions to ``mask`` (``[N, 573]``, in place)."""
        st = eng.state
        tab = units.TABLE
        X = st.extra
        if dynamics.jit_enabled():  # one compiled pass over the slots (tested equal)
            economy_jit.available_hook_kernel(
                mask, st.selected[player], st.alive, st.owner, player + 1, st.type_idx,
                st.order, X["building"], tab.worker, tab.structure, *_hook_tables(),
                _SELECT_IDLE, int(Order.IDLE),
            )  # fmt: skip
            if self._allowed is not None:
                mask &= self._allowed
            return
        own = st.alive & (st.owner == player + 1)
        sel = st.selected[player] & own
        ti = st.type_idx
        sel_worker = (sel & tab.worker[ti]).any(axis=1)
        for f in _HARVEST:
            mask[:, f] = sel_worker
        done = own & tab.structure[ti] & ~X["building"]
        has_type = np.zeros((st.num_envs, units.NUM_TYPES), bool)
        if done.any():
            ee, uu = np.nonzero(done)
            has_type[ee, ti[ee, uu]] = True
        for f, raw in B.BUILD_FUNCTIONS.items():
            req = B.ECON.requires[_T(raw)]
            mask[:, f] = sel_worker & (has_type[:, req] if req >= 0 else True)
        sel_done = sel & tab.structure[ti] & ~X["building"]
        for f, raw in B.TRAIN_FUNCTIONS.items():
            prod = B.ECON.producer[_T(raw)]
            mask[:, f] = (sel_done & (ti == prod)).any(axis=1)
        mask[:, _SELECT_IDLE] = (own & tab.worker[ti] & (st.order == Order.IDLE)).any(axis=1)
        if self._allowed is not None:
            mask &= self._allowed

    def apply_action(
        self, eng: SimEngine, player: int, fid: int, envs: np.ndarray, a: np.ndarray
    ) -> None:
        """Apply an economy function for ``envs`` (validated: it is available there)."""
        st = eng.state
        p = player
        if fid == _SELECT_IDLE:
            self._select_idle(st, p, envs, a[:, _A["select_worker"]])
        elif fid in B.TRAIN_FUNCTIONS:
            self._train(st, p, envs, _T(B.TRAIN_FUNCTIONS[fid]))
        elif fid == _F["Harvest_Return_quick"]:
            self._return_cargo(st, p, envs)
        else:
            pt = sim_actions._screen_to_world(eng, p, envs, a[:, _A["screen"]])
            if fid == _F["Harvest_Gather_screen"]:
                tgt = sim_actions._unit_at(eng, p, envs, pt)
                self._gather(st, p, envs, tgt)
            else:
                self._build_order(eng, p, envs, pt, _T(B.BUILD_FUNCTIONS[fid]))

    # ------------------------------------------------------------------ actions
    def _select_idle(self, st: SimState, p: int, envs: np.ndarray, act: np.ndarray) -> None:
        tab = units.TABLE
        if dynamics.jit_enabled():
            economy_jit.select_idle_kernel(
                st.selected[p], st.alive, st.owner, st.type_idx, st.order, tab.worker, p + 1,
                _IDLE, np.asarray(envs, np.int64), np.asarray(act, np.int64),
            )  # fmt: skip
            return
        idle = (
            st.alive[envs]
            & (st.owner[envs] == p + 1)
            & tab.worker[st.type_idx[envs]]
            & (st.order[envs] == _IDLE)
        )
        first = np.zeros_like(idle)
        rows = np.flatnonzero(idle.any(axis=1))
        first[rows, np.argmax(idle[rows], axis=1)] = True
        sel = st.selected[p, envs] & st.alive[envs]
        new = np.where(
            (act == 0)[:, None],
            first,
            np.where(
                (act == 1)[:, None], sel | first, np.where((act == 2)[:, None], idle, sel | idle)
            ),
        )
        st.selected[p, envs] = new

    def _selected_workers(self, st: SimState, p: int, envs: np.ndarray) -> np.ndarray:
        tab = units.TABLE
        return (
            st.selected[p, envs]
            & st.alive[envs]
            & (st.owner[envs] == p + 1)
            & tab.worker[st.type_idx[envs]]
        )

    def _gather(self, st: SimState, p: int, envs: np.ndarray, tgt: np.ndarray) -> None:
        X = st.extra
        ok = tgt >= 0
        ts = np.maximum(tgt, 0)
        ttype = st.type_idx[envs, ts]
        mineral = ok & (ttype == _MIN) & (X["resource"][envs, ts] > 0)
        refinery = ok & (ttype == _REF) & (st.owner[envs, ts] == p + 1) & ~X["building"][envs, ts]
        good = mineral | refinery
        if not good.any():
            return
        w = self._selected_workers(st, p, envs) & good[:, None]
        ee, uu = np.nonzero(w)
        e = envs[ee]
        X["job"][e, uu] = np.where(mineral[ee], _MINE, _GAS)
        X["job_tgt"][e, uu] = ts[ee] + 1
        X["job_t"][e, uu] = 0
        X["held"][e, uu] = False
        carrying = X["cargo"][e, uu] > 0
        X["phase"][e, uu] = np.where(carrying, _TO_BASE, _TO_RES)
        st.order[e, uu] = JOB_ORDER
        st.target_unit[e, uu] = -1

    def _return_cargo(self, st: SimState, p: int, envs: np.ndarray) -> None:
        X = st.extra
        if dynamics.jit_enabled():
            economy_jit.return_cargo_kernel(
                st.selected[p], st.alive, st.owner, st.type_idx, units.TABLE.worker, p + 1,
                np.asarray(envs, np.int64), X["cargo"], X["cargo_gas"], X["job"], X["job_tgt"],
                X["phase"], X["held"], st.order, JOB_ORDER,
            )  # fmt: skip
            return
        w = self._selected_workers(st, p, envs)
        ee, uu = np.nonzero(w)
        e = envs[ee]
        carry = X["cargo"][e, uu] > 0
        e, uu = e[carry], uu[carry]
        fresh = X["job"][e, uu] == 0
        X["job"][e, uu] = np.where(
            fresh, np.where(X["cargo_gas"][e, uu], _GAS, _MINE), X["job"][e, uu]
        )
        X["job_tgt"][e[fresh], uu[fresh]] = 0  # no resource: idle after the drop-off
        X["phase"][e, uu] = _TO_BASE
        X["held"][e, uu] = False
        st.order[e, uu] = JOB_ORDER

    def _cost_ok(self, st: SimState, p: int, e: np.ndarray, t: np.ndarray) -> np.ndarray:
        X = st.extra
        return (X["minerals"][e, p] >= B.ECON.minerals[t]) & (
            X["vespene"][e, p] >= B.ECON.vespene[t]
        )

    def _pay(self, st: SimState, p: int, e: np.ndarray, t: np.ndarray, sign: float = 1.0) -> None:
        X = st.extra
        m = B.ECON.minerals[t].astype(np.float32) * sign
        g = B.ECON.vespene[t].astype(np.float32) * sign
        np.subtract.at(X["minerals"][:, p], e, m)
        np.subtract.at(X["vespene"][:, p], e, g)
        np.add.at(X["spent"][:, p, 0], e, m)
        np.add.at(X["spent"][:, p, 1], e, g)

    def _build_order(
        self, eng: SimEngine, p: int, envs: np.ndarray, pt: np.ndarray, t: int
    ) -> None:
        st = eng.state
        X = st.extra
        size = int(B.ECON.footprint[t])
        tt = np.full(envs.size, t)
        afford = self._cost_ok(st, p, envs, tt)
        if not afford.any():  # the cheap check first: no game can pay, nothing is ordered
            return
        if t == _REF:
            g = sim_actions._unit_at(eng, p, envs, pt)
            gs = np.maximum(g, 0)
            ok = (g >= 0) & (st.type_idx[envs, gs] == _GEY) & (X["refinery"][envs, gs] == 0)
            centre = st.pos[envs, gs]
        else:
            centre = B.snap_centre(pt, np.full(envs.size, size))
            ok = place_ok(st, self.buildable, envs, centre, np.full(envs.size, size))
        ok &= afford
        if not ok.any():
            return
        w = self._selected_workers(st, p, envs)
        d = np.linalg.norm(st.pos[envs] - centre[:, None, :], axis=-1)
        d = np.where(w, d, np.inf)
        builder = np.argmin(d, axis=1)
        ok &= w.any(axis=1)
        rows = np.flatnonzero(ok)
        e, u = envs[rows], builder[rows]
        self._pay(st, p, e, tt[rows])
        X["job"][e, u] = _BUILD
        X["phase"][e, u] = _TO_SITE
        X["job_pos"][e, u] = centre[rows]
        X["job_type"][e, u] = t + 1
        X["job_tgt"][e, u] = 0
        X["held"][e, u] = False
        st.order[e, u] = JOB_ORDER
        st.target_unit[e, u] = -1

    def _train(self, st: SimState, p: int, envs: np.ndarray, t: int) -> None:
        X = st.extra
        afford = self._cost_ok(st, p, envs, np.full(envs.size, t))
        if not afford.any():  # the cheap check first: no game can pay, nothing is queued
            return
        prod = B.ECON.producer[t]
        cand = (
            st.selected[p, envs]
            & st.alive[envs]
            & (st.owner[envs] == p + 1)
            & (st.type_idx[envs] == prod)
            & ~X["building"][envs]
        )
        qlen = (X["queue"][envs] > 0).sum(axis=2)
        qlen = np.where(cand, qlen, MAX_QUEUE + 1)
        slot = np.argmin(qlen, axis=1)
        rows = np.arange(envs.size)
        ok = qlen[rows, slot] < MAX_QUEUE
        supply = B.ECON.supply[t]
        own = st.alive[envs] & (st.owner[envs] == p + 1)  # only the acting games' rows
        used = np.where(own, units.TABLE.supply[st.type_idx[envs]], 0).sum(axis=1)
        used = used + X["food_queued"][envs, p]
        ok &= used + supply <= X["food_cap"][envs, p] + 1e-6
        ok &= afford
        rows = rows[ok]
        if rows.size == 0:
            return
        e, s = envs[rows], slot[rows]
        self._pay(st, p, e, np.full(e.size, t))
        q = X["queue"][e, s]
        pos = (q > 0).sum(axis=1)
        q[np.arange(e.size), pos] = t + 1
        X["queue"][e, s] = q
        X["food_queued"][e, p] += supply

    # ------------------------------------------------------------------ simulation
    def economy_step(self, st: SimState, ev: Events, rng: np.random.Generator) -> np.ndarray:
        """One sub-step of the economy.

        Returns:
            float32 ``[P, N, 3]``: per player and game, this sub-step's minerals + gas collected,
            marines trained and structures lost.
        """
        X = st.extra
        dt = np.float32(self._dt)
        tab = units.TABLE
        P = st.num_players
        out = np.zeros((P, st.num_envs, 3), np.float32)
        # --- structures that died: free their footprint; stop refineries ---
        if ev.k and ev.died.any():
            k = ev.k
            ti = st.type_idx[:, :k]
            dead_s = ev.died & tab.structure[ti] & (st.owner[:, :k] != NEUTRAL)
            if dead_s.any():
                ee, uu = np.nonzero(dead_s)
                size = B.ECON.footprint[ti[ee, uu]]
                not_ref = ti[ee, uu] != _REF
                mark_footprint(
                    st, ee[not_ref], st.pos[ee[not_ref], uu[not_ref]], size[not_ref], False
                )
                ref = ~not_ref
                if ref.any():
                    g = X["geyser"][ee[ref], uu[ref]] - 1
                    ok = g >= 0
                    X["refinery"][ee[ref][ok], g[ok]] = 0
                for pl in range(P):
                    out[pl, :, 2] += np.bincount(
                        ee[st.owner[ee, uu] == pl + 1], minlength=st.num_envs
                    )
                X["building"][ee, uu] = False
                X["queue"][ee, uu] = 0
        self._workers(st, dt, out)
        self._construction(st, dt)
        self._production(st, dt, rng, out)
        self._supply(st)
        for pl in range(P):
            sc = st.score_cumulative[pl]
            sc[:, 7] = X["collected"][:, pl, 0]
            sc[:, 8] = X["collected"][:, pl, 1]
            sc[:, 11] = X["spent"][:, pl, 0]
            sc[:, 12] = X["spent"][:, pl, 1]
        return out

    def _supply(self, st: SimState) -> None:
        X = st.extra
        if dynamics.jit_enabled():
            economy_jit.supply_kernel(
                st.alive, X["building"], st.owner, st.type_idx, B.ECON.provides, SUPPLY_MAX,
                X["food_cap"],
            )  # fmt: skip
            return
        prov = np.where(st.alive & ~X["building"], B.ECON.provides[st.type_idx], 0)
        for pl in range(st.num_players):
            cap = np.where(st.owner == pl + 1, prov, 0).sum(axis=1)
            X["food_cap"][:, pl] = np.minimum(cap, SUPPLY_MAX)

    def _workers(self, st: SimState, dt: np.float32, out: np.ndarray) -> None:
        if dynamics.jit_enabled():
            self._workers_jit(st, dt, out)
            return
        X = st.extra
        job = X["job"]
        active = st.alive & (job > 0)
        # A player command (order changed) or a dead unit ends the job.
        cancel = (job > 0) & ~(st.alive & (st.order == JOB_ORDER))
        if cancel.any():
            ee, uu = np.nonzero(cancel)
            pending = (job[ee, uu] == _BUILD) & (X["phase"][ee, uu] == _TO_SITE)
            if pending.any():
                for pl in range(st.num_players):
                    m = pending & (st.owner[ee, uu] == pl + 1)
                    t = X["job_type"][ee[m], uu[m]].astype(np.int64) - 1
                    self._pay(st, pl, ee[m], t, sign=-1.0)
            job[ee, uu] = 0
            X["phase"][ee, uu] = 0
            X["held"][ee, uu] = False
            active &= ~cancel
        if not active.any():
            return
        ee, uu = np.nonzero(active)
        # Undo what the dynamics did to workers on a job (they neither chase nor get pushed).
        held = X["held"][ee, uu]
        st.pos[ee[held], uu[held]] = X["wpos"][ee[held], uu[held]]
        phase = X["phase"][ee, uu]
        tgt = X["job_tgt"][ee, uu].astype(np.int64) - 1
        ts = np.maximum(tgt, 0)
        pos = st.pos[ee, uu]
        rw = st.radius[ee, uu]
        owner = st.owner[ee, uu]
        jb = job[ee, uu]
        # Target validity for gatherers: a mineral with minerals left / own finished refinery.
        tti = st.type_idx[ee, ts]
        tgt_ok = (tgt >= 0) & st.alive[ee, ts]
        res_ok = np.where(
            jb == _MINE,
            tgt_ok & (tti == _MIN) & (X["resource"][ee, ts] > 0),
            tgt_ok & (tti == _REF) & ~X["building"][ee, ts] & (st.owner[ee, ts] == owner),
        )
        gathering = jb != _BUILD
        # --- goals ---
        goal = pos.copy()
        stop = np.zeros(ee.size, np.float32)
        to_res = gathering & (phase == _TO_RES)
        goal[to_res] = st.pos[ee[to_res], ts[to_res]]
        stop[to_res] = st.radius[ee[to_res], ts[to_res]] + rw[to_res]
        to_base = gathering & (phase == _TO_BASE)
        base, base_d = self._nearest_base(st, ee, pos, owner)
        has_base = base >= 0
        bs = np.maximum(base, 0)
        goal[to_base] = st.pos[ee[to_base], bs[to_base]]
        stop[to_base] = st.radius[ee[to_base], bs[to_base]] + rw[to_base]
        to_site = (jb == _BUILD) & (phase == _TO_SITE)
        goal[to_site] = X["job_pos"][ee[to_site], uu[to_site]]
        jt = np.maximum(X["job_type"][ee, uu].astype(np.int64) - 1, 0)
        stop[to_site] = B.ECON.footprint[jt[to_site]] / 2.0 + rw[to_site]
        moving = to_res | to_base | to_site
        # Gatherers whose resource is gone / base is gone go idle.
        lost = gathering & ~res_ok & (phase != _TO_BASE) & (phase != _DROP)
        lost |= to_base & ~has_base
        # --- move ---
        vec = goal - pos
        dist = np.linalg.norm(vec, axis=-1)
        remaining = dist - stop
        speed = units.TABLE.speed[st.type_idx[ee, uu]] * dt
        step = np.clip(remaining, 0, speed) * moving
        unit = vec / np.maximum(dist, 1e-6)[:, None]
        new_pos = pos + unit * step[:, None]
        arrived = moving & (remaining - step <= 1e-3)
        st.pos[ee, uu] = new_pos
        X["wpos"][ee, uu] = new_pos
        X["held"][ee, uu] = True
        st.target_pos[ee, uu] = goal
        new_phase = phase.copy()
        job_t = X["job_t"][ee, uu]
        new_phase[arrived & to_res] = _WAIT
        # drop-off
        drop = arrived & to_base
        if drop.any():
            cargo = X["cargo"][ee[drop], uu[drop]]
            gas = X["cargo_gas"][ee[drop], uu[drop]]
            for pl in range(st.num_players):
                m = owner[drop] == pl + 1
                e_m = ee[drop][m]
                mins = np.where(gas[m], 0.0, cargo[m])
                gass = np.where(gas[m], cargo[m], 0.0)
                np.add.at(X["minerals"][:, pl], e_m, mins)
                np.add.at(X["vespene"][:, pl], e_m, gass)
                np.add.at(X["collected"][:, pl, 0], e_m, mins)
                np.add.at(X["collected"][:, pl, 1], e_m, gass)
                np.add.at(out[pl, :, 0], e_m, cargo[m])
            X["cargo"][ee[drop], uu[drop]] = 0
            new_phase[drop] = _DROP
            job_t[drop] = TRIP_OVERHEAD_LOOPS
        # drop-off pause
        dropping = (phase == _DROP) & ~drop
        job_t[dropping] -= dt
        new_phase[dropping & (job_t <= 0)] = _TO_RES
        lost |= dropping & (job_t <= 0) & ~res_ok
        # mining
        mining = phase == _MINING
        job_t[mining] -= dt
        done = mining & (job_t <= 0)
        # how long ago (within this sub-step) each resource was freed: the next worker starts
        # then, so a resource's occupancy is exact whatever the sub-step length
        carry: dict[int, float] = {}
        if done.any():
            fl = ee[done] * st.max_units + ts[done]
            carry = dict(zip(fl.tolist(), (-job_t[done]).tolist(), strict=True))
            d_e, d_u, d_t = ee[done], uu[done], ts[done]
            is_gas = jb[done] == _GAS
            mult = X["income_mult"][d_e, owner[done] - 1]
            mult = np.where(mult > 0, mult, 1.0)
            res_slot = np.where(is_gas, X["geyser"][d_e, d_t] - 1, d_t)
            res_slot = np.maximum(res_slot, 0)
            amount = np.minimum(
                np.where(is_gas, GAS_PER_TRIP, MINERALS_PER_TRIP),
                X["resource"][d_e, res_slot],
            )
            np.subtract.at(X["resource"], (d_e, res_slot), amount)
            X["cargo"][d_e, d_u] = amount * mult
            X["cargo_gas"][d_e, d_u] = is_gas
            new_phase[done] = _TO_BASE
            # a depleted mineral field disappears
            empty = ~is_gas & (X["resource"][d_e, res_slot] <= 0)
            if empty.any():
                st.alive[d_e[empty], res_slot[empty]] = False
                mark_footprint(
                    st,
                    d_e[empty],
                    st.pos[d_e[empty], res_slot[empty]],
                    np.full(empty.sum(), 2),
                    False,
                    height=np.ones(empty.sum(), np.int64),
                )
        # waiting at the resource: start mining if it is free, else bounce
        waiting = (phase == _WAIT) | (arrived & to_res)
        waiting &= res_ok
        if waiting.any():
            n, u = st.num_envs, st.max_units
            flat_t = ee * u + ts
            busy = np.zeros(n * u, bool)
            busy[flat_t[mining & ~done]] = True
            assigned = np.bincount(flat_t[gathering & res_ok], minlength=n * u)
            wi = np.flatnonzero(waiting)
            free_now = ~busy[flat_t[wi]]
            # one starter per resource: the first waiting worker of each free resource
            starters = wi[free_now]
            if starters.size:
                _, first = np.unique(flat_t[starters], return_index=True)
                go = starters[first]
                new_phase[go] = _MINING
                back = np.array([carry.get(int(f), 0.0) for f in flat_t[go]], np.float32)
                job_t[go] = np.where(jb[go] == _GAS, GAS_LOOPS, MINE_LOOPS) - back
                busy[flat_t[go]] = True
            # bounce: a waiting mineral worker at a busy patch moves to a less-used patch nearby
            stuck = wi[(new_phase[wi] == _WAIT) & (jb[wi] == _MINE)]
            if stuck.size:
                self._bounce(st, ee, uu, ts, stuck, assigned, new_phase)
        # --- construction start ---
        site = arrived & to_site
        if site.any():
            self._start_construction(st, ee[site], uu[site], owner[site], new_phase, site)
        X["phase"][ee, uu] = new_phase
        X["job_t"][ee, uu] = job_t
        if lost.any():
            le, lu = ee[lost], uu[lost]
            job[le, lu] = 0
            X["held"][le, lu] = False
            X["phase"][le, lu] = 0
            st.order[le, lu] = Order.IDLE
            st.target_pos[le, lu] = st.pos[le, lu]

    def _scratch(self, name: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialised output buffer of the kernels, kept between sub-steps.

        (A fresh ``np.empty`` of this size is mapped and faulted in on every call.)
        """
        bufs = self.__dict__.setdefault("_kernel_buffers", {})
        key = (name, threading.get_ident())  # one set per thread (a scenario may be shared)
        buf = bufs.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = bufs[key] = np.empty(shape, dtype)
        return buf

    def _workers_jit(self, st: SimState, dt: np.float32, out: np.ndarray) -> None:
        """`_workers` by `economy_jit.workers_kernel` (the same state, tested)."""
        X = st.extra
        tab = units.TABLE
        m = st.num_envs * st.max_units
        sites = self._scratch("sites", (m, 2), np.int64)
        site_phase = self._scratch("site_phase", (m,), np.int8)
        empty = self._scratch("empty", (m, 2), np.int64)
        n_site, n_empty = economy_jit.workers_kernel(
            st.alive, st.owner, st.type_idx, st.order, st.pos, st.radius, st.target_pos,
            X["job"], X["phase"], X["job_tgt"], X["job_t"], X["job_type"], X["job_pos"],
            X["held"], X["wpos"], X["cargo"], X["cargo_gas"], X["resource"], X["building"],
            X["geyser"], X["minerals"], X["vespene"], X["collected"], X["spent"],
            X["income_mult"], out, tab.speed, B.ECON.minerals, B.ECON.vespene, B.ECON.footprint,
            dt, JOB_ORDER, int(Order.IDLE), _CC, _MIN, _REF, float(MINE_LOOPS), float(GAS_LOOPS),
            float(TRIP_OVERHEAD_LOOPS), float(MINERALS_PER_TRIP), float(GAS_PER_TRIP), sites,
            site_phase, empty,
        )  # fmt: skip
        if n_empty:  # a depleted mineral field disappears (the kernel killed it)
            e, s = empty[:n_empty, 0], empty[:n_empty, 1]
            mark_footprint(
                st, e, st.pos[e, s], np.full(n_empty, 2), False, height=np.ones(n_empty, np.int64)
            )
        if n_site:
            e, u = sites[:n_site, 0], sites[:n_site, 1]
            new_phase = site_phase[:n_site].copy()
            self._start_construction(st, e, u, st.owner[e, u], new_phase, np.ones(n_site, bool))
            X["phase"][e, u] = new_phase

    def _bounce(self, st, ee, uu, ts, stuck, assigned, new_phase) -> None:
        X = st.extra
        u = st.max_units
        e = ee[stuck]
        cur = ts[stuck]
        is_min = (st.type_idx[e] == _MIN) & st.alive[e] & (X["resource"][e] > 0)  # [s, U]
        cp = st.pos[e, cur]  # [s, 2]
        d = np.linalg.norm(st.pos[e] - cp[:, None, :], axis=-1)
        near = is_min & (d < 8.0)
        cnt = assigned.reshape(-1, u)[e]  # [s, U]
        cur_cnt = cnt[np.arange(e.size), cur]
        score = np.where(near, cnt * 100.0 + d, np.inf)
        best = np.argmin(score, axis=1)
        better = cnt[np.arange(e.size), best] < cur_cnt - 1
        if better.any():
            s = stuck[better]
            X["job_tgt"][ee[s], uu[s]] = best[better] + 1
            new_phase[s] = _TO_RES
            # keep counts consistent within this sub-step
            flat = assigned.reshape(-1, u)
            np.add.at(flat, (e[better], cur[better]), -1)
            np.add.at(flat, (e[better], best[better]), 1)

    def _nearest_base(self, st, ee, pos, owner) -> tuple[np.ndarray, np.ndarray]:
        """Slot of the nearest finished own Command Center of each worker (-1 = none)."""
        X = st.extra
        out = np.full(ee.size, -1, np.int64)
        dist = np.full(ee.size, np.inf, np.float32)
        cc = st.alive & (st.type_idx == _CC) & ~X["building"]
        if ee.size == 0 or not cc.any():
            return out, dist
        # [N, C] padded list of command centers per game (a handful), not [workers, U]
        count = cc.sum(axis=1)
        c_max = int(count.max())
        order = np.argsort(~cc, axis=1, kind="stable")[:, :c_max]
        valid = np.arange(c_max)[None, :] < count[:, None]
        cand = order[ee]  # [m, C]
        ok = valid[ee] & (st.owner[ee[:, None], cand] == owner[:, None])
        d = np.linalg.norm(st.pos[ee[:, None], cand] - pos[:, None, :], axis=-1)
        d = np.where(ok, d, np.inf)
        k = np.argmin(d, axis=1)
        dist = d[np.arange(ee.size), k]
        out = np.where(np.isfinite(dist), cand[np.arange(ee.size), k], -1)
        return out, dist

    def _start_construction(self, st, e, u, owner, new_phase, site_mask) -> None:
        X = st.extra
        t = X["job_type"][e, u].astype(np.int64) - 1
        centre = X["job_pos"][e, u]
        size = B.ECON.footprint[t]
        ok = np.zeros(e.size, bool)
        is_ref = t == _REF
        if is_ref.any():
            g = np.zeros(e.size, np.int64)
            # the geyser under the site
            d = np.linalg.norm(st.pos[e] - centre[:, None, :], axis=-1)
            gmask = st.alive[e] & (st.type_idx[e] == _GEY) & (d < 0.5)
            g = np.argmax(gmask, axis=1)
            ok_ref = gmask.any(axis=1) & (X["refinery"][e, g] == 0)
            ok[is_ref] = ok_ref[is_ref]
        else:
            g = np.zeros(e.size, np.int64)
        nr = ~is_ref
        if nr.any():
            ok[nr] = place_ok(st, self.buildable, e[nr], centre[nr], size[nr])
        # tech requirement still met
        req = B.ECON.requires[t]
        chk = np.flatnonzero(ok & (req >= 0))
        if chk.size:
            ec = e[chk]
            ok[chk] = (
                st.alive[ec]
                & (st.owner[ec] == owner[chk, None])
                & (st.type_idx[ec] == req[chk, None])
                & ~X["building"][ec]
            ).any(axis=1)
        idx = np.flatnonzero(site_mask)
        # sites taken by an earlier arrival of this same sub-step fail too (one at a time)
        if dynamics.jit_enabled():
            x0, y0 = B.footprint_cells(centre, size)
            w, h = st.map_size
            economy_jit.claim_sites_kernel(
                ok, np.asarray(e, np.int64), is_ref, np.asarray(g, np.int64), x0, y0,
                size.astype(np.int64), self.buildable, X["occupied"], w, h,
            )  # fmt: skip
        else:
            taken: set[tuple[int, int]] = set()
            for i in np.flatnonzero(ok):
                if is_ref[i]:
                    key = (int(e[i]), -1 - int(g[i]))
                    ok[i] = key not in taken
                else:
                    ok[i] = bool(
                        place_ok(
                            st, self.buildable, e[i : i + 1], centre[i : i + 1], size[i : i + 1]
                        )[0]
                    )
                    key = (int(e[i]), i)
                    if ok[i]:
                        mark_footprint(st, e[i : i + 1], centre[i : i + 1], size[i : i + 1], True)
                taken.add(key)
        fail = ~ok
        if fail.any():
            for pl in range(st.num_players):
                m = fail & (owner == pl + 1)
                self._pay(st, pl, e[m], t[m], sign=-1.0)
            X["job"][e[fail], u[fail]] = 0
            new_phase[idx[fail]] = 0
            st.order[e[fail], u[fail]] = Order.IDLE
        go = np.flatnonzero(ok)
        if go.size == 0:
            return
        # Spawn the buildings in site order within a game; `spawn` takes distinct games, so a
        # game with several sites takes several rounds (its n-th site in round n).
        ge = e[go]
        first = np.r_[True, ge[1:] != ge[:-1]] if _sorted(ge) else None
        if first is None:  # games out of order: one site per call, in order
            rounds = [go[i : i + 1] for i in range(go.size)]
        else:
            at = np.arange(go.size)
            rank = at - np.maximum.accumulate(np.where(first, at, 0))
            rounds = [go[rank == r] for r in range(int(rank.max()) + 1)]
        for sel in rounds:
            es, us = e[sel], u[sel]
            raw = units.TABLE.raw_id[t[sel]][:, None]
            slots = spawn(st, es, raw, owner[sel][:, None], centre[sel][:, None, :])[:, 0]
            hp = st.health_max[es, slots]
            st.health[es, slots] = np.maximum(1.0, 0.1 * hp)
            X["building"][es, slots] = True
            X["builder"][es, slots] = us + 1
            X["job_tgt"][es, us] = slots + 1
            r = is_ref[sel]
            if r.any():
                X["geyser"][es[r], slots[r]] = g[sel][r] + 1
                X["refinery"][es[r], g[sel][r]] = slots[r] + 1
            new_phase[idx[sel]] = _CONSTRUCT

    def _construction(self, st: SimState, dt: np.float32) -> None:
        X = st.extra
        if dynamics.jit_enabled():
            economy_jit.construction_kernel(
                st.alive, X["building"], X["builder"], X["job"], X["phase"], X["job_tgt"],
                X["progress"], st.health, st.health_max, st.type_idx, X["held"], st.order, st.pos,
                st.target_pos, B.ECON.build_loops, dt, _IDLE,
            )  # fmt: skip
            return
        b = st.alive & X["building"]
        if not b.any():
            return
        ee, uu = np.nonzero(b)
        bld = X["builder"][ee, uu].astype(np.int64) - 1
        bs = np.maximum(bld, 0)
        working = (
            (bld >= 0)
            & st.alive[ee, bs]
            & (X["job"][ee, bs] == _BUILD)
            & (X["phase"][ee, bs] == _CONSTRUCT)
            & (X["job_tgt"][ee, bs] == uu + 1)
        )
        ee, uu, bs = ee[working], uu[working], bs[working]
        if ee.size == 0:
            return
        t = st.type_idx[ee, uu]
        total = B.ECON.build_loops[t]
        prog = X["progress"][ee, uu] + dt
        X["progress"][ee, uu] = prog
        hpm = st.health_max[ee, uu]
        st.health[ee, uu] = np.minimum(hpm, st.health[ee, uu] + 0.9 * hpm * dt / total)
        fin = prog >= total - 1e-3
        if fin.any():
            fe, fu, fb = ee[fin], uu[fin], bs[fin]
            X["building"][fe, fu] = False
            X["job"][fe, fb] = 0
            X["phase"][fe, fb] = 0
            X["held"][fe, fb] = False
            st.order[fe, fb] = Order.IDLE
            st.target_pos[fe, fb] = st.pos[fe, fb]

    def _production(self, st: SimState, dt: np.float32, rng, out: np.ndarray) -> None:
        X = st.extra
        q = X["queue"]
        if dynamics.jit_enabled():  # the progress in one compiled pass (tested equal)
            fin_out = self._scratch("fin", (st.num_envs * st.max_units, 3), np.int64)
            m = economy_jit.production_kernel(
                st.alive, X["building"], q, X["qprog"], B.ECON.build_loops, dt, fin_out
            )
            if m == 0:
                return
            fe, fu, ft = fin_out[:m].T.copy()
        else:
            head = q[:, :, 0]
            prod = st.alive & (head > 0) & ~X["building"]
            if not prod.any():
                return
            ee, uu = np.nonzero(prod)
            t = head[ee, uu].astype(np.int64) - 1
            p = X["qprog"][ee, uu] + dt
            total = B.ECON.build_loops[t]
            fin = p >= total - 1e-3
            X["qprog"][ee, uu] = np.where(fin, 0.0, p)
            if not fin.any():
                return
            fe, fu, ft = ee[fin], uu[fin], t[fin]
        qq = q[fe, fu]
        q[fe, fu] = np.concatenate([qq[:, 1:], np.zeros((fe.size, 1), q.dtype)], axis=1)
        owner = st.owner[fe, fu]
        # the new unit appears below its producer (SC2: at the building's edge)
        r = st.radius[fe, fu] + units.TABLE.radius[ft] + 0.1
        ang = rng.uniform(0.25 * np.pi, 0.75 * np.pi, fe.size)
        pos = st.pos[fe, fu] + np.stack([np.cos(ang) * r, np.sin(ang) * r], axis=-1)
        x0, y0, x1, y1 = self.playable
        pos[:, 0] = np.clip(pos[:, 0], x0 + 0.5, x1 - 0.5)
        pos[:, 1] = np.clip(pos[:, 1], y0 + 0.5, y1 - 0.5)
        for pl in range(st.num_players):
            m = owner == pl + 1
            if not m.any():
                continue
            # One unit per producer per sub-step at most, spawned in the producers' slot order
            # within a game; `spawn` takes distinct games, so a game with several producers done
            # takes several rounds (its n-th producer in round n). `fe` is sorted (slot order).
            idx = np.flatnonzero(m)
            g = fe[idx]
            first = np.r_[True, g[1:] != g[:-1]]
            at = np.arange(idx.size)
            rank = at - np.maximum.accumulate(np.where(first, at, 0))
            for r in range(int(rank.max()) + 1):
                sel = idx[rank == r]
                spawn(st, fe[sel], units.TABLE.raw_id[ft[sel]][:, None], pl + 1, pos[sel][:, None])
            X["food_queued"][:, pl] -= np.bincount(
                fe[m], weights=B.ECON.supply[ft[m]], minlength=st.num_envs
            ).astype(np.float32)
            np.add.at(out[pl, :, 1], fe[m], (ft[m] == _MARINE).astype(np.float32))
        np.maximum(X["food_queued"], 0, out=X["food_queued"])

    # ------------------------------------------------------------------ layout helpers
    def place_base(
        self,
        st: SimState,
        env_ids: np.ndarray,
        owner: int,
        cc: tuple[float, float] | None,
        minerals: np.ndarray,
        geysers: np.ndarray,
        scvs: int = 12,
    ) -> None:
        """A base: resources (``[m, 2]`` absolute centres), an optional CC and ``scvs`` SCVs."""
        n = len(env_ids)
        X = st.extra
        if len(minerals):
            s = spawn_high(
                st, env_ids, B.MINERAL, NEUTRAL, np.broadcast_to(minerals, (n, *np.shape(minerals)))
            )
            ee = np.broadcast_to(np.asarray(env_ids)[:, None], s.shape)
            X["resource"][ee, s] = MINERAL_AMOUNT
            mark_footprint(
                st,
                ee.ravel(),
                st.pos[ee, s].reshape(-1, 2),
                np.full(s.size, 2),
                True,
                height=np.ones(s.size, np.int64),
            )
        if len(geysers):
            s = spawn_high(
                st, env_ids, B.GEYSER, NEUTRAL, np.broadcast_to(geysers, (n, *np.shape(geysers)))
            )
            ee = np.broadcast_to(np.asarray(env_ids)[:, None], s.shape)
            X["resource"][ee, s] = GEYSER_AMOUNT
            mark_footprint(st, ee.ravel(), st.pos[ee, s].reshape(-1, 2), np.full(s.size, 3), True)
        if cc is not None:
            c = np.asarray(cc, np.float32)
            s = spawn(st, env_ids, B.COMMAND_CENTER, owner, np.broadcast_to(c, (n, 1, 2)))
            mark_footprint(st, np.asarray(env_ids), np.broadcast_to(c, (n, 2)), np.full(n, 5), True)
            if scvs:
                ang = np.linspace(0.15 * np.pi, 0.85 * np.pi, scvs)
                # below the CC, away from the mineral line
                r = 3.3 + 0.8 * (np.arange(scvs) % 2)
                off = np.stack([np.cos(ang) * r, np.sin(ang) * r], axis=-1)
                spawn(
                    st,
                    env_ids,
                    B.SCV,
                    owner,
                    np.broadcast_to(c + off, (n, scvs, 2)).astype(np.float32),
                )

    def reset_players(self, st: SimState, env_ids: np.ndarray) -> None:
        """Start resources: 50 minerals, 0 gas per player; supply from the start buildings."""
        ensure_extras(st)
        st.extra["minerals"][env_ids] = 50
        st.extra["income_mult"][env_ids] = 1.0
        self._supply(st)

    def update(self, st: SimState, events: Events, rng: np.random.Generator):
        ev = self.economy_step(st, events, rng)
        P = st.num_players
        reward = np.zeros((P, st.num_envs), np.float32)
        if self.reward_mode == "collected":
            reward[:] = ev[:, :, 0]
        elif self.reward_mode == "marines":
            reward[:] = ev[:, :, 1]
        return reward, np.zeros(st.num_envs, bool)


def mineral_line(cc: tuple[float, float], side: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """8 mineral fields and 2 geysers of a base around the CC centre ``cc``.

    Minerals are to the left (``side=-1``) or mirrored to the right (``side=+1``); ``cc`` is a .5
    coordinate (the 5x5 CC sits on whole cells).

    Mineral fields are 2x1 (centre x whole, y .5), geysers 3x3 (centres .5), alternating close and
    far patches as on SC2 maps. Returns ``(minerals [8, 2], geysers [2, 2])``.
    """
    cx, cy = cc
    offs = [
        (-6.5, -4),
        (-7.5, -3),
        (-7.5, -2),
        (-8.5, -1),
        (-7.5, 0),
        (-8.5, 1),
        (-7.5, 2),
        (-6.5, 3),
    ]
    mins = np.array([(cx + dx, cy + dy) for dx, dy in offs], np.float32)
    gey = np.array([(cx - 5, cy - 6), (cx - 5, cy + 6)], np.float32)
    if side > 0:
        mins[:, 0] = 2 * cx - mins[:, 0]
        gey[:, 0] = 2 * cx - gey[:, 0]
    return mins, gey


# ---------------------------------------------------------------- the two economy mini-games
@dataclasses.dataclass
class CollectMineralsAndGas(EconomyScenario):
    """CollectMineralsAndGas: 12 SCVs, a Command Center, 16 mineral fields and 4 geysers.

    Reward = minerals + gas collected; 300 game seconds; 50 minerals, 12/15 supply; fog off; one
    screen.
    """

    name: str = "CollectMineralsAndGas"
    map_size: tuple[int, int] = (64, 64)
    playable: tuple[float, float, float, float] = (20.0, 20.0, 44.0, 44.0)
    camera_start: tuple[float, float] = (32.0, 32.0)
    time_limit_s: float = 300.0
    max_units: int = 160
    reward_mode: str = "collected"
    cc: tuple[float, float] = (32.5, 32.5)

    def reset_envs(self, st, env_ids, rng):
        ensure_extras(st)
        left_m, left_g = mineral_line(self.cc, -1)
        right_m, right_g = mineral_line(self.cc, +1)
        self.place_base(
            st,
            env_ids,
            1,
            None,
            np.concatenate([left_m, right_m]),
            np.concatenate([left_g, right_g]),
        )
        self.place_base(st, env_ids, 1, self.cc, np.zeros((0, 2)), np.zeros((0, 2)))
        self.reset_players(st, env_ids)


_BUILD_MARINES_FUNCTIONS = tuple(
    _F[n]
    for n in (
        "no_op",
        "move_camera",
        "select_point",
        "select_rect",
        "select_control_group",
        "select_unit",
        "select_idle_worker",
        "select_army",
        "Harvest_Gather_screen",
        "Harvest_Return_quick",
        "Build_SupplyDepot_screen",
        "Build_Barracks_screen",
        "Train_SCV_quick",
        "Train_Marine_quick",
        "Move_screen",
        "Stop_quick",
    )
)


@dataclasses.dataclass
class BuildMarines(EconomyScenario):
    """BuildMarines: 12 SCVs, a Command Center and 8 mineral fields.

    Reward +1 per marine trained; 900 game seconds; fog off; one screen; only the functions
    needed to build marines are available.
    """

    name: str = "BuildMarines"
    map_size: tuple[int, int] = (64, 64)
    playable: tuple[float, float, float, float] = (20.0, 20.0, 44.0, 44.0)
    camera_start: tuple[float, float] = (32.0, 32.0)
    time_limit_s: float = 900.0
    max_units: int = 200
    reward_mode: str = "marines"
    allowed_functions: tuple[int, ...] | None = _BUILD_MARINES_FUNCTIONS
    cc: tuple[float, float] = (29.5, 32.5)

    def reset_envs(self, st, env_ids, rng):
        ensure_extras(st)
        m, _ = mineral_line(self.cc, -1)
        self.place_base(st, env_ids, 1, None, m, np.zeros((0, 2)))
        self.place_base(st, env_ids, 1, self.cc, np.zeros((0, 2)), np.zeros((0, 2)))
        self.reset_players(st, env_ids)


for _cls in (CollectMineralsAndGas, BuildMarines):
    register_scenario(_cls.name, _cls)
