"""PySC2 FunctionCall semantics: selection, commands, availability, camera, bad actions."""

from __future__ import annotations

import numpy as np
import pytest
from absl import logging
from pysc2_evolved.lib import actions as sc2_actions
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs import features
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.state import Order
from tests.envs.sim.helpers import F, arena, noop, place, screen_px

MARINE = int(sc2_units.Terran.Marine)
ROACH = int(sc2_units.Zerg.Roach)
ALWAYS = {
    F.no_op.id,
    F.move_camera.id,
    F.select_point.id,
    F.select_rect.id,
    F.select_control_group.id,
}
ARMY = {
    F.Attack_screen.id,
    F.Attack_minimap.id,
    F.HoldPosition_quick.id,
    F.Move_screen.id,
    F.Move_minimap.id,
    F.Patrol_screen.id,
    F.Patrol_minimap.id,
    F.Smart_screen.id,
    F.Smart_minimap.id,
    F.Stop_quick.id,
}


def _avail(eng, env=0) -> set[int]:
    return set(np.flatnonzero(eng.available_mask()[env]).tolist())


def test_available_actions_follow_the_selection_like_pysc2():
    eng = SimEngine("CollectMineralShards", 1, seed=0)
    eng.reset()
    assert _avail(eng) == ALWAYS | {F.select_army.id}  # marines exist, nothing selected
    eng.step([[F.select_army("select")]])
    assert _avail(eng) == ALWAYS | ARMY | {F.select_army.id, F.select_unit.id}  # 2 selected
    eng.step([[F.select_unit("select", 0)]])
    assert _avail(eng) == ALWAYS | ARMY | {F.select_army.id}  # one marine: no select_unit
    assert eng.state.selected[0, 0].sum() == 1


def test_select_point_modes():
    eng = arena()
    a = place(eng, MARINE, 1, (28.0, 30.0))
    b = place(eng, MARINE, 1, (34.0, 34.0))
    r = place(eng, ROACH, 2, (38.0, 26.0))
    sel = eng.state.selected[0, 0]
    eng.step([[F.select_point("select", screen_px(eng, (28.0, 30.0)))]])
    assert sel[[a, b, r]].tolist() == [True, False, False]
    eng.step([[F.select_point("toggle", screen_px(eng, (34.0, 34.0)))]])
    assert sel[[a, b]].tolist() == [True, True]
    eng.step([[F.select_point("toggle", screen_px(eng, (28.0, 30.0)))]])
    assert sel[[a, b]].tolist() == [False, True]
    eng.step([[F.select_point("select", screen_px(eng, (38.0, 26.0)))]])  # an enemy, alone
    assert sel[[a, b, r]].tolist() == [False, False, True]
    assert F.Move_screen.id not in _avail(eng)
    assert len(eng.observe_env(0)["single_select"]) == 1
    eng.step([[F.select_point("select_all_type", screen_px(eng, (28.0, 30.0)))]])
    assert sel[[a, b, r]].tolist() == [True, True, False]
    eng.step([[F.select_point("select", [2, 2])]])  # empty ground clears
    assert not sel.any()


def test_select_rect_and_control_groups():
    eng = arena()
    a = place(eng, MARINE, 1, (26.0, 26.0))
    b = place(eng, MARINE, 1, (28.0, 27.0))
    c = place(eng, MARINE, 1, (38.0, 38.0))
    sel = eng.state.selected[0, 0]
    eng.step([[F.select_rect("select", screen_px(eng, (25, 25)), screen_px(eng, (29, 28)))]])
    assert sel[[a, b, c]].tolist() == [True, True, False]
    eng.step([[F.select_control_group("set", 1)]])
    eng.step([[F.select_rect("add", screen_px(eng, (37, 37)), screen_px(eng, (39, 39)))]])
    assert sel[[a, b, c]].tolist() == [True, True, True]
    eng.step([[F.select_control_group("set", 2)]])
    eng.step([[F.select_point("select", screen_px(eng, (38.0, 38.0)))]])
    eng.step([[F.select_control_group("recall", 1)]])
    assert sel[[a, b, c]].tolist() == [True, True, False]
    eng.step([[F.select_point("select", screen_px(eng, (38.0, 38.0)))]])
    eng.step([[F.select_control_group("set_and_steal", 1)]])  # c leaves group 2 for group 1
    groups = eng.observe_env(0)["control_groups"]
    assert groups[1].tolist() == [MARINE, 1] and groups[2].tolist() == [MARINE, 2]
    eng.state.alive[0, a] = False  # the dead leave their groups (counts of live units)
    eng._invalidate()
    assert eng.observe_env(0)["control_groups"][2].tolist() == [MARINE, 1]


