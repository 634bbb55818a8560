"""The numba paths (`dynamics.substep`, the storage render) give the numpy reference's bytes.

Every registered scenario is played with random available actions on both paths and the whole
state, the observations and the rewards are compared; a mixed battle in the test arena covers
every order, shields, splash and crowding. The mechanics tests of ``test_dynamics`` and the
storage-render tests of ``test_storage_render`` run on the default path (numba where installed);
they are collected here again on the other path.
"""

from __future__ import annotations

import copy
import dataclasses
import os

import numpy as np
import pytest
from pysc2_evolved.lib import units as sc2_units

from benchmarks.sim_throughput import random_actions
from sc2agents.envs.sim import dynamics, dynamics_jit, scenarios, units
from sc2agents.envs.sim.state import NEUTRAL, Order
from sc2agents.envs.sim.vector_env import SimVectorEnv
from tests.envs.sim import test_dynamics as _mechanics
from tests.envs.sim import test_storage_render as _render
from tests.envs.sim.helpers import arena, noop, place

needs_numba = pytest.mark.skipif(not dynamics_jit.AVAILABLE, reason="numba is not installed")


def _state_arrays(st) -> dict[str, np.ndarray]:
    return {
        f.name: getattr(st, f.name).copy()
        for f in dataclasses.fields(st)
        if isinstance(getattr(st, f.name), np.ndarray)
    }


def _play(map_name: str, jit: bool, steps: int, games: int = 8):
    dynamics.set_jit(jit)
    vec = SimVectorEnv(games, map_name, screen_size=64, minimap_size=64, step_mul=8, seed=3)
    rng = np.random.default_rng(3)
    obs, _ = vec.reset(seed=3)
    rewards = []
    for _ in range(steps):
        obs, rew, term, trunc, _ = vec.step(random_actions(rng, obs["available_actions"]))
        rewards.append(np.stack([rew, term, trunc]))
    out = _state_arrays(vec.engine.state), obs, np.array(rewards)
    vec.close()
    return out


def _assert_same(a, b) -> None:
    sa, oa, ra = a
    sb, ob, rb = b
    diff = [k for k in sa if not np.array_equal(sa[k], sb[k])]
    diff += [f"obs[{k}]" for k in oa if not np.array_equal(oa[k], ob[k])]
    assert not diff, f"numba and numpy paths differ in {diff}"
    np.testing.assert_array_equal(ra, rb)


@needs_numba
@pytest.mark.parametrize("map_name", sorted(scenarios.SCENARIOS))
def test_jit_matches_numpy_on_every_scenario(map_name, path):
    ref = _play(map_name, False, 60)
    jit = _play(map_name, True, 60)
    _assert_same(ref, jit)


