"""Unit dynamics: targeting, movement, collision, attacks. Vectorised over ``[N, U]``.

`substep(state, dt, rng, bounds)` advances every game by ``dt`` game loops. The engine calls it
``ceil(step_mul / substep_loops)`` times per agent step. All work is vectorised over games and unit
slots (pairwise quantities are ``[N, k, k]`` over the ``k = state.mobile_slots`` columns that hold
live non-neutral units);
the only Python control flow is over phases, never over units.

Two implementations give the same state bit for bit: this module's numpy code (the reference) and
the numba kernels of `dynamics_jit` (one fused loop per phase over games and unit pairs; several
times faster at the unit counts of the mini-games). The kernels run where numba is installed unless
``SC2AGENTS_SIM_JIT=0``; `set_jit` switches at run time (``tests/envs/sim/test_dynamics_jit.py``).
The same switch selects the kernels of the fog of war (`update_visibility`), of the economy
(`economy_jit`) and of the built-in bots' census (`bots_jit`), each tested equal to its numpy
reference (``tests/envs/sim/test_economy_jit.py``).

Mechanics, in the order they happen inside a sub-step:

1. **Targeting.** A unit with a weapon and an order that fights (`Order.IDLE`, `ATTACK_MOVE`,
   `HOLD`, `PATROL`) picks the nearest enemy, preferring enemies already in weapon range and
   keeping its current target on ties (SC2's auto-acquire is nearest-threat first). The scan
   radius is the unit's acquire range (weapon range on hold position); a provoked (``aggro``)
   idle unit scans up to `AGGRO_RANGE`, which is how the mini-game enemies "idle until attacked
   or an enemy comes in range, then fight". `ATTACK_UNIT` keeps its explicit target until it dies,
   then the unit goes idle. `MOVE` ignores enemies.
2. **Attacks.** A unit whose target is within weapon range (edge to edge) and whose cooldown ends
   inside this sub-step fires once; damage is dealt at the moment of attack:
   ``hits * max(0.5, damage + bonus[attr] - armor)``, shields first. Overkill: the shots of a
   sub-step are resolved in a random order per target and a shot whose target is already dead from
   earlier shots is *not* fired (the weapon stays ready and the unit retargets next sub-step).
   Splash (baneling) hits every enemy whose edge is within the splash radius; suicide units die.
   A unit that is hit becomes ``aggro``, and so do its allies within `CALL_FOR_HELP_RANGE`.
3. **Movement.** Units with a point order or a target out of range move at their speed; moving
   units steer sideways around a unit blocking their path.
4. **Separation.** Overlapping solid ground units are pushed apart (units holding position or
   attacking are pushed less), then clamped to the playable area.

Cooldowns are kept in game loops and carried across sub-steps, so the attack rate is exact on
average whatever ``dt`` is (the time of a shot is rounded to its sub-step).
"""

from __future__ import annotations

import dataclasses
import os
import threading

import numpy as np

from sc2agents.envs.sim import dynamics_jit, units
from sc2agents.envs.sim.state import NEUTRAL, Order, SimState

__all__ = [
    "AGGRO_RANGE",
    "CALL_FOR_HELP_RANGE",
    "Events",
    "jit_enabled",
    "set_jit",
    "substep",
    "update_visibility",
]

AGGRO_RANGE = 12.0
"""Scan radius of a provoked idle unit (cells)."""
CALL_FOR_HELP_RANGE = 6.0
"""Allies within this distance of a unit that is hit are provoked too."""
_PUSH_WEIGHT = {"hold": 0.1, "attacking": 0.3}
_INF = np.float32(1e9)
# Plain ints: comparing an int8 array with an IntEnum member is several times slower.
_IDLE, _MOVE, _AMOVE, _ATTACK, _HOLD, _PATROL = (int(o) for o in Order)


_JIT = dynamics_jit.AVAILABLE and os.environ.get("SC2AGENTS_SIM_JIT", "1") != "0"


def jit_enabled() -> bool:
    """Whether `substep` runs the numba kernels of `dynamics_jit` (else the numpy reference)."""
    return _JIT


