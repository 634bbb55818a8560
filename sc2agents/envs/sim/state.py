"""Struct-of-arrays state of N simulated games (the JaxMARL SMAX layout).

Every per-unit field has the leading axes ``[N, U]`` (games, unit slots); per-player fields have a
leading player axis ``[P, N, ...]``. A slot is live when ``alive`` is True; dead slots are reused by
later spawns (lowest free slot first, so live units stay packed at low slot numbers and the step
can work on ``[:, :state.active_slots]``).

Coordinates are map cells with the origin at the top-left corner of the map and ``y`` growing
downwards, the orientation of the minimap image (SC2's world ``y`` points up; the flip is done
once here so that the renderer, the feature layers and the actions all use one frame).

Example:
    >>> s = SimState.allocate(num_envs=2, max_units=4, num_players=1, map_size=(64, 64))
    >>> s.pos.shape, s.selected.shape
    ((2, 4, 2), (1, 2, 4))
"""

from __future__ import annotations

import dataclasses
import enum

import numpy as np

from sc2agents.envs import features

__all__ = ["NEUTRAL", "Order", "SimState"]

NEUTRAL = 16
"""Owner id of neutral units (SC2 convention: players are 1..15)."""


class Order(enum.IntEnum):
    """What a unit is doing (its current order)."""

    IDLE = 0  # no order: auto-acquires enemies in acquire range, chases a little
    MOVE = 1  # move to target_pos, ignoring enemies
    ATTACK_MOVE = 2  # move to target_pos, fighting enemies met on the way
    ATTACK_UNIT = 3  # attack target_unit until it dies
    HOLD = 4  # stay, attack enemies in weapon range
    PATROL = 5  # attack-move between origin_pos and target_pos


