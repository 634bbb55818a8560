"""`SimEngine`: N games of one scenario, stepped together (docs/internal_api.md section 2).

One agent step: the actions of every player are validated and applied (`actions`), then
``ceil(step_mul / substep_loops)`` sub-steps of `dynamics.substep` run, each followed by the
scenario's triggers (`Scenario.update`: rewards, respawns, game over); the curriculum score,
fog and caches are then updated. Observations are rendered lazily by `observe` /
`observe_env` (`observe.Observer`, one per player).

Beyond section 2 of the internal API, front ends may use: `step_encoded` (actions in
`features.encode_action` layout, no `FunctionCall` objects), `observe_storage` (the observation
rendered directly in the storage form of `features.observation_to_storage`, what `SimVectorEnv`
returns), `available_mask`, `visible_units`,
`camera_bounds` / `set_camera`, `describe`, and `observers[player]` (the renderer's buffers).

Example:
    >>> from pysc2_evolved.lib import actions
    >>> eng = SimEngine("MoveToBeacon", num_envs=4, seed=0)
    >>> eng.reset()
    >>> res = eng.step([[actions.FUNCTIONS.select_army("select")] * 4])
    >>> res.reward.shape, eng.observe()["feature_screen"].shape
    ((1, 4), (4, 27, 64, 64))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pysc2_evolved.lib import actions as sc2_actions
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import named_array

from sc2agents.envs import features
from sc2agents.envs.sim import actions as sim_actions
from sc2agents.envs.sim import dynamics, observe, observe_jit, units
from sc2agents.envs.sim.scenarios import Scenario, get_scenario
from sc2agents.envs.sim.state import NEUTRAL, SimState

__all__ = ["SimEngine", "StepResult"]

_TOTAL_VALUE_UNITS = features.SCORE_CUMULATIVE_FIELDS.index("total_value_units")
_KILLED_VALUE_UNITS = features.SCORE_CUMULATIVE_FIELDS.index("killed_value_units")


@dataclasses.dataclass
class StepResult:
    """Result of `SimEngine.step`.

    Attributes:
        reward: float32 ``[P, N]`` reward of the agent step (change of the curriculum score).
        terminated: bool ``[N]``: the map ended the game (e.g. all marines dead).
        truncated: bool ``[N]``: the time limit was reached.
    """

    reward: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray


class SimEngine:
    """Vectorised simulator of ``num_envs`` games of one scenario.

    Args:
        scenario: map name (`scenarios.SCENARIOS`) or a `Scenario` instance.
        num_envs: games stepped together.
        screen_size: feature screen resolution (square).
        minimap_size: feature minimap resolution (square).
        step_mul: game loops per agent step.
        game_steps_per_episode: game loops after which the game is truncated (``None`` = the map's
            time limit; ``0`` = the map's; a value above the map's limit has no effect, as in SC2
            where the map trigger ends the game first).
        seed: random seed (positions, shot order).
        use_feature_units: also produce ``feature_units`` in `observe_env`.
        num_players: agent players (1 for the mini-games).
        disable_fog: show everything even on fog maps.
        action_error: ``"raise"`` a ValueError on an unavailable/invalid action (PySC2's
            behaviour) or ``"warn"``: log and treat it as ``no_op``.
        camera_width: world cells across the screen (PySC2's ``camera_width_world_units``).
        substep_loops: the longest sub-step in game loops (movement/attack resolution).
        allow_cheating_layers: draw unit types on the minimap.
        bots: built-in bots playing the players after the ``num_players`` agents (a PySC2
            ``Difficulty``, its name or a `bots.BotParams` each; `bots.make_bots`). ``None``: the
            map's ``default_bots`` fill the players the agents leave (two-player maps).
    """

    def __init__(
        self,
        scenario: str | Scenario,
        num_envs: int = 1,
        *,
        screen_size: int = 64,
        minimap_size: int = 64,
        step_mul: int = 8,
        game_steps_per_episode: int | None = None,
        seed: int | None = None,
        use_feature_units: bool = False,
        num_players: int = 1,
        disable_fog: bool = False,
        action_error: Literal["raise", "warn"] = "raise",
        camera_width: float = 24.0,
        substep_loops: int = 8,
        allow_cheating_layers: bool = False,
        bots: Sequence[Any] | None = None,
    ) -> None:
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        for name, v in (
            ("num_envs", num_envs),
            ("screen_size", screen_size),
            ("minimap_size", minimap_size),
            ("step_mul", step_mul),
            ("substep_loops", substep_loops),
        ):
            if int(v) < 1:
                raise ValueError(f"SimEngine: {name} must be >= 1, got {v}")
        if action_error not in ("raise", "warn"):
            raise ValueError(
                f"SimEngine: action_error must be 'raise' or 'warn', got {action_error!r}"
            )
        if bots is None:
            free = max(0, self.scenario.num_players - int(num_players))
            bots = list(getattr(self.scenario, "default_bots", ()))[:free]
        bots = list(bots)
        if num_players + len(bots) != self.scenario.num_players:
            raise ValueError(
                f"SimEngine: map {self.scenario.name} has {self.scenario.num_players} player(s), "
                f"got num_players={num_players} and {len(bots)} bot(s)"
            )
        self.num_envs = int(num_envs)
        self.num_players = int(num_players)
        self.num_bots = len(bots)
        total = self.num_players + self.num_bots  # players in the game: agents, then bots
        self.screen_size = int(screen_size)
        self.minimap_size = int(minimap_size)
        self.step_mul = int(step_mul)
        self.camera_width = float(camera_width)
        self.substep_loops = int(substep_loops)
        self.use_feature_units = bool(use_feature_units)
        self.action_error: Literal["raise", "warn"] = action_error
        self.fog = self.scenario.fog and not disable_fog
        limit = self.scenario.time_limit_loops
        if game_steps_per_episode:
            limit = (
                min(limit, int(game_steps_per_episode)) if limit else int(game_steps_per_episode)
            )
        self.time_limit_loops = limit
        self.rng = np.random.default_rng(seed)
        self._all_envs = np.arange(self.num_envs, dtype=np.int64)
        self.state = SimState.allocate(
            self.num_envs, self.scenario.max_units, total, self.scenario.map_size
        )
        self.observers = [
            observe.Observer(
                self.scenario,
                self.num_envs,
                p,
                self.screen_size,
                self.minimap_size,
                self.camera_width,
                self.use_feature_units,
                allow_cheating_layers,
                fog=self.fog,
            )
            for p in range(total)
        ]
        self._sight = [self._sight_stencil(r) for r in units.TABLE.sight]
        self.scenario_functions = np.zeros(features.NUM_FUNCTIONS, bool)
        self.scenario_functions[list(self.scenario.action_functions)] = True
        self._rendered = [False] * total
        self._stored = [False] * total  # storage-form layers up to date (`observe_storage`)
        self._avail: list[np.ndarray | None] = [None] * total
        self._visible: list[np.ndarray | None] = [None] * total
        self.episode_reward = np.zeros((total, self.num_envs), np.float32)
        self.recorder: Any = None  # sim_replay.Recorder: logs resets and agent actions
        attach = getattr(self.scenario, "attach", None)
        if attach is not None:  # scenario hook (economy maps): sees the engine once
            attach(self)
        self.bots: Any = None
        if bots:
            from sc2agents.envs.sim.bots import make_bots  # local: bots imports the engine

            self.bots = make_bots(self, bots)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _sight_stencil(r: float) -> tuple[np.ndarray, np.ndarray]:
        rr = int(math.ceil(r))
        yy, xx = np.mgrid[-rr : rr + 1, -rr : rr + 1]
        m = (yy * yy + xx * xx) <= r * r
        return yy[m].astype(np.int64), xx[m].astype(np.int64)

    @property
    def map_size(self) -> tuple[int, int]:
        return self.scenario.map_size

    def clamp_to_playable(self, pts: np.ndarray) -> np.ndarray:
        x0, y0, x1, y1 = self.scenario.playable
        out = np.asarray(pts, np.float32).copy()
        np.clip(out[..., 0], x0, x1, out=out[..., 0])
        np.clip(out[..., 1], y0, y1, out=out[..., 1])
        return out

    def camera_bounds(self) -> tuple[float, float, float, float]:
        """Box the camera centre stays in: the screen never leaves the playable area.

        As SC2's camera bounds; on single-screen maps it is one point (the camera cannot move).
        """
        x0, y0, x1, y1 = self.scenario.playable
        half = self.camera_width / 2
        cx0, cx1 = x0 + half, x1 - half
        cy0, cy1 = y0 + half, y1 - half
        if cx0 > cx1:
            cx0 = cx1 = (x0 + x1) / 2
        if cy0 > cy1:
            cy0 = cy1 = (y0 + y1) / 2
        return cx0, cy0, cx1, cy1

    def set_camera(self, player: int, env_ids: np.ndarray, centre: np.ndarray) -> None:
        """Move the camera of ``player`` in the given games (kept inside `camera_bounds`)."""
        env_ids = np.asarray(env_ids)
        cx0, cy0, cx1, cy1 = self.camera_bounds()
        c = np.asarray(centre, np.float32).reshape(-1, 2).copy()
        np.clip(c[:, 0], cx0, cx1, out=c[:, 0])
        np.clip(c[:, 1], cy0, cy1, out=c[:, 1])
        moved = (c != self.state.camera[player, env_ids]).any(axis=1)
        if moved.any():
            self.state.camera[player, env_ids[moved]] = c[moved]
            self.camera_moved(player, env_ids[moved])

    def camera_moved(self, player: int, env_ids: np.ndarray) -> None:
        """Tell the renderer that ``player``'s camera moved in these games (`set_camera` does)."""
        self.observers[player].mark_camera_dirty(env_ids)
        self._rendered[player] = False
        self._stored[player] = False

    def visible_units(self, player: int) -> np.ndarray:
        """Bool ``[N, U]``: live units ``player`` can see (cached until the state changes)."""
        if self._visible[player] is None:
            self._visible[player] = self.observers[player].visible_units(self.state)
        return self._visible[player]

    def _invalidate(self) -> None:
        total = self.state.num_players
        self._rendered = [False] * total
        self._stored = [False] * total
        self._avail = [None] * total
        self._visible = [None] * total

    def _update_fog(self) -> None:
        if self.fog:
            for p in range(self.state.num_players):
                dynamics.update_visibility(self.state, p, self._sight)

    # ------------------------------------------------------------------ API
    def reset(self, env_ids: np.ndarray | None = None, seed: int | None = None) -> None:
        """Start new episodes in the given games (all by default)."""
        if seed is not None:
            self.rng = np.random.default_rng(seed)
        ids = np.arange(self.num_envs) if env_ids is None else np.asarray(env_ids, np.int64)
        if ids.size == 0:
            return
        if ids.min() < 0 or ids.max() >= self.num_envs:
            raise ValueError(f"SimEngine.reset: env_ids must be in [0, {self.num_envs}), got {ids}")
        if self.recorder is not None:  # before the reset uses the generator
            self.recorder.on_reset(self, ids, seed)
        st = self.state
        st.clear_envs(ids)
        self.episode_reward[:, ids] = 0
        self.scenario.reset_envs(st, ids, self.rng)
        camera_of = getattr(self.scenario, "camera_start_of", None)  # per-player start (melee)
        for p in range(st.num_players):
            start = camera_of(p) if camera_of is not None else self.scenario.camera_start
            self.set_camera(p, ids, np.broadcast_to(start, (ids.size, 2)))
            self.observers[p].mark_camera_dirty(ids)
            if self.scenario.preselect:
                st.selected[p, ids] = st.alive[ids] & (st.owner[ids] == p + 1)
        if self.fog:
            for p in range(st.num_players):
                dynamics.update_visibility(st, p, self._sight)
        self._total_value(ids)
        self._invalidate()
        if self.bots is not None:
            self.bots.reset(ids)

    def _total_value(self, ids: np.ndarray | None = None) -> None:
        st = self.state
        if dynamics.jit_enabled():  # one compiled pass (tested equal)
            observe_jit.total_value_kernel(
                st.alive, st.owner, st.type_idx, units.TABLE.value,
                self._all_envs if ids is None else np.asarray(ids, np.int64),
                st.score_cumulative, _TOTAL_VALUE_UNITS,
            )  # fmt: skip
            return
        idx = slice(None) if ids is None else ids
        for p in range(st.num_players):
            own = st.alive[idx] & (st.owner[idx] == p + 1)
            val = np.where(own, units.TABLE.value[st.type_idx[idx]], 0).sum(axis=1)
            st.score_cumulative[p, idx, _TOTAL_VALUE_UNITS] = val

    def available_mask(self, player: int = 0) -> np.ndarray:
        """Bool ``[N, 573]`` functions available to ``player`` now."""
        if self._avail[player] is None:
            # (sim_actions.available_mask applies the scenario's available_hook)
            self._avail[player] = sim_actions.available_mask(self, player)
        return self._avail[player]

    def step(self, calls: Sequence[Sequence[sc2_actions.FunctionCall]]) -> StepResult:
        """Apply one `FunctionCall` per player per game, then advance ``step_mul`` game loops.

        ``calls[player][env]`` is a PySC2 `FunctionCall`.

        Raises:
            ValueError: bad or unavailable action (unless ``action_error="warn"``).
        """
        if len(calls) != self.num_players:
            raise ValueError(
                f"SimEngine.step: expected calls for {self.num_players} player(s), got {len(calls)}"
            )
        fns, argss = [], []
        for p, pc in enumerate(calls):
            if len(pc) != self.num_envs:
                raise ValueError(
                    f"SimEngine.step: player {p}: expected {self.num_envs} calls, got {len(pc)}"
                )
            f, a = sim_actions.calls_to_arrays(
                pc, self.screen_size, self.minimap_size, self.action_error
            )
            fns.append(f)
            argss.append(a)
        return self.step_encoded(np.stack(fns), np.stack(argss))

    def step_encoded(self, function: np.ndarray, args: np.ndarray) -> StepResult:
        """Fast path of `step`: actions in `features.encode_action` layout.

        Args:
            function: int ``[P, N]`` function ids.
            args: int ``[P, N, 13]`` arguments (-1 = unused; points flattened ``y*size+x``).
        """
        function = np.asarray(function).reshape(self.num_players, self.num_envs)
        args = np.asarray(args).reshape(self.num_players, self.num_envs, features.NUM_ARG_TYPES)
        if self.recorder is not None:
            self.recorder.on_step(function, args)  # before the actions change the state
        try:
            for p in range(self.num_players):
                fn = sim_actions.validate(
                    function[p],
                    args[p],
                    self.available_mask(p),
                    self.screen_size,
                    self.minimap_size,
                    self.action_error,
                    p,
                )
                sim_actions.apply_actions(self, p, fn, args[p])
        except ValueError:
            if self.recorder is not None:  # the step did not happen
                self.recorder.drop_last()
            raise
        if self.bots is not None:  # built-in bots act through the same functions, always valid
            bot_fn, bot_args = self.bots.act(self)
            for i in range(self.num_bots):
                p = self.num_players + i
                fn = sim_actions.validate(
                    bot_fn[i],
                    bot_args[i],
                    self.available_mask(p),
                    self.screen_size,
                    self.minimap_size,
                    "raise",
                    p,
                )
                sim_actions.apply_actions(self, p, fn, bot_args[i])
        return self._advance()

    def _advance(self) -> StepResult:
        st = self.state
        sc = self.scenario
        reward = np.zeros((st.num_players, self.num_envs), np.float32)
        over = np.zeros(self.num_envs, bool)
        n_sub = max(1, math.ceil(self.step_mul / self.substep_loops))
        dt = self.step_mul / n_sub
        bounds = sc.playable
        changed = False  # did units die or appear (then total_value_units changes)
        tags = int(st.next_tag.sum())
        for _ in range(n_sub):
            ev = dynamics.substep(st, dt, self.rng, bounds)
            r, done = sc.update(st, ev, self.rng)
            reward += r
            over |= done
            if ev.died.any():
                self._killed_value(ev)
                changed = True
        st.game_loop += self.step_mul
        truncated = (
            (st.game_loop >= self.time_limit_loops)
            if self.time_limit_loops
            else np.zeros_like(over)
        )
        self.episode_reward += reward
        st.score_cumulative[:, :, 0] = np.rint(self.episode_reward).astype(np.int32)
        if changed or int(st.next_tag.sum()) != tags or self.scenario_functions.any():
            self._total_value()
        self._update_fog()
        self._invalidate()
        return StepResult(
            reward=reward[: self.num_players], terminated=over, truncated=truncated & ~over
        )

    def _killed_value(self, ev: dynamics.Events) -> None:
        st = self.state
        k = ev.k
        if dynamics.jit_enabled():  # one compiled pass (tested equal)
            observe_jit.killed_value_kernel(
                ev.died, st.owner, st.type_idx, units.TABLE.value, NEUTRAL, st.score_cumulative,
                _KILLED_VALUE_UNITS,
            )  # fmt: skip
            return
        val = np.where(ev.died, units.TABLE.value[st.type_idx[:, :k]], 0)
        for p in range(st.num_players):
            foe = (st.owner[:, :k] != p + 1) & (st.owner[:, :k] != NEUTRAL)
            killed = np.where(foe, val, 0).sum(axis=1).astype(np.int32)
            st.score_cumulative[p, :, _KILLED_VALUE_UNITS] += killed

    # ------------------------------------------------------------------ observations
    def _render(self, player: int) -> observe.Observer:
        ob = self.observers[player]
        if not self._rendered[player]:
            ob.render(self.state)
            self._rendered[player] = True
        return ob

    def observe(self, player: int = 0) -> dict[str, np.ndarray]:
        """Batched observation of every game, PySC2 layout with a leading game axis.

        Keys: ``feature_screen`` int32 ``[N, 27, S, S]`` and ``feature_minimap`` int32
        ``[N, 11, M, M]`` (read-only views of the renderer's buffers, valid until the next
        `step`/`reset`: copy to keep), ``player`` int32 ``[N, 11]``, ``available_actions`` bool
        ``[N, 573]`` (a mask, not PySC2's id list), ``game_loop`` int32 ``[N, 1]``,
        ``score_cumulative`` int32 ``[N, 13]``, ``control_groups`` int32 ``[N, 10, 2]``,
        ``num_selected`` int32 ``[N]``, ``last_actions`` int32 ``[N]`` (-1 = none).
        """
        ob = self._render(player)
        st = self.state
        return {
            "feature_screen": ob.screen.view,
            "feature_minimap": ob.minimap.view,
            "player": observe.player_vector(st, player),
            "available_actions": self.available_mask(player),
            "game_loop": st.game_loop[:, None].copy(),
            "score_cumulative": st.score_cumulative[player].copy(),
            "control_groups": self._control_groups(player),
            "num_selected": (st.selected[player] & st.alive).sum(axis=1).astype(np.int32),
            "last_actions": st.last_actions[player].copy(),
        }

    def observe_storage(self, player: int = 0) -> dict[str, np.ndarray]:
        """Batched observation in the storage form (`features.observation_to_storage`).

        Rendered directly in that form (`observe.Observer.render_storage`), without the int32
        layers: for each game ``i`` the result equals
        ``features.observation_to_storage(self.observe_env(i, player))``. Keys: ``screen`` uint8
        ``[N, 26, S, S]``, ``screen_unit_type`` uint16 ``[N, S, S]``, ``minimap`` uint8
        ``[N, 10, M, M]``, ``minimap_unit_type`` uint16 ``[N, M, M]`` (read-only views of the
        renderer's buffers, valid until the next `step`/`reset`: copy to keep), ``player``
        float32 ``[N, 11]``, ``available_actions`` bool ``[N, 573]`` (the engine's cached mask:
        copy to keep) and ``game_loop`` int64 ``[N, 1]``.
        """
        ob = self.observers[player]
        st = self.state
        if not self._stored[player]:
            ob.render_storage(st, self.visible_units(player))
            self._stored[player] = True
        assert ob.storage is not None
        out = ob.storage.arrays()
        out["player"] = observe.player_vector(st, player).astype(np.float32)
        out["available_actions"] = self.available_mask(player)
        out["game_loop"] = st.game_loop[:, None].astype(np.int64)
        return out

    def _control_groups(self, player: int) -> np.ndarray:
        st = self.state
        if not st.control_groups[player].any():
            return np.zeros((self.num_envs, 10, 2), np.int32)
        g = st.control_groups[player] & st.alive[:, None, :]  # [N, 10, U]
        count = g.sum(axis=2)
        first = np.argmax(g, axis=2)
        leader = st.unit_type[np.arange(self.num_envs)[:, None], first]
        return np.stack([np.where(count > 0, leader, 0), count], axis=-1).astype(np.int32)

    def observe_env(self, env: int, player: int = 0) -> named_array.NamedDict:
        """One game's observation exactly as PySC2's ``TimeStep.observation`` (a `NamedDict`)."""
        ob = self._render(player)
        st = self.state
        na = named_array.NamedNumpyArray
        ft = sc2_features
        out = named_array.NamedDict()
        out["single_select"] = observe.empty_rows()
        out["multi_select"] = observe.empty_rows()
        sel = np.flatnonzero(st.selected[player, env] & st.alive[env])
        if sel.size == 1:
            out["single_select"] = na(observe.unit_rows(st, player, env, sel), [None, ft.UnitLayer])
        elif sel.size > 1:
            out["multi_select"] = na(observe.unit_rows(st, player, env, sel), [None, ft.UnitLayer])
        empty7 = observe.empty_rows()
        out["build_queue"] = empty7
        out["cargo"] = empty7
        out["production_queue"] = np.zeros((0, len(ft.ProductionQueue)), np.int32)
        la = int(st.last_actions[player, env])
        out["last_actions"] = np.array([la] if la >= 0 else [], np.int32)
        out["cargo_slots_available"] = np.array([0], np.int32)
        out["home_race_requested"] = np.array([0], np.int32)
        out["away_race_requested"] = np.array([0], np.int32)
        out["map_name"] = self.scenario.name
        out["feature_screen"] = na(ob.screen.view[env].copy(), [ft.ScreenFeatures, None, None])
        out["feature_minimap"] = na(ob.minimap.view[env].copy(), [ft.MinimapFeatures, None, None])
        out["action_result"] = np.zeros(0, np.int32)
        out["alerts"] = np.zeros(0, np.int32)
        out["game_loop"] = np.array([st.game_loop[env]], np.int32)
        out["score_cumulative"] = na(st.score_cumulative[player, env].copy(), ft.ScoreCumulative)
        out["score_by_category"] = na(
            np.zeros((len(ft.ScoreByCategory), len(ft.ScoreCategories)), np.int32),
            [ft.ScoreByCategory, ft.ScoreCategories],
        )
        out["score_by_vital"] = na(
            np.zeros((len(ft.ScoreByVital), len(ft.ScoreVitals)), np.int32),
            [ft.ScoreByVital, ft.ScoreVitals],
        )
        out["player"] = na(observe.player_vector(st, player)[env], ft.Player)
        out["control_groups"] = self._control_groups(player)[env]
        if self.use_feature_units:
            out["feature_units"] = na(
                ob.feature_units(st, env), [None, ft.FeatureUnit], dtype=np.int64
            )
            out["feature_effects"] = na(
                np.zeros((0, len(ft.EffectPos)), np.int32), [None, ft.EffectPos]
            )
            out["radar"] = na(np.zeros((0, len(ft.Radar)), np.int32), [None, ft.Radar])
        out["upgrades"] = np.zeros(0, np.int32)
        out["available_actions"] = np.flatnonzero(self.available_mask(player)[env]).astype(np.int32)
        return out

    def describe(self) -> dict[str, Any]:
        """Static facts for front ends (map size, limits, sizes)."""
        return {
            "map_name": self.scenario.name,
            "map_size": self.scenario.map_size,
            "playable": self.scenario.playable,
            "time_limit_loops": self.time_limit_loops,
            "step_mul": self.step_mul,
            "fog": self.fog,
            "camera_width": self.camera_width,
        }
