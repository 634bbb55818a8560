"""The numba command application (`actions_jit`) gives the numpy reference's state bit for bit.

`test_dynamics_jit` already plays every scenario with uniformly random available actions on both
paths; here the actions are biased towards unit commands (select the army, then command it, with
random shift-queueing), the multi-select panel and control groups, and half the screen points
are aimed at units, so that many units receive immediate, queued and attack-unit orders each
step; the state is compared after every step.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pysc2_evolved.lib import units as sc2_units

from benchmarks.sim_throughput import random_actions
from sc2agents.envs import features
from sc2agents.envs.sim import actions, actions_jit, dynamics, scenarios
from sc2agents.envs.sim.vector_env import SimVectorEnv
from tests.envs.sim.helpers import arena, place

needs_numba = pytest.mark.skipif(not actions_jit.AVAILABLE, reason="numba is not installed")

_COMMANDS = np.flatnonzero(actions._CMD_ORDER >= 0)
_SELECTS = [
    features.FUNCTION_IDS[n] for n in ("select_army", "select_unit", "select_control_group")
]
_ARG_HI = np.array(
    [
        64 * 64 if n in ("screen", "screen2", "minimap") else features.ARG_TYPE_SIZES[n]
        for n in features.ARG_TYPES
    ]
)


def _command_actions(rng: np.random.Generator, avail: np.ndarray) -> dict[str, np.ndarray]:
    """Random available actions, preferring commands (then select_army) where available."""
    act = random_actions(rng, avail)
    weights = avail.astype(np.float64)
    weights[:, _COMMANDS] *= 20.0
    weights[:, _SELECTS] *= 5.0
    score = rng.random(avail.shape) ** (1.0 / np.maximum(weights, 1e-9)) * avail
    fn = np.argmax(score, axis=1)
    keep = rng.random(fn.size) < 0.2  # some uniform picks (select_point, camera, groups, ...)
    act["function"] = np.where(keep, act["function"], fn)
    hi = np.array(
        [
            64 * 64 if n in ("screen", "screen2", "minimap") else features.ARG_TYPE_SIZES[n]
            for n in features.ARG_TYPES
        ]
    )
    args = (rng.random((fn.size, hi.size)) * hi).astype(np.int64)
    args[~features.FUNCTION_ARG_MASK[act["function"]]] = -1
    act["args"] = args
    return act


def _aim_at_units(vec: SimVectorEnv, rng: np.random.Generator, act: dict) -> None:
    """Point the screen argument of half the games at a random unit (centre or disc edge)."""
    eng = vec.engine
    st = eng.state
    scale = eng.camera_width / eng.screen_size
    screen = features.ARG_TYPES.index("screen")
    for e in range(st.num_envs):
        slots = np.flatnonzero(st.alive[e])
        if slots.size == 0 or rng.random() < 0.5 or act["args"][e, screen] < 0:
            continue
        u = rng.choice(slots)
        corner = st.camera[0, e] - eng.camera_width / 2
        # Around the disc's edge (the half-pixel click tolerance) or at the centre.
        ang = rng.uniform(0, 2 * np.pi)
        reach = rng.choice([0.0, st.radius[e, u] + rng.uniform(-1, 1) * scale])
        aim = st.pos[e, u] + reach * np.array([np.cos(ang), np.sin(ang)])
        x, y = np.floor((aim - corner) / scale).astype(int)
        if 0 <= x < eng.screen_size and 0 <= y < eng.screen_size:
            act["args"][e, screen] = y * eng.screen_size + x


def _state(vec: SimVectorEnv) -> dict[str, np.ndarray]:
    st = vec.engine.state
    return {
        f.name: getattr(st, f.name)
        for f in dataclasses.fields(st)
        if isinstance(getattr(st, f.name), np.ndarray)
    }


def _play_both(map_name: str, steps: int, games: int = 6) -> int:
    """Steps a numpy-path and a numba-path env in lockstep, comparing the state every step.

    Returns the number of units that received an attack-on-unit order (immediate or queued).
    """
    envs = {}
    obs = {}
    for jit in (False, True):
        envs[jit] = SimVectorEnv(
            games, map_name, screen_size=64, minimap_size=64, step_mul=8, seed=5
        )
        obs[jit], _ = envs[jit].reset(seed=5)
    rng = np.random.default_rng(5)
    on_unit = 0
    for t in range(steps):
        act = _command_actions(rng, obs[False]["available_actions"])
        _aim_at_units(envs[False], rng, act)
        for jit in (False, True):
            dynamics.set_jit(jit)
            obs[jit], *_ = envs[jit].step({k: v.copy() for k, v in act.items()})
        ref, got = _state(envs[False]), _state(envs[True])
        diff = [k for k in ref if not np.array_equal(ref[k], got[k])]
        diff += [f"obs[{k}]" for k in obs[False] if not np.array_equal(obs[False][k], obs[True][k])]
        assert not diff, f"{map_name} step {t}: numba and numpy command paths differ in {diff}"
        st = envs[True].engine.state
        on_unit += int(((st.target_unit >= 0) | (st.queued_unit >= 0)).sum())
    for vec in envs.values():
        vec.close()
    return on_unit


@needs_numba
@pytest.mark.parametrize("map_name", sorted(scenarios.SCENARIOS))
def test_commands_kernel_matches_numpy(map_name, path):
    _play_both(map_name, 50)


@needs_numba
def test_commands_are_given_in_the_test(path):
    assert _play_both("DefeatRoaches", 20) > 0  # units were ordered to attack a unit
    # The comparison above is meaningful only if commands reach units: check orders change.
    dynamics.set_jit(True)
    vec = SimVectorEnv(4, "DefeatRoaches", screen_size=64, minimap_size=64, step_mul=8, seed=1)
    rng = np.random.default_rng(1)
    obs, _ = vec.reset(seed=1)
    queued = ordered = 0
    for _ in range(30):
        obs, *_ = vec.step(_command_actions(rng, obs["available_actions"]))
        st = vec.engine.state
        own = st.alive & (st.owner == 1)
        queued += int((own & (st.queued_order >= 0)).sum())
        ordered += int((own & (st.order != 0)).sum())
    vec.close()
    assert ordered > 0
    assert queued > 0


@needs_numba
@pytest.mark.parametrize("map_name", ["DefeatRoaches", "CollectMineralsAndGas"])
def test_select_and_available_kernels_match_numpy_on_random_states(map_name, path):
    # Random selections, groups, owners and deaths (also selections holding dead or foreign
    # units), then every selection function with random arguments on both paths.
    rng = np.random.default_rng(11)
    ids = np.array(_SELECTS)
    hi = {
        n: features.ARG_TYPE_SIZES[n]
        for n in features.ARG_TYPES
        if n not in ("screen", "screen2", "minimap")
    }
    vecs = [SimVectorEnv(16, map_name, screen_size=64, minimap_size=64, seed=2) for _ in range(2)]
    for vec in vecs:
        vec.reset(seed=2)
    seen_idle: set[bool] = set()
    for _ in range(20):
        st0 = vecs[0].engine.state
        draws = {
            "selected": rng.random(st0.selected.shape) < 0.4,
            "control_groups": rng.random(st0.control_groups.shape) < 0.3,
            "alive": rng.random(st0.alive.shape) < 0.8,
            "owner": rng.choice(np.array([1, 2, 16], np.int8), st0.owner.shape),
            "order": (rng.random(st0.order.shape) < 0.15 * rng.random((st0.num_envs, 1))).astype(
                np.int8
            )
            ^ 1,  # busy (1) except some slots, fewer in some games: some without an idle worker
        }
        fn = rng.choice(ids, st0.num_envs)
        args = np.full((fn.size, features.NUM_ARG_TYPES), -1, np.int64)
        for n, size in hi.items():
            args[:, features.ARG_TYPES.index(n)] = rng.integers(0, size, fn.size)
        for jit, vec in zip((False, True), vecs, strict=True):
            st = vec.engine.state
            for k, v in draws.items():
                getattr(st, k)[...] = v
            dynamics.set_jit(jit)
            actions.apply_actions(vec.engine, 0, fn, args)
        ref, got = _state(vecs[0]), _state(vecs[1])
        diff = [k for k in ref if not np.array_equal(ref[k], got[k])]
        assert not diff, f"numba and numpy selection paths differ in {diff}"
        masks = []
        for jit, vec in zip((False, True), vecs, strict=True):
            dynamics.set_jit(jit)
            masks.append(actions.available_mask(vec.engine, 0))
            # Without the scenario's hook (the economy recomputes select_idle_worker itself).
            vec.engine.scenario.available_hook = None
            masks.append(actions.available_mask(vec.engine, 0))
            del vec.engine.scenario.available_hook
        np.testing.assert_array_equal(masks[0], masks[2])
        np.testing.assert_array_equal(masks[1], masks[3])
        idle = masks[3][:, features.FUNCTION_IDS["select_idle_worker"]]
        if map_name == "CollectMineralsAndGas":
            seen_idle |= {bool(v) for v in idle}
        else:
            assert not idle.any()  # no workers
    if map_name == "CollectMineralsAndGas":
        assert seen_idle == {True, False}
    for vec in vecs:
        vec.close()


@needs_numba
def test_unit_at_ties_pick_the_first_slot_on_both_paths(path):
    eng = arena()
    cam = eng.state.camera[0, 0]
    first = place(eng, int(sc2_units.Terran.Marine), 1, tuple(cam))
    place(eng, int(sc2_units.Terran.Marine), 1, tuple(cam))  # same point: equal distances
    pts = np.array([cam, cam + 0.3, cam + 5.0], np.float32)
    envs = np.zeros(3, np.int64)
    got = {}
    for jit in (False, True):
        dynamics.set_jit(jit)
        got[jit] = actions._unit_at(eng, 0, envs, pts)
    np.testing.assert_array_equal(got[False], got[True])
    assert got[True][0] == first
    assert got[True][2] == -1


@needs_numba
@pytest.mark.parametrize("map_name", ["DefeatRoaches", "CollectMineralsAndGas", "Simple64"])
def test_clicks_and_commands_match_numpy_on_random_states(map_name, path):
    # select_point (every act), select_rect (add or not) and the commands, on random selections,
    # owners, deaths and orders, with half the screen points aimed at units (centre or disc edge).
    rng = np.random.default_rng(12)
    ids = np.array(
        [features.FUNCTION_IDS[n] for n in ("select_point", "select_rect", "move_camera")]
        + list(_COMMANDS)
    )
    vecs = [SimVectorEnv(16, map_name, screen_size=64, minimap_size=64, seed=2) for _ in range(2)]
    for vec in vecs:
        vec.reset(seed=2)
    changed = {int(f): 0 for f in ids[:2]}
    moves = 0
    real = vecs[0].engine.state.alive.copy()  # slots holding units (the others sit at 0, 0)
    for _ in range(40):
        st0 = vecs[0].engine.state
        owner = rng.choice(np.array([1, 1, 1, 2, 16], np.int8), st0.owner.shape)
        alive = real & (rng.random(st0.alive.shape) < 0.85)
        selected = rng.random(st0.selected.shape) < 0.4
        # Half the games select own live units only (a toggle keeps such a selection).
        selected[:, ::2] &= (alive & (owner == 1))[None, ::2]
        draws = {
            "selected": selected,
            "alive": alive,
            "owner": owner,
            "order": rng.integers(0, 3, st0.order.shape).astype(np.int8),
        }
        fn = np.where(rng.random(st0.num_envs) < 0.7, ids[rng.integers(0, 3, st0.num_envs)], 0)
        fn = np.where(fn == 0, rng.choice(ids[3:], st0.num_envs), fn)  # 30% commands
        args = (rng.random((fn.size, features.NUM_ARG_TYPES)) * _ARG_HI).astype(np.int64)
        args[~features.FUNCTION_ARG_MASK[fn]] = -1
        before = None
        camera = st0.camera.copy()
        aim_seed = int(rng.integers(1 << 30))
        for jit, vec in zip((False, True), vecs, strict=True):
            st = vec.engine.state
            for k, v in draws.items():
                getattr(st, k)[...] = v
            vec.engine._invalidate()
            act = {"function": fn, "args": args.copy()}
            _aim_at_units(vec, np.random.default_rng(aim_seed), act)
            before = st.selected[0].copy()
            dynamics.set_jit(jit)
            actions.apply_actions(vec.engine, 0, fn, act["args"])
        ref, got = _state(vecs[0]), _state(vecs[1])
        diff = [k for k in ref if not np.array_equal(ref[k], got[k])]
        assert not diff, f"numba and numpy click paths differ in {diff}"
        for f in changed:
            rows = fn == f
            changed[f] += int((vecs[1].engine.state.selected[0][rows] != before[rows]).any(1).sum())
        moves += int((vecs[1].engine.state.camera != camera).any(-1).sum())
        # The renderer was told: both renders follow the camera on both paths.
        obs = [(v.engine.observe_storage(), v.engine.observe()) for v in vecs]
        for key in ("screen", "minimap"):
            np.testing.assert_array_equal(obs[0][0][key], obs[1][0][key])
            np.testing.assert_array_equal(obs[0][1][f"feature_{key}"], obs[1][1][f"feature_{key}"])
    assert all(v > 0 for v in changed.values()), changed  # the clicks selected something
    if map_name == "Simple64":  # (the mini-games are one screen: the camera cannot move)
        assert moves > 0
    for vec in vecs:
        vec.close()


@needs_numba
def test_check_kernel_counts_what_the_numpy_checks_reject(path):
    # Unknown ids, unavailable functions and out-of-range arguments, some games skipped: the
    # kernel's count and copies match the numpy checks of `validate` and `SimVectorEnv._encode`.
    rng = np.random.default_rng(21)
    n = 64
    hi = actions.arg_limits(64, 48)
    for trial in range(30):
        fn = rng.integers(-3, features.NUM_FUNCTIONS + 3, n)
        fn[rng.random(n) < 0.5] = features.FUNCTION_IDS["select_rect"]
        args = (rng.random((n, hi.size)) * hi * 1.02).astype(np.int64) - (trial % 3 == 0)
        avail = rng.random((n, features.NUM_FUNCTIONS)) < 0.9
        skip = rng.random(n) < 0.2 if trial % 2 else np.zeros(0, bool)
        out_fn = np.empty(n, np.int64)
        out_args = np.empty((n, hi.size), np.int64)
        bad = actions_jit.check_kernel(
            fn, args, avail, features.FUNCTION_ARG_MASK, hi, skip, 0, out_fn, out_args
        )
        keep = np.ones(n, bool) if skip.size == 0 else ~skip
        safe = np.clip(fn, 0, features.NUM_FUNCTIONS - 1)
        bad_id = (fn < 0) | (fn >= features.NUM_FUNCTIONS)
        unavailable = ~avail[np.arange(n), safe]
        used = features.FUNCTION_ARG_MASK[safe]
        bad_arg = (used & ((args < 0) | (args >= hi))).any(axis=1)
        assert bad == int(((bad_id | unavailable | bad_arg) & keep).sum())
        np.testing.assert_array_equal(out_fn, np.where(keep, fn, 0))
        np.testing.assert_array_equal(out_args, np.where(keep[:, None], args, -1))
        assert 0 < bad < n  # both kinds of games in every trial
        messages = []
        for jit in (False, True):  # validate: the same message on both paths
            dynamics.set_jit(jit)
            with pytest.raises(ValueError) as err:
                actions.validate(fn, args, avail, 64, 48, "raise")
            messages.append(str(err.value))
        assert messages[0] == messages[1]
    ok = np.zeros(n, np.int64)  # no_op everywhere: valid, returned as int64 on both paths
    avail[:, 0] = True
    for jit in (False, True):
        dynamics.set_jit(jit)
        got = actions.validate(
            ok.astype(np.int32), np.full((n, hi.size), -1), avail, 64, 48, "raise"
        )
        assert got.dtype == np.int64 and not got.any()


@needs_numba
def test_apply_kernel_refuses_indices_outside_its_arrays(path):
    # apply_actions takes validated actions; unvalidated ones must not write outside the arrays.
    dynamics.set_jit(True)
    eng = arena(num_envs=2)
    args = np.full((2, features.NUM_ARG_TYPES), -1, np.int64)
    with pytest.raises(ValueError, match="function id"):
        actions.apply_actions(eng, 0, np.array([0, features.NUM_FUNCTIONS]), args)
    group = features.FUNCTION_IDS["select_control_group"]
    args[:, features.ARG_TYPES.index("control_group_act")] = 1
    args[:, features.ARG_TYPES.index("control_group_id")] = 10
    with pytest.raises(ValueError, match="control group"):
        actions.apply_actions(eng, 0, np.array([group, group]), args)
    with pytest.raises(ValueError, match="expected fn"):
        actions.apply_actions(eng, 0, np.array([0]), args)
    fn_out = np.empty(2, np.int64)
    with pytest.raises(ValueError, match="do not match"):
        actions_jit.check_kernel(
            np.zeros(3, np.int64), args, np.ones((2, 573), bool), features.FUNCTION_ARG_MASK,
            actions.arg_limits(64, 64), np.zeros(0, bool), 0, fn_out, args.copy(),
        )  # fmt: skip


@needs_numba
def test_visible_units_are_computed_only_for_actions_that_read_them(path, monkeypatch):
    # The kernel reads the visible units for clicks on units (select_point, select_rect and
    # commands that can target a unit); a step of other actions (a built-in bot training or
    # building, no_op) leaves them uncomputed, with the same result.
    dynamics.set_jit(True)
    eng = arena(num_envs=2)
    place(eng, int(sc2_units.Terran.Marine), 1, (20.0, 20.0))
    calls = []
    real = eng.visible_units
    monkeypatch.setattr(eng, "visible_units", lambda p: calls.append(p) or real(p))
    args = np.zeros((2, features.NUM_ARG_TYPES), np.int64)
    ids = features.FUNCTION_IDS
    for name, reads in (
        ("no_op", False),
        ("select_army", False),
        ("Stop_quick", False),
        ("select_point", True),
        ("select_rect", True),
        ("Attack_screen", True),
        ("Move_screen", False),
    ):
        calls.clear()
        fn = np.array([ids["no_op"], ids[name]])
        actions.apply_actions(eng, 0, fn, args)
        assert bool(calls) == reads, name
        assert actions._NEEDS_VISIBLE[ids[name]] == reads, name
    calls.clear()
    with pytest.raises(ValueError, match="function id"):  # (the kernel still refuses bad ids)
        actions.apply_actions(eng, 0, np.array([-1, 0]), args)
