"""`SimState.spawn` writes the same slots on contiguous and non-contiguous state arrays, on the
numpy path and on the numba path (`state_jit`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs.sim import dynamics_jit
from sc2agents.envs.sim.state import SimState


def _spawned(fortran: bool) -> SimState:
    st = SimState.allocate(num_envs=4, max_units=6, num_players=2, map_size=(64, 64))
    if fortran:  # the flat-index fast path must not write into a copy
        for f in dataclasses.fields(st):
            v = getattr(st, f.name)
            if isinstance(v, np.ndarray) and v.ndim >= 2:
                setattr(st, f.name, np.asfortranarray(v))
    st.alive[1, 0] = True  # an occupied slot: game 1 fills slots 1, 2
    pos = np.arange(8, dtype=np.float32).reshape(2, 2, 2) + 10
    types = np.array([[sc2_units.Terran.Marine, sc2_units.Zerg.Roach]] * 2)
    slots = st.spawn(np.array([3, 1]), types, 2, pos)
    np.testing.assert_array_equal(slots, [[0, 1], [1, 2]])
    return st


def test_spawn_same_on_contiguous_and_strided_arrays():
    a, b = _spawned(False), _spawned(True)
    for f in dataclasses.fields(a):
        va = getattr(a, f.name)
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, getattr(b, f.name), err_msg=f.name)
    np.testing.assert_array_equal(a.pos[3, :2], [[10, 11], [12, 13]])
    np.testing.assert_array_equal(a.target_pos[1, 1:3], [[14, 15], [16, 17]])
    assert a.owner[3, 1] == 2 and a.unit_type[1, 2] == sc2_units.Zerg.Roach
    assert a.health[3, 0] > 0 and a.target_unit[1, 1] == -1 and a.alive.sum() == 5


@pytest.mark.skipif(not dynamics_jit.AVAILABLE, reason="numba is not installed")
@pytest.mark.parametrize("fortran", [False, True])
def test_spawn_kernels_match_numpy(path, fortran):
    """`state_jit` writes what the numpy spawn writes: slots, fields, tags, cleared selections."""
    out = []
    for jit in (False, True):
        path(jit)
        st = SimState.allocate(num_envs=5, max_units=12, num_players=2, map_size=(64, 64))
        if fortran:
            for f in dataclasses.fields(st):
                v = getattr(st, f.name)
                if isinstance(v, np.ndarray) and v.ndim >= 2:
                    setattr(st, f.name, np.asfortranarray(v))
        rng = np.random.default_rng(0)
        st.alive[:] = rng.random(st.alive.shape) < 0.4
        st.selected[:] = True
        st.control_groups[:] = True
        st.next_tag[:] = rng.integers(1, 50, 5)
        types = rng.choice([sc2_units.Terran.Marine, sc2_units.Zerg.Roach], (3, 4))
        pos = rng.uniform(0, 64, (3, 4, 2)).astype(np.float32)
        slots = [st.spawn(np.array([4, 0, 2]), types, rng.integers(1, 3, (3, 4)), pos)]
        slots.append(st.spawn(np.array([1]), sc2_units.Terran.SCV, 16, pos[:1, :2]))
        out.append((st, slots))
    (a, sa), (b, sb) = out
    for x, y in zip(sa, sb, strict=True):
        np.testing.assert_array_equal(x, y)
    for f in dataclasses.fields(a):
        va = getattr(a, f.name)
        if isinstance(va, np.ndarray):
            np.testing.assert_array_equal(va, getattr(b, f.name), err_msg=f.name)


@pytest.mark.parametrize("jit", [False, True])
def test_spawn_errors_on_both_paths(path, jit):
    path(jit)
    st = SimState.allocate(num_envs=2, max_units=3, num_players=1, map_size=(64, 64))
    st.alive[1, :2] = True
    before = st.copy()
    pos = np.zeros((2, 2, 2), np.float32)
    with pytest.raises(ValueError, match="fewer than 2 free unit slots"):
        st.spawn(np.array([0, 1]), sc2_units.Terran.Marine, 1, pos)
    with pytest.raises(KeyError, match="unknown unit type"):
        st.spawn(np.array([0]), 123456, 1, pos[:1])
    np.testing.assert_array_equal(st.alive, before.alive)
    np.testing.assert_array_equal(st.next_tag, before.next_tag)
