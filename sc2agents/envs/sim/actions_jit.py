"""Numba kernel for the unit-command application of `actions.apply_actions`.

The numpy implementation in `actions._commands` stays the reference: this kernel replaces only
its last part, the ~15 fancy-indexing array calls that pick the selected own units offering the
command and write their orders (immediate, or shift-queued behind a busy unit's current order).
The world points and the clicked targets are still computed by numpy, so the kernel only copies
values and gives the same state bit for bit (``tests/envs/sim/test_actions_jit.py`` and
``test_dynamics_jit.py`` play every registered scenario on both paths).

numba is used instead of numpy here because at 64 games the numpy version is dominated by the
per-call overhead of many tiny gathers and scatters; one compiled loop over the chosen games'
slots does the same work. The path follows `dynamics.jit_enabled` (``SC2AGENTS_SIM_JIT=0`` =
numpy); without numba `AVAILABLE` is False and the numpy path runs.
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = ["AVAILABLE", "commands_kernel"]


@_jit
def commands_kernel(
    envs: np.ndarray,
    fn: np.ndarray,
    order: np.ndarray,
    tgt: np.ndarray,
    pt: np.ndarray,
    kind: np.ndarray,
    queued: np.ndarray,
    owner_id: int,
    selected: np.ndarray,
    alive: np.ndarray,
    owner: np.ndarray,
    type_idx: np.ndarray,
    functions: np.ndarray,
    pos: np.ndarray,
    st_order: np.ndarray,
    target_unit: np.ndarray,
    target_pos: np.ndarray,
    origin_pos: np.ndarray,
    queued_order: np.ndarray,
    queued_unit: np.ndarray,
    queued_pos: np.ndarray,
) -> None:
    """Give command ``i`` (``order[i]``, target ``tgt[i]``/``pt[i]``) in game ``envs[i]``.

    Receivers: units selected by the player, alive, owned (``owner == owner_id``) and offering
    ``fn[i]`` (``functions[type, fn]``). ``kind[i] == 3`` is a command without a point (the
    unit's own position is queued). ``queued[i]`` (shift) to a busy unit (order != 0) fills its
    queue slot; otherwise the order starts now and the queue is cleared. Arrays are written in
    place.
    """
    n_units = alive.shape[1]
    for i in range(envs.shape[0]):
        e = envs[i]
        f = fn[i]
        has_pt = kind[i] != 3
        for u in range(n_units):
            if not (selected[e, u] and alive[e, u] and owner[e, u] == owner_id):
                continue
            if not functions[type_idx[e, u], f]:
                continue
            if queued[i] and st_order[e, u] != 0:
                queued_order[e, u] = order[i]
                queued_unit[e, u] = tgt[i]
                if has_pt:
                    queued_pos[e, u, 0] = pt[i, 0]
                    queued_pos[e, u, 1] = pt[i, 1]
                else:
                    queued_pos[e, u, 0] = pos[e, u, 0]
                    queued_pos[e, u, 1] = pos[e, u, 1]
            else:
                st_order[e, u] = order[i]
                target_unit[e, u] = tgt[i]
                queued_order[e, u] = -1
                if has_pt:
                    target_pos[e, u, 0] = pt[i, 0]
                    target_pos[e, u, 1] = pt[i, 1]
                    origin_pos[e, u, 0] = pos[e, u, 0]
                    origin_pos[e, u, 1] = pos[e, u, 1]
