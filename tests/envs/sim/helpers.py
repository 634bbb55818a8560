"""Shared helpers for the simulator tests: an empty arena scenario and state poking."""

from __future__ import annotations

import dataclasses

import numpy as np
from pysc2_evolved.lib import actions

from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.scenarios import Scenario

F = actions.FUNCTIONS


@dataclasses.dataclass
class Arena(Scenario):
    """A flat single-screen map with no units and no triggers (tests place units themselves)."""

    name: str = "TestArena"
    max_units: int = 16
    time_limit_s: float = 0.0

    def reset_envs(self, st, env_ids, rng):
        pass

    def update(self, st, events, rng):
        return np.zeros((1, st.num_envs), np.float32), np.zeros(st.num_envs, bool)


def arena(num_envs: int = 1, **kw) -> SimEngine:
    kw.setdefault("step_mul", 1)
    eng = SimEngine(Arena(), num_envs, seed=0, **kw)
    eng.reset()
    return eng


def place(eng: SimEngine, unit_type: int, owner: int, xy, env: int = 0) -> int:
    """Spawn one unit at ``xy`` in game ``env``; returns its slot."""
    slots = eng.state.spawn(np.array([env]), unit_type, owner, np.array([[xy]], np.float32))
    eng._invalidate()
    return int(slots[0, 0])


def noop(eng: SimEngine, steps: int = 1):
    res = None
    for _ in range(steps):
        res = eng.step([[F.no_op()] * eng.num_envs])
    return res


def screen_px(eng: SimEngine, xy, env: int = 0) -> tuple[int, int]:
    """Screen pixel (x, y) of a map point under the current camera."""
    cam = eng.state.camera[0, env]
    s = eng.screen_size / eng.camera_width
    return (
        int((xy[0] - cam[0]) * s + eng.screen_size / 2),
        int((xy[1] - cam[1]) * s + eng.screen_size / 2),
    )
