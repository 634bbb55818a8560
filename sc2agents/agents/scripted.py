"""Scripted policies for the five movement/combat minigames, over storage-form observations.

Each policy is a batched, stateless `core.Policy`: it reads only the observation (feature screen
and minimap, available actions and, when present, ``game_loop``), so one object serves any number
of parallel games, pickles, and (with ``game_loop`` present and no noise) acts deterministically.
``epsilon`` mixes in uniformly random actions (`random_agent.random_actions`) per row, which is
how the expert / medium / random datasets differ.

Strategies (screen coordinates are pixels of ``feature_screen``):

* **MoveToBeacon**: select the army, move to the beacon's centre.
* **CollectMineralShards**: split the two marines: alternate between selecting one marine and
  sending it to the nearest shard in *its* Voronoi cell (shards closer to it than to the other
  marine), so the marines sweep different halves instead of chasing the same shard.
* **FindAndDefeatZerglings**: keep the camera on the marines; attack visible zerglings on the
  screen (nearest first), else attack-move on the minimap to the nearest visible zergling, else to
  the nearest never-seen minimap cell (exploration under fog of war).
* **DefeatRoaches**: focus fire: every marine attacks the same roach, the one nearest the army's
  centre, so roaches die one after another instead of all being scratched. (Focusing the roach
  with the fewest hit points instead scored less than half as much over full episodes: the army
  walks into the other roaches' range to reach it.)
* **DefeatZerglingsAndBanelings**: kill the banelings first, nearest first, while they are still
  at range (a baneling that reaches the line splashes several marines; marines cannot outrun
  banelings without stim, so shooting them early is what spreads the damage), then focus the
  weakest zergling. The marines start in a spread line, which keeps splash small.

Every policy re-selects the army when a unit of its own is not selected (reinforcements after a
wave), as a human player would.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sc2agents import core
from sc2agents.agents import base
from sc2agents.agents.base import ENEMY, NEUTRAL, SELF, ActionBatch
from sc2agents.agents.random_agent import random_actions
from sc2agents.envs import features

__all__ = ["SCRIPTED_POLICIES", "ScriptedPolicy", "scripted_policy"]

_PR = base.SCREEN_CH["player_relative"]
_SEL = base.SCREEN_CH["selected"]
_HP = base.SCREEN_CH["unit_hit_points"]
_MM_PR = base.MINIMAP_CH["player_relative"]
_MM_VIS = base.MINIMAP_CH["visibility_map"]
_MM_CAM = base.MINIMAP_CH["camera"]
_MM_PATH = base.MINIMAP_CH["pathable"]
_BANELING = int(features.unit_type_index(9))
_NO_POINT = np.zeros((0, 2), dtype=np.float64)


def _points(mask: np.ndarray) -> np.ndarray:
    """``[K, 2]`` (x, y) of the True pixels of a 2-D mask."""
    y, x = np.nonzero(mask)
    return np.stack([x, y], axis=1).astype(np.float64) if len(x) else _NO_POINT


def _nearest(points: np.ndarray, to: np.ndarray) -> np.ndarray:
    return points[int(np.argmin(np.linalg.norm(points - to, axis=1)))]


def _two_means(points: np.ndarray, iters: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Split pixels into two groups (the two marines); returns their labels and centres."""
    a, b = (
        points[np.argmin(points[:, 0] + points[:, 1])],
        points[np.argmax(points[:, 0] + points[:, 1])],
    )
    centres = np.stack([a, b])
    labels = np.zeros(len(points), dtype=int)
    for _ in range(iters):
        d = np.linalg.norm(points[:, None, :] - centres[None], axis=2)
        labels = d.argmin(axis=1)
        for k in (0, 1):
            if (labels == k).any():
                centres[k] = points[labels == k].mean(axis=0)
    return labels, centres


class _Env:
    """Views of one row of a storage-form batch."""

    def __init__(self, obs: core.ObsBatch, i: int) -> None:
        self.screen = np.asarray(obs["screen"][i])
        self.minimap = np.asarray(obs["minimap"][i])
        self.avail = np.asarray(obs["available_actions"][i], dtype=bool)
        self.unit_type = (
            np.asarray(obs["screen_unit_type"][i]) if "screen_unit_type" in obs else None
        )
        self.pr = self.screen[_PR]
        self.selected = self.screen[_SEL] > 0

    def can(self, name: str) -> bool:
        return bool(self.avail[base.FN[name]])

    def army_needs_select(self, order: str) -> bool:
        """True when the army cannot take ``order`` or one of our units is not selected."""
        own = self.pr == SELF
        return not self.can(order) or bool((own & ~self.selected).any())


