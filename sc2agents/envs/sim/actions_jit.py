"""Numba kernels for `actions.apply_actions`: every game's action of one player in one pass.

The numpy implementation in `actions` stays the reference. `apply_kernel` walks the games once
and applies each one's function: the unit commands (`actions._commands`: the world point, screen
or minimap, clamped to the playable area, the enemy clicked on, then the orders of the selected
own units offering the command, immediate or shift-queued behind a busy unit's current order),
``select_point`` / ``select_rect`` (`actions._select_point` / `_select_rect`),
``select_army`` / ``select_unit`` / ``select_control_group`` and ``move_camera`` (the caller is
told which cameras moved); the functions a scenario implements are left to Python
(`actions._apply_rest`). `screen_to_world_kernel`, `on_screen_kernel` and `unit_at_kernel`
replace `actions._screen_to_world`, `_on_screen` and `_unit_at` (clicks on the screen; the
economy's functions use them), `available_kernel` the unit part of `actions.available_mask` and
`check_kernel` the checks of `actions.validate` (and of `SimVectorEnv`) where every action is
valid. The clicks replay the numpy float32 arithmetic operation by operation (Python constants
cast to float32 as numpy 2 does, the first slot winning distance ties as ``argmin``); the rest
only copies values and evaluates boolean expressions. Both paths give the same state bit for bit
(``tests/envs/sim/test_actions_jit.py`` compares both paths after every step of every registered
scenario, with actions biased towards these functions, and on random states).

numba is used instead of numpy here because at 64 games the numpy version is dominated by the
per-call overhead of many tiny gathers and scatters (a dozen per function, a loop over the
functions present); one compiled loop over the games does the same work. The path follows
`dynamics.jit_enabled` (``SC2AGENTS_SIM_JIT=0`` = numpy); without numba `AVAILABLE` is False and
the numpy path runs.
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = [
    "ARG_COLUMNS",
    "AVAILABLE",
    "COMMAND",
    "CONTROL_GROUP",
    "MOVE_CAMERA",
    "NO_OP",
    "PYTHON",
    "SELECT_ARMY",
    "SELECT_POINT",
    "SELECT_RECT",
    "SELECT_UNIT",
    "apply_kernel",
    "available_kernel",
    "check_kernel",
    "on_screen_kernel",
    "screen_to_world_kernel",
    "unit_at_kernel",
]


SELECT_ARMY, SELECT_UNIT, CONTROL_GROUP = 1, 2, 3


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


# Codes of `apply_kernel` (per function id; `PYTHON`: left to the caller).
NO_OP, SELECT_POINT, SELECT_RECT, COMMAND, PYTHON, MOVE_CAMERA = 0, 4, 5, 6, 7, 8
# Argument columns `apply_kernel` reads (``cols[i]`` is the column of `features.ARG_TYPES`).
ARG_COLUMNS = (
    "screen",
    "screen2",
    "minimap",
    "queued",
    "select_add",
    "select_point_act",
    "select_unit_act",
    "select_unit_id",
    "control_group_act",
    "control_group_id",
)
_SCREEN, _SCREEN2, _MINIMAP, _QUEUED, _ADD, _POINT_ACT, _UNIT_ACT, _UNIT_ID, _CG_ACT, _CG_ID = (
    range(10)
)


@_jit
def _select_one(e, c, arg1, arg2, owner_id, selected, control_groups, alive, owner, type_idx, army):
    """``select_army`` / ``select_unit`` / ``select_control_group`` in game ``e``.

    ``c`` picks the function (`SELECT_ARMY`: ``arg1`` = add; `SELECT_UNIT`: ``arg1`` = act,
    ``arg2`` = panel index; `CONTROL_GROUP`: ``arg1`` = act, ``arg2`` = group id), with the
    semantics of `actions.apply_actions` / `actions._select_unit` / `actions._control_group`.
    ``selected`` [N, U] and ``control_groups`` [N, 10, U] are the player's (written in place).
    """
    n_units = alive.shape[1]
    n_groups = control_groups.shape[1]
    if c == SELECT_ARMY:
        add = arg1 == 1
        for u in range(n_units):
            mine = alive[e, u] and owner[e, u] == owner_id and army[type_idx[e, u]]
            selected[e, u] = mine or (add and selected[e, u])
    elif c == SELECT_UNIT:
        rank = -1
        slot = -1
        for u in range(n_units):
            if selected[e, u] and alive[e, u]:
                rank += 1
                if rank == arg2:
                    slot = u
                    break
        for u in range(n_units):
            s = selected[e, u] and alive[e, u]
            if slot >= 0 and s:
                if arg1 == 0:
                    s = u == slot
                elif arg1 == 1:
                    s = u != slot
                elif arg1 == 2:
                    s = type_idx[e, u] == type_idx[e, slot]
                elif arg1 == 3:
                    s = type_idx[e, u] != type_idx[e, slot]
            selected[e, u] = s
    elif c == CONTROL_GROUP:
        g = arg2
        if arg1 == 0:
            recall = False
            for u in range(n_units):
                if control_groups[e, g, u] and alive[e, u]:
                    recall = True
                    break
            if recall:
                for u in range(n_units):
                    selected[e, u] = control_groups[e, g, u] and alive[e, u]
            return
        for u in range(n_units):
            s = selected[e, u] and alive[e, u] and owner[e, u] == owner_id
            if arg1 == 3 or arg1 == 4:  # steal: out of every group
                if s:
                    for h in range(n_groups):
                        control_groups[e, h, u] = False
            if arg1 == 1 or arg1 == 3:
                control_groups[e, g, u] = s
            elif arg1 == 2 or arg1 == 4:
                control_groups[e, g, u] = control_groups[e, g, u] or s


@_jit
def _on_screen_one(e, u, cam, pos, radius, visible, h):
    """`actions._on_screen` for slot ``u`` of game ``e`` (``h``: float32 half screen width)."""
    lim = h + radius[e, u]
    return (
        abs(pos[e, u, 0] - cam[e, 0]) <= lim
        and abs(pos[e, u, 1] - cam[e, 1]) <= lim
        and visible[e, u]
    )


@_jit
def _select_point_one(e, act, px, py, owner_id, selected, alive, owner, type_idx, cam, pos,
                      radius, visible, h, t):  # fmt: skip
    """`actions._select_point` in game ``e`` (clicked world point ``px, py``, float32)."""
    n_units = alive.shape[1]
    hit = _unit_at_one(e, px, py, cam, pos, radius, visible, h, t)
    if act == 0:  # select: replace (empty ground clears)
        for u in range(n_units):
            selected[e, u] = u == hit
        return
    if hit < 0 or not (alive[e, hit] and owner[e, hit] == owner_id):
        return  # toggle / all of a type need an own unit under the point
    if act == 1:  # toggle (a selection holding a foreign unit is replaced)
        foreign = False
        for u in range(n_units):
            if selected[e, u] and not (alive[e, u] and owner[e, u] == owner_id):
                foreign = True
                break
        if foreign:
            for u in range(n_units):
                selected[e, u] = False
        selected[e, hit] = not selected[e, hit]
        return
    ty = type_idx[e, hit]  # select_all_type (2) / add_all_type (3): own units of the type on screen
    for u in range(n_units):
        own = alive[e, u] and owner[e, u] == owner_id
        same = type_idx[e, u] == ty and own and _on_screen_one(e, u, cam, pos, radius, visible, h)
        selected[e, u] = same or (act == 3 and selected[e, u] and own)


@_jit
def _select_rect_one(e, add, ax, ay, bx, by, half, owner_id, selected, alive, owner, cam, pos,
                     radius, visible, h):  # fmt: skip
    """`actions._select_rect` in game ``e`` (corners in world cells, float32; ``half``: float32)."""
    lo_x = min(ax, bx) - half
    lo_y = min(ay, by) - half
    hi_x = max(ax, bx) + half
    hi_y = max(ay, by) + half
    for u in range(alive.shape[1]):
        x = pos[e, u, 0]
        y = pos[e, u, 1]
        r = radius[e, u]
        inside = x + r >= lo_x and x - r <= hi_x and y + r >= lo_y and y - r <= hi_y
        got = (
            inside
            and alive[e, u]
            and owner[e, u] == owner_id
            and _on_screen_one(e, u, cam, pos, radius, visible, h)
        )
        keep = add == 1 and selected[e, u] and alive[e, u]
        selected[e, u] = got or keep


@_jit
def _screen_point(flat, size, cam, e, h, sc):
    """`actions._screen_to_world` of one screen pixel ``flat`` in float32."""
    half_px = np.float32(0.5)
    x = np.float32(flat % size)
    y = np.float32(flat // size)
    return (cam[e, 0] - h) + (x + half_px) * sc, (cam[e, 1] - h) + (y + half_px) * sc


@_jit
def apply_kernel(  # noqa: PLR0913
    fn,
    args,
    code_of,
    custom,
    cols,
    cmd_kind,
    cmd_order,
    cmd_on_unit,
    owner_id,
    neutral,
    attack_unit,
    no_op,
    screen_size,
    half_width,
    scale,
    tol,
    minimap_size,
    cell,
    playable,
    camera_bounds,
    moved,
    last_actions,
    selected,
    control_groups,
    alive,
    owner,
    type_idx,
    army,
    functions,
    pos,
    radius,
    visible,
    cam,
    st_order,
    target_unit,
    target_pos,
    origin_pos,
    queued_order,
    queued_unit,
    queued_pos,
):
    """`actions.apply_actions` for one player: every game's action in one pass.

    ``fn [N]`` / ``args [N, 13]`` are validated actions; ``code_of[f]`` is the kind of function
    ``f`` (`NO_OP`, `SELECT_ARMY`, `SELECT_UNIT`, `CONTROL_GROUP`, `SELECT_POINT`,
    `SELECT_RECT`, `COMMAND`, or `PYTHON`), overridden by `PYTHON` where ``custom[f]`` (the
    scenario implements it). Writes ``last_actions`` and applies everything but the `PYTHON`
    functions (the scenario's), with the semantics and the float32 arithmetic of the numpy
    functions of `actions` (`_commands`, `_select_point`, `_select_rect`, ...); ``move_camera``
    clips the camera to ``camera_bounds`` (float32 ``x0, y0, x1, y1``) and sets ``moved[e]``
    where it moved (the caller marks those games' static layers dirty);
    ``cols`` holds the argument columns of `ARG_COLUMNS`. Commands go to the selected own units
    offering them: a point (screen, minimap; clamped to ``playable``) or none (``cmd_kind`` 1,
    2, 3), an enemy clicked on with an ``cmd_on_unit`` function becomes ``attack_unit`` on it,
    and ``queued`` (shift) to a busy unit fills its queue slot. Returns whether some game has a
    `PYTHON` function.
    """
    h = np.float32(half_width)
    sc = np.float32(scale)
    t = np.float32(tol)
    half = np.float32(tol)  # select_rect widens the box by half a pixel, as the click tolerance
    rest = False
    n_units = alive.shape[1]
    n_groups = control_groups.shape[1]
    for e in range(fn.shape[0]):
        f = fn[e]
        # (the arguments used as indices are checked: no write may leave the arrays)
        if f < 0 or f >= code_of.size:
            raise ValueError("apply_kernel: function id out of range (validate the actions)")
        last_actions[e] = -1 if f == no_op else f
        c = PYTHON if custom[f] else code_of[f]
        if c == NO_OP:
            continue
        if c == PYTHON:
            rest = True
        elif c == MOVE_CAMERA:  # `SimEngine.set_camera` on the minimap point
            mm = args[e, cols[_MINIMAP]]
            px = np.float32(((mm % minimap_size) + 0.5) * cell)
            py = np.float32(((mm // minimap_size) + 0.5) * cell)
            px = min(max(px, camera_bounds[0]), camera_bounds[2])
            py = min(max(py, camera_bounds[1]), camera_bounds[3])
            if px != cam[e, 0] or py != cam[e, 1]:
                cam[e, 0] = px
                cam[e, 1] = py
                moved[e] = True
        elif c == COMMAND:
            kind = cmd_kind[f]
            order = cmd_order[f]
            tgt = -1
            px = np.float32(0)
            py = np.float32(0)
            if kind == 1:
                px, py = _screen_point(args[e, cols[_SCREEN]], screen_size, cam, e, h, sc)
            elif kind == 2:
                mm = args[e, cols[_MINIMAP]]
                px = np.float32(((mm % minimap_size) + 0.5) * cell)
                py = np.float32(((mm // minimap_size) + 0.5) * cell)
            if cmd_on_unit[f]:
                u = _unit_at_one(e, px, py, cam, pos, radius, visible, h, t)
                if u >= 0 and owner[e, u] != owner_id and owner[e, u] != neutral:
                    order = attack_unit
                    tgt = u
            px = min(max(px, playable[0]), playable[2])
            py = min(max(py, playable[1]), playable[3])
            has_pt = kind != 3
            queued = args[e, cols[_QUEUED]] == 1
            for u in range(n_units):
                if not (selected[e, u] and alive[e, u] and owner[e, u] == owner_id):
                    continue
                if not functions[type_idx[e, u], f]:
                    continue
                if queued and st_order[e, u] != 0:
                    queued_order[e, u] = order
                    queued_unit[e, u] = tgt
                    if has_pt:
                        queued_pos[e, u, 0] = px
                        queued_pos[e, u, 1] = py
                    else:
                        queued_pos[e, u, 0] = pos[e, u, 0]
                        queued_pos[e, u, 1] = pos[e, u, 1]
                else:
                    st_order[e, u] = order
                    target_unit[e, u] = tgt
                    queued_order[e, u] = -1
                    if has_pt:
                        target_pos[e, u, 0] = px
                        target_pos[e, u, 1] = py
                        origin_pos[e, u, 0] = pos[e, u, 0]
                        origin_pos[e, u, 1] = pos[e, u, 1]
        elif c == SELECT_POINT:
            px, py = _screen_point(args[e, cols[_SCREEN]], screen_size, cam, e, h, sc)
            _select_point_one(
                e, args[e, cols[_POINT_ACT]], px, py, owner_id, selected, alive, owner,
                type_idx, cam, pos, radius, visible, h, t,
            )  # fmt: skip
        elif c == SELECT_RECT:
            ax, ay = _screen_point(args[e, cols[_SCREEN]], screen_size, cam, e, h, sc)
            bx, by = _screen_point(args[e, cols[_SCREEN2]], screen_size, cam, e, h, sc)
            _select_rect_one(
                e, args[e, cols[_ADD]], ax, ay, bx, by, half, owner_id, selected, alive, owner,
                cam, pos, radius, visible, h,
            )  # fmt: skip
        elif c == SELECT_ARMY:
            _select_one(
                e, c, args[e, cols[_ADD]], 0, owner_id, selected, control_groups, alive, owner,
                type_idx, army,
            )  # fmt: skip
        elif c == SELECT_UNIT:
            _select_one(
                e, c, args[e, cols[_UNIT_ACT]], args[e, cols[_UNIT_ID]], owner_id, selected,
                control_groups, alive, owner, type_idx, army,
            )  # fmt: skip
        elif c == CONTROL_GROUP:
            if not 0 <= args[e, cols[_CG_ID]] < n_groups:
                raise ValueError("apply_kernel: control group id out of range")
            _select_one(
                e, c, args[e, cols[_CG_ACT]], args[e, cols[_CG_ID]], owner_id, selected,
                control_groups, alive, owner, type_idx, army,
            )  # fmt: skip
    return rest


@_jit
def check_kernel(fn, args, avail, arg_mask, hi, skip, no_op, fn_out, args_out):
    """Copy actions to int64 and count the invalid ones (`actions.validate`'s checks, one pass).

    Game ``e`` is invalid when ``fn[e]`` is not a function id, is not available
    (``avail[e, fn[e]]``) or one of its arguments (``arg_mask[fn[e]]``) is outside
    ``[0, hi)``. Games with ``skip[e]`` (size 0: none) get ``no_op`` and -1 arguments instead
    and are never invalid. ``args_out`` of size 0 is not written. Returns the invalid count (the
    caller reports them with the numpy checks).
    """
    bad = 0
    n_f = arg_mask.shape[0]
    n_a = hi.size
    if args.shape[0] != fn.size or args.shape[1] != n_a or avail.shape[0] != fn.size:
        raise ValueError("check_kernel: fn [N], args [N, 13] and avail [N, F] do not match")
    if skip.size > 0 and skip.size != fn.size:
        raise ValueError("check_kernel: skip must be [N] or empty")
    copy_args = args_out.size > 0
    for e in range(fn.size):
        if skip.size > 0 and skip[e]:
            fn_out[e] = no_op
            if copy_args:
                args_out[e, :] = -1
            continue
        f = fn[e]
        fn_out[e] = f
        if copy_args:
            for j in range(n_a):
                args_out[e, j] = args[e, j]
        if f < 0 or f >= n_f or not avail[e, f]:
            bad += 1
            continue
        for j in range(n_a):
            if arg_mask[f, j] and (args[e, j] < 0 or args[e, j] >= hi[j]):
                bad += 1
                break
    return bad