def set_jit(enabled: bool) -> bool:
    """Select the numba path (``True``, only where numba imports) or numpy; returns the old value.

    The default is the numba path where numba is installed, unless the environment variable
    ``SC2AGENTS_SIM_JIT=0``. Both paths give the same state (tested).
    """
    global _JIT
    old = _JIT
    _JIT = bool(enabled) and dynamics_jit.AVAILABLE
    return old


@dataclasses.dataclass
class Events:
    """What happened in one sub-step (arrays ``[N, k]`` over the active slots).

    Attributes:
        died: units alive before and dead after the sub-step.
        k: number of active slot columns the arrays cover.
    """

    died: np.ndarray
    k: int


def substep(
    st: SimState,
    dt: float,
    rng: np.random.Generator,
    bounds: tuple[float, float, float, float],
) -> Events:
    """Advance every game by ``dt`` game loops (see module docstring).

    Args:
        st: the state, updated in place.
        dt: game loops to advance (> 0).
        rng: random generator (shot order).
        bounds: playable area ``(x0, y0, x1, y1)`` in cells.

    Returns:
        The sub-step's `Events`.
    """
    k = st.mobile_slots
    n_env = st.num_envs
    if k == 0:
        return Events(np.zeros((n_env, 0), bool), 0)
    if _JIT:
        return _substep_jit(st, dt, rng, bounds)
    tab = units.TABLE
    dt = np.float32(dt)

    alive = st.alive[:, :k]
    alive0 = alive.copy()
    ti = st.type_idx[:, :k]
    owner = st.owner[:, :k]
    rad = st.radius[:, :k]
    order = st.order[:, :k]
    target = st.target_unit[:, :k]
    cooldown = st.cooldown[:, :k]
    aggro = st.aggro[:, :k]
    x = st.pos[:, :k, 0]
    y = st.pos[:, :k, 1]

    wrange = tab.range[ti]
    has_w = tab.has_weapon[ti] & alive
    combatant = alive & (owner != NEUTRAL)

    # --- pairwise geometry [N, i, j]: vector from i to j ---
    dx = x[:, None, :] - x[:, :, None]
    dy = y[:, None, :] - y[:, :, None]
    d = np.sqrt(dx * dx + dy * dy)
    edge = d - rad[:, :, None] - rad[:, None, :]
    enemy = combatant[:, :, None] & combatant[:, None, :] & (owner[:, :, None] != owner[:, None, :])

    # --- 1. targeting ---
    rows = np.arange(n_env)[:, None]  # fancy indexing [n, i, t[n, i]] is cheaper than take_along
    flat_rows = np.arange(n_env * k)
    explicit = order == _ATTACK
    tgt_ok = (target >= 0) & (target < k)
    safe_t = np.where(tgt_ok, target, 0)
    tgt_alive = tgt_ok & alive[rows, safe_t]
    # Explicit targets that died: the unit goes idle (SC2 behaviour after killing its target).
    lost = explicit & ~tgt_alive
    order[lost] = _IDLE
    explicit &= ~lost
    auto = has_w & ~explicit & (order != _MOVE)
    scan = np.where(order == _HOLD, wrange, tab.acquire[ti])
    scan = np.where(aggro & (order == _IDLE), np.maximum(scan, AGGRO_RANGE), scan)
    cost = np.where(enemy & (edge <= scan[:, :, None]), edge, _INF)
    cost += np.where(edge <= wrange[:, :, None], 0.0, 100.0).astype(np.float32)
    # Stickiness: keep the current target on near-ties.
    cost2 = cost.reshape(n_env * k, k)
    keep = tgt_alive.ravel()
    cost2[flat_rows[keep], safe_t.ravel()[keep]] -= np.float32(0.5)
    best = np.argmin(cost, axis=2)
    best_cost = cost2[flat_rows, best.ravel()].reshape(n_env, k)
    new_t = np.where(best_cost < _INF / 2, best, -1)
    target[:] = np.where(auto, new_t, np.where(explicit, target, -1))
    # Provoked units calm down when nothing is around any more.
    aggro &= ~(auto & (new_t < 0))

    has_t = target >= 0
    safe_t = np.where(has_t, target, 0)
    t_edge = edge.reshape(n_env * k, k)[flat_rows, safe_t.ravel()].reshape(n_env, k)
    t_edge = np.where(has_t, t_edge, _INF)
    in_range = has_t & (t_edge <= wrange)

    # --- 2. attacks ---
    firing = in_range & has_w & (cooldown < dt)
    died_by_attack = np.zeros_like(alive)
    if firing.any():
        _resolve_attacks(st, k, firing, target, ti, rng, d, rad, enemy, owner)
        cooldown[firing] += tab.cooldown[ti[firing]]
        suicide = firing & tab.suicide[ti]
        died_by_attack |= suicide
    np.maximum(cooldown - dt, 0, out=cooldown)

    # --- 3. movement ---
    speed = tab.speed[ti] * dt
    point_order = (order == _MOVE) | (((order == _AMOVE) | (order == _PATROL)) & ~has_t)
    chase = has_t & ~in_range & (order != _HOLD)
    tx = np.where(chase, x[rows, safe_t], st.target_pos[:, :k, 0])
    ty = np.where(chase, y[rows, safe_t], st.target_pos[:, :k, 1])
    gx, gy = tx - x, ty - y
    gdist = np.sqrt(gx * gx + gy * gy)
    # How far to go: to the point, or until the target is just inside weapon range.
    want = np.where(chase, t_edge - wrange + np.float32(0.05), gdist)
    moving = alive & (point_order | chase) & (want > 1e-4) & (speed > 0)
    moving &= ~died_by_attack
    # Candidate pairs for blocking and collisions: touching (within 0.75) now, or close enough
    # to meet with this sub-step's moves.
    solid = alive & tab.collides[ti] & ~tab.structure[ti]
    pairs = _near_pairs(d, rad, solid, np.where(moving, speed, 0).astype(np.float32))
    if moving.any():
        inv = np.where(gdist > 1e-6, 1.0 / np.maximum(gdist, 1e-6), 0.0).astype(np.float32)
        ux, uy = gx * inv, gy * inv
        ux, uy = _steer(ux, uy, moving, x, y, rad, pairs)
        stepl = np.minimum(speed, np.maximum(want, 0)) * moving
        x += ux * stepl
        y += uy * stepl
        arrived = moving & point_order & (gdist <= speed)
        patrol_arr = arrived & (order == _PATROL)
        if patrol_arr.any():
            tp = st.target_pos[:, :k]
            op = st.origin_pos[:, :k]
            swap = tp[patrol_arr].copy()
            tp[patrol_arr] = op[patrol_arr]
            op[patrol_arr] = swap
        order[arrived & ~patrol_arr] = _IDLE

    dead = _deaths_and_queue(st, k, died_by_attack)

    # --- 4. separation (pairs that could touch after this sub-step's moves) ---
    if dead.any():
        keep = alive[pairs[0], pairs[1]] & alive[pairs[0], pairs[2]]
        pairs = (pairs[0][keep], pairs[1][keep], pairs[2][keep])
    _separate(x, y, rad, order, in_range, pairs, bounds)
    return Events(died=alive0 & ~alive, k=k)


