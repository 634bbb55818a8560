"""`SimSC2Env`: the simulator behind PySC2's own environment interface.

A drop-in for `pysc2_evolved.env.sc2_env.SC2Env` on the simulator's maps: same keyword arguments,
a subclass of `pysc2_evolved.env.environment.Base`, `TimeStep`s whose observation is a PySC2
`NamedDict`, and ``observation_spec()`` / ``action_spec()`` from PySC2's own `features.Features`
for the same `AgentInterfaceFormat`. `pysc2_evolved.env.run_loop.run_loop` and the stock agents run
on it unchanged:

    >>> from pysc2_evolved.env import sc2_env
    >>> env = SimSC2Env(map_name="MoveToBeacon", players=[sc2_env.Agent(sc2_env.Race.terran)],
    ...     agent_interface_format=sc2_env.AgentInterfaceFormat(
    ...         feature_dimensions=sc2_env.Dimensions(screen=64, minimap=64)))
    >>> ts = env.reset()
    >>> ts[0].first(), ts[0].observation.feature_screen.shape
    (True, (27, 64, 64))

Rewards follow SC2Env: the change of ``score_cumulative[score_index]`` (the map's curriculum score
for the mini-games), 0 on the first step; the last step of an episode has discount 0 when the map
ended the game (time limit or defeat, as the real mini-game triggers do) and ``discount`` when
``game_steps_per_episode`` cut it short (0 with ``discount_zero_after_timeout``).
"""

from __future__ import annotations

import datetime
import os
import random
from collections.abc import Sequence
from typing import Any

import numpy as np
from absl import logging
from pysc2_evolved.env import environment
from pysc2_evolved.env import sc2_env as pysc2_sc2_env
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import named_array, point

from sc2agents.envs.sim import sim_replay
from sc2agents.envs.sim.engine import SimEngine
from sc2agents.envs.sim.scenarios import get_scenario

__all__ = ["SimSC2Env"]

_StepType = environment.StepType


