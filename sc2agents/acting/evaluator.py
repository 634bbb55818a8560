"""`Evaluator`: play a policy for N games per opponent on either backend, and summarise.

An evaluation is a list of *games*: (opponent, game index) pairs whose reset seed is
``derive_seed(seed, game_index)``, the same for every opponent (common random numbers: difficulty
curves compare like with like). Games are grouped into tasks of ``games_per_task`` and run through
a `sc2agents.distributed.Pool` (in-process or on Ray actors): the policy is broadcast once per
`evaluate` call and every remote call carries whole games, never single steps. Workers keep their
environments between tasks (`_ENV_CACHE`).

Opponents:

* ``None``: a single-player minigame (``--map=MoveToBeacon``);
* `BotOpponent` (difficulty + race): a built-in bot on a melee map, passed to the env as
  ``bots=[difficulty]`` on the simulator (``Simple64``; its bots are Terran) and as ``difficulty=``
  / ``bot_race=`` on PySC2 (``bin/play.py``'s flag names); the melee reward (+1/0/-1) is the result;
* `PolicyOpponent`: another policy in a two-agent game (`env_loop.run_two_agent_episode`; on the
  simulator through `two_agent.SimTwoAgentEnv`).

A game cut short by ``max_steps`` ends without a winner and counts as a tie (as the game's own
time limit does).

Reports (`summarize`): win/tie/loss rates with Wilson score intervals, mean/std/sem score, game
length, and for minigames the score normalised between SC2LE's random policy (0) and the DeepMind
human / GrandMaster references (1), from `REFERENCE_SCORES`.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import math
import pathlib
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from absl import logging

from sc2agents.acting import env_loop
from sc2agents.acting.policy import PySC2AgentSpec, load_policy
from sc2agents.core import Policy
from sc2agents.utils.seeding import derive_seed

__all__ = [
    "DIFFICULTIES",
    "REFERENCE_SCORES",
    "BotOpponent",
    "EvalReport",
    "Evaluator",
    "GameCrashed",
    "GameResult",
    "GameTask",
    "PolicyOpponent",
    "normalized_score",
    "parse_opponents",
    "play_games",
    "resolve_env_id",
    "summarize",
    "wilson_interval",
]

REFERENCE_SCORES: Mapping[str, Mapping[str, float]] = {
    # Mean episode scores from /work/shared/docs/ALGORITHMS.md §B.5 (SC2LE, Vinyals et al. 2017,
    # Table 1; GrandMaster column via inoryy/reaver's README). BuildMarines' random score is "<1"
    # in the paper; 0 is used.
    "MoveToBeacon": {"random": 1.0, "human": 26.0, "grandmaster": 28.0},
    "CollectMineralShards": {"random": 17.0, "human": 133.0, "grandmaster": 177.0},
    "FindAndDefeatZerglings": {"random": 4.0, "human": 46.0, "grandmaster": 61.0},
    "DefeatRoaches": {"random": 1.0, "human": 41.0, "grandmaster": 215.0},
    "DefeatZerglingsAndBanelings": {"random": 23.0, "human": 729.0, "grandmaster": 727.0},
    "CollectMineralsAndGas": {"random": 12.0, "human": 6880.0, "grandmaster": 7566.0},
    "BuildMarines": {"random": 0.0, "human": 138.0, "grandmaster": 133.0},
}
"""Per minigame: SC2LE random-policy, DeepMind-human and GrandMaster mean scores."""

DIFFICULTIES: tuple[str, ...] = (
    # pysc2 `sc2_env.Difficulty` names, easiest first (the built-in AI levels of the game).
    "very_easy",
    "easy",
    "medium",
    "medium_hard",
    "hard",
    "harder",
    "very_hard",
    "cheat_vision",
    "cheat_money",
    "cheat_insane",
)
RACES: tuple[str, ...] = ("random", "protoss", "terran", "zerg")


# --- statistics ---------------------------------------------------------------------------


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion.

    Written out (three lines) because neither scipy nor statsmodels is a dependency; the normal
    quantile comes from the standard library. Wilson's interval keeps its coverage near 0 and 1
    and for small n, where the Wald interval collapses (Brown, Cai & DasGupta 2001).

    Args:
        successes: number of successes (0..n).
        n: number of trials; ``n == 0`` gives the uninformative ``(0, 1)``.
        confidence: two-sided confidence level.

    Returns:
        ``(low, high)`` within [0, 1].
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = statistics.NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact bounds at the edges
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


def normalized_score(score: float, map_name: str, reference: str = "human") -> float | None:
    """``(score - random) / (reference - random)`` for a known minigame, else None.

    0 is SC2LE's random policy, 1 the ``reference`` ("human" or "grandmaster") of
    `REFERENCE_SCORES` (ALGORITHMS.md §B.5).
    """
    ref = REFERENCE_SCORES.get(map_name)
    if ref is None:
        return None
    return (score - ref["random"]) / (ref[reference] - ref["random"])


# --- opponents and environments -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BotOpponent:
    """A built-in bot: difficulty and race.

    Attributes:
        difficulty: one of `DIFFICULTIES`.
        race: one of `RACES`.
    """

    difficulty: str = "very_easy"
    race: str = "random"

    def __post_init__(self) -> None:
        if self.difficulty not in DIFFICULTIES:
            raise ValueError(f"unknown difficulty {self.difficulty!r}; known: {DIFFICULTIES}")
        if self.race not in RACES:
            raise ValueError(f"unknown race {self.race!r}; known: {RACES}")

    @property
    def name(self) -> str:
        return self.difficulty if self.race == "random" else f"{self.difficulty}/{self.race}"

    def env_kwargs(self, backend: str = "pysc2") -> dict[str, Any]:
        """What the env constructor gets for this bot.

        PySC2 (`PySC2VectorEnv`): ``difficulty`` and ``bot_race`` (``bin/play.py``'s flags). The
        simulator (`SimEngine`): ``bots=[difficulty]``; its bots are Terran only.
        """
        if backend == "sim":
            if self.race not in ("random", "terran"):
                raise ValueError(f"the simulator's bots are terran; got race {self.race!r}")
            return {"bots": [self.difficulty]}
        return {"difficulty": self.difficulty, "bot_race": self.race}


@dataclasses.dataclass(frozen=True)
class PolicyOpponent:
    """Another policy, as player 2 of a two-agent game.

    Attributes:
        name: label in reports.
        policy: a policy spec string, a `core.Policy`, or a pool `Broadcast` of one.
    """

    name: str
    policy: Any

    def env_kwargs(self) -> dict[str, Any]:
        """Two agents in one game (`PySC2VectorEnv`'s ``num_agents=2`` convention)."""
        return {"num_agents": 2}


Opponent = BotOpponent | PolicyOpponent | None


def parse_opponents(text: str, race: str = "random") -> list[BotOpponent]:
    """``"very_easy,easy/zerg"`` -> bots (``difficulty[/race]``, default race ``race``)."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        diff, _, r = part.partition("/")
        out.append(BotOpponent(diff, r or race))
    return out


def resolve_env_id(map_or_id: str, backend: Literal["sim", "pysc2"] = "sim") -> str:
    """``MoveToBeacon`` -> ``sc2agents/Sim-MoveToBeacon-v0`` (or ``PySC2-``); ids pass through."""
    if "/" in map_or_id or map_or_id.endswith("-v0"):
        return map_or_id
    if backend not in ("sim", "pysc2"):
        raise ValueError(f"backend must be 'sim' or 'pysc2', got {backend!r}")
    prefix = "Sim" if backend == "sim" else "PySC2"
    return f"sc2agents/{prefix}-{map_or_id}-v0"


def map_name(env_id: str) -> str:
    """``sc2agents/Sim-MoveToBeacon-v0`` -> ``MoveToBeacon``."""
    base = env_id.rpartition("/")[2].rpartition(":")[2]  # "module:Id-v0" ids too
    base = base.rsplit("-v", 1)[0]
    return base.split("-", 1)[1] if "-" in base else base


class GameCrashed(RuntimeError):
    """The game process died mid-episode (the env said ``info["episode_failed"]``): rerun it."""


_ENV_CACHE: collections.OrderedDict[tuple[str, str, int], Any] = collections.OrderedDict()
_ENV_CACHE_SIZE = 4


def _env_key(env_id: str, env_kwargs: Mapping[str, Any], num_envs: int) -> tuple[str, str, int]:
    return (env_id, json.dumps(dict(env_kwargs), sort_keys=True, default=str), num_envs)


def make_env(env_id: str, env_kwargs: Mapping[str, Any], num_envs: int = 0) -> Any:
    """A cached env of this process (workers keep their games between tasks).

    Args:
        env_id: Gymnasium id.
        env_kwargs: constructor kwargs.
        num_envs: 0 for a single `gymnasium.Env` (``gymnasium.make``); N for the id's native
            vector env with N slots (``gymnasium.make_vec``; two-agent games use 2).
    """
    key = _env_key(env_id, env_kwargs, num_envs)
    if key in _ENV_CACHE:
        _ENV_CACHE.move_to_end(key)
        return _ENV_CACHE[key]
    import gymnasium

    try:  # registers sc2agents/Sim-* and sc2agents/PySC2-* ids
        import sc2agents.envs  # noqa: F401
    except ImportError as e:  # pragma: no cover - only while the simulator is being written
        logging.warning("sc2agents.envs not importable (%s); only pre-registered ids work", e)
    if num_envs and "num_agents" in env_kwargs and _sim_without_num_agents(env_id):
        from sc2agents.acting.two_agent import SimTwoAgentEnv

        env = SimTwoAgentEnv(map_name(env_id), **dict(env_kwargs))
    elif num_envs:
        env = gymnasium.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **dict(env_kwargs)
        )
    else:
        env = gymnasium.make(env_id, disable_env_checker=True, **dict(env_kwargs))
    _ENV_CACHE[key] = env
    while len(_ENV_CACHE) > _ENV_CACHE_SIZE:
        _, old = _ENV_CACHE.popitem(last=False)
        try:
            old.close()
        except Exception:  # noqa: BLE001 - closing a stale env must not fail a game
            pass
    return env


def _sim_without_num_agents(env_id: str) -> bool:
    """A simulator id whose `SimVectorEnv` cannot seat two agents (yet)."""
    if not env_id.split("/")[-1].startswith("Sim-"):
        return False
    import inspect

    from sc2agents.envs.sim.vector_env import SimVectorEnv

    return "num_agents" not in inspect.signature(SimVectorEnv.__init__).parameters


def drop_env(env_id: str, env_kwargs: Mapping[str, Any], num_envs: int = 0) -> None:
    """Forget (and close) a cached env, e.g. after its game process died."""
    env = _ENV_CACHE.pop(_env_key(env_id, env_kwargs, num_envs), None)
    if env is not None:
        try:
            env.close()
        except Exception:  # noqa: BLE001
            pass


def _frame_fn(size: int) -> Any:
    def frame(env: Any) -> np.ndarray:
        if getattr(env, "render_mode", None) == "rgb_array":
            return np.asarray(env.render())
        from sc2agents.envs.sim.render import render_rgb

        engine = getattr(env.unwrapped, "engine", None)
        if engine is None:
            raise ValueError("video needs an env with render_mode='rgb_array' or a sim engine")
        return render_rgb(engine, 0, 0, size)

    return frame


# --- one game (runs on a worker) ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GameTask:
    """One game to play (picklable; carried to a worker).

    Attributes:
        env_id: Gymnasium id.
        env_kwargs: constructor kwargs (opponent kwargs already merged).
        policy: the evaluated policy or a pool `Broadcast` of it (or a `PySC2AgentSpec`).
        opponent_name: report label of the opponent ("" for minigames).
        opponent_policy: the opponent policy (or its `Broadcast`) for two-agent games.
        game_index: index within the opponent's games.
        seed: reset seed.
        max_steps: step cap (truncation) or None.
        replay_path: where to save this game's replay (None: not saved).
        video_path: where to write this game's video (None: none).
        video_size: frame side in pixels.
        outcome_from_reward: sign of the last reward is the outcome when info has none.
    """

    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...]
    policy: Any
    opponent_name: str = ""
    opponent_policy: Any = None
    game_index: int = 0
    seed: int = 0
    max_steps: int | None = None
    replay_path: str | None = None
    video_path: str | None = None
    video_size: int = 256
    outcome_from_reward: bool = False


@dataclasses.dataclass
class GameResult:
    """One game's result (plain data)."""

    opponent: str
    game_index: int
    seed: int
    score: float
    length: int
    game_loop: int | None
    outcome: int | None
    wall_s: float
    cpu_s: float = 0.0
    replay: str | None = None
    video: str | None = None
    error: str | None = None


def _resolve(obj: Any, map_name_: str) -> Any:
    """A `Broadcast` handle's object, a spec string's policy, or the object itself."""
    if hasattr(obj, "get") and hasattr(obj, "key"):
        obj = obj.get()
    return load_policy(obj, map_name=map_name_) if isinstance(obj, str) else obj


def _save_sim_replay(path: str, task: GameTask, stats: env_loop.EpisodeStats) -> str:
    """A simulator replay: env id, kwargs, seed and the action sequence (replays exactly)."""
    p = pathlib.Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    assert stats.actions is not None
    np.savez_compressed(
        p,
        env_id=np.array(task.env_id),
        env_kwargs=np.array(json.dumps(dict(task.env_kwargs), default=str)),
        seed=np.array(task.seed, dtype=np.int64),
        function=stats.actions["function"],
        args=stats.actions["args"],
        score=np.array(stats.score, dtype=np.float64),
    )
    return str(p if p.suffix == ".npz" else p.with_name(p.name + ".npz"))


def _play_pysc2_agent(task: GameTask, spec: PySC2AgentSpec) -> env_loop.EpisodeStats:
    """A PySC2 `BaseAgent` on the pysc2 API: the real game's env, or the simulator's SimSC2Env.

    Replays and videos are not recorded for these games (the agent drives the env directly).
    """
    kwargs = dict(task.env_kwargs)
    if task.env_id.split("/")[-1].startswith("PySC2"):
        from sc2agents.envs import pysc2_env

        env = make_env(task.env_id, kwargs)
        policy = pysc2_env.load_policy(spec.make(), env.unwrapped._vec)
        return env_loop.run_episode(env, policy, seed=task.seed, max_steps=task.max_steps)
    from pysc2_evolved.env import sc2_env
    from pysc2_evolved.lib import features as sc2_features

    from sc2agents.envs import SimSC2Env  # the simulator's drop-in for pysc2's SC2Env

    screen = int(kwargs.pop("screen_size", 64))
    minimap = int(kwargs.pop("minimap_size", 64))
    players = [sc2_env.Agent(sc2_env.Race.terran)] + [
        sc2_env.Bot(sc2_env.Race.terran, sc2_env.Difficulty[d]) for d in kwargs.pop("bots", [])
    ]
    env = SimSC2Env(
        map_name=map_name(task.env_id),
        players=players,
        agent_interface_format=sc2_features.AgentInterfaceFormat(
            feature_dimensions=sc2_features.Dimensions(screen=screen, minimap=minimap)
        ),
        step_mul=int(kwargs.pop("step_mul", 8)),
        random_seed=task.seed % 2**31,
        **kwargs,
    )
    try:
        return env_loop.run_agent_episode(
            env, spec.make(), max_steps=task.max_steps, outcome_from_reward=task.outcome_from_reward
        )
    finally:
        env.close()


def play_game(task: GameTask) -> GameResult:
    """Play one game of ``task`` (in this process); the pool runs this on workers.

    Raises:
        GameCrashed: the game process died mid-episode (the pool reruns the game elsewhere).
    """
    cpu0 = time.process_time()
    kwargs = dict(task.env_kwargs)
    if task.video_path:  # a separate (cached) env that renders
        kwargs["render_mode"] = "rgb_array"
        if task.env_id.split("/")[-1].startswith("Sim-"):
            kwargs["render_size"] = task.video_size
    mname = map_name(task.env_id)
    policy = _resolve(task.policy, mname)
    frame_fn = _frame_fn(task.video_size) if task.video_path else None
    is_pysc2_env = task.env_id.split("/")[-1].startswith("PySC2")
    if is_pysc2_env and task.replay_path:  # the game itself writes the .SC2Replay
        kwargs["save_replay_dir"] = str(pathlib.Path(task.replay_path).parent)
    env = None
    if isinstance(policy, PySC2AgentSpec):
        stats = _play_pysc2_agent(task, policy)
    elif task.opponent_policy is not None:
        env = make_env(task.env_id, kwargs, num_envs=2)
        stats = env_loop.run_two_agent_episode(
            env,
            policy,
            _resolve(task.opponent_policy, mname),
            seed=task.seed,
            max_steps=task.max_steps,
            frame_fn=frame_fn,
        )
    else:
        env = make_env(task.env_id, kwargs)
        engine = getattr(env.unwrapped, "engine", None)
        sim_replay = None
        if task.replay_path is not None and engine is not None:  # the simulator's own replays
            from sc2agents.envs.sim import sim_replay

            sim_replay.record(engine)  # the episode's reset starts the recording
        try:
            stats = env_loop.run_episode(
                env,
                policy,
                seed=task.seed,
                max_steps=task.max_steps,
                record_actions=task.replay_path is not None
                and not is_pysc2_env
                and sim_replay is None,
                frame_fn=frame_fn,
                outcome_from_reward=task.outcome_from_reward,
            )
            if sim_replay is not None:
                assert task.replay_path is not None
                path = pathlib.Path(task.replay_path).with_suffix(sim_replay.SUFFIX)
                stats.info["sim_replay"] = str(sim_replay.save_replay(engine, path))
        finally:
            if sim_replay is not None:
                engine.recorder = None  # later games on this cached env are not recorded
    if np.any(stats.info.get("episode_failed", False)):
        drop_env(task.env_id, kwargs, 2 if task.opponent_policy is not None else 0)
        raise GameCrashed(f"{task.env_id} game {task.game_index} (seed {task.seed}) crashed")
    replay = video = None
    if task.replay_path is not None and env is not None:
        replays = getattr(env.unwrapped, "replays", None) or getattr(
            getattr(env.unwrapped, "_vec", None), "replays", None
        )
        if is_pysc2_env and replays:  # the real game wrote an .SC2Replay (save_replay_dir)
            replay = str(replays[-1])
        elif "sim_replay" in stats.info:  # `python -m sc2agents.bin.play --replay=<file>`
            replay = stats.info["sim_replay"]
        elif stats.actions is not None:
            replay = _save_sim_replay(task.replay_path, task, stats)
    if task.video_path and stats.frames is not None:
        from sc2agents.envs.sim.render import write_video

        write_video(stats.frames, task.video_path)
        video = task.video_path
    return GameResult(
        opponent=task.opponent_name,
        game_index=task.game_index,
        seed=task.seed,
        score=stats.score,
        length=stats.length,
        game_loop=stats.game_loop,
        outcome=stats.outcome,
        wall_s=stats.wall_s,
        cpu_s=time.process_time() - cpu0,
        replay=replay,
        video=video,
    )


def play_games(tasks: Sequence[GameTask]) -> list[GameResult]:
    """Play a chunk of games in order (one pool call carries several whole games)."""
    return [play_game(t) for t in tasks]


# --- aggregation --------------------------------------------------------------------------


def summarize(
    results: Iterable[GameResult], map_name_: str | None = None, confidence: float = 0.95
) -> dict[str, Any]:
    """Aggregate games of one opponent: rates with Wilson intervals, score and length stats."""
    ok = [r for r in results if r.error is None]
    n = len(ok)
    scores = np.array([r.score for r in ok], dtype=np.float64)
    out: dict[str, Any] = {"games": n}
    decided = [r for r in ok if r.outcome is not None]
    if decided:
        nd = len(decided)
        for label, plural, value in (
            ("win", "wins", 1),
            ("tie", "ties", 0),
            ("loss", "losses", -1),
        ):
            k = sum(r.outcome == value for r in decided)
            lo, hi = wilson_interval(k, nd, confidence)
            out[plural] = k
            out[f"{label}_rate"] = k / nd
            out[f"{label}_ci"] = [lo, hi]
    if n:
        out["score_mean"] = float(scores.mean())
        out["score_std"] = float(scores.std(ddof=1)) if n > 1 else 0.0
        out["score_sem"] = out["score_std"] / math.sqrt(n)
        out["length_mean"] = float(np.mean([r.length for r in ok]))
        loops = [r.game_loop for r in ok if r.game_loop is not None]
        if loops:
            out["game_loop_mean"] = float(np.mean(loops))
            out["game_seconds_mean"] = out["game_loop_mean"] / 22.4
        out["wall_s_mean"] = float(np.mean([r.wall_s for r in ok]))
        out["cpu_s_mean"] = float(np.mean([r.cpu_s for r in ok]))
        if map_name_ is not None and map_name_ in REFERENCE_SCORES:
            out["normalized_human"] = normalized_score(out["score_mean"], map_name_, "human")
            out["normalized_grandmaster"] = normalized_score(
                out["score_mean"], map_name_, "grandmaster"
            )
    return out


@dataclasses.dataclass
class EvalReport:
    """An evaluation's results: per-opponent summaries and every game.

    Attributes:
        policy: label of the evaluated policy.
        env_id: the environment id.
        summary: ``{opponent label: summarize(...)}`` ("minigame" for single-player maps).
        games: every `GameResult`.
        errors: ``[(opponent, game_index, message)]`` of games that failed (excluded above).
    """

    policy: str
    env_id: str
    summary: dict[str, dict[str, Any]]
    games: list[GameResult]
    errors: list[tuple[str, int, str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "env_id": self.env_id,
            "summary": self.summary,
            "errors": [list(e) for e in self.errors],
            "games": [dataclasses.asdict(g) for g in self.games],
        }

    def save_json(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the report as JSON (atomically); returns the path."""
        from sc2agents.utils.checkpoint import save_json

        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        save_json(path, self.to_dict())
        return pathlib.Path(path)

    def metrics(self, prefix: str = "eval") -> dict[str, float]:
        """Flat ``eval/<map>/<opponent>/<stat>`` scalars for a `core.Logger`."""
        task = map_name(self.env_id)
        out = {}
        for opp, s in self.summary.items():
            for k, v in s.items():
                if isinstance(v, (int, float)) and v is not None:
                    out[f"{prefix}/{task}/{opp}/{k}"] = float(v)
        return out


# --- the evaluator ------------------------------------------------------------------------


class Evaluator:
    """Plays a policy for N games per opponent, in-process or through a pool.

    Args:
        env: a map name (``MoveToBeacon``) or a Gymnasium id (``sc2agents/Sim-...-v0``).
        backend: ``"sim"`` (default) or ``"pysc2"``; used when ``env`` is a map name.
        opponents: `BotOpponent`s / `PolicyOpponent`s, or ``[None]`` for a minigame.
        games: games per opponent.
        seed: base seed; game i is reset with ``derive_seed(seed, i)``.
        env_kwargs: extra env constructor kwargs (``screen_size``, ``step_mul``, ...).
        max_steps: step cap per game.
        pool: a `sc2agents.distributed.Pool`; None plays in this process.
        games_per_task: games per pool call (amortises the call overhead on short games).
        replay_games: game indices whose replays are saved (per opponent) in ``out_dir``.
        video_games: game indices whose videos are written in ``out_dir``.
        out_dir: where replays and videos go.
        video_size: video frame side in pixels.
        outcome_from_reward: treat the sign of the final reward as the game result.
        retries: reruns of a game whose process or worker died.
    """

    def __init__(
        self,
        env: str,
        *,
        backend: Literal["sim", "pysc2"] = "sim",
        opponents: Sequence[Opponent] = (None,),
        games: int = 10,
        seed: int = 0,
        env_kwargs: Mapping[str, Any] | None = None,
        max_steps: int | None = None,
        pool: Any = None,
        games_per_task: int = 1,
        replay_games: Sequence[int] = (),
        video_games: Sequence[int] = (),
        out_dir: str | pathlib.Path | None = None,
        video_size: int = 256,
        outcome_from_reward: bool = False,
        retries: int = 2,
    ) -> None:
        if games < 1:
            raise ValueError(f"games must be >= 1, got {games}")
        if (replay_games or video_games) and out_dir is None:
            raise ValueError("replay_games/video_games need out_dir")
        self.env_id = resolve_env_id(env, backend)
        # Bot kwargs: the simulator's (bots=[...]) for Sim ids, PySC2's names for any other env.
        self.backend = "sim" if self.env_id.split("/")[-1].startswith("Sim-") else "pysc2"
        self.map_name = map_name(self.env_id)
        self.opponents = list(opponents) or [None]
        self.games = games
        self.seed = seed
        self.env_kwargs = dict(env_kwargs or {})
        self.max_steps = max_steps
        if pool is None:
            from sc2agents.distributed import LocalPool

            pool = LocalPool()
        self.pool = pool
        self.games_per_task = max(1, games_per_task)
        self.replay_games = set(replay_games)
        self.video_games = set(video_games)
        self.out_dir = pathlib.Path(out_dir) if out_dir is not None else None
        self.video_size = video_size
        self.outcome_from_reward = outcome_from_reward
        self.retries = retries

    def _label(self, opp: Opponent) -> str:
        return "minigame" if opp is None else opp.name

    def tasks(self, policy_handle: Any, games: int) -> list[GameTask]:
        """The games of one evaluation, every opponent, in order."""
        tasks = []
        opp_handles: dict[str, Any] = {}
        for opp in self.opponents:
            label = self._label(opp)
            kwargs = dict(self.env_kwargs)
            opp_policy = None
            if isinstance(opp, BotOpponent):
                kwargs.update(opp.env_kwargs(self.backend))
            elif opp is not None:
                kwargs.update(opp.env_kwargs())
            if isinstance(opp, PolicyOpponent):
                if label not in opp_handles:
                    p = opp.policy
                    if not (hasattr(p, "get") and hasattr(p, "key")):
                        p = self.pool.broadcast(load_policy(p, map_name=self.map_name))
                    opp_handles[label] = p
                opp_policy = opp_handles[label]
            safe = label.replace("/", "_")
            for i in range(games):
                out = self.out_dir
                tasks.append(
                    GameTask(
                        env_id=self.env_id,
                        env_kwargs=tuple(sorted(kwargs.items())),
                        policy=policy_handle,
                        opponent_name=label,
                        opponent_policy=opp_policy,
                        game_index=i,
                        seed=derive_seed(self.seed, i),
                        max_steps=self.max_steps,
                        replay_path=str(out / "replays" / f"{safe}_game{i:04d}.npz")
                        if out is not None and i in self.replay_games
                        else None,
                        video_path=str(out / "videos" / f"{safe}_game{i:04d}.mp4")
                        if out is not None and i in self.video_games
                        else None,
                        video_size=self.video_size,
                        # Melee rewards are the game result (+1/0/-1, PySC2's score_index=-1).
                        outcome_from_reward=self.outcome_from_reward
                        or isinstance(opp, BotOpponent),
                    )
                )
        return tasks

    def evaluate(
        self,
        policy: str | Policy | PySC2AgentSpec,
        *,
        name: str | None = None,
        games: int | None = None,
        desc: str | None = "evaluate",
    ) -> EvalReport:
        """Play ``games`` games against every opponent and summarise.

        Args:
            policy: a policy spec (`load_policy`) or a policy object.
            name: label in the report (default: the spec string or the class name).
            games: games per opponent (default: the constructor's).
            desc: progress-bar label (None: no bar).

        Returns:
            The `EvalReport`; games that raised are listed in ``errors``, not counted.
        """
        label = name or (policy if isinstance(policy, str) else type(policy).__name__)
        resolved = load_policy(policy, map_name=self.map_name)
        handle = self.pool.broadcast(resolved)  # once per evaluation: workers cache it
        tasks = self.tasks(handle, games or self.games)
        chunks = [
            tasks[i : i + self.games_per_task] for i in range(0, len(tasks), self.games_per_task)
        ]
        results: list[GameResult] = []
        errors: list[tuple[str, int, str]] = []
        games_iter = self.pool.map_unordered(
            play_games, chunks, desc=desc, retries=self.retries, retry_on=(GameCrashed,)
        )
        for chunk, out in games_iter:
            if isinstance(out, BaseException):
                for t in chunk:
                    errors.append((t.opponent_name, t.game_index, f"{type(out).__name__}: {out}"))
                logging.warning("evaluation games failed: %r", out)
                continue
            results.extend(out)
        results.sort(key=lambda r: (r.opponent, r.game_index))
        by_opp: dict[str, list[GameResult]] = collections.defaultdict(list)
        for r in results:
            by_opp[r.opponent].append(r)
        summary = {
            self._label(o): summarize(by_opp.get(self._label(o), []), self.map_name)
            for o in self.opponents
        }
        return EvalReport(str(label), self.env_id, summary, results, sorted(errors))