Decide = Callable[[_Env, ActionBatch, int, int], None]


def _move_to_beacon(env: _Env, out: ActionBatch, i: int, phase: int) -> None:
    if env.army_needs_select("Move_screen"):
        out.set(i, "select_army", select_add=0)
        return
    beacon = _points(env.pr == NEUTRAL)
    if len(beacon):
        out.set(i, "Move_screen", queued=0, screen=beacon.mean(axis=0))


def _collect_mineral_shards(env: _Env, out: ActionBatch, i: int, phase: int) -> None:
    own = env.pr == SELF
    marines = _points(own)
    shards = _points(env.pr == NEUTRAL)
    if not len(marines):
        return
    if not env.can("Move_screen"):
        out.set(i, "select_army", select_add=0)
        return
    labels, centres = _two_means(marines)
    if np.linalg.norm(centres[0] - centres[1]) < 1.5:
        # One blob (marines on top of each other): pick one of them (select_point selects a
        # single unit), then send the selection off, which splits the pair. Phase only: the
        # selection layer cannot tell one stacked marine from two.
        if phase == 0:
            out.set(i, "select_point", select_point_act=0, screen=_nearest(marines, centres[0]))
        elif len(shards):
            out.set(i, "Move_screen", queued=0, screen=_nearest(shards, marines.mean(axis=0)))
        return
    sel_pixels = env.selected & own
    px = marines.astype(int)
    # A marine is selected when most of its pixels are: touching discs share a few pixels.
    sel_in = [bool(sel_pixels[px[labels == k, 1], px[labels == k, 0]].mean() > 0.5) for k in (0, 1)]
    if all(sel_in) or phase == 0:
        # Select the marine that is not (solely) selected now, alternating between the two.
        k = 0 if all(sel_in) or not sel_in[0] else 1
        pts = marines[labels == k]
        out.set(i, "select_point", select_point_act=0, screen=_nearest(pts, centres[k]))
        return
    k = 0 if sel_in[0] else 1
    if not len(shards):
        return
    # Shards in this marine's Voronoi cell; the whole set when the cell is empty.
    d_own = np.linalg.norm(shards - centres[k], axis=1)
    d_other = np.linalg.norm(shards - centres[1 - k], axis=1)
    mine = shards[d_own <= d_other]
    target = _nearest(mine if len(mine) else shards, centres[k])
    out.set(i, "Move_screen", queued=0, screen=target)


def _find_and_defeat_zerglings(env: _Env, out: ActionBatch, i: int, phase: int) -> None:
    if env.army_needs_select("Attack_minimap"):
        out.set(i, "select_army", select_add=0)
        return
    mm_own = _points(env.minimap[_MM_PR] == SELF)
    if not len(mm_own):
        return
    army = mm_own.mean(axis=0)
    playable = env.minimap[_MM_PATH] > 0
    if not playable.any():
        playable = np.ones_like(playable)
    cam = _points(env.minimap[_MM_CAM] > 0)
    if len(cam):
        # Keep the camera on the army. The camera cannot leave the playable area, so compare
        # with where it would go (the army, clamped), or it would be moved forever at the edges.
        centre, half = cam.mean(axis=0), (cam.max(axis=0) - cam.min(axis=0) + 1) / 2
        area = _points(playable)
        lo, hi = area.min(axis=0) + half, area.max(axis=0) + 1 - half
        goal = np.where(lo <= hi, np.clip(army, lo, hi), (lo + hi) / 2)
        if (np.abs(goal - centre) > 0.35 * half).any():
            out.set(i, "move_camera", minimap=goal)
            return
    enemies = _points(env.pr == ENEMY)
    own = _points(env.pr == SELF)
    if len(enemies) and len(own):
        out.set(i, "Attack_screen", queued=0, screen=_nearest(enemies, own.mean(axis=0)))
        return
    mm_enemy = _points(env.minimap[_MM_PR] == ENEMY)
    if len(mm_enemy):
        out.set(i, "Attack_minimap", queued=0, minimap=_nearest(mm_enemy, army))
        return
    # Explore: the nearest never-seen cell of the playable (pathable) area, else a fogged one.
    unseen = _points(playable & (env.minimap[_MM_VIS] == 0))
    if not len(unseen):
        unseen = _points(playable & (env.minimap[_MM_VIS] == 1))
    if len(unseen):
        out.set(i, "Attack_minimap", queued=0, minimap=_nearest(unseen, army))


