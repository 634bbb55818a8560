"""Numba kernels for `actions.apply_actions`: unit commands and the boolean selections.

The numpy implementation in `actions` stays the reference. `select_kernel` runs
``select_army``, ``select_unit`` and ``select_control_group`` (pure boolean logic over the
slots) for all their games in one loop. `commands_kernel` replaces the last part of
`actions._commands`, the ~15 fancy-indexing array calls that pick the selected own units
offering the command and write their orders (immediate, or shift-queued behind a busy unit's
current order); `command_targets_kernel` its first part (the world points, minimap or screen,
clamped to the playable area, and the enemy clicked on). `screen_to_world_kernel`,
`on_screen_kernel` and `unit_at_kernel` replace
`actions._screen_to_world`, `_on_screen` and `_unit_at` (clicks on the screen), replaying their
float32 arithmetic operation by operation (Python constants cast to float32 as numpy 2 does, the
first slot winning distance ties as ``argmin``); the other kernels only copy values and evaluate
boolean expressions. Both paths give the same state bit for bit
(``tests/envs/sim/test_actions_jit.py`` compares both paths after every step of every registered
scenario, with actions biased towards these functions).

numba is used instead of numpy here because at 64 games the numpy version is dominated by the
per-call overhead of many tiny gathers and scatters; one compiled loop over the chosen games'
slots does the same work. The path follows `dynamics.jit_enabled` (``SC2AGENTS_SIM_JIT=0`` =
numpy); without numba `AVAILABLE` is False and the numpy path runs.
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = [
    "AVAILABLE",
    "CONTROL_GROUP",
    "SELECT_ARMY",
    "SELECT_UNIT",
    "command_targets_kernel",
    "commands_kernel",
    "on_screen_kernel",
    "screen_to_world_kernel",
    "select_kernel",
    "unit_at_kernel",
]


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


SELECT_ARMY, SELECT_UNIT, CONTROL_GROUP = 1, 2, 3


@_jit
def select_kernel(
    envs: np.ndarray,
    code: np.ndarray,
    arg1: np.ndarray,
    arg2: np.ndarray,
    owner_id: int,
    selected: np.ndarray,
    control_groups: np.ndarray,
    alive: np.ndarray,
    owner: np.ndarray,
    type_idx: np.ndarray,
    army: np.ndarray,
) -> None:
    """``select_army`` / ``select_unit`` / ``select_control_group`` of one player, per game.

    ``code[i]`` picks the function for game ``envs[i]`` (`SELECT_ARMY`: ``arg1`` = add;
    `SELECT_UNIT`: ``arg1`` = act, ``arg2`` = panel index; `CONTROL_GROUP`: ``arg1`` = act,
    ``arg2`` = group id), with the semantics of `actions._select_unit` and
    `actions._control_group`. ``selected`` [N, U] and ``control_groups`` [N, 10, U] are the
    player's and are written in place.
    """
    n_units = alive.shape[1]
    n_groups = control_groups.shape[1]
    for i in range(envs.shape[0]):
        e = envs[i]
        c = code[i]
        if c == SELECT_ARMY:
            add = arg1[i] == 1
            for u in range(n_units):
                mine = alive[e, u] and owner[e, u] == owner_id and army[type_idx[e, u]]
                selected[e, u] = mine or (add and selected[e, u])
        elif c == SELECT_UNIT:
            act = arg1[i]
            idx = arg2[i]
            rank = -1
            slot = -1
            for u in range(n_units):
                if selected[e, u] and alive[e, u]:
                    rank += 1
                    if rank == idx:
                        slot = u
                        break
            for u in range(n_units):
                s = selected[e, u] and alive[e, u]
                if slot >= 0 and s:
                    if act == 0:
                        s = u == slot
                    elif act == 1:
                        s = u != slot
                    elif act == 2:
                        s = type_idx[e, u] == type_idx[e, slot]
                    elif act == 3:
                        s = type_idx[e, u] != type_idx[e, slot]
                selected[e, u] = s
        elif c == CONTROL_GROUP:
            act = arg1[i]
            g = arg2[i]
            if act == 0:
                recall = False
                for u in range(n_units):
                    if control_groups[e, g, u] and alive[e, u]:
                        recall = True
                        break
                if recall:
                    for u in range(n_units):
                        selected[e, u] = control_groups[e, g, u] and alive[e, u]
                continue
            for u in range(n_units):
                s = selected[e, u] and alive[e, u] and owner[e, u] == owner_id
                if act == 3 or act == 4:  # steal: out of every group
                    if s:
                        for h in range(n_groups):
                            control_groups[e, h, u] = False
                if act == 1 or act == 3:
                    control_groups[e, g, u] = s
                elif act == 2 or act == 4:
                    control_groups[e, g, u] = control_groups[e, g, u] or s


@_jit
def screen_to_world_kernel(
    envs: np.ndarray, flat: np.ndarray, cam: np.ndarray, size: int, half_width: float, scale: float
) -> np.ndarray:
    """`actions._screen_to_world` in float32 (``half_width``, ``scale`` cast as numpy does)."""
    out = np.empty((envs.shape[0], 2), np.float32)
    h = np.float32(half_width)
    sc = np.float32(scale)
    half_px = np.float32(0.5)
    for i in range(envs.shape[0]):
        e = envs[i]
        x = np.float32(flat[i] % size)
        y = np.float32(flat[i] // size)
        out[i, 0] = (cam[e, 0] - h) + (x + half_px) * sc
        out[i, 1] = (cam[e, 1] - h) + (y + half_px) * sc
    return out


@_jit
def on_screen_kernel(
    envs: np.ndarray,
    cam: np.ndarray,
    pos: np.ndarray,
    radius: np.ndarray,
    visible: np.ndarray,
    half_width: float,
) -> np.ndarray:
    """`actions._on_screen`: bool ``[len(envs), U]``, units visible and touching the screen."""
    n_units = pos.shape[1]
    out = np.zeros((envs.shape[0], n_units), np.bool_)
    h = np.float32(half_width)
    for i in range(envs.shape[0]):
        e = envs[i]
        for u in range(n_units):
            lim = h + radius[e, u]
            out[i, u] = (
                abs(pos[e, u, 0] - cam[e, 0]) <= lim
                and abs(pos[e, u, 1] - cam[e, 1]) <= lim
                and visible[e, u]
            )
    return out


@_jit
def _unit_at_one(
    e: int,
    px: np.float32,
    py: np.float32,
    cam: np.ndarray,
    pos: np.ndarray,
    radius: np.ndarray,
    visible: np.ndarray,
    h: np.float32,
    t: np.float32,
) -> int:
    """Slot of the on-screen unit of game ``e`` under ``(px, py)`` (nearest, first on ties; -1)."""
    best = np.float32(np.inf)
    out = -1
    for u in range(pos.shape[1]):
        r = radius[e, u]
        lim = h + r
        if not (
            abs(pos[e, u, 0] - cam[e, 0]) <= lim
            and abs(pos[e, u, 1] - cam[e, 1]) <= lim
            and visible[e, u]
        ):
            continue
        dx = pos[e, u, 0] - px
        dy = pos[e, u, 1] - py
        d = np.sqrt(dx * dx + dy * dy)
        if d <= r + t and (out < 0 or d < best):
            best = d
            out = u
    return out


@_jit
def unit_at_kernel(
    envs: np.ndarray,
    pt: np.ndarray,
    cam: np.ndarray,
    pos: np.ndarray,
    radius: np.ndarray,
    visible: np.ndarray,
    half_width: float,
    tol: float,
) -> np.ndarray:
    """`actions._unit_at`: slot of the on-screen unit under each point, nearest first (-1)."""
    out = np.full(envs.shape[0], -1, np.int64)
    h = np.float32(half_width)
    t = np.float32(tol)
    for i in range(envs.shape[0]):
        out[i] = _unit_at_one(envs[i], pt[i, 0], pt[i, 1], cam, pos, radius, visible, h, t)
    return out


@_jit
def command_targets_kernel(
    envs: np.ndarray,
    kind: np.ndarray,
    on_unit: np.ndarray,
    order: np.ndarray,
    screen: np.ndarray,
    minimap: np.ndarray,
    cam: np.ndarray,
    screen_size: int,
    half_width: float,
    scale: float,
    tol: float,
    minimap_size: int,
    cell: float,
    playable: np.ndarray,
    owner_id: int,
    neutral: int,
    attack_unit: int,
    pos: np.ndarray,
    radius: np.ndarray,
    owner: np.ndarray,
    visible: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The first part of `actions._commands`: world points (clamped) and clicked enemy units.

    ``kind`` 1 = screen point (``screen``, flat), 2 = minimap point, 3 = none (point 0, 0);
    ``on_unit`` commands on an enemy under the screen point become ``attack_unit`` on it
    (``order`` is updated in place). ``playable`` = float32 ``(x0, y0, x1, y1)``. Returns
    ``pt`` float32 ``[n, 2]`` and ``tgt`` int32 ``[n]`` (-1 = none).
    """
    n = envs.shape[0]
    pt = np.zeros((n, 2), np.float32)
    tgt = np.full(n, -1, np.int32)
    h = np.float32(half_width)
    sc = np.float32(scale)
    t = np.float32(tol)
    half_px = np.float32(0.5)
    for i in range(n):
        e = envs[i]
        if kind[i] == 1:
            x = np.float32(screen[i] % screen_size)
            y = np.float32(screen[i] // screen_size)
            pt[i, 0] = (cam[e, 0] - h) + (x + half_px) * sc
            pt[i, 1] = (cam[e, 1] - h) + (y + half_px) * sc
        elif kind[i] == 2:
            pt[i, 0] = np.float32(((minimap[i] % minimap_size) + 0.5) * cell)
            pt[i, 1] = np.float32(((minimap[i] // minimap_size) + 0.5) * cell)
        if on_unit[i]:
            u = _unit_at_one(e, pt[i, 0], pt[i, 1], cam, pos, radius, visible, h, t)
            if u >= 0 and owner[e, u] != owner_id and owner[e, u] != neutral:
                order[i] = attack_unit
                tgt[i] = u
        pt[i, 0] = min(max(pt[i, 0], playable[0]), playable[2])
        pt[i, 1] = min(max(pt[i, 1], playable[1]), playable[3])
    return pt, tgt


@_jit
def available_kernel(
    mask: np.ndarray,
    selected: np.ndarray,
    alive: np.ndarray,
    owner: np.ndarray,
    owner_id: int,
    type_idx: np.ndarray,
    order: np.ndarray,
    army: np.ndarray,
    worker: np.ndarray,
    type_ptr: np.ndarray,
    type_fids: np.ndarray,
    f_select_army: int,
    f_select_unit: int,
    f_idle_worker: int,
) -> None:
    """The unit-dependent part of `actions.available_mask`, written into ``mask`` [N, F].

    ``select_army`` (own army units), ``select_unit`` (>= 2 live selected units),
    ``select_idle_worker`` (an idle own worker) and the union of the commands of the selected own
    units' types, given as sparse rows (``type_fids[type_ptr[t]:type_ptr[t + 1]]``).
    """
    n_types = type_ptr.shape[0] - 1
    seen = np.zeros(n_types, np.bool_)
    for e in range(alive.shape[0]):
        n_sel = 0
        has_army = False
        idle_worker = False
        seen[:] = False
        for u in range(alive.shape[1]):
            if not alive[e, u]:
                continue
            t = type_idx[e, u]
            mine = owner[e, u] == owner_id
            if selected[e, u]:
                n_sel += 1
                if mine:
                    seen[t] = True
            if mine:
                if army[t]:
                    has_army = True
                if worker[t] and order[e, u] == 0:
                    idle_worker = True
        mask[e, f_select_army] = has_army
        mask[e, f_select_unit] = n_sel >= 2
        mask[e, f_idle_worker] = idle_worker
        for t in range(n_types):
            if seen[t]:
                for j in range(type_ptr[t], type_ptr[t + 1]):
                    mask[e, type_fids[j]] = True
