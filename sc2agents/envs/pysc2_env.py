"""The real StarCraft II game behind the same Gymnasium vector interface as the simulator.

`PySC2VectorEnv` runs ``num_envs`` agent slots over PySC2's `SC2Env` (one game process per game,
found through ``SC2PATH``). Its spaces are the simulator's (`sc2agents.envs.sim.vector_env`):

* observation: a `Dict` of the storage form of `features.observation_to_storage` (``minimap``,
  ``minimap_unit_type``, ``screen``, ``screen_unit_type``, ``player``, ``available_actions``) plus
  ``game_loop``;
* action: ``Dict(function=Discrete(573), args=Box(-1, max, (13,), int64))`` in the
  `features.encode_action` layout (spatial points flattened ``y * size + x``, -1 = unused);
* autoreset mode NEXT_STEP: the step after an episode ends resets that slot and ignores its action.

so a policy trained on the simulator (or offline on replays) acts in the real game unchanged. Both
directions of the conversion are `features`' (one table for simulator, datasets and game).

Games: a mini-game (one agent), a melee map against a built-in bot (race, difficulty, build), or
two agents in one game (``num_agents=2``: slots ``2g`` and ``2g+1`` are the two players of game
``g``, so one batched policy plays both sides). Env ids ``sc2agents/PySC2-<Map>-v0`` are
registered by `register_pysc2_envs` (lazy: no game needed until ``make``).

Errors a user meets are made explicit: no game (`maps.SC2NotFoundError`, saying where it looked and
how to install), a map not installed (`maps.MapNotFoundError`, saying where it looked and which
maps exist), and a game process dying mid-episode: the episode ends as truncated with
``info["episode_failed"]`` set, and that game's next step starts a fresh process.

`play` is the ``--backend=pysc2`` half of ``python -m sc2agents.bin.play``.

Example (needs the game)::

    env = PySC2VectorEnv(2, "Simple64", bot_race="zerg", difficulty="easy")  # two games vs bots
    obs, info = env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(
        {"function": np.zeros(2, np.int64), "args": -np.ones((2, 13), np.int64)}
    )
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import pathlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import gymnasium as gym
import numpy as np
from absl import logging
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pysc2_evolved.env import environment, sc2_env
from pysc2_evolved.lib import actions as sc2_actions
from pysc2_evolved.lib import protocol, remote_controller, sc_process

from sc2agents.envs import features, maps
from sc2agents.envs.sim.vector_env import (
    OneGameEnv,
    action_batch,
    action_space,
    storage_observation_space,
)

__all__ = [
    "GAME_ERRORS",
    "PySC2GymEnv",
    "PySC2VectorEnv",
    "SC2GameError",
    "action_space",
    "load_policy",
    "observation_space",
    "play",
    "register_pysc2_envs",
    "to_observation",
]

GAME_ERRORS: tuple[type[BaseException], ...] = (
    protocol.ConnectionError,
    protocol.ProtocolError,
    remote_controller.ConnectError,
    remote_controller.RequestError,
    sc_process.SC2LaunchError,
    ConnectionError,  # builtin: broken pipe / reset from a dead process
    TimeoutError,
)
"""Exceptions that mean "the game process died or stopped answering" (PySC2's replay_actions
catches the first four the same way); an episode that meets one is reported failed."""

_GAME_LOOP_SHAPE = (1,)  # PySC2's observation["game_loop"] is a length-1 array.
_GAME_LOOPS_PER_SECOND = 22.4


class SC2GameError(RuntimeError):
    """A game could not be (re)started after repeated attempts."""


# --- Spaces: the simulator's own functions, so the two backends cannot drift apart ---
observation_space = storage_observation_space
"""Single-slot observation space (the simulator's `storage_observation_space`)."""


def to_observation(pysc2_obs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """One PySC2 observation (``TimeStep.observation``) -> the env's observation dict."""
    out = features.observation_to_storage(pysc2_obs)
    loop = np.asarray(pysc2_obs["game_loop"], dtype=np.int64).reshape(-1)[:1]
    out["game_loop"] = loop.reshape(_GAME_LOOP_SHAPE)
    return out


# --- Players ---
def _enum_value(enum_cls: Any, name: str | Any, what: str) -> Any:
    if isinstance(name, enum_cls):
        return name
    try:
        return enum_cls[str(name).lower()]
    except KeyError:
        valid = ", ".join(e.name for e in enum_cls)
        raise ValueError(f"unknown {what} {name!r}; valid: {valid}") from None


def make_players(
    map_info: maps.MapInfo,
    num_agents: int,
    agent_race: str | Sequence[str] = "random",
    bot_race: str = "random",
    difficulty: str = "very_easy",
    bot_build: str = "random",
) -> list[sc2_env.Agent | sc2_env.Bot]:
    """PySC2 player list for a map: one agent (+ a built-in bot on melee maps) or two agents."""
    races = [agent_race] * num_agents if isinstance(agent_race, str) else list(agent_race)
    if len(races) != num_agents:
        raise ValueError(f"agent_race: {len(races)} races for {num_agents} agents")
    agents: list[sc2_env.Agent | sc2_env.Bot] = [
        sc2_env.Agent(_enum_value(sc2_env.Race, r, "race"), f"agent{i + 1}")
        for i, r in enumerate(races)
    ]
    if num_agents not in (1, 2):
        raise ValueError(f"num_agents must be 1 or 2, got {num_agents}")
    if map_info.players == 1:
        if num_agents != 1:
            raise ValueError(f"{map_info.name} is a one-player map: num_agents must be 1")
        return agents
    if num_agents == 2:
        return agents
    bot = sc2_env.Bot(
        _enum_value(sc2_env.Race, bot_race, "bot race"),
        _enum_value(sc2_env.Difficulty, difficulty, "difficulty"),
        _enum_value(sc2_env.BotBuild, bot_build, "bot build"),
    )
    return [*agents, bot]


# --- The vector env ---
EnvFactory = Callable[..., environment.Base]


@dataclasses.dataclass
class _Game:
    """One SC2Env and the bookkeeping of its slots."""

    env: environment.Base | None = None
    timesteps: tuple[Any, ...] | None = None  # last TimeStep per agent
    obs: list[dict[str, np.ndarray]] | None = None  # last observation per agent
    needs_reset: bool = True
    episodes: int = 0
    crashes: int = 0


class PySC2VectorEnv(VectorEnv):
    """Gymnasium vector env over real StarCraft II games (PySC2 `SC2Env`, one process per game).

    Slot ``i`` is agent ``i % num_agents`` of game ``i // num_agents``. Constructor order, spaces,
    action checks, autoreset and ``info["episode"]`` follow the simulator's `SimVectorEnv`.

    ``info`` also carries, per slot: ``episode_failed`` (the game process died; the episode was
    cut and reported truncated), ``invalid_action`` (``action_error="warn"`` replaced it by
    ``no_op``), ``game`` and ``player`` (which game and which of its agents the slot is).

    Args:
        num_envs: number of agent slots (games x agents per game).
        map_name: map name (`maps.MAPS`) or a `maps.MapInfo`.
        screen_size: feature screen resolution.
        minimap_size: feature minimap resolution.
        step_mul: game loops per step (default: the map's, 8).
        game_steps_per_episode: episode limit in game loops (default: the map's).
        disable_fog: see the whole map.
        action_error: ``"raise"`` a ValueError for an unavailable function or an argument out of
            range, or ``"warn"``: log it and send ``no_op`` instead.
        render_mode: ``"human"`` opens PySC2's renderer (pygame) for the first game.
        seed: base game seed (game ``g`` gets ``seed + g``). ``reset(seed=s)`` starts fresh game
            processes with seed ``s`` (SC2 takes its seed when a game is created), so a seeded
            reset is reproducible but costs a game start.
        num_agents: agents per game: 1 (mini-game, or vs a built-in bot) or 2 (both players).
        agent_race: race of the agent(s) (``random``, ``terran``, ``zerg``, ``protoss``).
        bot_race: built-in bot's race (melee maps, ``num_agents=1``).
        difficulty: built-in bot's difficulty (``very_easy`` ... ``cheat_insane``).
        bot_build: built-in bot's build (``random``, ``rush``, ``timing``, ``power``, ``macro``,
            ``air``).
        save_replay_dir: write a ``.SC2Replay`` of every finished episode there (`replays` lists
            the paths).
        sc2path: game folder (default ``$SC2PATH``); checked before any process starts.
        sc2_version: game version to run (default: the newest installed).
        max_restarts: attempts to start a game before `SC2GameError`.
        env_factory: builds one game (keyword arguments of `SC2Env`); tests pass PySC2's
            ``mock_sc2_env.SC2TestEnv``. With a custom factory the install checks are skipped.
    """

    metadata: dict[str, Any] = {
        "render_modes": ["human"],
        "render_fps": _GAME_LOOPS_PER_SECOND / 8,
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self,
        num_envs: int = 1,
        map_name: str | maps.MapInfo = "MoveToBeacon",
        *,
        screen_size: int = 64,
        minimap_size: int = 64,
        step_mul: int | None = None,
        game_steps_per_episode: int | None = None,
        disable_fog: bool = False,
        action_error: Literal["raise", "warn"] = "raise",
        render_mode: str | None = None,
        seed: int | None = None,
        num_agents: int = 1,
        agent_race: str | Sequence[str] = "random",
        bot_race: str = "random",
        difficulty: str = "very_easy",
        bot_build: str = "random",
        save_replay_dir: str | os.PathLike[str] | None = None,
        sc2path: str | os.PathLike[str] | None = None,
        sc2_version: str | None = None,
        max_restarts: int = 3,
        env_factory: EnvFactory | None = None,
    ) -> None:
        self.map_info = maps.get_map(map_name)
        self.map_name = self.map_info.name
        if num_envs < 1 or num_envs % num_agents:
            raise ValueError(f"num_envs={num_envs} must be a positive multiple of {num_agents=}")
        if render_mode not in (None, "human"):
            raise ValueError(f"render_mode must be None or 'human', got {render_mode!r}")
        if action_error not in ("raise", "warn"):
            raise ValueError(f"action_error must be 'raise' or 'warn', got {action_error!r}")
        self.players = make_players(
            self.map_info, num_agents, agent_race, bot_race, difficulty, bot_build
        )
        if env_factory is None:
            # Fail here, before any process starts, with what is missing and how to fix it.
            base = maps.find_sc2(sc2path)
            maps.locate_map(self.map_info, base)
            if sc2path is not None:
                os.environ["SC2PATH"] = str(base)  # PySC2's run_configs read SC2PATH.
            env_factory = sc2_env.SC2Env
        self._factory = env_factory
        self.num_envs = int(num_envs)
        self.num_agents = int(num_agents)
        self.num_games = self.num_envs // self.num_agents
        self.screen_size, self.minimap_size = int(screen_size), int(minimap_size)
        self.step_mul = int(step_mul or self.map_info.step_mul)
        self.render_mode = render_mode
        self.action_error = action_error
        self.max_restarts = int(max_restarts)
        self.save_replay_dir = (
            str(pathlib.Path(save_replay_dir).expanduser().resolve()) if save_replay_dir else None
        )
        self.replays: list[str] = []
        self._seed = seed
        self._game_kwargs: dict[str, Any] = dict(
            map_name=self.map_info.to_pysc2(),
            players=self.players,
            agent_interface_format=sc2_env.AgentInterfaceFormat(
                feature_dimensions=sc2_env.Dimensions(screen=screen_size, minimap=minimap_size),
                action_space=sc2_actions.ActionSpace.FEATURES,
            ),
            step_mul=self.step_mul,
            game_steps_per_episode=game_steps_per_episode,
            disable_fog=disable_fog,
            # discount 0 marks a real game end (terminated); a time limit keeps discount 1
            # (truncated): that is how step() tells the two apart.
            discount=1.0,
            discount_zero_after_timeout=False,
            ensure_available_actions=False,  # checked here, with the simulator's messages
            version=sc2_version,
        )
        self.metadata = dict(self.metadata)
        self.metadata["render_fps"] = _GAME_LOOPS_PER_SECOND / self.step_mul
        self.single_observation_space = observation_space(self.screen_size, self.minimap_size)
        self.single_action_space = action_space(self.screen_size, self.minimap_size)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._arg_high = np.asarray(self.single_action_space["args"].high, dtype=np.int64)
        self._games = [_Game() for _ in range(self.num_games)]
        self._returns = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._started = False
        self._warned = 0
        # Games are stepped in parallel threads but launched one at a time: PySC2's replay_actions
        # staggers SC2 start-ups because simultaneous launches conflict.
        self._launch_lock = threading.Lock()
        self._pool = (
            concurrent.futures.ThreadPoolExecutor(self.num_games, thread_name_prefix="sc2")
            if self.num_games > 1
            else None
        )

    # --- game lifecycle ---
    def _make_game(self, g: int) -> environment.Base:
        kwargs = dict(self._game_kwargs)
        kwargs["random_seed"] = None if self._seed is None else int(self._seed) + g
        kwargs["visualize"] = self.render_mode == "human" and g == 0
        return self._factory(**kwargs)

    def _close_game(self, game: _Game) -> None:
        if game.env is not None:
            try:
                game.env.close()
            except Exception as e:  # noqa: BLE001  A dead process may fail to close; go on.
                logging.warning("closing a failed game raised %r (ignored)", e)
        game.env = None

    def _reset_game(self, g: int) -> None:
        game = self._games[g]
        error: BaseException | None = None
        for attempt in range(self.max_restarts):
            try:
                if game.env is None:
                    with self._launch_lock:
                        game.env = self._make_game(g)
                game.timesteps = tuple(game.env.reset())
                break
            except GAME_ERRORS as e:
                error = e
                logging.warning("game %d: start attempt %d failed: %r", g, attempt + 1, e)
                self._close_game(game)
        else:
            raise SC2GameError(
                f"game {g} on {self.map_name} failed to start {self.max_restarts} times in a "
                f"row; last error: {error!r}"
            ) from error
        game.obs = [to_observation(ts.observation) for ts in game.timesteps]
        game.needs_reset = False
        game.episodes += 1
        sl = self._slots(g)
        self._returns[sl], self._lengths[sl] = 0.0, 0

    def _slots(self, g: int) -> slice:
        return slice(g * self.num_agents, (g + 1) * self.num_agents)

    def _run(self, fn: Callable[[int], Any], games: Sequence[int]) -> None:
        """Run ``fn(g)`` for the games, in parallel threads (each blocks on its own process)."""
        if self._pool is None or len(games) < 2:
            for g in games:
                fn(g)
        else:
            list(self._pool.map(fn, games))

    # --- Gymnasium API ---
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new episode in every game (or the games of ``options["reset_mask"]``)."""
        super().reset(seed=seed)
        mask = None if options is None else options.get("reset_mask")
        if mask is not None:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (self.num_envs,):
                raise ValueError(
                    f"reset: options['reset_mask'] must be bool [{self.num_envs}], got {mask.shape}"
                )
            games = sorted({i // self.num_agents for i in np.flatnonzero(mask)})
        else:
            games = list(range(self.num_games))
        if seed is not None:
            self._seed = int(seed)
            for g in games:  # SC2 takes its seed when a game is created: new processes.
                self._close_game(self._games[g])
        self._run(self._reset_game, games)
        self._started = True
        return self._batch(), self._info()

    def _check(self, i: int, fn: int, args: np.ndarray, available: np.ndarray) -> str | None:
        if not 0 <= fn < features.NUM_FUNCTIONS:
            return f"unknown function id {fn} (valid ids are 0..{features.NUM_FUNCTIONS - 1})"
        name = features.FUNCTIONS[fn].name
        if not available[fn]:
            return f"function {name} (id {fn}) is not available now"
        bad = features.FUNCTION_ARG_MASK[fn] & ((args < 0) | (args > self._arg_high))
        if bad.any():
            t = int(np.flatnonzero(bad)[0])
            return (
                f"function {name} (id {fn}): argument {features.ARG_TYPES[t]}={int(args[t])} "
                f"outside [0, {int(self._arg_high[t])}]"
            )
        return None

    def _decode(self, actions: Mapping[str, Any], invalid: np.ndarray) -> list[Any]:
        fn, args = action_batch(actions, self.num_envs, "PySC2VectorEnv")
        fn, args = fn.astype(np.int64), args.astype(np.int64)
        calls = []
        for i in range(self.num_envs):
            game = self._games[i // self.num_agents]
            if game.needs_reset or game.obs is None:  # autoreset step: the action is ignored
                calls.append(sc2_actions.FUNCTIONS.no_op())
                continue
            available = game.obs[i % self.num_agents]["available_actions"]
            problem = self._check(i, int(fn[i]), args[i], available)
            if problem is not None:
                if self.action_error == "raise":
                    raise ValueError(f"game {i}: {problem}")
                if self._warned < 10:
                    self._warned += 1
                    logging.warning("game %d: %s; playing no_op instead", i, problem)
                invalid[i] = True
                calls.append(sc2_actions.FUNCTIONS.no_op())
                continue
            calls.append(
                features.decode_action(fn[i], args[i], self.screen_size, self.minimap_size)
            )
        return calls

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One agent step in every game; games whose episode ended last step are reset instead."""
        if not self._started:
            raise RuntimeError("PySC2VectorEnv.step called before reset()")
        invalid = np.zeros(self.num_envs, dtype=bool)
        calls = self._decode(actions, invalid)
        reward = np.zeros(self.num_envs, dtype=np.float32)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        failed = np.zeros(self.num_envs, dtype=bool)
        score = np.zeros(self.num_envs, dtype=np.float64)

        def step_game(g: int) -> None:
            game, sl = self._games[g], self._slots(g)
            if game.needs_reset or game.env is None:
                self._reset_game(g)
                return
            try:
                timesteps = tuple(game.env.step(calls[sl]))
            except GAME_ERRORS as e:
                # The process died mid-episode: report the episode failed (cut, not an MDP
                # end), keep the last good observation as its final one, restart next step.
                logging.warning("game %d crashed mid-episode (%r); starting a fresh game", g, e)
                game.crashes += 1
                self._close_game(game)
                game.needs_reset = True
                truncated[sl] = True
                failed[sl] = True
                self._lengths[sl] += 1
                return
            game.timesteps = timesteps
            game.obs = [to_observation(ts.observation) for ts in timesteps]
            reward[sl] = [float(ts.reward) for ts in timesteps]
            self._returns[sl] += reward[sl]
            self._lengths[sl] += 1
            if timesteps[0].step_type == environment.StepType.LAST:
                game_over = float(timesteps[0].discount) == 0.0
                terminated[sl] = game_over
                truncated[sl] = not game_over
                game.needs_reset = True
                score[sl] = [_score(ts.observation) for ts in timesteps]
                if self.save_replay_dir:
                    self._save_replay(g)

        self._run(step_game, list(range(self.num_games)))
        info = self._info()
        info["episode_failed"] = failed
        info["invalid_action"] = invalid
        done = terminated | truncated
        if done.any():
            info["episode"] = {
                "r": np.where(done, self._returns, 0.0),
                "l": np.where(done, self._lengths, 0),
                "score": np.where(done, score, 0.0),
            }
            info["_episode"] = done.copy()
        return self._batch(), reward, terminated, truncated, info

    def _save_replay(self, g: int) -> None:
        game = self._games[g]
        try:
            path = game.env.save_replay(self.save_replay_dir, f"{self.map_name}_g{g}")
        except GAME_ERRORS as e:
            logging.warning("game %d: saving the replay failed: %r", g, e)
            return
        if path:
            self.replays.append(str(path))
            logging.info("replay saved: %s", path)

    def _info(self) -> dict[str, Any]:
        idx = np.arange(self.num_envs)
        return {
            "game": idx // self.num_agents,
            "player": idx % self.num_agents,
            "episode_failed": np.zeros(self.num_envs, dtype=bool),
            "invalid_action": np.zeros(self.num_envs, dtype=bool),
        }

    def _batch(self) -> dict[str, np.ndarray]:
        obs = [o for g in self._games for o in (g.obs or [])]
        if len(obs) != self.num_envs:
            raise RuntimeError(f"expected {self.num_envs} observations, got {len(obs)}")
        return {k: np.stack([o[k] for o in obs]) for k in self.single_observation_space.spaces}

    @property
    def timesteps(self) -> list[Any]:
        """The raw PySC2 `TimeStep` of every slot (for pysc2 ``BaseAgent``s and debugging)."""
        return [ts for g in self._games for ts in (g.timesteps or (None,) * self.num_agents)]

    @property
    def crashes(self) -> int:
        """Number of game processes that died mid-episode so far."""
        return sum(g.crashes for g in self._games)

    def render(self) -> None:
        """PySC2's renderer draws on every step when ``render_mode="human"``; nothing to return."""
        return None

    def close_extras(self, **kwargs: Any) -> None:
        for game in self._games:
            self._close_game(game)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _score(obs: Mapping[str, Any]) -> float:
    try:
        return float(np.asarray(obs["score_cumulative"]).reshape(-1)[0])
    except (KeyError, IndexError):
        return 0.0


class PySC2GymEnv(OneGameEnv):
    """One game, one agent, as a `gymnasium.Env` (unbatched spaces; the ids' ``entry_point``).

    Takes the keyword arguments of `PySC2VectorEnv` (except ``num_envs``; ``num_agents`` is 1).
    After an episode ends call `reset`; stepping an ended episode raises, like `SimGymEnv`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human"], "render_fps": _GAME_LOOPS_PER_SECOND / 8}
    _INFO_KEYS = ("episode_failed", "invalid_action")

    def __init__(
        self,
        map_name: str | maps.MapInfo = "MoveToBeacon",
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        if "num_envs" in kwargs:
            raise ValueError("PySC2GymEnv is one game; use PySC2VectorEnv for num_envs")
        self._vec = PySC2VectorEnv(1, map_name, render_mode=render_mode, **kwargs)
        self.map_name = self._vec.map_name
        self._adopt(render_mode)


# --- Registration ---
def env_id(map_name: str) -> str:
    """``sc2agents/PySC2-<Map>-v0``."""
    return f"sc2agents/PySC2-{map_name}-v0"


def register_pysc2_envs() -> list[str]:
    """Register ``sc2agents/PySC2-<Map>-v0`` for the mini-games, melee and repo maps.

    Lazy: registering imports nothing of the game; ``gymnasium.make`` checks the install. Safe to
    call more than once. Returns the ids.
    """
    ids = []
    for name, info in maps.MAPS.items():
        if info.kind == "ladder":
            continue
        eid = env_id(name)
        ids.append(eid)
        if eid in gym.registry:
            continue
        gym.register(
            id=eid,
            entry_point="sc2agents.envs.pysc2_env:PySC2GymEnv",
            vector_entry_point="sc2agents.envs.pysc2_env:PySC2VectorEnv",
            kwargs={"map_name": name},
            disable_env_checker=True,
        )
    return ids


# --- Agents for play() ---
class _BaseAgentPolicy:
    """Runs a PySC2 ``BaseAgent`` (it acts on raw TimeSteps) inside the storage-form loop."""

    def __init__(self, agent: Any, env: PySC2VectorEnv) -> None:
        self.agent = agent
        self._env = env
        self._ready = False

    def act(
        self, observations: Mapping[str, np.ndarray], rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        del observations, rng  # the agent reads the raw TimeSteps
        game = self._env._games[0].env
        if not self._ready and game is not None:
            self.agent.setup(game.observation_spec()[0], game.action_spec()[0])
            self._ready = True
        fns, argss = [], []
        for ts in self._env.timesteps:
            if ts.first():
                self.agent.reset()
            f, a = features.encode_action(
                self.agent.step(ts), self._env.screen_size, self._env.minimap_size
            )
            fns.append(f)
            argss.append(a)
        return np.asarray(fns, np.int64), np.asarray(argss, np.int64)


def load_policy(spec: Any, env: PySC2VectorEnv) -> Any:
    """Turn ``--agent`` into a policy with ``act(obs, rng) -> (function [B], args [B, 13])``.

    Strings go through the project's spec loader, `sc2agents.acting.policy.load_policy`
    (``random``, ``scripted:<name>``, a checkpoint path or ``ckpt:<path>``,
    ``pysc2:<module.Class>``); a PySC2 ``BaseAgent`` (class spec or instance) plays on the raw
    TimeSteps of ``env``.
    """
    if isinstance(spec, (str, os.PathLike)):
        from sc2agents.acting import policy as policy_lib

        spec = policy_lib.load_policy(str(spec))
        if isinstance(spec, policy_lib.PySC2AgentSpec):
            spec = spec.make()
    return spec if hasattr(spec, "act") else _BaseAgentPolicy(spec, env)


def play(
    *,
    map: str = "Simple64",  # noqa: A002  (the flag is called --map)
    agent: Any = "random",
    episodes: int = 1,
    render: bool = False,
    visualize: bool = False,
    step_mul: int | None = None,
    screen_size: int = 64,
    minimap_size: int = 64,
    seed: int | None = None,
    bot_race: str = "random",
    difficulty: str = "very_easy",
    save_replay: str | None = None,
    replay: str | None = None,
    agent_race: str = "random",
    max_steps: int | None = None,
    env_factory: EnvFactory | None = None,
    **unused: Any,
) -> dict[str, Any]:
    """``python -m sc2agents.bin.play --backend=pysc2 ...``: play episodes in the real game.

    Args:
        map: map name (``Simple64``, ``MoveToBeacon``, ...).
        agent: see `load_policy`.
        episodes: episodes to play.
        render: open PySC2's renderer (pygame window) while playing.
        visualize: same as ``render`` (the flag the simulator backend uses for its window).
        step_mul: game loops per agent step (default: the map's).
        screen_size: feature screen resolution.
        minimap_size: feature minimap resolution.
        seed: game seed and the policy's RNG seed.
        bot_race: built-in bot race on melee maps.
        difficulty: built-in bot difficulty.
        save_replay: folder to save a ``.SC2Replay`` of each episode to (open it in the SC2 client).
        replay: instead of playing, watch this ``.SC2Replay`` in PySC2's renderer.
        agent_race: the agent's race.
        max_steps: stop an episode after this many agent steps (None: play to the end).
        env_factory: testing hook, see `PySC2VectorEnv`.
        **unused: other flags of ``bin/play`` that mean nothing here (``--video`` is the
            simulator's; use ``--save_replay`` on this backend).

    Returns:
        ``{"episodes": n, "returns": [...], "steps": [...], "failed": [...], "replays": [...]}``.
    """
    ignored = {k: v for k, v in unused.items() if v not in (None, False, "", 0)}
    ignored.pop("backend", None)
    if ignored:
        logging.warning("play (pysc2 backend): ignoring flags %s", sorted(ignored))
    if replay:
        return _watch_replay(replay, step_mul=step_mul or 8)
    env = PySC2VectorEnv(
        1,
        map,
        screen_size=screen_size,
        minimap_size=minimap_size,
        step_mul=step_mul,
        agent_race=agent_race,
        bot_race=bot_race,
        difficulty=difficulty,
        seed=seed,
        save_replay_dir=save_replay,
        render_mode="human" if (render or visualize) else None,
        action_error="warn",
        env_factory=env_factory,
    )
    rng = np.random.default_rng(seed)
    result: dict[str, Any] = {"episodes": 0, "returns": [], "steps": [], "failed": []}
    try:
        policy = load_policy(agent, env)
        for ep in range(int(episodes)):
            obs, _ = env.reset(seed=None if seed is None or ep else seed)
            total, steps = 0.0, 0
            while True:
                fn, args = policy.act(obs, rng)
                obs, r, term, trunc, info = env.step({"function": fn, "args": args})
                total += float(r[0])
                steps += 1
                if term[0] or trunc[0]:
                    break
                if max_steps and steps >= max_steps:
                    if env.save_replay_dir:  # cut by us, not by the game: save it ourselves
                        env._save_replay(0)
                    break
            result["episodes"] += 1
            result["returns"].append(total)
            result["steps"].append(steps)
            result["failed"].append(bool(info["episode_failed"][0]))
            logging.info(
                "episode %d/%d: return %.2f in %d steps%s",
                ep + 1,
                episodes,
                total,
                steps,
                " (game crashed)" if info["episode_failed"][0] else "",
            )
    finally:
        env.close()
    result["replays"] = list(env.replays)
    return result


def _watch_replay(path: str, step_mul: int = 8) -> dict[str, Any]:
    """Open a replay in PySC2's renderer with the game version it was recorded with."""
    from pysc2_evolved.bin import play as pysc2_play

    maps.find_sc2()
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"replay {path} does not exist")
    pysc2_play.play(
        render=True,
        realtime=False,
        full_screen=False,
        fps=22.4,
        step_mul=step_mul,
        render_sync=False,
        feature_screen_size=84,
        feature_minimap_size=64,
        feature_camera_width=24,
        rgb_screen_size=None,
        rgb_minimap_size=None,
        window_size="640,480",
        video=None,
        max_game_steps=0,
        max_episode_steps=0,
        user_name="sc2agents",
        user_race="random",
        bot_race="random",
        difficulty="very_easy",
        bot_build="random",
        disable_fog=False,
        observed_player=1,
        profile=False,
        trace=False,
        save_replay=False,
        map_name=None,
        battle_net_map=False,
        map_path=None,
        replay=str(path),
    )
    return {"episodes": 0, "returns": [], "steps": [], "failed": [], "replays": [str(path)]}