@dataclasses.dataclass
class SimState:
    """Arrays of N games. Shapes: ``[N, U]`` unless noted; ``P`` = players, ``N`` = games.

    Attributes:
        pos: float32 ``[N, U, 2]`` unit centre (x, y) in map cells, origin top-left.
        alive: bool, slot holds a live unit.
        owner: int8, 1..15 = player id, 16 = neutral.
        unit_type: int32, raw SC2 unit type id.
        type_idx: int16, dense index into `units.TABLE`.
        health, health_max, shield, shield_max, energy, radius: float32.
        cooldown: float32, game loops until the weapon is ready.
        order: int8 `Order`.
        target_pos: float32 ``[N, U, 2]`` order target point.
        origin_pos: float32 ``[N, U, 2]`` patrol origin.
        target_unit: int32 slot of the attack target (-1 = none).
        queued_order: int8 order to start when the current one ends (shift-queue; -1 = none).
        queued_pos: float32 ``[N, U, 2]`` its target point.
        queued_unit: int32 its target unit slot (-1 = none).
        aggro: bool, an AI-controlled unit has been provoked (attacked / enemy seen).
        tag: int64 unique unit id within a game (never reused in an episode).
        selected: bool ``[P, N, U]``.
        control_groups: bool ``[P, N, 10, U]``.
        camera: float32 ``[P, N, 2]`` camera centre in map cells.
        game_loop: int32 ``[N]``.
        score_cumulative: int32 ``[P, N, 13]`` PySC2 ``score_cumulative`` (index 0 = curriculum).
        visibility: uint8 ``[P, N, H, W]`` per map cell: 0 hidden, 1 seen, 2 visible.
        last_actions: int32 ``[P, N]`` function id acted last step (-1 = none).
        next_tag: int64 ``[N]``.
        map_size: (w, h) in cells.
        extra: scenario counters, each an array with leading axis N.
    """

    pos: np.ndarray
    alive: np.ndarray
    owner: np.ndarray
    unit_type: np.ndarray
    type_idx: np.ndarray
    health: np.ndarray
    health_max: np.ndarray
    shield: np.ndarray
    shield_max: np.ndarray
    energy: np.ndarray
    radius: np.ndarray
    cooldown: np.ndarray
    order: np.ndarray
    target_pos: np.ndarray
    origin_pos: np.ndarray
    target_unit: np.ndarray
    queued_order: np.ndarray
    queued_pos: np.ndarray
    queued_unit: np.ndarray
    aggro: np.ndarray
    tag: np.ndarray
    selected: np.ndarray
    control_groups: np.ndarray
    camera: np.ndarray
    game_loop: np.ndarray
    score_cumulative: np.ndarray
    visibility: np.ndarray
    last_actions: np.ndarray
    next_tag: np.ndarray
    map_size: tuple[int, int]
    extra: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)

    @classmethod
    def allocate(
        cls, num_envs: int, max_units: int, num_players: int, map_size: tuple[int, int]
    ) -> SimState:
        """Zero state (no units) for ``num_envs`` games of ``max_units`` slots."""
        n, u, p = int(num_envs), int(max_units), int(num_players)
        w, h = int(map_size[0]), int(map_size[1])
        f32 = np.float32
        return cls(
            pos=np.zeros((n, u, 2), f32),
            alive=np.zeros((n, u), bool),
            owner=np.zeros((n, u), np.int8),
            unit_type=np.zeros((n, u), np.int32),
            type_idx=np.zeros((n, u), np.int16),
            health=np.zeros((n, u), f32),
            health_max=np.zeros((n, u), f32),
            shield=np.zeros((n, u), f32),
            shield_max=np.zeros((n, u), f32),
            energy=np.zeros((n, u), f32),
            radius=np.zeros((n, u), f32),
            cooldown=np.zeros((n, u), f32),
            order=np.zeros((n, u), np.int8),
            target_pos=np.zeros((n, u, 2), f32),
            origin_pos=np.zeros((n, u, 2), f32),
            target_unit=np.full((n, u), -1, np.int32),
            queued_order=np.full((n, u), -1, np.int8),
            queued_pos=np.zeros((n, u, 2), f32),
            queued_unit=np.full((n, u), -1, np.int32),
            aggro=np.zeros((n, u), bool),
            tag=np.zeros((n, u), np.int64),
            selected=np.zeros((p, n, u), bool),
            control_groups=np.zeros((p, n, 10, u), bool),
            camera=np.zeros((p, n, 2), f32),
            game_loop=np.zeros(n, np.int32),
            score_cumulative=np.zeros((p, n, len(features.SCORE_CUMULATIVE_FIELDS)), np.int32),
            visibility=np.zeros((p, n, h, w), np.uint8),
            last_actions=np.full((p, n), -1, np.int32),
            next_tag=np.ones(n, np.int64),
            map_size=(w, h),
        )

    @property
    def num_envs(self) -> int:
        return int(self.alive.shape[0])

    @property
    def max_units(self) -> int:
        return int(self.alive.shape[1])

    @property
    def num_players(self) -> int:
        return int(self.selected.shape[0])

    @property
    def active_slots(self) -> int:
        """One past the highest live slot over all games (the step works on ``[:, :k]``)."""
        cols = np.flatnonzero(self.alive.any(axis=0))
        return int(cols[-1]) + 1 if cols.size else 0

    @property
    def mobile_slots(self) -> int:
        """One past the highest slot holding a live non-neutral unit over all games.

        Neutral markers (beacon, shards) after it take no part in movement or combat, so the
        dynamics work on ``[:, :mobile_slots]`` only.
        """
        cols = np.flatnonzero((self.alive & (self.owner != NEUTRAL)).any(axis=0))
        return int(cols[-1]) + 1 if cols.size else 0

    def clear_envs(self, env_ids: np.ndarray) -> None:
        """Remove every unit and reset the per-game fields of the given games."""
        e = np.asarray(env_ids)
        self.alive[e] = False
        self.target_unit[e] = -1
        self.queued_order[e] = -1
        self.queued_unit[e] = -1
        self.queued_pos[e] = 0.0  # so that a reset game's state never depends on the last episode
        self.order[e] = Order.IDLE
        self.aggro[e] = False
        self.cooldown[e] = 0
        self.selected[:, e] = False
        self.control_groups[:, e] = False
        self.game_loop[e] = 0
        self.score_cumulative[:, e] = 0
        self.visibility[:, e] = 0
        self.last_actions[:, e] = -1
        self.next_tag[e] = 1
        for v in self.extra.values():
            v[e] = 0

    def copy(self) -> SimState:
        """Deep copy (for tests and replays)."""
        out = dataclasses.replace(self)
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                setattr(out, f.name, v.copy())
        out.extra = {k: v.copy() for k, v in self.extra.items()}
        return out

    def spawn(
        self,
        env_ids: np.ndarray,
        unit_type: int | np.ndarray,
        owner: int | np.ndarray,
        pos: np.ndarray,
    ) -> np.ndarray:
        """Create units in the lowest free slots, full health, idle.

        Args:
            env_ids: int ``[n]`` games (distinct).
            unit_type: raw SC2 unit type id, scalar or ``[n, k]``.
            owner: player id (1..15) or `NEUTRAL`, scalar or ``[n, k]``.
            pos: float ``[n, k, 2]`` positions (map cells).

        Returns:
            int ``[n, k]`` slots used.

        Raises:
            ValueError: if a game has fewer than ``k`` free slots.
        """
        from sc2agents.envs.sim import units  # local: units imports nothing from here

        e = np.asarray(env_ids, dtype=np.int64)
        pos = np.asarray(pos, dtype=np.float32)
        n, k = pos.shape[0], pos.shape[1]
        if n == 0 or k == 0:
            return np.zeros((n, k), np.int64)
        from sc2agents.envs.sim import dynamics  # local: dynamics imports this module

        if dynamics.jit_enabled():
            return self._spawn_jit(e, unit_type, owner, pos)
        free = ~self.alive[e]
        if (free.sum(axis=1) < k).any():
            raise ValueError(
                f"SimState.spawn: a game has fewer than {k} free unit slots "
                f"(max_units={self.max_units}); raise the scenario's max_units"
            )
        slots = np.argsort(~free, axis=1, kind="stable")[:, :k]
        raw = np.broadcast_to(np.asarray(unit_type, dtype=np.int64), (n, k))
        t = _type_index(raw)
        tab = units.TABLE
        ee = np.broadcast_to(e[:, None], (n, k))
        # One flat index into the [N, U] arrays: a 1-d scatter costs about half of an (ee, slots)
        # one, and spawn writes ~20 arrays on every reset.
        flat = (e[:, None] * self.max_units + slots).ravel()
        t = t.ravel()
        pos2 = pos.reshape(-1, 2)
        own = np.asarray(owner)
        if own.ndim:
            own = np.broadcast_to(own, (n, k)).ravel()
        for name, value in (
            ("alive", True),
            ("owner", own),
            ("unit_type", raw.ravel()),
            ("type_idx", t),
            ("health", tab.hp[t]),
            ("health_max", tab.hp[t]),
            ("shield", tab.shields[t]),
            ("shield_max", tab.shields[t]),
            ("energy", 0),
            ("radius", tab.radius[t]),
            ("cooldown", 0),
            ("order", Order.IDLE),
            ("target_unit", -1),
            ("queued_order", -1),
            ("queued_unit", -1),
            ("aggro", False),
        ):
            _put(getattr(self, name), flat, ee, slots, value)
        for name in ("pos", "target_pos", "origin_pos"):
            _put(getattr(self, name), flat, ee, slots, pos2)
        self.tag[ee, slots] = self.next_tag[e][:, None] + np.arange(k)
        self.next_tag[e] += k
        self.selected[:, ee, slots] = False
        self.control_groups[:, ee, :, slots] = False
        return slots

    def _spawn_jit(
        self, e: np.ndarray, unit_type: int | np.ndarray, owner: int | np.ndarray, pos: np.ndarray
    ) -> np.ndarray:
        """`spawn` by the kernels of `state_jit` (the same writes, the same errors)."""
        from sc2agents.envs.sim import state_jit, units

        n, k = pos.shape[0], pos.shape[1]
        slots = np.empty((n, k), np.int64)
        if not state_jit.free_slots(self.alive, e, slots):
            raise ValueError(
                f"SimState.spawn: a game has fewer than {k} free unit slots "
                f"(max_units={self.max_units}); raise the scenario's max_units"
            )
        raw = np.broadcast_to(np.asarray(unit_type, dtype=np.int64), (n, k))
        t = _type_index(raw)
        own = np.broadcast_to(np.asarray(owner, dtype=np.int64), (n, k))
        tab = units.TABLE
        state_jit.write_units(
            e, slots, raw, t, own, pos, self.alive, self.owner, self.unit_type, self.type_idx,
            self.health, self.health_max, self.shield, self.shield_max, self.energy, self.radius,
            self.cooldown, self.order, self.target_unit, self.queued_order, self.queued_unit,
            self.aggro, self.pos, self.target_pos, self.origin_pos, self.tag, self.next_tag,
            self.selected, self.control_groups, tab.hp, tab.shields, tab.radius, int(Order.IDLE),
        )  # fmt: skip
        return slots

    def kill(self, mask: np.ndarray) -> None:
        """Remove units (``mask`` bool ``[N, U]``) without scoring them."""
        self.alive &= ~mask
        self.selected &= ~mask[None]
        self.control_groups &= ~mask[None, :, None, :]


