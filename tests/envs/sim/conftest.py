"""Fixtures shared by the simulator tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sc2agents.envs.sim import dynamics


@pytest.fixture
def path() -> Iterator[Callable[[bool], None]]:
    """``set_jit`` for a test that switches between the numba and numpy paths; restores it."""
    old = dynamics.jit_enabled()
    yield dynamics.set_jit
    dynamics.set_jit(old)
