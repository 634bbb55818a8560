"""`SimState.spawn` writes the same slots on contiguous and non-contiguous state arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
from pysc2_evolved.lib import units as sc2_units

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