def _deaths_and_queue(st: SimState, k: int, died_by_attack: np.ndarray) -> np.ndarray:
    """Remove the units that died this sub-step, start shift-queued orders; returns the dead."""
    alive = st.alive[:, :k]
    owner = st.owner[:, :k]
    target = st.target_unit[:, :k]
    order = st.order[:, :k]
    dead = alive & (st.health[:, :k] <= 0) & (owner != NEUTRAL) & (st.health_max[:, :k] > 0)
    dead |= died_by_attack
    if dead.any():
        alive &= ~dead
        # Nobody keeps aiming at a dead unit (its slot may be reused by a later spawn).
        aimed = target >= 0
        rows = np.arange(st.num_envs)[:, None]
        dead_t = dead[rows, np.where(aimed, target, 0)] & aimed
        target[dead_t] = -1
        st.selected[:, :, :k] &= ~dead[None]
        st.control_groups[:, :, :, :k] &= ~dead[None, :, None, :]

    # --- shift-queued orders start when the current one ends ---
    qo = st.queued_order[:, :k]
    if (qo >= 0).any():
        _pop_queue(st, k, alive & (order == _IDLE) & (qo >= 0))
    return dead


def _substep_jit(
    st: SimState,
    dt: float,
    rng: np.random.Generator,
    bounds: tuple[float, float, float, float],
) -> Events:
    """`substep` with the pairwise phases in the numba kernels of `dynamics_jit` (same result)."""
    k = st.mobile_slots
    n_env = st.num_envs
    tab = units.TABLE
    f32 = np.float32
    dt = f32(dt)
    alive = st.alive[:, :k]
    alive0 = alive.copy()
    ti = st.type_idx[:, :k]
    owner = st.owner[:, :k]
    rad = st.radius[:, :k]
    order = st.order[:, :k]
    target = st.target_unit[:, :k]
    cooldown = st.cooldown[:, :k]
    pos = st.pos[:, :k]
    # Kernel outputs (every element is written before it is read): kept between sub-steps.
    bufs = _substep_buffers(n_env, k)
    d, enemy, nbr_ptr, nbr = bufs[:4]
    t_edge, in_range, firing, moving, point, arrived, ux, uy, stepl, gdist, s = bufs[4:]
    dynamics_jit.target_kernel(
        pos, rad, alive, ti, owner, order, target, st.aggro[:, :k], cooldown,
        tab.range, tab.acquire, tab.has_weapon, f32(AGGRO_RANGE), dt,
        d, enemy, t_edge, in_range, firing,
    )  # fmt: skip
    died_by_attack = np.zeros_like(alive)
    shots = int(np.count_nonzero(firing))
    if shots:
        dynamics_jit.resolve_kernel(
            firing, target, ti, rng.permutation(shots), st.health[:, :k], st.shield[:, :k],
            st.aggro[:, :k], alive, owner, rad, d, enemy, cooldown,
            tab.splash, tab.attrs, tab.bonus_attr, tab.bonus, tab.damage, tab.hits, tab.armor,
            tab.cooldown, tab.suicide, f32(CALL_FOR_HELP_RANGE), died_by_attack,
        )  # fmt: skip
    any_block, any_moving = dynamics_jit.move_kernel(
        pos, st.target_pos[:, :k], rad, alive, ti, order, target, in_range, t_edge,
        died_by_attack, cooldown, d, tab.range, tab.speed, tab.collides, tab.structure, dt,
        nbr_ptr, nbr, moving, point, arrived, ux, uy, stepl, gdist, s,
    )  # fmt: skip
    if any_moving:
        dynamics_jit.steer_apply_kernel(
            pos, ux, uy, s, stepl, any_block, arrived, order, st.target_pos[:, :k],
            st.origin_pos[:, :k],
        )  # fmt: skip
    dynamics_jit.deaths_kernel(
        alive, st.health[:, :k], st.health_max[:, :k], owner, died_by_attack, target,
        st.selected[:, :, :k], st.control_groups[:, :, :, :k],
    )  # fmt: skip
    dynamics_jit.pop_queue_kernel(
        alive, order, st.queued_order[:, :k], st.pos[:, :k], st.origin_pos[:, :k],
        st.target_pos[:, :k], st.queued_pos[:, :k], st.target_unit[:, :k], st.queued_unit[:, :k],
        _IDLE,
    )  # fmt: skip
    x0, y0, x1, y1 = bounds
    dynamics_jit.separate_kernel(
        pos, rad, order, in_range, alive, nbr_ptr, nbr,
        f32(_PUSH_WEIGHT["attacking"]), f32(_PUSH_WEIGHT["hold"]),
        np.array([x0, y0, x1, y1], f32),
    )  # fmt: skip
    return Events(died=alive0 & ~alive, k=k)