def _weakest(env: _Env, mask: np.ndarray, near: np.ndarray) -> np.ndarray:
    """The pixel of ``mask`` with the fewest hit points, nearest to ``near`` on ties."""
    pts = _points(mask)
    hp = env.screen[_HP][pts[:, 1].astype(int), pts[:, 0].astype(int)].astype(np.float64)
    dist = np.linalg.norm(pts - near, axis=1)
    return pts[int(np.lexsort((dist, hp))[0])]


def _defeat_roaches(env: _Env, out: ActionBatch, i: int, phase: int) -> None:
    if env.army_needs_select("Attack_screen"):
        out.set(i, "select_army", select_add=0)
        return
    own = _points(env.pr == SELF)
    enemy = env.pr == ENEMY
    if not len(own) or not enemy.any():
        return
    out.set(i, "Attack_screen", queued=0, screen=_nearest(_points(enemy), own.mean(axis=0)))


def _defeat_zerglings_and_banelings(env: _Env, out: ActionBatch, i: int, phase: int) -> None:
    if env.army_needs_select("Attack_screen"):
        out.set(i, "select_army", select_add=0)
        return
    own = _points(env.pr == SELF)
    enemy = env.pr == ENEMY
    if not len(own) or not enemy.any():
        return
    centre = own.mean(axis=0)
    banes = enemy & (env.unit_type == _BANELING) if env.unit_type is not None else None
    if banes is not None and banes.any():
        out.set(i, "Attack_screen", queued=0, screen=_nearest(_points(banes), centre))
        return
    out.set(i, "Attack_screen", queued=0, screen=_weakest(env, enemy, centre))


SCRIPTED_POLICIES: dict[str, Decide] = {
    "MoveToBeacon": _move_to_beacon,
    "CollectMineralShards": _collect_mineral_shards,
    "FindAndDefeatZerglings": _find_and_defeat_zerglings,
    "DefeatRoaches": _defeat_roaches,
    "DefeatZerglingsAndBanelings": _defeat_zerglings_and_banelings,
}
"""Per-map decision function of one game; keys are the simulator's scenario names."""


class ScriptedPolicy:
    """Batched scripted `core.Policy` for one minigame, with ``epsilon``-random noise.

    Args:
        map_name: one of `SCRIPTED_POLICIES`.
        epsilon: per-row probability of a uniformly random action instead of the scripted one.
        step_mul: game loops per agent step, to alternate two-step manoeuvres from ``game_loop``
            (when the observation has no ``game_loop``, the alternation is random).
        seed: seed of the generator used when ``act`` gets no ``rng``.
    """

    def __init__(
        self, map_name: str, epsilon: float = 0.0, step_mul: int = 8, seed: int | None = None
    ) -> None:
        if map_name not in SCRIPTED_POLICIES:
            raise ValueError(
                f"no scripted policy for map {map_name!r}; known: {sorted(SCRIPTED_POLICIES)}"
            )
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be in [0, 1], got {epsilon}")
        if step_mul < 1:
            raise ValueError(f"step_mul must be >= 1, got {step_mul}")
        self.map_name = map_name
        self.epsilon = float(epsilon)
        self.step_mul = int(step_mul)
        self._decide = SCRIPTED_POLICIES[map_name]
        self._rng = np.random.default_rng(seed)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_decide")
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._decide = SCRIPTED_POLICIES[self.map_name]

    def act(
        self, observations: core.ObsBatch, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        rng = rng if rng is not None else self._rng
        b = base.batch_size(observations)
        out = ActionBatch(b, base.screen_size(observations), base.minimap_size(observations))
        loops = base.game_loops(observations)
        phases = (loops // self.step_mul) % 2 if loops is not None else rng.integers(0, 2, size=b)
        for i in range(b):
            self._decide(_Env(observations, i), out, i, int(phases[i]))
        fn, args = out.result()
        avail = np.asarray(observations["available_actions"], dtype=bool)
        bad = ~avail[np.arange(b), fn]
        fn[bad], args[bad] = 0, -1  # a decision that is not available now becomes no_op
        if self.epsilon > 0.0:
            noisy = rng.random(b) < self.epsilon
            if noisy.any():
                sub = {k: np.asarray(v)[noisy] for k, v in observations.items()}
                rf, ra = random_actions(sub, rng)
                fn[noisy], args[noisy] = rf, ra
        return fn, args


def scripted_policy(map_name: str, epsilon: float = 0.0, **kwargs: int) -> ScriptedPolicy:
    """The scripted `ScriptedPolicy` of ``map_name``."""
    return ScriptedPolicy(map_name, epsilon=epsilon, **kwargs)
