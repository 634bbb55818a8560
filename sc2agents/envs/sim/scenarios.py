"""Scenarios (maps + triggers) of the simulator, and their registry.

A `Scenario` holds what a `.SC2Map` and its triggers define: map size, playable area, camera start,
fog, time limit, how units are placed at reset, and the per-sub-step rule that gives rewards,
respawns units and ends the game. The five movement/combat DeepMind mini-games follow
``docs/pysc2/mini_games.md`` (DeepMind's descriptions of the real maps); the numbers the document
does not give (map and playable sizes, beacon radius, line spacing) are our choices and are written
next to them.

Time limits: the map triggers count *game* seconds at "normal" speed, 16 game loops each, so a
120 s mini-game lasts 1920 game loops (240 agent steps at ``step_mul=8``).

Later scenarios register themselves with `register_scenario`:

    >>> from sc2agents.envs.sim import scenarios
    >>> "DefeatRoaches" in scenarios.SCENARIOS
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
from absl import logging
from pysc2_evolved.lib import units as sc2_units

from sc2agents.envs.sim import units
from sc2agents.envs.sim.dynamics import Events
from sc2agents.envs.sim.state import NEUTRAL, SimState, _put

__all__ = [
    "SCENARIOS",
    "Scenario",
    "get_scenario",
    "register_scenario",
]

LOOPS_PER_GAME_SECOND = 16
_MARINE = int(sc2_units.Terran.Marine)
_ZERGLING = int(sc2_units.Zerg.Zergling)
_BANELING = int(sc2_units.Zerg.Baneling)
_ROACH = int(sc2_units.Zerg.Roach)


@dataclasses.dataclass
class Scenario:
    """Base class: a map with its triggers. Subclasses implement `reset_envs` and `update`.

    Attributes:
        name: map name (as PySC2's ``maps.get``).
        map_size: (w, h) in cells; the minimap covers the whole map.
        playable: (x0, y0, x1, y1) playable area; units and the camera stay inside.
        camera_start: camera centre at reset.
        time_limit_s: game seconds (16 loops each) until the map ends the game; 0 = none.
        fog: fog of war enabled on the map.
        camera_needed: the map is larger than one screen.
        max_units: unit slots per game.
        num_players: players in the game (agents and bots).
        step_mul: map default game loops per agent step.
        score_index: map default reward (index into score_cumulative; -1 = win/loss).
        preselect: player 1's units are selected at reset.
    """

    name: str = ""
    map_size: tuple[int, int] = (64, 64)
    playable: tuple[float, float, float, float] = (20.0, 20.0, 44.0, 44.0)
    camera_start: tuple[float, float] = (32.0, 32.0)
    time_limit_s: float = 120.0
    fog: bool = False
    camera_needed: bool = False
    max_units: int = 32
    num_players: int = 1
    step_mul: int = 8
    score_index: int = 0
    preselect: bool = False

    @property
    def time_limit_loops(self) -> int:
        return int(round(self.time_limit_s * LOOPS_PER_GAME_SECOND))

    def static_layers(self) -> dict[str, np.ndarray]:
        """Terrain of the map on its cell grid: ``height_map`` uint8, ``pathable``, ``buildable``.

        Default: a flat map, pathable and buildable inside the playable area only.
        """
        w, h = self.map_size
        x0, y0, x1, y1 = self.playable
        yy, xx = np.mgrid[0:h, 0:w]
        inside = (xx + 0.5 >= x0) & (xx + 0.5 < x1) & (yy + 0.5 >= y0) & (yy + 0.5 < y1)
        return {
            "height_map": np.where(inside, 128, 0).astype(np.uint8),
            "pathable": inside.astype(np.uint8),
            "buildable": inside.astype(np.uint8),
        }

    action_functions: tuple[int, ...] = ()
    """PySC2 function ids this scenario implements itself (`apply_action`), e.g. the economy's
    ``Build_*``/``Train_*``/``Harvest_*``; they take precedence over the engine's own handling."""

    def attach(self, engine: Any) -> None:
        """Called once by `SimEngine.__init__` after the state is allocated (hook; default none)."""

    def camera_start_of(self, player: int) -> tuple[float, float]:
        """Camera centre of ``player`` at reset."""
        return self.camera_start

    def available_hook(self, eng: Any, player: int, mask: np.ndarray) -> None:
        """Adjust ``player``'s available-function mask ``[N, 573]`` in place (default: keep)."""

    def apply_action(
        self, eng: Any, player: int, fid: int, envs: np.ndarray, args: np.ndarray
    ) -> None:
        """Apply function ``fid`` (one of `action_functions`, already validated) in ``envs``."""
        raise NotImplementedError(f"{self.name} lists function {fid} but does not apply it")

    def reset_envs(self, st: SimState, env_ids: np.ndarray, rng: np.random.Generator) -> None:
        """Place the initial units of the given (already cleared) games."""
        raise NotImplementedError

    def update(
        self, st: SimState, events: Events, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Map triggers after a sub-step: ``(reward [P, N] float32, game_over [N] bool)``."""
        raise NotImplementedError

    # --- helpers for subclasses ---
    def spawn_box(self, margin: float = 1.0) -> tuple[float, float, float, float]:
        x0, y0, x1, y1 = self.playable
        return x0 + margin, y0 + margin, x1 - margin, y1 - margin

    def random_points(
        self,
        rng: np.random.Generator,
        n: int,
        count: int,
        avoid: np.ndarray | None = None,
        min_dist: float = 0.0,
        spread: float = 0.0,
        ring: tuple[float, float] | None = None,
        centre: tuple[float, float] | None = None,
        tries: int = 32,
    ) -> np.ndarray:
        """``[n, count, 2]`` random points in the spawn box, by vectorised rejection sampling.

        Args:
            rng: generator.
            n: games.
            count: points per game (placed one after the other; the loop is over points, the
                games are vectorised).
            avoid: ``[n, m, 2]`` points to stay ``min_dist`` away from (NaN rows ignored).
            min_dist: distance to ``avoid``.
            spread: distance between the new points.
            ring: (rmin, rmax) distance from ``centre`` the points must lie in.
            centre: ring centre.
            tries: candidates per point; the best candidate is kept if none satisfies all.
        """
        x0, y0, x1, y1 = self.spawn_box()
        out = np.full((n, count, 2), np.nan, np.float32)
        avoid = np.zeros((n, 0, 2), np.float32) if avoid is None else avoid.astype(np.float32)
        for i in range(count):
            cand = np.stack(
                [rng.uniform(x0, x1, (n, tries)), rng.uniform(y0, y1, (n, tries))], axis=-1
            ).astype(np.float32)
            slack = np.zeros((n, tries), np.float32)
            if avoid.shape[1]:
                dd = np.linalg.norm(cand[:, :, None] - avoid[:, None], axis=-1)
                dd = np.where(np.isnan(dd), np.inf, dd).min(axis=2)
                slack = np.minimum(slack, dd - min_dist)
            if i and spread:
                dd = np.linalg.norm(cand[:, :, None] - out[:, None, :i], axis=-1).min(axis=2)
                slack = np.minimum(slack, dd - spread)
            if ring is not None:
                c = np.asarray(centre if centre is not None else self.camera_start, np.float32)
                r = np.linalg.norm(cand - c, axis=-1)
                slack = np.minimum(slack, np.minimum(r - ring[0], ring[1] - r))
            best = np.argmax(slack, axis=1)
            out[:, i] = cand[np.arange(n), best]
        return out


SCENARIOS: dict[str, Callable[[], Scenario]] = {}
"""Map name -> factory returning a fresh `Scenario`."""


def register_scenario(name: str, factory: Callable[[], Scenario]) -> None:
    """Register a scenario factory under a map name (issue 3 adds its maps this way).

    Raises:
        ValueError: if the name is taken.
    """
    if name in SCENARIOS:
        raise ValueError(f"scenario {name!r} is already registered")
    SCENARIOS[name] = factory


def get_scenario(name: str) -> Scenario:
    """A fresh scenario by map name.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if name not in SCENARIOS:
        raise ValueError(f"unknown simulator map {name!r}; known: {sorted(SCENARIOS)}")
    return SCENARIOS[name]()


def _died(st: SimState, ev: Events, owner: int, raw_type: int | None = None) -> np.ndarray:
    """Count, per game, units of ``owner`` (and type) that died in the sub-step."""
    m = ev.died & (st.owner[:, : ev.k] == owner)
    if raw_type is not None:
        m &= st.unit_type[:, : ev.k] == raw_type
    return m.sum(axis=1)


def _count(st: SimState, owner: int, raw_type: int | None = None) -> np.ndarray:
    m = st.alive & (st.owner == owner)
    if raw_type is not None:
        m &= st.unit_type == raw_type
    return m.sum(axis=1)


# ---------------------------------------------------------------- MoveToBeacon
@dataclasses.dataclass
class MoveToBeacon(Scenario):
    """MoveToBeacon: 1 marine (slot 0, unselected), 1 beacon (slot 1).

    +1 when the marine's centre enters the beacon (radius 1 cell), which then jumps >= 5 cells away
    from the marine.
    """

    name: str = "MoveToBeacon"
    max_units: int = 2

    def reset_envs(self, st: SimState, env_ids: np.ndarray, rng: np.random.Generator) -> None:
        n = len(env_ids)
        m = self.random_points(rng, n, 1)
        st.spawn(env_ids, _MARINE, 1, m)
        b = self.random_points(rng, n, 1, avoid=m, min_dist=4.0)
        st.spawn(env_ids, units.BEACON, NEUTRAL, b)

    def update(self, st, events, rng):
        reward = np.zeros((1, st.num_envs), np.float32)
        reach = units.BY_NAME["Beacon"].radius
        d = np.linalg.norm(st.pos[:, 0] - st.pos[:, 1], axis=-1)
        hit = np.flatnonzero(st.alive[:, 0] & st.alive[:, 1] & (d <= reach))
        if hit.size:
            reward[0, hit] = 1.0
            st.pos[hit, 1] = self.random_points(rng, hit.size, 1, st.pos[hit, :1], 5.0)[:, 0]
        return reward, np.zeros(st.num_envs, bool)


# ---------------------------------------------------------------- CollectMineralShards
@dataclasses.dataclass
class CollectMineralShards(Scenario):
    """CollectMineralShards: 2 marines (slots 0-1, unselected), 20 shards (slots 2-21).

    A marine touching a shard collects it (+1); when all 20 are gone, 20 new ones appear >= 2 cells
    from the marines.
    """

    name: str = "CollectMineralShards"
    max_units: int = 22
    num_shards: int = 20

    def reset_envs(self, st, env_ids, rng):
        n = len(env_ids)
        m = self.random_points(rng, n, 2, spread=1.0)
        st.spawn(env_ids, _MARINE, 1, m)
        self._spawn_shards(st, env_ids, rng)

    def _spawn_shards(self, st, env_ids, rng):
        n = len(env_ids)
        s = self.random_points(rng, n, self.num_shards, st.pos[env_ids, :2], 2.0, spread=1.0)
        st.spawn(env_ids, units.MINERAL_SHARD, NEUTRAL, s)

    def update(self, st, events, rng):
        reward = np.zeros((1, st.num_envs), np.float32)
        shard = st.alive[:, 2:] & (st.unit_type[:, 2:] == units.MINERAL_SHARD)
        reach = units.BY_NAME["Marine"].radius + units.BY_NAME["MineralShard"].radius
        d = np.linalg.norm(st.pos[:, 2:, None] - st.pos[:, None, :2], axis=-1)  # [N, S, 2]
        touch = shard & ((d <= reach) & st.alive[:, None, :2]).any(axis=2)
        if touch.any():
            reward[0] = touch.sum(axis=1)
            st.alive[:, 2:] &= ~touch
            st.selected[:, :, 2:] &= ~touch[None]
            empty = np.flatnonzero(~(shard & ~touch).any(axis=1))
            if empty.size:
                self._spawn_shards(st, empty, rng)
        return reward, np.zeros(st.num_envs, bool)


# ---------------------------------------------------------------- FindAndDefeatZerglings
@dataclasses.dataclass
class FindAndDefeatZerglings(Scenario):
    """FindAndDefeatZerglings: 3 marines, 25 zerglings, fog, map larger than the screen.

    3 marines at the centre (preselected); 25 idle zerglings (2 inside vision at 7.5-9.5 cells,
    23 beyond 10.5, >= 5 apart).
    +1 per zergling, -1 per marine; a new set of 25 (>= 9 from marines) when all are dead.
    """

    name: str = "FindAndDefeatZerglings"
    map_size: tuple[int, int] = (64, 64)
    playable: tuple[float, float, float, float] = (8.0, 8.0, 56.0, 56.0)  # 48x48 cells (ours)
    time_limit_s: float = 180.0
    fog: bool = True
    camera_needed: bool = True
    max_units: int = 28
    preselect: bool = True

    def reset_envs(self, st, env_ids, rng):
        n = len(env_ids)
        c = np.asarray(self.camera_start, np.float32)
        m = c + np.array([[-0.8, 0.5], [0.8, 0.5], [0.0, -0.8]], np.float32)
        st.spawn(env_ids, _MARINE, 1, np.broadcast_to(m, (n, 3, 2)))
        near = self.random_points(rng, n, 2, spread=5.0, ring=(7.5, 9.5))
        far = self.random_points(rng, n, 23, avoid=near, min_dist=5.0, spread=5.0, ring=(10.5, 99))
        st.spawn(env_ids, _ZERGLING, 2, np.concatenate([near, far], axis=1))

    def update(self, st, events, rng):
        reward = (_died(st, events, 2, _ZERGLING) - _died(st, events, 1, _MARINE))[None]
        marines = _count(st, 1, _MARINE)
        wave = np.flatnonzero((_count(st, 2, _ZERGLING) == 0) & (marines > 0))
        if wave.size:
            mpos = np.where(
                (st.alive[wave] & (st.owner[wave] == 1))[..., None], st.pos[wave], np.nan
            )
            z = self.random_points(rng, wave.size, 25, avoid=mpos, min_dist=9.0, spread=5.0)
            st.spawn(wave, _ZERGLING, 2, z)
        return reward.astype(np.float32), marines == 0


# ---------------------------------------------------------------- DefeatRoaches & co.
@dataclasses.dataclass
class _WaveCombat(Scenario):
    """Marines in a vertical line on a random side vs an enemy group on the other side.

    When the enemy group is dead: a new group spawns, ``reinforcements`` marines join at full
    health (the others keep theirs) and every unit is put back on its side.
    """

    preselect: bool = True
    max_units: int = 80
    marines: int = 9
    reinforcements: int = 5
    enemy: tuple[tuple[int, int], ...] = ()
    reward_enemy: float = 10.0
    line_x: float = 9.0  # distance of each line from the centre (ours)

    def _enemy_types(self) -> np.ndarray:
        return np.concatenate([np.full(c, t) for t, c in self.enemy]).astype(np.int64)

    def _line(self, count: int, x: float, spacing: float) -> np.ndarray:
        """``count`` positions in vertical lines of up to 20 cells around the map centre.

        x: column offsets from ``x`` (>= 0; the caller turns them outwards); y: absolute.
        """
        cy = self.camera_start[1]
        cols = max(1, int(np.ceil(count * spacing / 20.0)))
        per = int(np.ceil(count / cols))
        i = np.arange(count)
        col, row = i // per, i % per
        n_in_col = np.minimum(per, count - col * per)
        ys = cy + (row - (n_in_col - 1) / 2.0) * spacing
        xs = x + col * spacing
        return np.stack([xs, ys], axis=-1).astype(np.float32)

    def _place(self, st, env_ids, rng, new_marines: int) -> None:
        """Spawn the enemy group (+ marines) and put everyone back in their lines."""
        n = len(env_ids)
        types = self._enemy_types()
        free = st.max_units - int(st.alive[env_ids].sum(axis=1).max()) - types.size
        if new_marines > free:
            # Out of unit slots (an agent that clears many waves): fewer reinforcements.
            logging.warning(
                "%s: only %d of %d reinforcements fit in max_units=%d",
                self.name,
                max(free, 0),
                new_marines,
                st.max_units,
            )
            new_marines = max(free, 0)
        # One spawn for both sides: the marines take the lowest free slots, then the enemies
        # (the slots and tags of a marine spawn followed by an enemy one).
        spawn_types = np.concatenate([np.full(new_marines, _MARINE, np.int64), types])
        spawn_owner = np.repeat(np.array([1, 2], np.int64), [new_marines, types.size])
        k = spawn_types.size
        st.spawn(
            env_ids,
            np.broadcast_to(spawn_types, (n, k)),
            np.broadcast_to(spawn_owner, (n, k)),
            np.zeros((n, k, 2), np.float32),
        )
        side = rng.choice([-1.0, 1.0], size=n).astype(np.float32)
        cx = self.camera_start[0]
        env_ids = np.asarray(env_ids, dtype=np.int64)
        alive = st.alive[env_ids]
        owners = st.owner[env_ids]
        flats, poss = [], []
        for owner, spacing, sign in ((1, 1.0, 1.0), (2, 1.4, -1.0)):
            mine = alive & (owners == owner)  # [n, U]
            count = mine.sum(axis=1)
            # Every (game, unit) at once: a unit's rank among its side's units picks its cell
            # in the line layout of its game's unit count (a cached [U + 1, U, 2] table).
            rows, slots = np.nonzero(mine)
            if rows.size == 0:
                continue
            rank = (np.cumsum(mine, axis=1) - 1)[rows, slots]
            line = self._line_table(st.max_units, spacing)[count[rows], rank]  # [m, 2]
            s = side[rows]
            xs = cx + sign * s * self.line_x
            # Extra columns go outwards (away from the centre) on either side.
            out = np.sign(sign * s)
            pos = np.empty((rows.size, 2), np.float32)
            pos[:, 0] = xs + out * np.abs(line[:, 0])
            pos[:, 1] = line[:, 1]
            flats.append(env_ids[rows] * st.max_units + slots)
            poss.append(pos)
        if not flats:
            return
        # One batched write per array for both sides and every game being reset.
        flat = np.concatenate(flats)
        pos = np.concatenate(poss)
        ee, slots = np.divmod(flat, st.max_units)
        for name, value in (
            ("pos", pos),
            ("target_pos", pos),
            ("order", 0),
            ("target_unit", -1),
            ("aggro", False),
        ):
            _put(getattr(st, name), flat, ee, slots, value)

    def _line_table(self, max_units: int, spacing: float) -> np.ndarray:
        """float32 ``[max_units + 1, max_units, 2]``: row ``c`` holds ``_line(c, 0, spacing)``."""
        key = (max_units, spacing, self.camera_start[1])
        cache = self.__dict__.setdefault("_line_cache", {})
        tab = cache.get(key)
        if tab is None:
            tab = np.zeros((max_units + 1, max_units, 2), np.float32)
            for c in range(1, max_units + 1):
                tab[c, :c] = self._line(c, 0.0, spacing)
            cache[key] = tab
        return tab

    def reset_envs(self, st, env_ids, rng):
        self._place(st, env_ids, rng, self.marines)

    def update(self, st, events, rng):
        foes = _died(st, events, 2)
        reward = (foes * self.reward_enemy - _died(st, events, 1, _MARINE))[None]
        marines = _count(st, 1, _MARINE)
        wave = np.flatnonzero((_count(st, 2) == 0) & (marines > 0))
        if wave.size:
            self._place(st, wave, rng, self.reinforcements)
        return reward.astype(np.float32), marines == 0


@dataclasses.dataclass
class DefeatRoaches(_WaveCombat):
    """9 marines vs 4 roaches; +10 per roach, -1 per marine; +5 marines per wave."""

    name: str = "DefeatRoaches"
    enemy: tuple[tuple[int, int], ...] = ((_ROACH, 4),)
    reinforcements: int = 5
    reward_enemy: float = 10.0


@dataclasses.dataclass
class DefeatZerglingsAndBanelings(_WaveCombat):
    """9 marines vs 6 zerglings + 4 banelings; +5 each, -1 per marine; +4 marines per wave."""

    name: str = "DefeatZerglingsAndBanelings"
    enemy: tuple[tuple[int, int], ...] = ((_ZERGLING, 6), (_BANELING, 4))
    reinforcements: int = 4
    reward_enemy: float = 5.0


for _cls in (
    MoveToBeacon,
    CollectMineralShards,
    FindAndDefeatZerglings,
    DefeatRoaches,
    DefeatZerglingsAndBanelings,
):
    register_scenario(_cls.name, _cls)
