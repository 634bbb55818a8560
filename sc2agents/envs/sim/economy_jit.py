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

__all__ = ["AVAILABLE", "available_hook_kernel"]


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
