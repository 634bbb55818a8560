"""Numba kernels for `dynamics.substep`: the pairwise targeting, movement and separation fused.

The numpy implementation in `dynamics` stays the reference. These kernels replay its arithmetic
operation by operation in float32 (numpy's ``[N, k, k]`` expressions become loops over games and
unit pairs, with every constant cast to float32 as numpy 2 does for Python scalars, and the
float64 ``bincount`` sums of steering and separation accumulated in the same pair order), so the
JIT path gives the same state bit for bit; ``tests/envs/sim/test_dynamics_jit.py`` checks that on
every registered scenario. The attack resolution (`resolve_kernel`: overkill, splash, shields,
call for help) takes the shot permutation drawn by numpy's ``rng.permutation`` exactly as the
numpy path draws it, so both paths consume the same random numbers.

numba is used instead of hand-vectorised numpy because the numpy step is ~70 small array calls
over ``[N, k, k]`` whose per-call overhead dominates at the unit counts of these games; a loop
compiled once reads each pair once. If numba cannot be imported, `AVAILABLE` is False and
`dynamics.substep` uses numpy (no error). Select the path with the environment variable
``SC2AGENTS_SIM_JIT`` (``0`` = numpy) or `dynamics.set_jit`.
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.state import NEUTRAL

try:  # numba is optional: without it the simulator runs its numpy reference path.
    import numba

    AVAILABLE = True
except Exception:  # pragma: no cover - depends on the environment (ImportError, LLVM errors)
    numba = None
    AVAILABLE = False

__all__ = [
    "AVAILABLE",
    "deaths_kernel",
    "move_kernel",
    "pop_queue_kernel",
    "resolve_kernel",
    "separate_kernel",
    "steer_apply_kernel",
    "target_kernel",
    "visibility_kernel",
]

_F = np.float32
_INF = _F(1e9)
_IDLE, _MOVE, _AMOVE, _ATTACK, _HOLD, _PATROL = 0, 1, 2, 3, 4, 5


def _jit(fn):  # noqa: ANN001, ANN202 - decorator passthrough
    if not AVAILABLE:
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


@_jit
def target_kernel(  # noqa: PLR0913
    pos,
    rad,
    alive,
    ti,
    owner,
    order,
    target,
    aggro,
    cooldown,
    t_range,
    t_acquire,
    t_has_weapon,
    aggro_range,
    dt,
    d_out,
    enemy_out,
    t_edge_out,
    in_range_out,
    firing_out,
):
    """Geometry, targeting and firing (dynamics.substep steps 1 and 2's firing mask).

    Writes ``d_out``/``enemy_out`` ``[N, k, k]`` and ``t_edge``/``in_range``/``firing`` ``[N, k]``;
    updates ``order``, ``target`` and ``aggro`` in place like the numpy code. The pair rows are
    whole rows over contiguous copies of the coordinates (vector code, no mirrored writes), and
    the target scan walks the game's combatants in ascending slot order (only they can be
    enemies; the same ties). Combatants are live units not owned by `NEUTRAL`, as in numpy.
    """
    n_env, k = alive.shape
    xs = np.empty(k, np.float32)
    ys = np.empty(k, np.float32)
    cs = np.empty(k, np.bool_)
    os_ = np.empty(k, owner.dtype)
    comb = np.empty(k, np.int64)
    for n in range(n_env):
        # Whole rows over contiguous copies of the coordinates: the loops compile to vector
        # code. d[i, j] == d[j, i] bit for bit (x_j - x_i == -(x_i - x_j) and (-a)**2 == a**2
        # exactly), d[i, i] == sqrt(0) == 0, and enemy is False on the diagonal (same owner).
        n_comb = 0
        for j in range(k):
            xs[j] = pos[n, j, 0]
            ys[j] = pos[n, j, 1]
            cs[j] = alive[n, j] and owner[n, j] != NEUTRAL
            os_[j] = owner[n, j]
            if cs[j]:
                comb[n_comb] = j
                n_comb += 1
        for i in range(k):
            xi = xs[i]
            yi = ys[i]
            ci = cs[i]
            oi = os_[i]
            drow = d_out[n, i]
            erow = enemy_out[n, i]
            for j in range(k):
                dx = xs[j] - xi
                dy = ys[j] - yi
                drow[j] = np.sqrt(dx * dx + dy * dy)
                erow[j] = ci & cs[j] & (os_[j] != oi)
        for i in range(k):
            t = ti[n, i]
            wr = t_range[t]
            has_w = t_has_weapon[t] and alive[n, i]
            o = order[n, i]
            tg = target[n, i]
            explicit = o == _ATTACK
            tgt_ok = tg >= 0 and tg < k
            tgt_alive = tgt_ok and alive[n, tg]
            if explicit and not tgt_alive:
                order[n, i] = _IDLE
                o = _IDLE
                explicit = False
            auto = has_w and not explicit and o != _MOVE
            scan = wr if o == _HOLD else t_acquire[t]
            if aggro[n, i] and o == _IDLE:
                scan = max(scan, aggro_range)
            ri = rad[n, i]
            new_t = -1
            if auto:
                # Only enemies within the scan radius can win the numpy argmin (every other
                # cost is >= _INF - 0.5, above _INF / 2): scan those, first index on ties.
                best = -1
                best_cost = _INF
                for q in range(n_comb):  # enemies are combatants: scan those, ascending
                    j = comb[q]
                    if not enemy_out[n, i, j]:
                        continue
                    e = d_out[n, i, j] - ri - rad[n, j]
                    if not e <= scan:
                        continue
                    c = e
                    c += _F(0.0) if e <= wr else _F(100.0)
                    if tgt_alive and j == tg:
                        c -= _F(0.5)
                    if best < 0 or c < best_cost:
                        best = j
                        best_cost = c
                if best >= 0 and best_cost < _INF / _F(2):
                    new_t = best
                tg = new_t
            elif not explicit:
                tg = -1
            target[n, i] = tg
            if auto and new_t < 0:
                aggro[n, i] = False
            if tg >= 0:
                te = d_out[n, i, tg] - ri - rad[n, tg]
                ir = te <= wr
            else:
                te = _INF
                ir = False
            t_edge_out[n, i] = te
            in_range_out[n, i] = ir
            firing_out[n, i] = ir and has_w and cooldown[n, i] < dt


@_jit
def move_kernel(  # noqa: PLR0913
    pos,
    target_pos,
    rad,
    alive,
    ti,
    order,
    target,
    in_range,
    t_edge,
    died_by_attack,
    cooldown,
    d,
    t_range,
    t_speed,
    t_collides,
    t_structure,
    dt,
    nbr_ptr,
    nbr,
    moving_out,
    point_out,
    arrived_out,
    ux_out,
    uy_out,
    step_out,
    gdist_out,
    s_out,
):
    """Cooldown tick, movement goals, candidate pairs and steering sums (step 3, first half).

    The candidate pairs (the numpy code's `dynamics._near_pairs`) are written as adjacency
    lists: the neighbours of unit ``i`` of game ``n`` are ``nbr[n, nbr_ptr[n, i]:nbr_ptr[n, i +
    1]]``, in ascending order (the order of the numpy code's sums over ``j``). They are found
    among the game's solid units only (listed first, ascending: the same pairs in the same order).

    Returns True where some unit of some game is blocked (then every direction is normalised,
    as in the numpy code, by `steer_apply_kernel`) and whether any unit moves.
    """
    n_env, k = alive.shape
    speed = np.empty(k, np.float32)
    reach_a = np.empty(k, np.float32)
    solid = np.empty(k, np.bool_)
    pair_a = np.empty(k * (k - 1) // 2 + 1, np.int64)
    pair_b = np.empty(k * (k - 1) // 2 + 1, np.int64)
    fill = np.empty(k + 1, np.int64)
    solid_list = np.empty(k, np.int64)
    any_block = False
    any_moving = False
    for n in range(n_env):
        for i in range(k):
            c = cooldown[n, i] - dt
            cooldown[n, i] = c if c > _F(0.0) else _F(0.0)
            t = ti[n, i]
            sp = t_speed[t] * dt
            o = order[n, i]
            tg = target[n, i]
            has_t = tg >= 0
            point = (o == _MOVE) or ((o == _AMOVE or o == _PATROL) and not has_t)
            chase = has_t and not in_range[n, i] and o != _HOLD
            sg = tg if has_t else 0
            if chase:
                tx = pos[n, sg, 0]
                ty = pos[n, sg, 1]
            else:
                tx = target_pos[n, i, 0]
                ty = target_pos[n, i, 1]
            gx = tx - pos[n, i, 0]
            gy = ty - pos[n, i, 1]
            gdist = np.sqrt(gx * gx + gy * gy)
            want = (t_edge[n, i] - t_range[t] + _F(0.05)) if chase else gdist
            mv = (
                alive[n, i]
                and (point or chase)
                and want > _F(1e-4)
                and sp > _F(0.0)
                and not died_by_attack[n, i]
            )
            moving_out[n, i] = mv
            point_out[n, i] = point
            arrived_out[n, i] = mv and point and gdist <= sp
            gdist_out[n, i] = gdist
            speed[i] = sp if mv else _F(0.0)
            inv = (_F(1.0) / max(gdist, _F(1e-6))) if gdist > _F(1e-6) else _F(0.0)
            ux_out[n, i] = gx * inv
            uy_out[n, i] = gy * inv
            w = want if want > _F(0.0) else _F(0.0)
            stp = sp if sp < w else w
            step_out[n, i] = stp if mv else _F(0.0)
            any_moving |= mv
        for i in range(k):
            solid[i] = alive[n, i] and t_collides[ti[n, i]] and not t_structure[ti[n, i]]
            reach_a[i] = rad[n, i] + speed[i]
        # Near pairs (i < j, row by row), then the adjacency lists: for unit x, the pairs
        # (a, x) with a < x arrive first, in ascending a, then (x, b) in ascending b.
        m = 0
        n_solid = 0
        for i in range(k + 1):
            fill[i] = 0
        for i in range(k):
            if solid[i]:
                solid_list[n_solid] = i
                n_solid += 1
        for a in range(n_solid):  # the solid units only, in ascending order (same pair order)
            i = solid_list[a]
            for b in range(a + 1, n_solid):  # symmetric (a + b == b + a exactly)
                j = solid_list[b]
                if d[n, i, j] < reach_a[i] + reach_a[j] + _F(0.75):
                    pair_a[m] = i
                    pair_b[m] = j
                    m += 1
                    fill[i] += 1
                    fill[j] += 1
        acc = 0
        for i in range(k):
            nbr_ptr[n, i] = acc
            acc += fill[i]
            fill[i] = nbr_ptr[n, i]
        nbr_ptr[n, k] = acc
        for q in range(m):
            a = pair_a[q]
            b = pair_b[q]
            nbr[n, fill[a]] = b
            fill[a] += 1
            nbr[n, fill[b]] = a
            fill[b] += 1
        for i in range(k):
            s = 0.0  # float64 like numpy's bincount
            if moving_out[n, i]:
                hx = ux_out[n, i]
                hy = uy_out[n, i]
                for q in range(nbr_ptr[n, i], nbr_ptr[n, i + 1]):
                    j = nbr[n, q]
                    dx = pos[n, j, 0] - pos[n, i, 0]
                    dy = pos[n, j, 1] - pos[n, i, 1]
                    ahead = dx * hx + dy * hy
                    lateral = dy * hx - dx * hy
                    reach = rad[n, i] + rad[n, j]
                    if ahead > _F(0.0) and ahead < reach + _F(0.75):
                        if abs(lateral) < reach * _F(0.95):
                            side = -1.0 if lateral >= _F(0.0) else 1.0
                            strength = (reach - abs(lateral)) / max(reach, _F(1e-3))
                            s += side * np.float64(strength)
                            any_block = True
            s_out[n, i] = np.float32(s)
    return any_block, any_moving


@_jit
def steer_apply_kernel(pos, ux, uy, s, step, normalise, arrived, order, target_pos, origin_pos):
    """Turn the headings by their steering sums, then move the units (step 3, second half).

    ``normalise``: some unit of some game is blocked; the numpy code then renormalises every
    heading, blocked or not, so this does too.
    """
    n_env, k = step.shape
    for n in range(n_env):
        for i in range(k):
            hx = ux[n, i]
            hy = uy[n, i]
            if normalise:
                si = s[n, i]
                nx = hx - hy * si * _F(1.5)
                ny = hy + hx * si * _F(1.5)
                norm = np.sqrt(nx * nx + ny * ny)
                if not norm > _F(1e-6):
                    norm = _F(1.0)
                hx = nx / norm
                hy = ny / norm
            st = step[n, i]
            pos[n, i, 0] = pos[n, i, 0] + hx * st
            pos[n, i, 1] = pos[n, i, 1] + hy * st
            if arrived[n, i]:  # a patrol turns round, other point orders end
                if order[n, i] == _PATROL:
                    for c in range(2):
                        tmp = target_pos[n, i, c]
                        target_pos[n, i, c] = origin_pos[n, i, c]
                        origin_pos[n, i, c] = tmp
                else:
                    order[n, i] = _IDLE


@_jit
def deaths_kernel(alive, hp, hp_max, owner, died_by_attack, target, selected, groups):
    """Remove the dead (`dynamics._deaths_and_queue` before the queue); returns whether any."""
    n_env, k = alive.shape
    dead = np.zeros((n_env, k), np.bool_)
    any_dead = False
    for n in range(n_env):
        for i in range(k):
            if alive[n, i] and (
                died_by_attack[n, i]
                or (hp[n, i] <= _F(0.0) and owner[n, i] != NEUTRAL and hp_max[n, i] > _F(0.0))
            ):
                dead[n, i] = True
                any_dead = True
                alive[n, i] = False
    if not any_dead:
        return False
    for n in range(n_env):
        for i in range(k):
            tg = target[n, i]
            if tg >= 0 and dead[n, tg]:
                target[n, i] = -1
            if dead[n, i]:
                for p in range(selected.shape[0]):
                    selected[p, n, i] = False
                    for g in range(groups.shape[2]):
                        groups[p, n, g, i] = False
    return True


@_jit
def separate_kernel(pos, rad, order, in_range, alive, nbr_ptr, nbr, w_attack, w_hold, bounds):
    """Push overlapping solid units apart on the candidate pairs, then clamp (step 4).

    The pairs are `move_kernel`'s adjacency lists (ascending neighbours: the numpy sum order).
    """
    n_env, k = alive.shape
    mob = np.empty(k, np.float32)
    sx = np.empty(k, np.float64)
    sy = np.empty(k, np.float64)
    x0, y0, x1, y1 = bounds[0], bounds[1], bounds[2], bounds[3]
    for n in range(n_env):
        for i in range(k):
            m = _F(1.0)
            if in_range[n, i]:
                m = w_attack
            if order[n, i] == _HOLD:
                m = w_hold
            mob[i] = m
        for i in range(k):
            ax = 0.0
            ay = 0.0
            if alive[n, i]:
                for q in range(nbr_ptr[n, i], nbr_ptr[n, i + 1]):
                    j = nbr[n, q]
                    if not alive[n, j]:
                        continue
                    dx = pos[n, j, 0] - pos[n, i, 0]
                    dy = pos[n, j, 1] - pos[n, i, 1]
                    dd = np.sqrt(dx * dx + dy * dy)
                    overlap = rad[n, i] + rad[n, j] - dd
                    if not overlap > _F(0.0):
                        continue
                    share = mob[i] / (mob[i] + mob[j])
                    if dd < _F(1e-4):
                        ang = np.float32(j - i)
                        dx = np.cos(ang)
                        dy = np.sin(ang)
                        dd = _F(1.0)
                    push = overlap * share / dd
                    ax += np.float64(push * dx)
                    ay += np.float64(push * dy)
            sx[i] = ax
            sy[i] = ay
        for i in range(k):
            r = rad[n, i]
            x = pos[n, i, 0] - np.float32(sx[i])
            y = pos[n, i, 1] - np.float32(sy[i])
            x = min(max(x, x0 + r), x1 - r)
            y = min(max(y, y0 + r), y1 - r)
            pos[n, i, 0] = x
            pos[n, i, 1] = y


@_jit
def resolve_kernel(  # noqa: PLR0913
    firing,
    target,
    ti,
    perm,
    hp,
    sh,
    aggro,
    alive,
    owner,
    rad,
    d,
    enemy,
    cooldown,
    t_splash,
    t_attrs,
    t_bonus_attr,
    t_bonus,
    t_damage,
    t_hits,
    t_armor,
    t_cooldown,
    t_suicide,
    help_range,
    died_by_attack,
):
    """`dynamics._resolve_attacks` plus the shooters' cooldown and suicide (same arithmetic).

    ``perm`` is the numpy path's ``rng.permutation`` of the shots (row-major over ``firing``), so
    both paths draw the same random numbers and cancel the same overkill shots.
    """
    n_env, k = firing.shape
    m = perm.size
    sn = np.empty(m, np.int64)
    sa = np.empty(m, np.int64)
    q = 0
    for n in range(n_env):
        for i in range(k):
            if firing[n, i]:
                sn[q] = n
                sa[q] = i
                q += 1
    st_ = np.empty(m, np.int64)
    hp_dmg = np.empty(m, np.float32)
    sh_dmg = np.empty(m, np.float32)
    single = np.empty(m, np.bool_)
    for q in range(m):
        n = sn[q]
        a = sa[q]
        tq = target[n, a]
        st_[q] = tq
        at = ti[n, a]
        tt = ti[n, tq]
        single[q] = not t_splash[at] > _F(0.0)
        b = t_bonus[at] if (t_attrs[tt] & t_bonus_attr[at]) != 0 else _F(0.0)
        raw = t_damage[at] + b
        hp_dmg[q] = t_hits[at] * max(_F(0.5), raw - t_armor[tt])
        sh_dmg[q] = t_hits[at] * raw
    # Overkill: shots in random order within each target; cancel those at already-dead targets.
    key = np.empty(m, np.int64)
    for q in range(m):
        p = perm[q]
        key[q] = sn[p] * k + st_[p]
    order = perm[np.argsort(key, kind="mergesort")]
    cancel = np.zeros(m, np.bool_)
    cum = _F(0.0)
    base = _F(0.0)
    prev_t = -1
    for e in range(m):
        q = order[e]
        ft = sn[q] * k + st_[q]
        dm = min(hp_dmg[q], sh_dmg[q]) if single[q] else _F(0.0)
        cum = cum + dm if e > 0 else dm
        before = cum - dm
        w = before if ft != prev_t else _F(0.0)
        base = max(base, w) if e > 0 else w
        prev_t = ft
        ehp = hp[sn[q], st_[q]] + sh[sn[q], st_[q]]
        if single[q] and before - base >= ehp:
            cancel[q] = True
    tot_hp1 = np.zeros((n_env, k), np.float64)
    tot_sh1 = np.zeros((n_env, k), np.float64)
    tot_hp2 = np.zeros((n_env, k), np.float64)
    tot_sh2 = np.zeros((n_env, k), np.float64)
    hit = np.zeros((n_env, k), np.bool_)
    any_hit = False
    for q in range(m):
        if cancel[q]:
            firing[sn[q], sa[q]] = False
        elif single[q]:
            tot_hp1[sn[q], st_[q]] += np.float64(hp_dmg[q])
            tot_sh1[sn[q], st_[q]] += np.float64(sh_dmg[q])
            hit[sn[q], st_[q]] = True
            any_hit = True
    for q in range(m):
        if cancel[q] or single[q]:
            continue
        n = sn[q]
        a = sa[q]
        at = ti[n, a]
        for j in range(k):
            if not (enemy[n, a, j] and d[n, a, j] - rad[n, j] <= t_splash[at]):
                continue
            tj = ti[n, j]
            b = t_bonus[at] if (t_attrs[tj] & t_bonus_attr[at]) != 0 else _F(0.0)
            r = t_damage[at] + b
            tot_hp2[n, j] += np.float64(max(_F(0.5), r - t_armor[tj]))
            tot_sh2[n, j] += np.float64(r)
            hit[n, j] = True
            any_hit = True
    any_sh = False
    for n in range(n_env):
        for i in range(k):
            if sh[n, i] != _F(0.0):
                any_sh = True
    for n in range(n_env):
        for i in range(k):
            th = np.float32(tot_hp1[n, i]) + np.float32(tot_hp2[n, i])
            ts = np.float32(tot_sh1[n, i]) + np.float32(tot_sh2[n, i])
            if any_sh:
                absorbed = min(sh[n, i], ts)
                if ts > _F(0.0):
                    frac = (ts - absorbed) / max(ts, _F(1e-6))
                else:
                    frac = _F(1.0)
                sh[n, i] = sh[n, i] - absorbed
                hp[n, i] = hp[n, i] - th * frac
            else:
                hp[n, i] = hp[n, i] - th
    if any_hit:  # provoke the victims and their allies nearby (call for help)
        for n in range(n_env):
            game_hit = False
            for j in range(k):
                game_hit |= hit[n, j]
            if not game_hit:  # nobody provoked in this game
                continue
            for i in range(k):
                if not alive[n, i]:
                    continue
                prov = hit[n, i]
                if not prov:
                    for j in range(k):
                        if hit[n, j] and d[n, i, j] <= help_range and owner[n, i] == owner[n, j]:
                            prov = True
                            break
                if prov:
                    aggro[n, i] = True
    for n in range(n_env):
        for i in range(k):
            if firing[n, i]:
                t = ti[n, i]
                cooldown[n, i] = cooldown[n, i] + t_cooldown[t]
                if t_suicide[t]:
                    died_by_attack[n, i] = True


@_jit
def visibility_kernel(vis, alive, owner, pos, type_idx, player_id, t_reach, t_half, k):
    """`dynamics.update_visibility` for one player: fade, then stamp each unit's sight disc.

    ``vis`` ``[N, H, W]`` uint8 is updated in place: 2 where some live unit of ``player_id``
    (slots ``< k``) sees the cell, else ``min(vis, 1)``. A disc is stamped row by row:
    ``t_half[t, dy + R]`` is the half-width of the stencil row ``dy`` of type index ``t``
    (``-1``: no cell in that row), ``t_reach[t]`` its reach (``-1``: the type stamps nothing, as
    a sight of 0 does in the numpy path). The union of a row's runs does not depend on their
    order (the numpy path merges duplicate discs before stamping). Maps up to 64 cells wide
    collect each row's runs in one 64-bit mask and write every visible cell once.
    """
    n_env, h, w = vis.shape
    big_r = (t_half.shape[1] - 1) // 2
    narrow = w <= 64
    rows = np.zeros(h, np.uint64)
    one = np.uint64(1)
    full = ~np.uint64(0)
    for n in range(n_env):
        vn = vis[n]
        for y in range(h):
            for x in range(w):
                vn[y, x] = min(vn[y, x], 1)
        if narrow:
            rows[:] = 0
        y_lo = h
        y_hi = -1
        for u in range(k):
            if not alive[n, u] or owner[n, u] != player_id:
                continue
            t = type_idx[n, u]
            rr = t_reach[t]
            if rr < 0:
                continue
            cx = np.int64(pos[n, u, 0])
            cy = np.int64(pos[n, u, 1])
            cx = min(max(cx, 0), w - 1)
            cy = min(max(cy, 0), h - 1)
            for dy in range(-rr, rr + 1):
                hw = t_half[t, dy + big_r]
                y = cy + dy
                if hw < 0 or y < 0 or y >= h:
                    continue
                x0 = max(cx - hw, 0)
                x1 = min(cx + hw, w - 1)
                if narrow:
                    width = x1 - x0 + 1
                    run = full if width >= 64 else (one << np.uint64(width)) - one
                    rows[y] |= run << np.uint64(x0)
                    y_lo = min(y_lo, y)
                    y_hi = max(y_hi, y)
                else:
                    for x in range(x0, x1 + 1):
                        vn[y, x] = 2
        for y in range(y_lo, y_hi + 1):
            m = rows[y]
            if m == 0:
                continue
            for x in range(w):
                if (m >> np.uint64(x)) & one:
                    vn[y, x] = 2


@_jit
def pop_queue_kernel(alive, order, queued_order, pos, origin_pos, target_pos, queued_pos,
                     target_unit, queued_unit, idle):  # fmt: skip
    """`dynamics._pop_queue` for every idle live unit with a queued order (slots ``< k``).

    The order starts: origin = position, target = the queued point and unit; a queued attack on a
    unit that died meanwhile is dropped (the unit stays idle). Per-unit and independent (the
    numpy code's reads of ``alive`` see no writes), so the loop order does not matter.
    """
    n_env, k = alive.shape
    for n in range(n_env):
        for u in range(k):
            qo = queued_order[n, u]
            if not (alive[n, u] and order[n, u] == idle and qo >= 0):
                continue
            order[n, u] = qo
            origin_pos[n, u, 0] = pos[n, u, 0]
            origin_pos[n, u, 1] = pos[n, u, 1]
            target_pos[n, u, 0] = queued_pos[n, u, 0]
            target_pos[n, u, 1] = queued_pos[n, u, 1]
            tgt = queued_unit[n, u]
            gone = tgt >= 0 and not alive[n, max(tgt, 0)]
            if gone:
                order[n, u] = idle
            target_unit[n, u] = -1 if gone else tgt
            queued_order[n, u] = -1
            queued_unit[n, u] = -1