def test_move_attack_hold_stop_commands():
    eng = arena(step_mul=8)
    st = eng.state
    m = place(eng, MARINE, 1, (24.0, 32.0))
    r = place(eng, ROACH, 2, (40.0, 32.0))
    st.order[0, r] = Order.HOLD
    eng.step([[F.select_army("select")]])
    eng.step([[F.Move_screen("now", screen_px(eng, (30.0, 28.0)))]])
    assert st.order[0, m] == Order.MOVE
    noop(eng, 10)
    assert np.linalg.norm(st.pos[0, m] - (30.0, 28.0)) < 0.3
    eng.step([[F.Attack_screen("now", screen_px(eng, (40.0, 32.0)))]])  # on the roach
    assert st.order[0, m] == Order.ATTACK_UNIT and st.target_unit[0, m] == r
    eng.step([[F.Stop_quick("now")]])
    assert st.order[0, m] == Order.IDLE
    eng.step([[F.HoldPosition_quick("now")]])
    assert st.order[0, m] == Order.HOLD
    eng.step([[F.Attack_screen("now", screen_px(eng, (26.0, 36.0)))]])  # ground: attack-move
    assert st.order[0, m] == Order.ATTACK_MOVE
    assert np.allclose(st.target_pos[0, m], (26.0, 36.0), atol=24 / 64)
    eng.step([[F.Smart_screen("now", screen_px(eng, (40.0, 32.0)))]])  # right-click an enemy
    assert st.order[0, m] == Order.ATTACK_UNIT
    eng.step([[F.Move_minimap("now", [30, 33])]])  # minimap: 1 pixel per cell on 64x64
    assert np.allclose(st.target_pos[0, m], (30.5, 33.5))
    eng.step([[F.Patrol_screen("now", screen_px(eng, (30.0, 32.0)))]])
    assert st.order[0, m] == Order.PATROL


def test_camera_moves_only_where_the_map_is_larger_than_the_screen():
    eng = SimEngine("MoveToBeacon", 1, seed=0)
    eng.reset()
    before = eng.state.camera[0, 0].copy()
    eng.step([[F.move_camera([3, 60])]])
    assert np.array_equal(eng.state.camera[0, 0], before)
    eng = SimEngine("FindAndDefeatZerglings", 1, seed=0)
    eng.reset()
    eng.step([[F.move_camera([40, 30])]])
    assert np.allclose(eng.state.camera[0, 0], (40.5, 30.5))
    # Screen coordinates go through the camera.
    eng.step([[F.Move_screen("now", [32, 32])]])  # the marines are preselected
    tp = eng.state.target_pos[0, :3]
    assert np.allclose(tp, (40.5 + 0.5 * 24 / 64, 30.5 + 0.5 * 24 / 64), atol=1e-4)


def test_bad_actions_raise_like_pysc2():
    eng = SimEngine("MoveToBeacon", 2, seed=0)
    eng.reset()
    with pytest.raises(ValueError, match="Move_screen is currently not available"):
        eng.step([[F.Move_screen("now", [3, 3]), F.no_op()]])
    with pytest.raises(ValueError, match="out of range|outside"):
        eng.step([[F.select_point("select", [64, 3]), F.no_op()]])
    with pytest.raises(ValueError, match="Invalid function id"):
        eng.step_encoded(np.array([[999, 0]]), np.full((1, 2, 13), -1))
    with pytest.raises(ValueError, match="takes 1 arguments"):
        eng.step([[F.no_op(), sc2_actions.FunctionCall(F.select_army.id, [])]])
    with pytest.raises(ValueError, match="expected 2 calls"):
        eng.step([[F.no_op()]])
    args = np.full((1, 2, 13), -1)
    args[0, 0, features.ARG_TYPES.index("queued")] = 0
    args[0, 0, features.ARG_TYPES.index("screen")] = 64 * 64  # flattened point off the screen
    with pytest.raises(ValueError, match="out of range"):
        eng.step_encoded(np.array([[F.Move_screen.id, 0]]), args)


def test_bad_actions_dropped_with_a_warning(monkeypatch):
    eng = SimEngine("MoveToBeacon", 2, seed=0, action_error="warn")
    eng.reset()
    seen = []
    monkeypatch.setattr(logging, "warning", lambda msg, *a: seen.append(msg % a))
    loop = eng.state.game_loop.copy()
    eng.step([[F.Move_screen("now", [3, 3]), F.select_army("select")]])
    assert any("not available" in s for s in seen)
    assert (eng.state.game_loop == loop + 8).all()
    assert not eng.state.selected[0, 0].any() and eng.state.selected[0, 1].any()
    seen.clear()
    eng.step([[F.select_point("select", [99, 3]), F.no_op()]])
    assert seen


def test_shift_queued_command_starts_when_the_current_one_ends():
    eng = arena(step_mul=8)
    st = eng.state
    m = place(eng, MARINE, 1, (24.0, 32.0))
    eng.step([[F.select_army("select")]])
    eng.step([[F.Move_screen("now", screen_px(eng, (30.0, 32.0)))]])
    eng.step([[F.Move_screen("queued", screen_px(eng, (30.0, 38.0)))]])
    assert st.order[0, m] == Order.MOVE and st.queued_order[0, m] == Order.MOVE
    noop(eng, 8)  # first leg done (6 cells at 2.25 per 16 loops), second started
    assert st.pos[0, m, 0] == pytest.approx(30.0, abs=0.2)  # screen pixels are 0.375 cells
    assert st.queued_order[0, m] == -1 and st.target_pos[0, m, 1] == pytest.approx(38.0, abs=0.2)
    noop(eng, 10)
    assert np.linalg.norm(st.pos[0, m] - (30.0, 38.0)) < 0.3
    # An immediate command clears the queue; a queued one to an idle unit acts at once.
    eng.step([[F.Move_screen("queued", screen_px(eng, (26.0, 38.0)))]])
    assert st.order[0, m] == Order.MOVE and st.queued_order[0, m] == -1
    eng.step([[F.Move_screen("queued", screen_px(eng, (26.0, 30.0)))]])
    eng.step([[F.Stop_quick("now")]])
    assert st.order[0, m] == Order.IDLE and st.queued_order[0, m] == -1