_BUFFERS: dict[tuple[int, int, int], tuple[np.ndarray, ...]] = {}


def _substep_buffers(n_env: int, k: int) -> tuple[np.ndarray, ...]:
    """Uninitialised output arrays of `_substep_jit`'s kernels, reused (one set per thread).

    ``[N, k, k]`` distance and enemy matrices, the near pairs' adjacency lists (``[N, k + 1]``
    offsets, ``[N, k (k - 1)]`` neighbours), then the ``[N, k]`` per-unit outputs.
    A fresh ``np.empty`` of the pairwise size is mapped and faulted in on every sub-step.
    """
    key = (threading.get_ident(), n_env, k)
    bufs = _BUFFERS.get(key)
    if bufs is None:
        if len(_BUFFERS) > 64:  # the live-slot count k wanders: keep the cache small
            _BUFFERS.clear()
        f32, b, i64 = np.float32, np.bool_, np.int64
        pair = [np.empty((n_env, k, k), t) for t in (f32, b)]
        adjacency = [np.empty((n_env, k + 1), i64), np.empty((n_env, max(1, k * (k - 1))), i64)]
        unit = [np.empty((n_env, k), t) for t in (f32, b, b, b, b, b, f32, f32, f32, f32, f32)]
        bufs = _BUFFERS[key] = (*pair, *adjacency, *unit)
    return bufs