def _type_index(raw: np.ndarray) -> np.ndarray:
    """`units.TYPE_INDEX` of raw SC2 unit type ids.

    Raises:
        KeyError: naming the ids that are not registered (`units.register_unit`).
    """
    from sc2agents.envs.sim import units

    known = (raw >= 0) & (raw < units.TYPE_INDEX.size)
    t = units.TYPE_INDEX[np.where(known, raw, 0)]
    bad = ~known | (t < 0)
    if bad.any():
        raise KeyError(f"SimState.spawn: unknown unit type(s) {np.unique(raw[bad])}")
    return t


def _put(
    arr: np.ndarray, flat: np.ndarray, ee: np.ndarray, slots: np.ndarray, value: object
) -> None:
    """``arr[ee, slots] = value`` for an ``[N, U, ...]`` array, through ``flat = ee * U + slots``.

    ``value`` is a scalar or laid out along ``flat``; a non-contiguous ``arr`` (whose reshape
    would be a copy) takes the 2-d scatter with ``value`` reshaped to ``slots``' shape.
    """
    if arr.flags.c_contiguous:
        arr.reshape((-1,) + arr.shape[2:])[flat] = value
    else:
        v = np.asarray(value)
        arr[ee, slots] = v if v.ndim == 0 else v.reshape(slots.shape + arr.shape[2:])
