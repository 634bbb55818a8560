"""Numba kernels of `state.SimState.spawn`: slot search and the ~25 field writes in one pass.

`SimState.spawn` runs on every reset and for every unit the economy makes; its numpy form is ~25
fancy-index writes whose per-call overhead dominates for the few units of a call. `free_slots`
finds the lowest free slots exactly as the numpy code's stable argsort, `write_units` writes
every field as the numpy code does (tags from the game's counter before the call, so repeated
games behave as numpy's fancy indexing). ``tests/envs/sim/test_state_spawn.py`` compares both.

Used when `dynamics.jit_enabled()` (numba installed and ``SC2AGENTS_SIM_JIT`` not ``0``).
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = ["AVAILABLE", "free_slots", "write_units"]


@_jit
def free_slots(alive, e, slots):
    """The ``k = slots.shape[1]`` lowest free slots of each game ``e[i]`` (ascending).

    Returns False, writing nothing further, if some game has fewer than ``k`` free slots.
    """
    n, k = slots.shape
    u_max = alive.shape[1]
    for i in range(n):
        c = 0
        for u in range(u_max):
            if c == k:
                break
            if not alive[e[i], u]:
                slots[i, c] = u
                c += 1
        if c < k:
            return False
    return True


@_jit
def write_units(  # noqa: PLR0913
    e,
    slots,
    raw,
    t,
    own,
    pos_in,
    alive,
    owner,
    unit_type,
    type_idx,
    health,
    health_max,
    shield,
    shield_max,
    energy,
    radius,
    cooldown,
    order,
    target_unit,
    queued_order,
    queued_unit,
    aggro,
    pos,
    target_pos,
    origin_pos,
    tag,
    next_tag,
    selected,
    control_groups,
    t_hp,
    t_shields,
    t_radius,
    idle,
):
    """New units at ``slots`` of games ``e``: full health, idle, unselected, fresh tags."""
    n, k = slots.shape
    base = np.empty(n, np.int64)
    for i in range(n):
        base[i] = next_tag[e[i]]
    for i in range(n):
        g = e[i]
        for j in range(k):
            s = slots[i, j]
            ty = t[i, j]
            alive[g, s] = True
            owner[g, s] = own[i, j]
            unit_type[g, s] = raw[i, j]
            type_idx[g, s] = ty
            health[g, s] = t_hp[ty]
            health_max[g, s] = t_hp[ty]
            shield[g, s] = t_shields[ty]
            shield_max[g, s] = t_shields[ty]
            energy[g, s] = 0
            radius[g, s] = t_radius[ty]
            cooldown[g, s] = 0
            order[g, s] = idle
            target_unit[g, s] = -1
            queued_order[g, s] = -1
            queued_unit[g, s] = -1
            aggro[g, s] = False
            for c in range(2):
                pos[g, s, c] = pos_in[i, j, c]
                target_pos[g, s, c] = pos_in[i, j, c]
                origin_pos[g, s, c] = pos_in[i, j, c]
            tag[g, s] = base[i] + j
            for p in range(selected.shape[0]):
                selected[p, g, s] = False
                for q in range(control_groups.shape[2]):
                    control_groups[p, g, q, s] = False
    for i in range(n):
        next_tag[e[i]] = base[i] + k