def _pop_queue(st: SimState, k: int, start: np.ndarray) -> None:
    """Start the queued order of the idle units in ``start`` (``[N, k]``)."""
    if not start.any():
        return
    ee, uu = np.nonzero(start)
    st.order[ee, uu] = st.queued_order[ee, uu]
    st.origin_pos[ee, uu] = st.pos[ee, uu]
    st.target_pos[ee, uu] = st.queued_pos[ee, uu]
    tgt = st.queued_unit[ee, uu]
    # A queued attack on a unit that died meanwhile is dropped (the unit stays idle).
    gone = (tgt >= 0) & ~st.alive[ee, np.maximum(tgt, 0)]
    st.order[ee[gone], uu[gone]] = _IDLE
    st.target_unit[ee, uu] = np.where(gone, -1, tgt)
    st.queued_order[ee, uu] = -1
    st.queued_unit[ee, uu] = -1


def _near_pairs(
    d: np.ndarray, rad: np.ndarray, solid: np.ndarray, step: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sparse list ``(n, i, j)`` of solid pairs with ``d < r_i + r_j + step_i + step_j + 0.75``.

    Collisions and blocking only happen between such pairs (``step``: how far each unit may move
    this sub-step), so steering and separation work on this short list instead of the full
    ``[N, k, k]`` matrices.
    """
    reach = rad + step
    near = d < (reach[:, :, None] + reach[:, None, :] + np.float32(0.75))
    near &= solid[:, :, None] & solid[:, None, :]
    k = d.shape[1]
    near[:, np.arange(k), np.arange(k)] = False
    return np.nonzero(near)


def _steer(
    ux: np.ndarray,
    uy: np.ndarray,
    moving: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    rad: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Turn moving units sideways around a solid unit right in front of them (sparse pairs)."""
    pn, pi, pj = pairs
    m = moving[pn, pi]
    if not m.any():
        return ux, uy
    pn, pi, pj = pn[m], pi[m], pj[m]
    dx = x[pn, pj] - x[pn, pi]
    dy = y[pn, pj] - y[pn, pi]
    hx, hy = ux[pn, pi], uy[pn, pi]
    ahead = dx * hx + dy * hy  # projection of j onto i's heading
    lateral = dy * hx - dx * hy  # signed sideways offset
    reach = rad[pn, pi] + rad[pn, pj]
    block = (ahead > 0) & (ahead < reach + 0.75) & (np.abs(lateral) < reach * 0.95)
    if not block.any():
        return ux, uy
    # Go around on the side away from the blocker (left if it is to the right).
    side = np.where(lateral[block] >= 0, -1.0, 1.0)
    strength = (reach[block] - np.abs(lateral[block])) / np.maximum(reach[block], 1e-3)
    flat = pn[block] * ux.shape[1] + pi[block]
    s = np.bincount(flat, weights=side * strength, minlength=ux.size)
    s = s.reshape(ux.shape).astype(np.float32)
    nx = ux - uy * s * 1.5
    ny = uy + ux * s * 1.5
    norm = np.sqrt(nx * nx + ny * ny)
    norm = np.where(norm > 1e-6, norm, 1.0)
    return nx / norm, ny / norm


def _separate(
    x: np.ndarray,
    y: np.ndarray,
    rad: np.ndarray,
    order: np.ndarray,
    attacking: np.ndarray,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    bounds: tuple[float, float, float, float],
) -> None:
    """Push overlapping solid units apart (on the candidate pairs), then clamp to the map."""
    pn, pi, pj = pairs
    if pn.size:
        dx = x[pn, pj] - x[pn, pi]
        dy = y[pn, pj] - y[pn, pi]
        d = np.sqrt(dx * dx + dy * dy)
        overlap = rad[pn, pi] + rad[pn, pj] - d
        hit = overlap > 0
        if hit.any():
            pn, pi, pj = pn[hit], pi[hit], pj[hit]
            dx, dy, d, overlap = dx[hit], dy[hit], d[hit], overlap[hit]
            mob = np.ones(x.shape, np.float32)
            mob[attacking] = _PUSH_WEIGHT["attacking"]
            mob[order == _HOLD] = _PUSH_WEIGHT["hold"]
            mi, mj = mob[pn, pi], mob[pn, pj]
            share = mi / (mi + mj)
            # Coincident units: separate along a fixed per-pair direction.
            same = d < 1e-4
            ang = (pj - pi).astype(np.float32)
            dx = np.where(same, np.cos(ang), dx)
            dy = np.where(same, np.sin(ang), dy)
            d = np.where(same, 1.0, d)
            push = overlap * share / d
            flat = pn * x.shape[1] + pi
            size = x.size
            # i moves away from j: -(vector i->j)
            x -= (
                np.bincount(flat, weights=push * dx, minlength=size)
                .reshape(x.shape)
                .astype(np.float32)
            )
            y -= (
                np.bincount(flat, weights=push * dy, minlength=size)
                .reshape(y.shape)
                .astype(np.float32)
            )
    x0, y0, x1, y1 = bounds
    np.clip(x, x0 + rad, x1 - rad, out=x)
    np.clip(y, y0 + rad, y1 - rad, out=y)


def _resolve_attacks(
    st: SimState,
    k: int,
    firing: np.ndarray,
    target: np.ndarray,
    ti: np.ndarray,
    rng: np.random.Generator,
    d: np.ndarray,
    rad: np.ndarray,
    enemy: np.ndarray,
    owner: np.ndarray,
) -> None:
    """Apply the shots of `firing` units; cancels overkill shots (clears them in `firing`)."""
    tab = units.TABLE
    hp = st.health[:, :k]
    sh = st.shield[:, :k]
    aggro = st.aggro[:, :k]
    n_idx, a_idx = np.nonzero(firing)
    t_idx = target[n_idx, a_idx]
    at = ti[n_idx, a_idx]
    tt = ti[n_idx, t_idx]
    splash = tab.splash[at] > 0
    bonus = np.where((tab.attrs[tt] & tab.bonus_attr[at]) != 0, tab.bonus[at], 0.0)
    raw = tab.damage[at] + bonus  # per hit, before armor
    hits = tab.hits[at]
    hp_dmg = hits * np.maximum(0.5, raw - tab.armor[tt])
    sh_dmg = hits * raw
    single = ~splash
    # --- overkill: random order within each target, cancel shots at already-dead targets ---
    flat_t = n_idx * k + t_idx
    m = n_idx.size
    perm = rng.permutation(m)
    o = perm[np.argsort(flat_t[perm], kind="stable")]
    ft = flat_t[o]
    ehp = (hp[n_idx, t_idx] + sh[n_idx, t_idx])[o]
    dm = np.where(single[o], np.minimum(hp_dmg, sh_dmg)[o], 0.0)  # conservative per-shot damage
    cum = np.cumsum(dm)
    before = cum - dm
    start = np.ones(m, bool)
    start[1:] = ft[1:] != ft[:-1]
    base = np.maximum.accumulate(np.where(start, before, 0.0))
    prior = before - base
    cancel_sorted = single[o] & (prior >= ehp)
    cancel = np.zeros(m, bool)
    cancel[o] = cancel_sorted
    if cancel.any():
        firing[n_idx[cancel], a_idx[cancel]] = False
        keep = ~cancel
        n_idx, a_idx, t_idx = n_idx[keep], a_idx[keep], t_idx[keep]
        hp_dmg, sh_dmg, splash, at = hp_dmg[keep], sh_dmg[keep], splash[keep], at[keep]
    n_env = hp.shape[0]
    size = n_env * k
    tot_hp = np.zeros(size, np.float32)
    tot_sh = np.zeros(size, np.float32)
    single = ~splash
    if single.any():
        ft = n_idx[single] * k + t_idx[single]
        tot_hp += np.bincount(ft, weights=hp_dmg[single], minlength=size).astype(np.float32)
        tot_sh += np.bincount(ft, weights=sh_dmg[single], minlength=size).astype(np.float32)
    hit = np.zeros(size, bool)
    hit[n_idx[single] * k + t_idx[single]] = True
    if splash.any():
        sn, sa, sat = n_idx[splash], a_idx[splash], at[splash]
        # [s, j]: enemies of the exploding unit whose edge is inside the splash radius.
        inside = enemy[sn, sa, :] & (d[sn, sa, :] - rad[sn, :] <= tab.splash[sat][:, None])
        tj = ti[sn, :]
        b = np.where(
            (tab.attrs[tj] & tab.bonus_attr[sat][:, None]) != 0, tab.bonus[sat][:, None], 0.0
        )
        r = tab.damage[sat][:, None] + b
        h = np.where(inside, np.maximum(0.5, r - tab.armor[tj]), 0.0)
        s = np.where(inside, r, 0.0)
        fj = (sn[:, None] * k + np.arange(k)[None, :]).ravel()
        tot_hp += np.bincount(fj, weights=h.ravel(), minlength=size).astype(np.float32)
        tot_sh += np.bincount(fj, weights=s.ravel(), minlength=size).astype(np.float32)
        hit[fj[inside.ravel()]] = True
    tot_hp = tot_hp.reshape(n_env, k)
    tot_sh = tot_sh.reshape(n_env, k)
    hit = hit.reshape(n_env, k)
    # Shields absorb first (shield armor 0); the rest goes to hit points with armor applied.
    if sh.any():
        absorbed = np.minimum(sh, tot_sh)
        frac = np.where(tot_sh > 0, (tot_sh - absorbed) / np.maximum(tot_sh, 1e-6), 1.0)
        sh -= absorbed
        hp -= tot_hp * frac
    else:
        hp -= tot_hp
    # Provoke the victims and their allies nearby (call for help).
    if hit.any():
        near = (d <= CALL_FOR_HELP_RANGE) & (owner[:, :, None] == owner[:, None, :])
        helpers = (near & hit[:, None, :]).any(axis=2)
        aggro |= (hit | helpers) & st.alive[:, :k]


def update_visibility(
    st: SimState, player: int, sight_stencils: list[tuple[np.ndarray, np.ndarray]]
) -> None:
    """Fog of war of one player on the map-cell grid: 2 visible, 1 seen before, 0 never seen.

    Each own unit stamps the disc of its sight range around its cell. Units of one sight range
    standing on the same cell (workers at a mineral line, a clump of marines) stamp it once, and
    units are grouped by sight radius (not type), so the work is one scatter per radius over the
    distinct occupied cells. On the numba path `dynamics_jit.visibility_kernel` stamps each disc
    as row runs instead (the same cells).

    Args:
        st: state (``st.visibility[player]`` is updated).
        player: player index (owner ``player + 1``).
        sight_stencils: per unit type index, ``(dy, dx)`` int offsets of the cells within sight.
    """
    vis = st.visibility[player]
    if _JIT:
        tables = _row_tables(sight_stencils)
        if tables is not None:
            dynamics_jit.visibility_kernel(
                vis, st.alive, st.owner, st.pos, st.type_idx, player + 1, *tables, st.max_units
            )
            return
    np.minimum(vis, 1, out=vis)  # visible -> seen
    n_env, h, w = vis.shape
    own = st.alive & (st.owner == player + 1)
    ni, ui = np.nonzero(own)
    if ni.size == 0:
        return
    cx = np.clip(st.pos[ni, ui, 0].astype(np.int64), 0, w - 1)
    cy = np.clip(st.pos[ni, ui, 1].astype(np.int64), 0, h - 1)
    sight = units.TABLE.sight[st.type_idx[ni, ui]]
    radii, r_idx = np.unique(sight, return_inverse=True)
    # One key per (radius, game, cell): duplicates stamp the same disc.
    key = np.unique((r_idx * n_env + ni) * (h * w) + cy * w + cx)
    r_of = key // (n_env * h * w)
    rest = key % (n_env * h * w)
    # Stamp into a zeroed scratch map with a margin as wide as the largest disc, so that a disc
    # is one add of precomputed flat offsets (no per-cell bounds checks); cells falling in the
    # margin are off the map and dropped when the scratch is merged back.
    pad = _stencil_reach(sight_stencils)
    hp, wp = h + 2 * pad, w + 2 * pad
    scratch = _scratch((n_env, hp, wp))
    flat = scratch.reshape(-1)
    for r in range(radii.size):
        sel = rest[r_of == r]
        if sel.size == 0 or radii[r] <= 0:
            continue
        t_any = int(np.flatnonzero(units.TABLE.sight == radii[r])[0])
        sy, sx = sight_stencils[t_any]
        e = sel // (h * w)
        c = sel % (h * w)
        base = (e * hp + c // w + pad) * wp + c % w + pad
        flat[(base[:, None] + (sy * wp + sx)[None, :]).ravel()] = 2
    np.maximum(vis, scratch[:, pad : pad + h, pad : pad + w], out=vis)


_REACH: dict[int, tuple[object, int]] = {}
_ROWS: dict[int, tuple[object, tuple[np.ndarray, np.ndarray] | None]] = {}


def _row_tables(
    stencils: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray] | None:
    """Per type index: ``(reach [T], half-width [T, 2R+1])`` of its sight stencil's rows.

    What `dynamics_jit.visibility_kernel` stamps. ``None`` if some stencil row is not one run of
    cells centred on the unit (then the numpy path runs). A type whose sight is 0 gets reach -1:
    the numpy path skips sight-0 units. Cached per stencil list.
    """
    hit = _ROWS.get(id(stencils))
    if hit is not None and hit[0] is stencils:
        return hit[1]
    big_r = _stencil_reach(stencils)
    reach = np.full(len(stencils), -1, np.int64)
    half = np.full((len(stencils), 2 * big_r + 1), -1, np.int64)
    out: tuple[np.ndarray, np.ndarray] | None = (reach, half)
    for t, (dy, dx) in enumerate(stencils):
        if t >= units.TABLE.sight.size or units.TABLE.sight[t] <= 0 or dy.size == 0:
            continue
        reach[t] = int(np.abs(dy).max())
        for row in np.unique(dy):
            xs = np.sort(dx[dy == row])
            hw = int(xs[-1])
            if xs[0] != -hw or xs.size != 2 * hw + 1 or np.unique(xs).size != xs.size:
                out = None  # not a centred run: keep the numpy stamping
                break
            half[t, row + big_r] = hw
        if out is None:
            break
    _ROWS[id(stencils)] = (stencils, out)
    return out


_SCRATCH: dict[tuple[int, ...], np.ndarray] = {}


def _stencil_reach(stencils: list[tuple[np.ndarray, np.ndarray]]) -> int:
    """Largest ``|offset|`` of any stencil (cached per stencil list)."""
    hit = _REACH.get(id(stencils))
    if hit is None or hit[0] is not stencils:
        reach = max((int(np.abs(a).max()) for st in stencils for a in st if a.size), default=0)
        hit = _REACH[id(stencils)] = (stencils, reach)
    return hit[1]


def _scratch(shape: tuple[int, ...]) -> np.ndarray:
    """A zeroed uint8 scratch array of ``shape``, reused between calls (one per thread)."""
    key = (threading.get_ident(), *shape)
    buf = _SCRATCH.get(key)
    if buf is None:
        buf = _SCRATCH[key] = np.zeros(shape, np.uint8)
    else:
        buf.fill(0)
    return buf