class SimSC2Env(environment.Base):
    """The simulator as a PySC2 environment (one game).

    Takes `SC2Env`'s keyword arguments. Those that only make sense for the real game
    (``battle_net_map``, ``realtime``, ``save_replay_episodes``, ``replay_dir``,
    ``replay_prefix``, ``version``) are accepted and ignored with a log line when set.
    """

    def __init__(
        self,
        *,
        map_name: str | Sequence[str] | None = None,
        battle_net_map: bool = False,
        players: Sequence[Any] | None = None,
        agent_interface_format: Any = None,
        discount: float = 1.0,
        discount_zero_after_timeout: bool = False,
        visualize: bool = False,
        step_mul: int | None = None,
        realtime: bool = False,
        save_replay_episodes: int = 0,
        replay_dir: str | None = None,
        replay_prefix: str | None = None,
        game_steps_per_episode: int | None = None,
        score_index: int | None = None,
        score_multiplier: float | None = None,
        random_seed: int | None = None,
        disable_fog: bool = False,
        ensure_available_actions: bool = True,
        version: str | None = None,
    ) -> None:
        self._engine: SimEngine | None = None
        if not players:
            raise ValueError("You must specify the list of players.")
        for p in players:
            if not isinstance(p, (pysc2_sc2_env.Agent, pysc2_sc2_env.Bot)):
                raise ValueError(f"Expected players to be of type Agent or Bot. Got: {p}.")
        self._num_agents = sum(isinstance(p, pysc2_sc2_env.Agent) for p in players)
        if not map_name:
            raise ValueError("Missing a map name.")
        names = [map_name] if isinstance(map_name, str) else list(map_name)
        name = random.choice(names)
        scenario = get_scenario(name)
        if len(players) > scenario.num_players and scenario.num_players == 1:
            raise ValueError(f"{name} is a single player map; got {len(players)} players.")
        if len(players) != scenario.num_players and not (
            scenario.num_players > 1 and len(players) == self._num_agents
        ):
            raise ValueError(f"{name} has {scenario.num_players} player(s), got {len(players)}.")
        kinds = [isinstance(p, pysc2_sc2_env.Agent) for p in players]
        if kinds != sorted(kinds, reverse=True):
            raise ValueError("SimSC2Env: list the Agents before the Bots in `players`.")
        # Built-in bots (simulated by the engine) play the players after the agents.
        bots = [p for p in players if isinstance(p, pysc2_sc2_env.Bot)]  # race checked by bots
        for flag, value in (
            ("battle_net_map", battle_net_map),
            ("realtime", realtime),
            ("save_replay_episodes", save_replay_episodes),
            ("version", version),
        ):
            if value:
                logging.info(
                    "SimSC2Env: %s=%r has no meaning in the simulator; ignored", flag, value
                )
        if agent_interface_format is None:
            raise ValueError("Please specify agent_interface_format.")
        if isinstance(agent_interface_format, sc2_features.AgentInterfaceFormat):
            agent_interface_format = [agent_interface_format] * self._num_agents
        if len(agent_interface_format) != self._num_agents:
            raise ValueError(
                "The number of entries in agent_interface_format should correspond 1-1 with the "
                "number of agents."
            )
        aif = agent_interface_format[0]
        if not isinstance(aif, sc2_features.AgentInterfaceFormat) or not aif.feature_dimensions:
            raise ValueError(
                "SimSC2Env needs an AgentInterfaceFormat with feature_dimensions "
                "(the simulator renders feature layers, not RGB or raw)."
            )
        if aif.use_raw_units or aif.use_raw_actions or aif.rgb_dimensions:
            raise ValueError(
                "SimSC2Env: raw units/actions and RGB observations are not simulated; use "
                "feature layers (feature_dimensions), optionally use_feature_units=True."
            )
        screen = aif.feature_dimensions.screen
        minimap = aif.feature_dimensions.minimap
        if screen.x != screen.y or minimap.x != minimap.y:
            raise ValueError(
                f"SimSC2Env supports square resolutions only, got screen={screen}, "
                f"minimap={minimap}"
            )
        self._map_name = name
        self._aifs = agent_interface_format
        self._discount = discount
        self._discount_zero_after_timeout = discount_zero_after_timeout
        self._step_mul = max(1, step_mul or scenario.step_mul)
        self._score_index = scenario.score_index if score_index is None else score_index
        self._score_multiplier = 1 if score_multiplier is None else score_multiplier
        self._episode_length = game_steps_per_episode or 0
        self._engine = SimEngine(
            scenario,
            num_envs=1,
            screen_size=int(screen.x),
            minimap_size=int(minimap.x),
            step_mul=self._step_mul,
            game_steps_per_episode=game_steps_per_episode,
            seed=random_seed,
            use_feature_units=aif.use_feature_units,
            num_players=self._num_agents,
            **({"bots": bots} if bots else {}),
            disable_fog=disable_fog,
            action_error="raise" if ensure_available_actions else "warn",
            camera_width=float(aif.camera_width_world_units or 24),
            allow_cheating_layers=aif.allow_cheating_layers,
        )
        sim_replay.record(self._engine)  # every episode can be saved (`save_replay`)
        self._features = [
            sc2_features.Features(a, map_size=point.Point(*scenario.map_size), map_name=name)
            for a in agent_interface_format
        ]
        self._visualize = visualize
        self._viewer: Any = None
        if visualize:
            self._viewer = _make_viewer(self._engine)
        self._state = _StepType.LAST
        self._episode_count = 0
        self._last_score = [0.0] * self._num_agents

    # --- PySC2 API ---
    @property
    def map_name(self) -> str:
        return self._map_name

    @property
    def engine(self) -> SimEngine:
        assert self._engine is not None
        return self._engine

    def observation_spec(self) -> tuple[Any, ...]:
        return tuple(f.observation_spec() for f in self._features)

    def action_spec(self) -> tuple[Any, ...]:
        return tuple(f.action_spec() for f in self._features)

    def reset(self) -> tuple[environment.TimeStep, ...]:
        self._episode_count += 1
        self.engine.reset()
        self._state = _StepType.FIRST
        self._last_score = [0.0] * self._num_agents
        self._last_reward = [0.0] * self._num_agents
        return self._observe(outcome_over=False, truncated=False)

    def step(
        self, actions: Sequence[Any], step_mul: int | None = None
    ) -> tuple[environment.TimeStep, ...]:
        if self._state == _StepType.LAST:
            return self.reset()
        if step_mul is not None and step_mul != self._step_mul:
            raise ValueError(
                "SimSC2Env: per-call step_mul is not supported; set it at construction"
            )
        calls = []
        for acts in actions:
            a = acts if not isinstance(acts, list) else (acts[0] if acts else None)
            if isinstance(acts, list) and len(acts) > 1:
                raise ValueError("SimSC2Env: one action per agent per step")
            calls.append([a if a is not None else pysc2_sc2_env.actions_lib.FUNCTIONS.no_op()])
        res = self.engine.step(calls)
        self._state = _StepType.MID
        self._last_reward = [float(r) for r in res.reward[:, 0]]
        # The map ends the game (a defeat, or its time limit: SC2 sends a player result, discount
        # 0); a shorter game_steps_per_episode only cuts the episode (discount kept).
        loop = int(self.engine.state.game_loop[0])
        map_limit = self.engine.scenario.time_limit_loops
        map_end = bool(res.terminated[0]) or (
            bool(res.truncated[0]) and (not map_limit or loop >= map_limit)
        )
        return self._observe(map_end, bool(res.truncated[0]) and not map_end)

    def _observe(self, outcome_over: bool, truncated: bool) -> tuple[environment.TimeStep, ...]:
        eng = self.engine
        obs = [self._extras(eng.observe_env(0, p), p) for p in range(self._num_agents)]
        discount = self._discount
        game_loop = int(obs[0]["game_loop"][0])
        if outcome_over:
            self._state = _StepType.LAST
            discount = 0.0
        elif truncated or (self._episode_length and game_loop >= self._episode_length):
            self._state = _StepType.LAST
            if self._discount_zero_after_timeout:
                discount = 0.0
        if self._score_index >= 0:
            score = [float(o["score_cumulative"][self._score_index]) for o in obs]
            if self._state == _StepType.FIRST:
                reward = [0.0] * self._num_agents
            else:
                reward = [c - last for c, last in zip(score, self._last_score, strict=True)]
            self._last_score = score
        else:  # win/loss: the map's outcome reward (e.g. +1/-1 in the melee), 0 before the end
            first = self._state == _StepType.FIRST
            reward = [0.0] * self._num_agents if first else list(self._last_reward)
        if self._viewer is not None:
            try:
                self._viewer(eng)
            except Exception as e:  # noqa: BLE001 - a broken window must not kill the game
                logging.warning("SimSC2Env: visualisation failed (%s); turning it off", e)
                self._viewer = None
        if self._state == _StepType.LAST:
            logging.info(
                "Episode %d finished after %d game steps. Score: %s",
                self._episode_count,
                game_loop,
                [o["score_cumulative"][0] for o in obs],
            )
        first = self._state == _StepType.FIRST
        return tuple(
            environment.TimeStep(
                step_type=self._state,
                reward=0.0 if first else r * self._score_multiplier,
                discount=0.0 if first else discount,
                observation=o,
            )
            for r, o in zip(reward, obs, strict=True)
        )

    def save_replay(self, replay_dir: str, prefix: str | None = None) -> str:
        """Save the current (or last) episode as a simulator replay, like `SC2Env.save_replay`.

        Returns the file's path: ``<replay_dir>/<prefix>_<UTC time>.simreplay``, played back by
        ``python -m sc2agents.bin.play --replay=PATH`` (see `sim_replay`).
        """
        prefix = prefix or self._map_name
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H-%M-%S-%f")
        path = os.path.join(replay_dir, f"{prefix}_{stamp}{sim_replay.SUFFIX}")
        out = sim_replay.save_replay(self.engine, path)
        logging.info("Wrote replay to: %s", out)
        return str(out)

    def _extras(self, obs: Any, player: int) -> Any:
        """Optional observations of the AgentInterfaceFormat: camera position, unit counts."""
        aif = self._aifs[player]
        eng = self.engine
        st = eng.state
        if aif.use_camera_position:
            # PySC2: camera centre in minimap pixels, camera size in minimap pixels.
            scale = eng.minimap_size / max(eng.scenario.map_size)
            cam = st.camera[player, 0]
            obs["camera_position"] = np.floor(cam * scale).astype(np.int32)
            obs["camera_size"] = np.full(2, int(eng.camera_width * scale), np.int32)
        if aif.use_unit_counts:
            own = st.alive[0] & (st.owner[0] == player + 1)
            types, counts = np.unique(st.unit_type[0, own], return_counts=True)
            obs["unit_counts"] = named_array.NamedNumpyArray(
                np.stack([types, counts], axis=1).astype(np.int32).reshape(-1, 2),
                [None, sc2_features.UnitCounts],
            )
        return obs

    def close(self) -> None:
        viewer = getattr(self, "_viewer", None)
        if viewer is not None and hasattr(viewer, "close"):
            viewer.close()
        self._viewer = None


