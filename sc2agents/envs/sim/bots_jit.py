"""Numba kernel of the built-in bot's per-step census (`bots.Bots`): one pass over the slots.

`bots.Bots` reads, for every game where it takes a new task, counts of its own units by type
(all, finished, queued, planned), its supply, and a few "is there one" facts (an idle worker, a
Command Center or a free miner on screen, an enemy near home). The numpy code gets them with ~25
array operations over ``[N, U]``; `census_kernel` gets them in one pass. Counts are integers and
supply sums are multiples of 0.5 far below 2**23, so the float32 sums are exact in any order: the
results are equal to the numpy code's (``tests/envs/sim/test_bots_jit.py``).

Used when `dynamics.jit_enabled()` (numba installed and ``SC2AGENTS_SIM_JIT`` not ``0``).
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = ["AVAILABLE", "census_kernel"]


@_jit
def census_kernel(  # noqa: PLR0913
    alive,
    owner,
    type_idx,
    order,
    pos,
    building,
    queue,
    job,
    phase,
    job_type,
    cargo,
    visible,
    use_visible,
    camera,
    half,
    home,
    player_id,
    neutral,
    t_supply,
    t_army,
    t_worker,
    cc_type,
    depot_type,
    t_all,
    t_done,
    queued,
    planned,
    used,
    army_supply,
    flags,
):
    """Per game: unit counts by type index and the bot's facts (see `bots.Bots._act_one`).

    Writes ``t_all``/``t_done``/``queued``/``planned`` int64 ``[N, T]`` (zeroed here), ``used``
    and ``army_supply`` float32 ``[N]`` (own units' supply, army units' supply) and ``flags``
    bool ``[N, 6]``: army unit, idle worker, finished Command Center on screen, free miner on
    screen, (visible) enemy within 16 of ``home``, depot under construction.
    """
    n_env, u_max = alive.shape
    n_q = queue.shape[2]
    hx = home[0]
    hy = home[1]
    for n in range(n_env):
        t_all[n, :] = 0
        t_done[n, :] = 0
        queued[n, :] = 0
        planned[n, :] = 0
        su = np.float32(0.0)
        sa = np.float32(0.0)
        army = False
        idle = False
        cc_ok = False
        miner_ok = False
        under = False
        depot_b = False
        cx = camera[n, 0]
        cy = camera[n, 1]
        for u in range(u_max):
            if not alive[n, u]:
                continue
            ow = owner[n, u]
            px = pos[n, u, 0]
            py = pos[n, u, 1]
            if ow != player_id:
                if ow != neutral and (visible[n, u] or not use_visible):
                    dx = px - hx
                    dy = py - hy
                    if np.sqrt(dx * dx + dy * dy) < np.float32(16.0):
                        under = True
                continue
            t = type_idx[n, u]
            t_all[n, t] += 1
            bld = building[n, u]
            if not bld:
                t_done[n, t] += 1
            for k in range(n_q):
                if queue[n, u, k] > 0:
                    queued[n, queue[n, u, k] - 1] += 1
            if job[n, u] == 3 and phase[n, u] == 5:
                planned[n, job_type[n, u] - 1] += 1
            su += t_supply[t]
            if t_army[t]:
                army = True
                sa += t_supply[t]
            if t_worker[t] and order[n, u] == 0:
                idle = True
            on_screen = abs(px - cx) <= half and abs(py - cy) <= half
            if on_screen and not bld and t == cc_type:
                cc_ok = True
            if on_screen and job[n, u] == 1 and cargo[n, u] == np.float32(0.0):
                miner_ok = True
            if bld and t == depot_type:
                depot_b = True
        used[n] = su
        army_supply[n] = sa
        flags[n, 0] = army
        flags[n, 1] = idle
        flags[n, 2] = cc_ok
        flags[n, 3] = miner_ok
        flags[n, 4] = under
        flags[n, 5] = depot_b