def _battle(jit: bool, loops: int = 160):
    dynamics.set_jit(jit)
    eng = arena(num_envs=2, step_mul=4)
    own = {
        sc2_units.Terran.Marine: 1,
        sc2_units.Terran.Marauder: 1,
        sc2_units.Protoss.Zealot: 1,
        sc2_units.Protoss.Stalker: 1,
        sc2_units.Zerg.Zergling: 2,
        sc2_units.Zerg.Baneling: 2,
        sc2_units.Zerg.Roach: 2,
        sc2_units.Zerg.Hydralisk: 2,
    }
    rng = np.random.default_rng(7)
    slots = []
    for env in range(2):
        for i, (utype, owner) in enumerate(own.items()):
            base = (20.0 + i, 20.0) if owner == 1 else (20.0 + i, 25.0)
            xy = np.asarray(base) + rng.uniform(-1, 1, 2)
            slots.append((env, place(eng, int(utype), owner, xy, env=env)))
        # Two units on the same point (the fixed-direction push of coincident units).
        slots.append((env, place(eng, int(sc2_units.Terran.Marine), 1, (30.0, 30.0), env=env)))
        slots.append((env, place(eng, int(sc2_units.Terran.Marine), 1, (30.0, 30.0), env=env)))
    st = eng.state
    orders = [Order.IDLE, Order.MOVE, Order.ATTACK_MOVE, Order.HOLD, Order.PATROL]
    for n, (env, slot) in enumerate(slots):
        o = orders[n % len(orders)]
        st.order[env, slot] = int(o)
        st.origin_pos[env, slot] = st.pos[env, slot]
        st.target_pos[env, slot] = (24.0 + n % 5, 18.0 + n % 9)
        if n % 7 == 0:  # attack a unit of the other side; some with a queued move after it
            enemy = [s for e, s in slots if e == env and st.owner[env, s] != st.owner[env, slot]]
            st.order[env, slot] = int(Order.ATTACK_UNIT)
            st.target_unit[env, slot] = enemy[n % len(enemy)]
            st.queued_order[env, slot] = int(Order.MOVE)
            st.queued_pos[env, slot] = (22.0, 22.0)
    st.aggro[:] = st.alive
    noop(eng, loops // 4)
    return _state_arrays(st)


@needs_numba
def test_jit_matches_numpy_in_a_mixed_battle(path):
    ref = _battle(False)
    jit = _battle(True)
    assert ref["alive"].sum() < jit["alive"].size  # units fought and died
    diff = [k for k in ref if not np.array_equal(ref[k], jit[k])]
    assert not diff, f"numba and numpy paths differ in {diff}"


def test_set_jit_falls_back_without_numba(path, monkeypatch):
    # `path` before `monkeypatch`: numba is available again when `path` restores the default.
    monkeypatch.setattr(dynamics_jit, "AVAILABLE", False)
    dynamics.set_jit(True)
    assert not dynamics.jit_enabled()
    eng = arena()
    place(eng, int(sc2_units.Terran.Marine), 1, (20.0, 20.0))
    noop(eng, 3)  # the numpy path runs


def test_default_path_is_numba_where_installed():
    assert dynamics.jit_enabled() == (
        dynamics_jit.AVAILABLE and os.environ.get("SC2AGENTS_SIM_JIT", "1") != "0"
    )


# The mechanics tests of test_dynamics again, on the path that is not the default.
@pytest.fixture(autouse=True)
def _other_path(request):
    if not request.node.name.startswith("test_other_path_"):
        yield
        return
    old = dynamics.set_jit(not dynamics.jit_enabled())
    if dynamics.jit_enabled() == old:  # numba not installed: nothing else to run
        pytest.skip("only one path available")
    yield
    dynamics.set_jit(old)


for _mod, _prefix in ((_mechanics, "test_other_path_"), (_render, "test_other_path_render_")):
    for _name in dir(_mod):
        if _name.startswith("test_"):
            globals()[_prefix + _name[5:]] = getattr(_mod, _name)


@needs_numba
def test_jit_substep_matches_numpy_on_random_crowded_states(path):
    # Random states with every slot in play: unit types of every race, three owners plus
    # neutral, dead slots, every order, explicit targets (some dead or out of range), aggro, and
    # positions packed into a small area so that most pairs are within reach. One substep from
    # the same state on both paths: the targeting rows, moves and separation give the same bytes
    # (neutral units among the mobile slots are neither enemies nor killed, as in numpy).
    eng = arena(num_envs=6, step_mul=4)
    st0 = eng.state
    k = st0.alive.shape[1]
    rng = np.random.default_rng(11)
    shape = st0.alive.shape
    fired = died = 0
    for trial in range(6):
        st0.type_idx[...] = rng.integers(0, units.TABLE.value.size, shape)
        st0.owner[...] = rng.choice(np.array([1, 2, 3, NEUTRAL], np.int8), shape)
        st0.alive[...] = rng.random(shape) < 0.75
        st0.radius[...] = units.TABLE.radius[st0.type_idx]
        st0.health_max[...] = 50
        st0.health[...] = rng.uniform(1, 50, shape).astype(np.float32)
        st0.order[...] = rng.integers(0, 6, shape)
        st0.target_unit[...] = np.where(rng.random(shape) < 0.5, rng.integers(-1, k, shape), -1)
        st0.aggro[...] = rng.random(shape) < 0.3
        st0.cooldown[...] = rng.uniform(0, 2, shape).astype(np.float32)
        spread = 3.0 + 4 * trial  # from packed to spread out
        st0.pos[...] = (20 + rng.uniform(0, spread, st0.pos.shape)).astype(np.float32)
        st0.target_pos[...] = (20 + rng.uniform(0, spread, st0.pos.shape)).astype(np.float32)
        got = []
        for jit in (False, True):
            dynamics.set_jit(jit)
            st = copy.deepcopy(st0)
            ev = dynamics.substep(st, 4.0, np.random.default_rng(trial), eng.scenario.playable)
            got.append((_state_arrays(st), ev.died.copy()))
        (ref, ref_died), (new, new_died) = got
        diff = [name for name in ref if not np.array_equal(ref[name], new[name])]
        assert not diff, f"trial {trial}: numba and numpy substeps differ in {diff}"
        np.testing.assert_array_equal(ref_died, new_died)
        fired += int((ref["cooldown"] > st0.cooldown).sum())
        died += int(ref_died.sum())
        assert (ref["pos"] != st0.pos).any()  # units moved or were pushed apart
    assert fired and died  # shots were fired and units died
