"""Terran 1v1 melee on ``Simple64``: a small two-player map with two bases per side.

Each player starts with a Command Center and 12 SCVs at its main base (50 minerals, 12/15 supply)
and plays the Terran economy of `economy` (mine, build depots/barracks/refinery/factory, train SCVs,
marines, marauders, hellions) and fights with the simulator's combat. The game ends when one side
has no buildings left: +1 to the winner, -1 to the loser, 0 to both on a tie (both lose their last
building in the same sub-step) or at the time limit, like PySC2's melee outcome reward
(``score_index=-1``). Fog of war is per player; each player's camera starts on its own main base.

The map is point-symmetric about its centre: player 2's units, resources and bases are player 1's
reflected through (32, 32) (cells stay on the grid: reflection maps whole cells to whole cells),
so neither side has an edge (tests/envs/sim/test_two_agents.py checks both the layout and the 50%
win rate of identical stochastic players).

Use it like the real game:

    >>> from pysc2_evolved.env import sc2_env
    >>> env = SimSC2Env(map_name="Simple64", players=[sc2_env.Agent(sc2_env.Race.terran),
    ...     sc2_env.Bot(sc2_env.Race.terran, sc2_env.Difficulty.medium)], ...)  # doctest: +SKIP

or ``gymnasium.make_vec("sc2agents/Sim-Simple64-v0", num_envs=8, bots=["hard"])`` (the default
opponent is a ``very_easy`` bot).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sc2agents.envs.sim import buildings as B
from sc2agents.envs.sim import dynamics, economy_jit, units
from sc2agents.envs.sim.economy import (
    EconomyScenario,
    ensure_extras,
    mark_footprint,
    mineral_line,
    spawn,
    spawn_high,
)
from sc2agents.envs.sim.scenarios import register_scenario
from sc2agents.envs.sim.state import NEUTRAL, SimState

__all__ = ["BASES", "Simple64", "reflect"]

MAP = 64
BASES: tuple[tuple[float, float], ...] = ((14.5, 14.5), (14.5, 42.5))
"""Player 1's main and natural Command Center sites (player 2's are their reflections)."""


def reflect(p: np.ndarray) -> np.ndarray:
    """Point reflection through the map centre (player 1 -> player 2)."""
    return (MAP - np.asarray(p, np.float32)).astype(np.float32)


@dataclasses.dataclass
class Simple64(EconomyScenario):
    """Terran vs Terran on a 64x64 two-player map (see module docstring)."""

    name: str = "Simple64"
    map_size: tuple[int, int] = (MAP, MAP)
    playable: tuple[float, float, float, float] = (4.0, 4.0, 60.0, 60.0)
    camera_start: tuple[float, float] = BASES[0]
    time_limit_s: float = 1680.0  # 20 minutes at "faster" (1680 game seconds)
    fog: bool = True
    camera_needed: bool = True
    max_units: int = 256
    num_players: int = 2
    score_index: int = -1
    reward_mode: str = "melee"
    default_bots: tuple[str, ...] = ("very_easy",)

    def camera_start_of(self, player: int) -> tuple[float, float]:
        c = np.asarray(BASES[0], np.float32)
        c = c if player == 0 else reflect(c)
        return float(c[0]), float(c[1])

    def start_location(self, player: int) -> np.ndarray:
        """Main Command Center site of ``player`` (0-based)."""
        c = np.asarray(BASES[0], np.float32)
        return c if player == 0 else reflect(c)

    def base_locations(self, player: int) -> np.ndarray:
        """``[2, 2]`` main and natural sites of ``player``."""
        b = np.asarray(BASES, np.float32)
        return b if player == 0 else reflect(b)

    def reset_envs(self, st: SimState, env_ids: np.ndarray, rng: np.random.Generator) -> None:
        ensure_extras(st)
        n = len(env_ids)
        env_ids = np.asarray(env_ids)
        minerals, geysers = [], []
        for cc in BASES:
            m, g = mineral_line(cc, -1)
            minerals.append(m)
            geysers.append(g)
        m1 = np.concatenate(minerals)
        g1 = np.concatenate(geysers)
        X = st.extra
        for pts, raw, amount, size in (
            (np.concatenate([m1, reflect(m1)]), B.MINERAL, 1800.0, 2),
            (np.concatenate([g1, reflect(g1)]), B.GEYSER, 2250.0, 3),
        ):
            s = spawn_high(st, env_ids, raw, NEUTRAL, np.broadcast_to(pts, (n, *pts.shape)))
            ee = np.broadcast_to(env_ids[:, None], s.shape)
            X["resource"][ee, s] = amount
            mark_footprint(
                st,
                ee.ravel(),
                st.pos[ee, s].reshape(-1, 2),
                np.full(s.size, size),
                True,
                height=np.full(s.size, 1 if size == 2 else 3),
            )
        cc1 = np.asarray(BASES[0], np.float32)
        ang = np.linspace(-0.4 * np.pi, 0.4 * np.pi, 12)  # SCVs on the far side of the minerals
        r = 3.3 + 0.8 * (np.arange(12) % 2)
        scv1 = cc1 + np.stack([np.cos(ang) * r, np.sin(ang) * r], axis=-1)
        for owner, cc, scv in ((1, cc1, scv1), (2, reflect(cc1), reflect(scv1))):
            spawn(st, env_ids, B.COMMAND_CENTER, owner, np.broadcast_to(cc, (n, 1, 2)))
            mark_footprint(st, env_ids, np.broadcast_to(cc, (n, 2)), np.full(n, 5), True)
            spawn(st, env_ids, B.SCV, owner, np.broadcast_to(scv, (n, 12, 2)).astype(np.float32))
        self.reset_players(st, env_ids)

    def update(self, st: SimState, events, rng):
        self.economy_step(st, events, rng)
        if dynamics.jit_enabled():
            lost = np.empty((2, st.num_envs), bool)
            economy_jit.structures_left_kernel(
                st.alive, st.owner, st.type_idx, units.TABLE.structure, lost
            )
        else:
            struct = st.alive & units.TABLE.structure[st.type_idx]
            lost = np.stack([~(struct & (st.owner == p + 1)).any(axis=1) for p in range(2)])
        over = lost.any(axis=0)
        reward = np.zeros((st.num_players, st.num_envs), np.float32)
        ended = st.extra.setdefault("ended", np.zeros(st.num_envs, bool))
        new = over & ~ended  # the outcome is paid once, in the sub-step the game ends
        if new.any():
            win0 = new & lost[1] & ~lost[0]
            win1 = new & lost[0] & ~lost[1]
            reward[0] = win0.astype(np.float32) - win1
            reward[1] = win1.astype(np.float32) - win0
            ended |= new
        return reward, over


register_scenario(Simple64.name, Simple64)