def _make_viewer(engine: SimEngine) -> Any:
    """The front end's live window (``sc2agents.envs.sim.render``), imported lazily.

    Uses ``render.make_viewer(engine)`` when the module offers one, else a ``render.LiveViewer``
    showing ``render.render_rgb`` frames. Returns None, with a warning that says why, when there is
    no renderer or no display.
    """
    try:
        from sc2agents.envs.sim import render
    except ImportError as e:
        logging.warning("SimSC2Env(visualize=True): no renderer available (%s); not drawing", e)
        return None
    if hasattr(render, "make_viewer"):
        return render.make_viewer(engine)
    if not (hasattr(render, "LiveViewer") and hasattr(render, "render_rgb")):
        logging.warning("SimSC2Env(visualize=True): sc2agents.envs.sim.render has no live viewer")
        return None
    try:
        window = render.LiveViewer(title=f"sc2agents sim: {engine.scenario.name}")
    except RuntimeError as e:
        logging.warning("SimSC2Env(visualize=True): %s", e)
        return None
    return _Viewer(window, render.render_rgb)


class _Viewer:
    """Callable drawing one frame of game 0 per observation into a live window."""

    def __init__(self, window: Any, draw: Any) -> None:
        self._window = window
        self._draw = draw

    def __call__(self, engine: SimEngine) -> None:
        self._window.show(self._draw(engine, 0, 0))

    def close(self) -> None:
        self._window.close()
