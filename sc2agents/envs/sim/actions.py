"""PySC2 `FunctionCall` semantics for the simulator, vectorised over games.

Actions arrive either as PySC2 `FunctionCall`s (one per game; turned into arrays by
`calls_to_arrays`) or directly in `features.encode_action` layout: ``function [N]`` and
``args [N, 13]`` (spatial points flattened ``y*size+x``, -1 = unused). `apply_actions` then
groups the games by function id and applies each group with array operations.

What each function does (as in SC2, for the functions the mini-games use):

* ``no_op``; ``move_camera(minimap)`` centres the camera on the point (kept inside the playable
  area).
* ``select_point(act, screen)``: the unit under the point (its disc contains the point; nearest
  centre wins): ``select`` replaces the selection (empty ground clears it; an enemy or neutral unit
  can be selected alone), ``toggle`` flips one own unit, ``select_all_type`` / ``add_all_type``
  select / add all own units of that type on the screen.
* ``select_rect(add, screen, screen2)``: own units whose disc touches the rectangle.
* ``select_army(add)``, ``select_unit(act, index)`` on the multi-select panel (slot order),
  ``select_control_group(act, id)``: recall / set / append / set_and_steal / append_and_steal.
* Commands to the selected own units that offer them: ``Attack`` (on an enemy under the screen
  point: attack that unit, else attack-move), ``Move``, ``Patrol``, ``Smart`` (enemy under the
  point: attack it, else move), ``HoldPosition``, ``Stop``. ``queued`` (shift) keeps one order
  per unit that starts when the current order ends (executed at once by an idle unit); a new
  queued command replaces the queued one, an immediate command clears it.

Availability is computed from the selection as PySC2 does (`available_mask`): always
``no_op, move_camera, select_point, select_rect, select_control_group``; ``select_army`` when the
player has army units; ``select_unit`` with a multi-selection; the union of the selected own
units' commands.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
from absl import logging
from pysc2_evolved.lib import actions as sc2_actions

from sc2agents.envs import features
from sc2agents.envs.sim import actions_jit, dynamics, units
from sc2agents.envs.sim.state import NEUTRAL, Order

if TYPE_CHECKING:
    from sc2agents.envs.sim.engine import SimEngine
    from sc2agents.envs.sim.state import SimState

__all__ = ["apply_actions", "arg_limits", "available_mask", "calls_to_arrays", "validate"]

_F = features.FUNCTION_IDS
_A = {name: i for i, name in enumerate(features.ARG_TYPES)}
_ALWAYS = [
    _F[n] for n in ("no_op", "move_camera", "select_point", "select_rect", "select_control_group")
]
_NO_OP = _F["no_op"]
_IDLE = int(Order.IDLE)


def calls_to_arrays(
    calls: Sequence[sc2_actions.FunctionCall],
    screen_size: int,
    minimap_size: int,
    action_error: Literal["raise", "warn"] = "raise",
) -> tuple[np.ndarray, np.ndarray]:
    """Encode one `FunctionCall` per game as ``(function [N] int32, args [N, 13] int32)``.

    Raises:
        ValueError: unknown function id, wrong argument count or an out-of-range argument (with
            ``action_error="warn"`` the call is replaced by ``no_op`` and a warning is logged).
    """
    n = len(calls)
    fn = np.zeros(n, np.int32)
    args = np.full((n, features.NUM_ARG_TYPES), -1, np.int32)
    for i, call in enumerate(calls):
        try:
            fid = int(call.function) if hasattr(call, "function") else int(call[0])
            if not 0 <= fid < features.NUM_FUNCTIONS:
                raise ValueError(f"Invalid function id: {fid}.")
            f, a = features.encode_action(call, screen_size, minimap_size)
        except (ValueError, TypeError, IndexError) as e:
            if action_error == "raise":
                raise ValueError(f"bad action for game {i}: {call!r}: {e}") from e
            logging.warning("dropping bad action for game %d: %r: %s", i, call, e)
            continue
        fn[i] = f
        args[i] = a
    return fn, args


def available_mask(eng: SimEngine, player: int) -> np.ndarray:
    """Bool ``[N, NUM_FUNCTIONS]``: functions available to ``player`` in each game."""
    st = eng.state
    tab = units.TABLE
    n = st.num_envs
    mask = np.zeros((n, features.NUM_FUNCTIONS), bool)
    mask[:, _ALWAYS] = True
    if dynamics.jit_enabled():  # one compiled pass over the slots (tested equal)
        ptr, fids = _type_functions()
        actions_jit.available_kernel(
            mask,
            st.selected[player],
            st.alive,
            st.owner,
            player + 1,
            st.type_idx,
            st.order,
            tab.army,
            tab.worker,
            ptr,
            fids,
            _F["select_army"],
            _F["select_unit"],
            _F["select_idle_worker"],
        )
    else:
        _available_units(st, player, mask)
    hook = getattr(eng.scenario, "available_hook", None)
    if hook is not None:  # scenario functions (economy: harvest, build, train; restrictions)
        hook(eng, player, mask)
    return mask


_TYPE_FUNCTIONS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}


def _type_functions() -> tuple[np.ndarray, np.ndarray]:
    """``units.TABLE.functions`` as sparse rows (``ptr [T + 1]``, ``fids``), once per table."""
    tf = units.TABLE.functions
    hit = _TYPE_FUNCTIONS.get(id(tf))
    if hit is None or hit[0] is not tf:
        ptr = np.concatenate([[0], np.cumsum(tf.sum(axis=1))]).astype(np.int64)
        hit = (tf, ptr, np.nonzero(tf)[1].astype(np.int64))
        _TYPE_FUNCTIONS.clear()
        _TYPE_FUNCTIONS[id(tf)] = hit
    return hit[1], hit[2]


def _available_units(st: SimState, player: int, mask: np.ndarray) -> None:
    """The numpy reference of `actions_jit.available_kernel` (unit-dependent availability)."""
    tab = units.TABLE
    n = st.num_envs
    own = st.alive & (st.owner == player + 1)
    sel = st.selected[player] & st.alive
    sel_own = sel & own
    mask[:, _F["select_army"]] = (own & tab.army[st.type_idx]).any(axis=1)
    mask[:, _F["select_unit"]] = sel.sum(axis=1) >= 2
    mask[:, _F["select_idle_worker"]] = (own & tab.worker[st.type_idx] & (st.order == _IDLE)).any(
        axis=1
    )
    ni, ui = np.nonzero(sel_own)
    if ni.size:
        # Union of the selected unit types' commands. A loop over the few types present, not a
        # matmul: BLAS threading costs milliseconds on a busy machine for this tiny product.
        t_count = tab.functions.shape[0]
        has = np.bincount(ni * t_count + st.type_idx[ni, ui], minlength=n * t_count)
        has = has.reshape(n, t_count) > 0
        for t in np.flatnonzero(has.any(axis=0)):
            rows = has[:, t]
            mask[rows] |= tab.functions[t]


_NO_SKIP = np.zeros(0, bool)
_NO_ARGS = np.zeros((0, features.NUM_ARG_TYPES), np.int64)
_ARG_LIMITS: dict[tuple[int, int], np.ndarray] = {}


def arg_limits(screen_size: int, minimap_size: int) -> np.ndarray:
    """int64 ``[13]``: one past the largest value of each argument (points flattened)."""
    key = (int(screen_size), int(minimap_size))
    hi = _ARG_LIMITS.get(key)
    if hi is None:
        hi = np.zeros(features.NUM_ARG_TYPES, np.int64)
        for name, i in _A.items():
            if name in ("screen", "screen2"):
                hi[i] = screen_size * screen_size
            elif name == "minimap":
                hi[i] = minimap_size * minimap_size
            else:
                hi[i] = features.ARG_TYPE_SIZES[name]
        hi.flags.writeable = False
        _ARG_LIMITS[key] = hi
    return hi


def validate(
    fn: np.ndarray,
    args: np.ndarray,
    avail: np.ndarray,
    screen_size: int,
    minimap_size: int,
    action_error: Literal["raise", "warn"],
    player: int = 0,
) -> np.ndarray:
    """Check availability and argument ranges; returns ``fn`` with dropped actions set to no_op.

    Raises:
        ValueError: (``action_error="raise"``) like PySC2's ``Features.transform_action``.
    """
    args = np.asarray(args)
    shapes_ok = args.shape == (np.size(fn), features.NUM_ARG_TYPES) and avail.shape[0] == np.size(
        fn
    )
    if dynamics.jit_enabled() and shapes_ok:  # one compiled pass; the numpy checks report problems
        out = np.empty(np.shape(fn), np.int64)
        hi = arg_limits(screen_size, minimap_size)
        if actions_jit.check_kernel(
            fn, args, avail, features.FUNCTION_ARG_MASK, hi, _NO_SKIP, _NO_OP, out, _NO_ARGS
        ) == 0:  # fmt: skip
            return out
    fn = np.asarray(fn, np.int64).copy()
    bad_id = (fn < 0) | (fn >= features.NUM_FUNCTIONS)
    problems: list[str] = []
    if bad_id.any():
        i = int(np.flatnonzero(bad_id)[0])
        problems.append(f"game {i}: Invalid function id: {int(fn[i])}.")
        fn[bad_id] = _NO_OP
    unavailable = ~avail[np.arange(fn.size), fn]
    if unavailable.any():
        i = int(np.flatnonzero(unavailable)[0])
        f = features.FUNCTIONS[int(fn[i])]
        problems.append(f"game {i}: Function {int(f.id)}/{f.name} is currently not available")
    need = features.FUNCTION_ARG_MASK[fn]  # [N, 13]
    hi = arg_limits(screen_size, minimap_size)
    out_of_range = need & ((args < 0) | (args >= hi[None, :]))
    bad_args = out_of_range.any(axis=1)
    if bad_args.any():
        i = int(np.flatnonzero(bad_args)[0])
        f = features.FUNCTIONS[int(fn[i])]
        problems.append(f"game {i}: Argument is out of range for {f.name}, got: {args[i].tolist()}")
    drop = unavailable | bad_args
    if problems:
        msg = f"player {player}: " + "; ".join(problems)
        if action_error == "raise":
            raise ValueError(msg)
        logging.warning("dropping actions: %s", msg)
        fn[drop] = _NO_OP
    return fn


def _screen_to_world(eng: SimEngine, player: int, envs: np.ndarray, flat: np.ndarray) -> np.ndarray:
    s = eng.screen_size
    if dynamics.jit_enabled():
        return actions_jit.screen_to_world_kernel(
            envs, flat, eng.state.camera[player], s, eng.camera_width / 2, eng.camera_width / s
        )
    x = (flat % s).astype(np.float32)
    y = (flat // s).astype(np.float32)
    scale = eng.camera_width / s
    cam = eng.state.camera[player, envs]
    wx = cam[:, 0] - eng.camera_width / 2 + (x + 0.5) * scale
    wy = cam[:, 1] - eng.camera_width / 2 + (y + 0.5) * scale
    return np.stack([wx, wy], axis=-1)


def _minimap_to_world(eng: SimEngine, flat: np.ndarray) -> np.ndarray:
    m = eng.minimap_size
    cell = max(eng.scenario.map_size) / m
    x = ((flat % m) + 0.5) * cell
    y = ((flat // m) + 0.5) * cell
    return np.stack([x, y], axis=-1).astype(np.float32)


def _on_screen(eng: SimEngine, player: int, envs: np.ndarray) -> np.ndarray:
    st = eng.state
    if dynamics.jit_enabled():
        return actions_jit.on_screen_kernel(
            envs,
            st.camera[player],
            st.pos,
            st.radius,
            eng.visible_units(player),
            eng.camera_width / 2,
        )
    cam = st.camera[player, envs]
    half = eng.camera_width / 2
    p = st.pos[envs]
    r = st.radius[envs]
    return (
        (np.abs(p[..., 0] - cam[:, 0:1]) <= half + r)
        & (np.abs(p[..., 1] - cam[:, 1:2]) <= half + r)
        & eng.visible_units(player)[envs]
    )


def _unit_at(eng: SimEngine, player: int, envs: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """Slot of the visible unit under each world point (-1 = none)."""
    st = eng.state
    tol = 0.5 * eng.camera_width / eng.screen_size  # half a screen pixel
    if dynamics.jit_enabled():
        return actions_jit.unit_at_kernel(
            envs,
            np.ascontiguousarray(pt, np.float32),
            st.camera[player],
            st.pos,
            st.radius,
            eng.visible_units(player),
            eng.camera_width / 2,
            tol,
        )
    p = st.pos[envs]
    d = np.linalg.norm(p - pt[:, None, :], axis=-1)
    hit = _on_screen(eng, player, envs) & (d <= st.radius[envs] + tol)
    d = np.where(hit, d, np.inf)
    best = np.argmin(d, axis=1)
    return np.where(hit.any(axis=1), best, -1)


# Unit commands: order given, argument kind (1 screen, 2 minimap, 3 none), and whether clicking
# an enemy on the screen turns the command into "attack that unit".
_CMD_ORDER = np.full(features.NUM_FUNCTIONS, -1, np.int8)
_CMD_KIND = np.zeros(features.NUM_FUNCTIONS, np.int8)
_CMD_ON_UNIT = np.zeros(features.NUM_FUNCTIONS, bool)
for _name, _order_code, _kind, _on_unit in (
    ("Attack_screen", Order.ATTACK_MOVE, 1, True),
    ("Attack_minimap", Order.ATTACK_MOVE, 2, False),
    ("Move_screen", Order.MOVE, 1, False),
    ("Move_minimap", Order.MOVE, 2, False),
    ("Smart_screen", Order.MOVE, 1, True),
    ("Smart_minimap", Order.MOVE, 2, False),
    ("Patrol_screen", Order.PATROL, 1, False),
    ("Patrol_minimap", Order.PATROL, 2, False),
    ("HoldPosition_quick", Order.HOLD, 3, False),
    ("Stop_quick", Order.IDLE, 3, False),
):
    _CMD_ORDER[_F[_name]] = int(_order_code)
    _CMD_KIND[_F[_name]] = _kind
    _CMD_ON_UNIT[_F[_name]] = _on_unit


def _command_targets(
    eng: SimEngine,
    p: int,
    envs: np.ndarray,
    fn: np.ndarray,
    a: np.ndarray,
    kind: np.ndarray,
    order: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """World points (clamped) and clicked enemy units of commands; ``order`` updated in place."""
    st = eng.state
    pt = np.zeros((envs.size, 2), np.float32)
    scr = kind == 1
    if scr.any():
        pt[scr] = _screen_to_world(eng, p, envs[scr], a[scr, _A["screen"]])
    mm = kind == 2
    if mm.any():
        pt[mm] = _minimap_to_world(eng, a[mm, _A["minimap"]])
    tgt = np.full(envs.size, -1, np.int32)
    on_unit = _CMD_ON_UNIT[fn]
    if on_unit.any():
        sub = np.flatnonzero(on_unit)
        t = _unit_at(eng, p, envs[sub], pt[sub])
        ok = t >= 0
        own_t = st.owner[envs[sub], np.maximum(t, 0)]
        enemy = ok & (own_t != p + 1) & (own_t != NEUTRAL)
        order[sub[enemy]] = int(Order.ATTACK_UNIT)
        tgt[sub[enemy]] = t[enemy]
    return eng.clamp_to_playable(pt), tgt


def _commands(eng: SimEngine, p: int, envs: np.ndarray, fn: np.ndarray, a: np.ndarray) -> None:
    """All unit commands of one player at once (any mix of command functions over games).

    The numpy reference of the commands in `actions_jit.apply_kernel`.
    """
    st = eng.state
    kind = _CMD_KIND[fn]
    order = _CMD_ORDER[fn].copy()
    pt, tgt = _command_targets(eng, p, envs, fn, a, kind, order)
    who = st.selected[p, envs] & st.alive[envs] & (st.owner[envs] == p + 1)
    who &= units.TABLE.functions[st.type_idx[envs], fn[:, None]]
    ee, uu = np.nonzero(who)
    if ee.size == 0:
        return
    e = envs[ee]
    # Shift-queued commands to busy units wait in the unit's queue slot; the rest act now.
    queued = (a[ee, _A["queued"]] == 1) & (st.order[e, uu] != _IDLE)
    if queued.any():
        qe, qu, qi = e[queued], uu[queued], ee[queued]
        st.queued_order[qe, qu] = order[qi]
        st.queued_unit[qe, qu] = tgt[qi]
        st.queued_pos[qe, qu] = np.where((kind[qi] != 3)[:, None], pt[qi], st.pos[qe, qu])
        now = ~queued
        e, uu, ee = e[now], uu[now], ee[now]
    st.order[e, uu] = order[ee]
    st.target_unit[e, uu] = tgt[ee]
    st.queued_order[e, uu] = -1
    has_pt = kind[ee] != 3
    st.target_pos[e[has_pt], uu[has_pt]] = pt[ee[has_pt]]
    st.origin_pos[e[has_pt], uu[has_pt]] = st.pos[e[has_pt], uu[has_pt]]


# What `actions_jit.apply_kernel` does with each function id (PYTHON: `_apply_rest`).
_APPLY_CODE = np.full(features.NUM_FUNCTIONS, actions_jit.PYTHON, np.int8)
_APPLY_CODE[_CMD_ORDER >= 0] = actions_jit.COMMAND
for _name, _code in (
    ("no_op", actions_jit.NO_OP),
    ("select_point", actions_jit.SELECT_POINT),
    ("select_rect", actions_jit.SELECT_RECT),
    ("select_army", actions_jit.SELECT_ARMY),
    ("select_unit", actions_jit.SELECT_UNIT),
    ("select_control_group", actions_jit.CONTROL_GROUP),
    ("move_camera", actions_jit.MOVE_CAMERA),
):
    _APPLY_CODE[_F[_name]] = _code
_APPLY_COLS = np.array([_A[name] for name in actions_jit.ARG_COLUMNS], np.int64)
# The functions whose kernel branch reads the player's visible units (a unit under a screen
# point or in a rectangle); `apply_actions` computes them only when some game calls one.
_NEEDS_VISIBLE = (
    (_APPLY_CODE == actions_jit.SELECT_POINT)
    | (_APPLY_CODE == actions_jit.SELECT_RECT)
    | ((_APPLY_CODE == actions_jit.COMMAND) & _CMD_ON_UNIT)
)
_NO_VISIBLE: dict[tuple[int, int], np.ndarray] = {}


def _visible_if_needed(eng: SimEngine, p: int, fn: np.ndarray) -> np.ndarray:
    """``eng.visible_units(p)`` where some action in ``fn`` reads it, else an all-False array.

    The kernel reads the visible units only in the branches of `_NEEDS_VISIBLE`, so with none of
    those functions the result is the same; a built-in bot that only trains, builds or no-ops
    does not pay for its visibility pass.
    """
    if fn.size and (fn.min() < 0 or fn.max() >= _NEEDS_VISIBLE.size):
        return eng.visible_units(p)  # (the kernel refuses the id)
    if _NEEDS_VISIBLE[fn].any():
        return eng.visible_units(p)
    shape = eng.state.alive.shape
    empty = _NO_VISIBLE.get(shape)
    if empty is None:  # (writeable: a read-only array would be another numba signature)
        empty = _NO_VISIBLE[shape] = np.zeros(shape, bool)
    return empty


def apply_actions(eng: SimEngine, player: int, fn: np.ndarray, args: np.ndarray) -> None:
    """Apply validated actions (``fn [N]``, ``args [N, 13]``) of one player to every game."""
    st = eng.state
    p = player
    if dynamics.jit_enabled():  # every game's action in one compiled pass (tested equal)
        s = eng.screen_size
        fn = np.ascontiguousarray(fn, np.int64)
        args = np.ascontiguousarray(args, np.int64)
        if fn.shape != (st.num_envs,) or args.shape != (st.num_envs, features.NUM_ARG_TYPES):
            raise ValueError(
                f"apply_actions: expected fn [{st.num_envs}] and args "
                f"[{st.num_envs}, {features.NUM_ARG_TYPES}], got {fn.shape} and {args.shape}"
            )
        moved = np.zeros(fn.size, bool)
        rest = actions_jit.apply_kernel(
            fn, args, _APPLY_CODE, eng.scenario_functions, _APPLY_COLS, _CMD_KIND, _CMD_ORDER,
            _CMD_ON_UNIT, p + 1, NEUTRAL, int(Order.ATTACK_UNIT), _NO_OP, s,
            eng.camera_width / 2, eng.camera_width / s, 0.5 * eng.camera_width / s,
            eng.minimap_size, max(eng.scenario.map_size) / eng.minimap_size,
            np.asarray(eng.scenario.playable, np.float32),
            np.asarray(eng.camera_bounds(), np.float32), moved, st.last_actions[p], st.selected[p],
            st.control_groups[p], st.alive, st.owner, st.type_idx, units.TABLE.army,
            units.TABLE.functions, st.pos, st.radius, _visible_if_needed(eng, p, fn),
            st.camera[p], st.order, st.target_unit, st.target_pos, st.origin_pos,
            st.queued_order, st.queued_unit, st.queued_pos,
        )  # fmt: skip
        if moved.any():
            eng.camera_moved(p, np.flatnonzero(moved))
        if rest:  # the scenario's functions
            code = np.where(eng.scenario_functions[fn], actions_jit.PYTHON, _APPLY_CODE[fn])
            _apply_rest(eng, p, fn, args, code == actions_jit.PYTHON)
        return
    st.last_actions[p] = np.where(fn == _NO_OP, -1, fn)
    # Unit commands in one batch, except those the scenario implements itself.
    is_cmd = (_CMD_ORDER[fn] >= 0) & ~eng.scenario_functions[fn]
    if is_cmd.any():
        _commands(eng, p, np.flatnonzero(is_cmd), fn[is_cmd], args[is_cmd])
    rest = ~is_cmd & (fn != _NO_OP)
    if rest.any():
        _apply_rest(eng, p, fn, args, rest)


def _apply_rest(eng: SimEngine, p: int, fn: np.ndarray, args: np.ndarray, rest: np.ndarray) -> None:
    """The actions of the games in ``rest`` (bool ``[N]``), grouped by function id."""
    st = eng.state
    custom = getattr(eng.scenario, "action_functions", ())
    for fid in np.unique(fn[rest]):
        fid = int(fid)
        if fid == _NO_OP:
            continue
        envs = np.flatnonzero((fn == fid) & rest)
        a = args[envs]
        name = features.FUNCTIONS[fid].name
        if fid in custom:  # the scenario implements it (economy functions)
            eng.scenario.apply_action(eng, p, fid, envs, a)
        elif name == "move_camera":
            eng.set_camera(p, envs, _minimap_to_world(eng, a[:, _A["minimap"]]))
        elif name == "select_point":
            _select_point(eng, p, envs, a[:, _A["select_point_act"]], a[:, _A["screen"]])
        elif name == "select_rect":
            _select_rect(
                eng, p, envs, a[:, _A["select_add"]], a[:, _A["screen"]], a[:, _A["screen2"]]
            )
        elif name == "select_army":
            own = st.alive[envs] & (st.owner[envs] == p + 1)
            army = own & units.TABLE.army[st.type_idx[envs]]
            add = a[:, _A["select_add"]] == 1
            st.selected[p, envs] = army | (add[:, None] & st.selected[p, envs])
        elif name == "select_unit":
            _select_unit(eng, p, envs, a[:, _A["select_unit_act"]], a[:, _A["select_unit_id"]])
        elif name == "select_control_group":
            _control_group(
                eng, p, envs, a[:, _A["control_group_act"]], a[:, _A["control_group_id"]]
            )
        else:  # pragma: no cover - availability makes this unreachable
            logging.warning("simulator: function %s is not implemented; ignored", name)


def _select_point(
    eng: SimEngine, p: int, envs: np.ndarray, act: np.ndarray, flat: np.ndarray
) -> None:
    st = eng.state
    pt = _screen_to_world(eng, p, envs, flat)
    u = _unit_at(eng, p, envs, pt)
    hit = u >= 0
    us = np.maximum(u, 0)
    sel = st.selected[p, envs]
    own = st.alive[envs] & (st.owner[envs] == p + 1)
    u_own = hit & own[np.arange(envs.size), us]
    onehot = np.zeros_like(sel)
    onehot[np.arange(envs.size)[hit], u[hit]] = True
    # select: replace (empty ground clears)
    m = act == 0
    sel[m] = onehot[m]
    # toggle an own unit (a selection holding a foreign unit is replaced)
    m = (act == 1) & u_own
    foreign = (sel & ~own).any(axis=1)
    sel[m & foreign] = False
    sel[m] ^= onehot[m]
    # all of the type on screen
    m = (act >= 2) & u_own
    if m.any():
        same = st.type_idx[envs] == st.type_idx[envs, us][:, None]
        all_t = same & own & _on_screen(eng, p, envs)
        add = (act == 3)[:, None] & sel & own
        sel[m] = (all_t | add)[m]
    st.selected[p, envs] = sel


def _select_rect(
    eng: SimEngine, p: int, envs: np.ndarray, add: np.ndarray, a: np.ndarray, b: np.ndarray
) -> None:
    st = eng.state
    pa = _screen_to_world(eng, p, envs, a)
    pb = _screen_to_world(eng, p, envs, b)
    half = 0.5 * eng.camera_width / eng.screen_size
    lo = np.minimum(pa, pb) - half
    hi = np.maximum(pa, pb) + half
    pos = st.pos[envs]
    r = st.radius[envs]
    inside = (
        (pos[..., 0] + r >= lo[:, 0:1])
        & (pos[..., 0] - r <= hi[:, 0:1])
        & (pos[..., 1] + r >= lo[:, 1:2])
        & (pos[..., 1] - r <= hi[:, 1:2])
    )
    own = st.alive[envs] & (st.owner[envs] == p + 1) & _on_screen(eng, p, envs)
    got = inside & own
    keep = (add == 1)[:, None] & st.selected[p, envs] & st.alive[envs]
    st.selected[p, envs] = got | keep


def _select_unit(
    eng: SimEngine, p: int, envs: np.ndarray, act: np.ndarray, idx: np.ndarray
) -> None:
    st = eng.state
    sel = st.selected[p, envs] & st.alive[envs]
    rank = np.cumsum(sel, axis=1) - 1  # position in the multi-select panel (slot order)
    pick = sel & (rank == idx[:, None])
    ok = pick.any(axis=1)
    slot = np.argmax(pick, axis=1)
    same = st.type_idx[envs] == st.type_idx[envs, slot][:, None]
    new = sel.copy()
    new[ok & (act == 0)] = pick[ok & (act == 0)]
    m = ok & (act == 1)
    new[m] = (sel & ~pick)[m]
    m = ok & (act == 2)
    new[m] = (sel & same)[m]
    m = ok & (act == 3)
    new[m] = (sel & ~same)[m]
    st.selected[p, envs] = new


def _control_group(
    eng: SimEngine, p: int, envs: np.ndarray, act: np.ndarray, gid: np.ndarray
) -> None:
    st = eng.state
    rows = np.arange(envs.size)
    groups = st.control_groups[p, envs]  # [n, 10, U] (copy)
    alive = st.alive[envs]
    group = groups[rows, gid] & alive
    sel = st.selected[p, envs] & alive & (st.owner[envs] == p + 1)
    new_sel = st.selected[p, envs].copy()
    recall = (act == 0) & group.any(axis=1)
    new_sel[recall] = group[recall]
    steal = (act == 3) | (act == 4)
    if steal.any():
        groups[steal] &= ~sel[steal][:, None, :]
    setm = (act == 1) | (act == 3)
    appm = (act == 2) | (act == 4)
    groups[rows[setm], gid[setm]] = sel[setm]
    groups[rows[appm], gid[appm]] |= sel[appm]
    st.control_groups[p, envs] = groups
    st.selected[p, envs] = new_sel
