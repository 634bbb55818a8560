"""Numba kernels of the Terran economy (`economy`): the same results as its numpy code.

The numpy code of `economy.EconomyScenario` stays the reference; each kernel here replays one of
its per-sub-step or per-step functions over games and unit slots in one compiled pass (the numpy
code is ~20 small array calls per function whose per-call overhead dominates at the melee's unit
counts). Float arithmetic is done in float32 in the numpy code's order, and scatter-adds
(``np.add.at``) in the same element order, so results are equal bit for bit
(``tests/envs/sim/test_economy_jit.py`` checks every kernel against the numpy path).

Used when `dynamics.jit_enabled()` (numba installed and ``SC2AGENTS_SIM_JIT`` not ``0``).
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = [
    "AVAILABLE",
    "available_hook_kernel",
    "claim_sites_kernel",
    "construction_kernel",
    "place_ok_kernel",
    "production_kernel",
    "return_cargo_kernel",
    "select_idle_kernel",
    "structures_left_kernel",
    "supply_kernel",
    "workers_kernel",
]


@_jit
def available_hook_kernel(  # noqa: PLR0913
    mask,
    selected,
    alive,
    owner,
    player_id,
    type_idx,
    order,
    building,
    t_worker,
    t_structure,
    harvest_fns,
    build_fns,
    build_req,
    train_fns,
    train_prod,
    select_idle_fn,
    idle_order,
):
    """`economy.EconomyScenario.available_hook` without the ``allowed_functions`` restriction.

    Writes, per game, the harvest, build, train and ``select_idle_worker`` columns of ``mask``.
    """
    n_env, u_max = alive.shape
    n_types = t_worker.shape[0]
    has_type = np.zeros(n_types, np.bool_)
    sel_done = np.zeros(n_types, np.bool_)
    for n in range(n_env):
        has_type[:] = False
        sel_done[:] = False
        sel_worker = False
        idle = False
        for u in range(u_max):
            if not alive[n, u] or owner[n, u] != player_id:
                continue
            t = type_idx[n, u]
            sel = selected[n, u]
            if t_worker[t]:
                if sel:
                    sel_worker = True
                if order[n, u] == idle_order:
                    idle = True
            if t_structure[t] and not building[n, u]:
                has_type[t] = True
                if sel:
                    sel_done[t] = True
        for f in harvest_fns:
            mask[n, f] = sel_worker
        for i in range(build_fns.size):
            r = build_req[i]
            mask[n, build_fns[i]] = sel_worker and (has_type[r] if r >= 0 else True)
        for i in range(train_fns.size):
            mask[n, train_fns[i]] = sel_done[train_prod[i]]
        mask[n, select_idle_fn] = idle


_F = np.float32
# jobs and phases (economy._MINE, ...)
_MINE, _GAS, _BUILD = 1, 2, 3
_TO_RES, _WAIT, _MINING, _TO_BASE, _DROP, _TO_SITE, _CONSTRUCT = 0, 1, 2, 3, 4, 5, 6


@_jit
def workers_kernel(  # noqa: PLR0913, PLR0912, PLR0915
    alive,
    owner,
    type_idx,
    order,
    pos,
    radius,
    target_pos,
    job,
    phase,
    job_tgt,
    job_t,
    job_type,
    job_pos,
    held,
    wpos,
    cargo,
    cargo_gas,
    resource,
    building,
    geyser,
    minerals,
    vespene,
    collected,
    spent,
    income_mult,
    out,
    t_speed,
    t_minerals,
    t_vespene,
    t_footprint,
    dt,
    job_order,
    idle_order,
    cc_type,
    min_type,
    ref_type,
    mine_loops,
    gas_loops,
    overhead_loops,
    minerals_per_trip,
    gas_per_trip,
    site_out,
    site_phase_out,
    empty_out,
):
    """`economy.EconomyScenario._workers` for every game, but the two rare events.

    Construction sites reached and mineral fields emptied this sub-step are listed instead
    (``site_out`` ``[m, 2]`` game/slot with the worker's phase in ``site_phase_out``,
    ``empty_out`` ``[m, 2]`` game/slot of each emptied field, already dead); the caller marks the
    emptied footprints, then starts the constructions and writes their workers' phase. Returns
    ``(number of sites, number of emptied fields)``.

    Games are independent, so each is processed alone, its workers in slot order, with the numpy
    code's phases in its order (its scatter-adds are sequential in that order too).
    """
    n_env, u_max = alive.shape
    n_pl = minerals.shape[1]
    eps_arr = _F(1e-3)
    tiny = _F(1e-6)
    ws = np.empty(u_max, np.int64)  # this game's workers on a job
    w_phase = np.empty(u_max, np.int8)
    w_new = np.empty(u_max, np.int8)
    w_ts = np.empty(u_max, np.int64)
    w_resok = np.empty(u_max, np.bool_)
    w_lost = np.empty(u_max, np.bool_)
    w_arrived = np.empty(u_max, np.bool_)
    w_done = np.empty(u_max, np.bool_)
    w_jt = np.empty(u_max, np.float32)
    w_amount = np.empty(u_max, np.float64)
    w_res = np.empty(u_max, np.int64)
    ccs = np.empty(u_max, np.int64)
    busy = np.zeros(u_max, np.bool_)
    started = np.zeros(u_max, np.bool_)
    assigned = np.zeros(u_max, np.int64)
    carry = np.zeros(u_max, np.float32)
    has_carry = np.zeros(u_max, np.bool_)
    n_site = 0
    n_empty = 0
    for n in range(n_env):
        # --- a player command (order changed) or a dead unit ends the job; list the workers
        # still on a job and the finished Command Centers (one pass over the slots) ---
        m_w = 0
        n_cc = 0
        for u in range(u_max):
            jb = job[n, u]
            if jb > 0 and not (alive[n, u] and order[n, u] == job_order):
                if jb == _BUILD and phase[n, u] == _TO_SITE:
                    pl = owner[n, u] - 1
                    if 0 <= pl < n_pl:  # give the cost back
                        t = job_type[n, u] - 1
                        m = _F(t_minerals[t]) * _F(-1.0)
                        g = _F(t_vespene[t]) * _F(-1.0)
                        minerals[n, pl] = minerals[n, pl] - m
                        vespene[n, pl] = vespene[n, pl] - g
                        spent[n, pl, 0] = spent[n, pl, 0] + m
                        spent[n, pl, 1] = spent[n, pl, 1] + g
                job[n, u] = 0
                phase[n, u] = 0
                held[n, u] = False
            if alive[n, u] and job[n, u] > 0:
                ws[m_w] = u
                m_w += 1
            if alive[n, u] and type_idx[n, u] == cc_type and not building[n, u]:
                ccs[n_cc] = u
                n_cc += 1
        if m_w == 0:
            continue
        # --- goals, movement, arrivals, drop-off, mining ---
        for q in range(m_w):
            u = ws[q]
            if held[n, u]:  # undo what the dynamics did to it
                pos[n, u, 0] = wpos[n, u, 0]
                pos[n, u, 1] = wpos[n, u, 1]
            ph = phase[n, u]
            jb = job[n, u]
            tgt = np.int64(job_tgt[n, u]) - 1
            ts = tgt if tgt > 0 else 0
            px = pos[n, u, 0]
            py = pos[n, u, 1]
            rw = radius[n, u]
            ow = owner[n, u]
            tgt_ok = tgt >= 0 and alive[n, ts]
            tti = type_idx[n, ts]
            if jb == _MINE:
                res_ok = tgt_ok and tti == min_type and resource[n, ts] > _F(0.0)
            else:
                res_ok = tgt_ok and tti == ref_type and not building[n, ts] and owner[n, ts] == ow
            gathering = jb != _BUILD
            gx = px
            gy = py
            stop = _F(0.0)
            to_res = gathering and ph == _TO_RES
            to_base = gathering and ph == _TO_BASE
            to_site = jb == _BUILD and ph == _TO_SITE
            lost = gathering and not res_ok and ph != _TO_BASE and ph != _DROP
            if to_res:
                gx = pos[n, ts, 0]
                gy = pos[n, ts, 1]
                stop = radius[n, ts] + rw
            elif to_base:
                best = -1
                best_d = _F(np.inf)
                for c in range(n_cc):  # nearest finished own Command Center, first on ties
                    s = ccs[c]
                    if owner[n, s] != ow:
                        continue
                    dx = pos[n, s, 0] - px
                    dy = pos[n, s, 1] - py
                    dd = np.sqrt(dx * dx + dy * dy)
                    if best < 0 or dd < best_d:
                        best = s
                        best_d = dd
                if best >= 0 and best_d < _F(np.inf):
                    gx = pos[n, best, 0]
                    gy = pos[n, best, 1]
                    stop = radius[n, best] + rw
                else:
                    gx = pos[n, 0, 0]
                    gy = pos[n, 0, 1]
                    stop = radius[n, 0] + rw
                    lost = True
            elif to_site:
                gx = job_pos[n, u, 0]
                gy = job_pos[n, u, 1]
                jt = job_type[n, u] - 1
                if jt < 0:
                    jt = 0
                stop = _F(np.float64(t_footprint[jt]) / 2.0 + np.float64(rw))
            moving = to_res or to_base or to_site
            vx = gx - px
            vy = gy - py
            dist = np.sqrt(vx * vx + vy * vy)
            remaining = dist - stop
            speed = t_speed[type_idx[n, u]] * dt
            if moving:
                step = remaining if remaining > _F(0.0) else _F(0.0)
                step = step if step < speed else speed
            else:
                step = _F(0.0)
            den = dist if dist > tiny else tiny
            nx = px + (vx / den) * step
            ny = py + (vy / den) * step
            arrived = moving and (remaining - step <= eps_arr)
            pos[n, u, 0] = nx
            pos[n, u, 1] = ny
            wpos[n, u, 0] = nx
            wpos[n, u, 1] = ny
            held[n, u] = True
            target_pos[n, u, 0] = gx
            target_pos[n, u, 1] = gy
            new = ph
            jt_v = job_t[n, u]
            if arrived and to_res:
                new = _WAIT
            drop = arrived and to_base
            if drop:
                c = cargo[n, u]
                pl = ow - 1
                if 0 <= pl < n_pl:
                    if cargo_gas[n, u]:
                        mins = _F(0.0)
                        gas = c
                    else:
                        mins = c
                        gas = _F(0.0)
                    minerals[n, pl] = minerals[n, pl] + mins
                    vespene[n, pl] = vespene[n, pl] + gas
                    collected[n, pl, 0] = collected[n, pl, 0] + mins
                    collected[n, pl, 1] = collected[n, pl, 1] + gas
                    out[pl, n, 0] = out[pl, n, 0] + c
                cargo[n, u] = _F(0.0)
                new = _DROP
                jt_v = _F(overhead_loops)
            if ph == _DROP and not drop:
                jt_v = jt_v - dt
                if jt_v <= _F(0.0):
                    new = _TO_RES
                    if not res_ok:
                        lost = True
            done = False
            if ph == _MINING:
                jt_v = jt_v - dt
                done = jt_v <= _F(0.0)
            w_phase[q] = ph
            w_new[q] = new
            w_ts[q] = ts
            w_resok[q] = res_ok
            w_lost[q] = lost
            w_arrived[q] = arrived and to_res
            w_done[q] = done
            w_jt[q] = jt_v
            if arrived and to_site:
                site_out[n_site, 0] = n
                site_out[n_site, 1] = u
                n_site += 1
        # --- trips done: take the resource (amounts first, as the numpy code) ---
        any_done = False
        for q in range(m_w):
            if not w_done[q]:
                continue
            any_done = True
            u = ws[q]
            ts = w_ts[q]
            carry[ts] = -w_jt[q]
            has_carry[ts] = True
            is_gas = job[n, u] == _GAS
            rs = np.int64(geyser[n, ts]) - 1 if is_gas else ts
            if rs < 0:
                rs = 0
            w_res[q] = rs
            per = gas_per_trip if is_gas else minerals_per_trip
            r = np.float64(resource[n, rs])
            w_amount[q] = per if per < r else r
        if any_done:
            for q in range(m_w):
                if w_done[q]:
                    rs = w_res[q]
                    resource[n, rs] = _F(np.float64(resource[n, rs]) - w_amount[q])
            for q in range(m_w):
                if not w_done[q]:
                    continue
                u = ws[q]
                is_gas = job[n, u] == _GAS
                mult = income_mult[n, owner[n, u] - 1]
                if not mult > _F(0.0):
                    mult = _F(1.0)
                cargo[n, u] = _F(w_amount[q] * np.float64(mult))
                cargo_gas[n, u] = is_gas
                w_new[q] = _TO_BASE
                rs = w_res[q]
                if not is_gas and resource[n, rs] <= _F(0.0):
                    alive[n, rs] = False
                    empty_out[n_empty, 0] = n
                    empty_out[n_empty, 1] = rs
                    n_empty += 1
        # --- waiting at the resource: start mining if it is free, else bounce ---
        any_wait = False
        for q in range(m_w):
            if (w_phase[q] == _WAIT or w_arrived[q]) and w_resok[q]:
                any_wait = True
        if any_wait:
            for q in range(m_w):
                ts = w_ts[q]
                if w_phase[q] == _MINING and not w_done[q]:
                    busy[ts] = True
                if job[n, ws[q]] != _BUILD and w_resok[q]:
                    assigned[ts] += 1
            for q in range(m_w):
                if not ((w_phase[q] == _WAIT or w_arrived[q]) and w_resok[q]):
                    continue
                ts = w_ts[q]
                u = ws[q]
                if not busy[ts] and not started[ts]:
                    started[ts] = True
                    w_new[q] = _MINING
                    back = carry[ts] if has_carry[ts] else _F(0.0)
                    loops = gas_loops if job[n, u] == _GAS else mine_loops
                    w_jt[q] = _F(loops - np.float64(back))
            for q in range(m_w):  # bounce to a less-used patch nearby (counts of before)
                if not ((w_phase[q] == _WAIT or w_arrived[q]) and w_resok[q]):
                    continue
                u = ws[q]
                if w_new[q] != _WAIT or job[n, u] != _MINE:
                    continue
                cur = w_ts[q]
                cx = pos[n, cur, 0]
                cy = pos[n, cur, 1]
                best = 0
                best_s = np.inf
                for j in range(u_max):
                    if not (type_idx[n, j] == min_type and alive[n, j]):
                        continue
                    if not resource[n, j] > _F(0.0):
                        continue
                    dx = pos[n, j, 0] - cx
                    dy = pos[n, j, 1] - cy
                    dd = np.sqrt(dx * dx + dy * dy)
                    if not dd < _F(8.0):
                        continue
                    s = np.float64(assigned[j]) * 100.0 + np.float64(dd)
                    if s < best_s:
                        best = j
                        best_s = s
                if assigned[best] < assigned[cur] - 1:
                    job_tgt[n, u] = best + 1
                    w_new[q] = _TO_RES
            for q in range(m_w):  # leave the per-slot scratch zeroed for the next game
                ts = w_ts[q]
                busy[ts] = False
                started[ts] = False
                assigned[ts] = 0
        if any_done:
            for q in range(m_w):
                has_carry[w_ts[q]] = False
        # --- write back (construction sites: by the caller) ---
        for q in range(m_w):
            u = ws[q]
            job_t[n, u] = w_jt[q]
            if w_lost[q]:
                job[n, u] = 0
                held[n, u] = False
                phase[n, u] = 0
                order[n, u] = idle_order
                target_pos[n, u, 0] = pos[n, u, 0]
                target_pos[n, u, 1] = pos[n, u, 1]
            else:
                phase[n, u] = w_new[q]
        for i in range(n_site):
            if site_out[i, 0] == n:
                for q in range(m_w):
                    if ws[q] == site_out[i, 1]:
                        site_phase_out[i] = w_new[q]
    return n_site, n_empty


@_jit
def supply_kernel(alive, building, owner, type_idx, t_provides, supply_max, food_cap):
    """`economy.EconomyScenario._supply`: supply cap per player from finished buildings."""
    n_env, u_max = alive.shape
    n_pl = food_cap.shape[1]
    for n in range(n_env):
        for pl in range(n_pl):
            food_cap[n, pl] = 0
        for u in range(u_max):
            if alive[n, u] and not building[n, u]:
                pl = owner[n, u] - 1
                if 0 <= pl < n_pl:
                    food_cap[n, pl] += t_provides[type_idx[n, u]]
        for pl in range(n_pl):
            if food_cap[n, pl] > supply_max:
                food_cap[n, pl] = supply_max


@_jit
def production_kernel(alive, building, queue, qprog, t_build_loops, dt, fin_out):
    """Progress of the head of every production queue (`economy.EconomyScenario._production`).

    Adds ``dt`` to the progress of each live, finished building with a queued unit; a unit whose
    build time is reached is listed in ``fin_out`` ``[m, 3]`` (game, slot, type index) in slot
    order, and its progress restarts at 0. Returns the number listed.
    """
    n_env, u_max = alive.shape
    m = 0
    for n in range(n_env):
        for u in range(u_max):
            head = queue[n, u, 0]
            if not (alive[n, u] and head > 0 and not building[n, u]):
                continue
            t = np.int64(head) - 1
            p = qprog[n, u] + dt
            if p >= t_build_loops[t] - _F(1e-3):
                qprog[n, u] = _F(0.0)
                fin_out[m, 0] = n
                fin_out[m, 1] = u
                fin_out[m, 2] = t
                m += 1
            else:
                qprog[n, u] = p
    return m


@_jit
def structures_left_kernel(alive, owner, type_idx, t_structure, lost):
    """``lost[p, n]``: player ``p + 1`` has no live structure in game ``n`` (the melee's end)."""
    n_pl, n_env = lost.shape
    u_max = alive.shape[1]
    for n in range(n_env):
        for pl in range(n_pl):
            lost[pl, n] = True
        for u in range(u_max):
            if alive[n, u] and t_structure[type_idx[n, u]]:
                pl = owner[n, u] - 1
                if 0 <= pl < n_pl:
                    lost[pl, n] = False


@_jit
def place_ok_kernel(buildable, occupied, w, h, e, x0, y0, size, out):
    """`economy.place_ok`: each footprint inside the ``w`` x ``h`` map, buildable, unoccupied."""
    for i in range(e.size):
        s = size[i]
        a = x0[i]
        b = y0[i]
        ok = not (a < 0 or b < 0 or a + s > w or b + s > h)
        if ok:
            for yy in range(b, b + s):
                for xx in range(a, a + s):
                    if not buildable[yy, xx] or occupied[e[i], yy, xx]:
                        ok = False
        out[i] = ok


@_jit
def select_idle_kernel(selected, alive, owner, type_idx, order, t_worker, player_id, idle_order,
                       envs, act):  # fmt: skip
    """``select_idle_worker`` (`economy.EconomyScenario._select_idle`) in the games ``envs``.

    ``act`` per game: 0 select the first idle worker, 1 add it, 2 select all idle workers,
    else add them all. ``selected`` is the player's ``[N, U]`` selection (updated in place).
    """
    u_max = alive.shape[1]
    for i in range(envs.size):
        e = envs[i]
        a = act[i]
        first = -1
        for u in range(u_max):
            if (
                alive[e, u]
                and owner[e, u] == player_id
                and t_worker[type_idx[e, u]]
                and order[e, u] == idle_order
            ):
                first = u
                break
        for u in range(u_max):
            idle = (
                alive[e, u]
                and owner[e, u] == player_id
                and t_worker[type_idx[e, u]]
                and order[e, u] == idle_order
            )
            sel = selected[e, u] and alive[e, u]
            if a == 0:
                new = u == first
            elif a == 1:
                new = sel or u == first
            elif a == 2:
                new = idle
            else:
                new = sel or idle
            selected[e, u] = new


@_jit
def return_cargo_kernel(selected, alive, owner, type_idx, t_worker, player_id, envs, cargo,
                        cargo_gas, job, job_tgt, phase, held, order, job_order):  # fmt: skip
    """``Harvest_Return_quick`` (`economy.EconomyScenario._return_cargo`) in the games ``envs``.

    Every selected own worker carrying something heads for a base; one without a job takes the
    job of its cargo with no resource to go back to (it goes idle after the drop-off).
    """
    u_max = alive.shape[1]
    for i in range(envs.size):
        e = envs[i]
        for u in range(u_max):
            if not (
                selected[e, u]
                and alive[e, u]
                and owner[e, u] == player_id
                and t_worker[type_idx[e, u]]
                and cargo[e, u] > _F(0.0)
            ):
                continue
            if job[e, u] == 0:
                job[e, u] = _GAS if cargo_gas[e, u] else _MINE
                job_tgt[e, u] = 0
            phase[e, u] = _TO_BASE
            held[e, u] = False
            order[e, u] = job_order


@_jit
def claim_sites_kernel(ok, e, is_ref, g, x0, y0, size, buildable, occupied, w, h):
    """Sites reached this sub-step, in order, take their ground or fail (`_start_construction`).

    A footprint still placeable (inside the map, buildable, unoccupied, earlier sites included)
    is marked occupied; a refinery fails if an earlier site of this call claimed its geyser.
    ``ok`` (in: the site is still valid) is updated in place.
    """
    m = ok.size
    ok0 = ok.copy()  # an earlier site claims its geyser even if it failed itself
    for i in range(m):
        if not ok[i]:
            continue
        if is_ref[i]:
            for j in range(i):  # an earlier valid site on the same geyser of the same game
                if ok0[j] and is_ref[j] and e[j] == e[i] and g[j] == g[i]:
                    ok[i] = False
                    break
            continue
        s = size[i]
        a = x0[i]
        b = y0[i]
        good = not (a < 0 or b < 0 or a + s > w or b + s > h)
        if good:
            for yy in range(b, b + s):
                for xx in range(a, a + s):
                    if not buildable[yy, xx] or occupied[e[i], yy, xx]:
                        good = False
        ok[i] = good
        if good:
            for yy in range(max(b, 0), min(h, b + s)):
                for xx in range(max(a, 0), min(w, a + s)):
                    occupied[e[i], yy, xx] = True


@_jit
def construction_kernel(alive, building, builder, job, phase, job_tgt, progress, health,
                        health_max, type_idx, held, order, pos, target_pos, t_build_loops, dt,
                        idle_order):  # fmt: skip
    """`economy.EconomyScenario._construction`: buildings whose SCV is at work progress.

    Progress and hit points grow while the building's SCV is alive, on its build job, in the
    construction phase and at this building; when the build time is reached the building is
    finished and the SCV goes idle where it stands. Buildings are independent (one SCV each).
    """
    n_env, u_max = alive.shape
    for n in range(n_env):
        for u in range(u_max):
            if not (alive[n, u] and building[n, u]):
                continue
            bld = np.int64(builder[n, u]) - 1
            bs = bld if bld > 0 else 0
            if not (
                bld >= 0
                and alive[n, bs]
                and job[n, bs] == _BUILD
                and phase[n, bs] == _CONSTRUCT
                and job_tgt[n, bs] == u + 1
            ):
                continue
            total = t_build_loops[type_idx[n, u]]
            prog = progress[n, u] + dt
            progress[n, u] = prog
            hpm = health_max[n, u]
            hp = health[n, u] + _F(0.9) * hpm * dt / total
            health[n, u] = hpm if hpm < hp else hp
            if prog >= total - _F(1e-3):
                building[n, u] = False
                job[n, bs] = 0
                phase[n, bs] = 0
                held[n, bs] = False
                order[n, bs] = idle_order
                target_pos[n, bs, 0] = pos[n, bs, 0]
                target_pos[n, bs, 1] = pos[n, bs, 1]
