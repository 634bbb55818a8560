"""Play whole episodes: `run_episode` (Gymnasium env + `core.Policy`) and `run_agent_episode`.

acme's `EnvironmentLoop.run_episode` and PySC2's `run_loop` reduced to what evaluation needs: reset
with a seed, act until ``terminated or truncated`` (or ``max_steps``), and return plain, picklable
`EpisodeStats`. Optional recording of the actions (for simulator replays) and frames (for videos)
happens in the same loop, so a recorded game is exactly the evaluated game.

Outcome: for games against an opponent the env reports the result in ``info["outcome"]`` (+1 win,
0 tie, -1 loss) on the last step (the simulator's melee and PySC2's wrappers do); when absent and
``outcome_from_reward`` is set, the sign of the last reward is used (PySC2's ``score_index=-1``
convention: the final reward *is* the game result). Minigames have no outcome (``None``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from sc2agents.core import Policy

__all__ = ["EpisodeStats", "batch1", "run_agent_episode", "run_episode", "run_two_agent_episode"]


@dataclasses.dataclass
class EpisodeStats:
    """What one episode produced (plain data: crosses process boundaries).

    Attributes:
        score: sum of rewards (the minigame score).
        length: agent steps taken.
        game_loop: final game loop (game time in 1/22.4 s), when the observation has it.
        outcome: +1 win, 0 tie, -1 loss; None when the game has no winner (minigames).
        terminated: the episode ended in a terminal state.
        truncated: the episode hit a time limit (env or ``max_steps``).
        seed: the reset seed.
        wall_s: seconds the episode took.
        actions: ``{"function": int16 [T], "args": int32 [T, 13]}`` when recorded.
        frames: ``uint8 [T+1, H, W, 3]`` when recorded.
        info: the last ``info`` dict's plain entries.
    """

    score: float
    length: int
    game_loop: int | None
    outcome: int | None
    terminated: bool
    truncated: bool
    seed: int | None
    wall_s: float
    actions: dict[str, np.ndarray] | None = None
    frames: np.ndarray | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


def batch1(observation: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Add a leading batch axis of 1 to every array of a single observation."""
    return {k: np.asarray(v)[None] for k, v in observation.items()}


def _plain(info: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in info.items():
        if isinstance(v, (bool, int, float, str)) or v is None:
            out[k] = v
        elif isinstance(v, np.generic):
            out[k] = v.item()
    return out


def _outcome(info: Mapping[str, Any], last_reward: float, from_reward: bool) -> int | None:
    if "outcome" in info and info["outcome"] is not None:
        return int(np.sign(info["outcome"]))
    if from_reward:
        return int(np.sign(last_reward))
    return None


def run_episode(
    env: Any,
    policy: Policy,
    *,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
    max_steps: int | None = None,
    record_actions: bool = False,
    frame_fn: Callable[[Any], np.ndarray] | None = None,
    outcome_from_reward: bool = False,
    reset_options: Mapping[str, Any] | None = None,
) -> EpisodeStats:
    """Play one episode of a single Gymnasium env with a batched `core.Policy`.

    Args:
        env: a `gymnasium.Env` whose observation is a storage-form dict (``SimGymEnv``,
            the PySC2 gym wrapper) and whose action is ``{"function", "args"}``.
        policy: acts on the observation with a batch axis of 1.
        seed: passed to ``env.reset(seed=)``; also seeds the policy's generator when ``rng``
            is None, so the whole episode is a function of ``seed``.
        rng: the policy's random generator.
        max_steps: stop (truncated) after this many steps.
        record_actions: keep the action sequence (a simulator replay is seed + actions).
        frame_fn: called with ``env`` after reset and after every step; frames are stacked.
        outcome_from_reward: use the sign of the last reward when ``info`` has no outcome.
        reset_options: passed to ``env.reset(options=)``.

    Returns:
        The episode's `EpisodeStats`.
    """
    rng = rng if rng is not None else np.random.default_rng(seed)
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed, options=dict(reset_options) if reset_options else None)
    frames = [frame_fn(env)] if frame_fn is not None else None
    fns: list[int] = []
    argss: list[np.ndarray] = []
    score, steps, reward = 0.0, 0, 0.0
    terminated = truncated = False
    while True:
        fn, args = policy.act(batch1(obs), rng)
        action = {"function": int(fn[0]), "args": np.asarray(args[0], dtype=np.int64)}
        if record_actions:
            fns.append(action["function"])
            argss.append(action["args"])
        obs, reward, terminated, truncated, info = env.step(action)
        reward = float(reward)
        score += reward
        steps += 1
        if frames is not None:
            frames.append(frame_fn(env))
        if terminated or truncated:
            break
        if max_steps is not None and steps >= max_steps:
            truncated = True
            break
    game_loop = obs.get("game_loop") if isinstance(obs, Mapping) else None
    actions = None
    if record_actions:
        actions = {
            "function": np.asarray(fns, dtype=np.int16),
            "args": np.asarray(argss, dtype=np.int32).reshape(len(fns), -1),
        }
    return EpisodeStats(
        score=score,
        length=steps,
        game_loop=int(np.asarray(game_loop).reshape(-1)[0]) if game_loop is not None else None,
        outcome=_outcome(info, reward, outcome_from_reward),
        terminated=bool(terminated),
        truncated=bool(truncated),
        seed=seed,
        wall_s=time.perf_counter() - t0,
        actions=actions,
        frames=np.stack(frames) if frames else None,
        info=_plain(info),
    )


def run_agent_episode(
    env: Any,
    agent: Any,
    *,
    max_steps: int | None = None,
    outcome_from_reward: bool = False,
) -> EpisodeStats:
    """Play one episode of a pysc2-API env (`SimSC2Env`, `SC2Env`) with a PySC2 `BaseAgent`.

    PySC2's `run_loop` for one agent and one episode; the env's own seed (constructor
    ``random_seed``) makes it reproducible.
    """
    t0 = time.perf_counter()
    if hasattr(agent, "setup") and getattr(agent, "obs_spec", None) is None:
        agent.setup(env.observation_spec()[0], env.action_spec()[0])
    agent.reset()
    timesteps = env.reset()
    score, steps, reward = 0.0, 0, 0.0
    truncated = False
    while not timesteps[0].last():
        timesteps = env.step([agent.step(timesteps[0])])
        reward = float(timesteps[0].reward or 0.0)
        score += reward
        steps += 1
        if max_steps is not None and steps >= max_steps and not timesteps[0].last():
            truncated = True
            break
    obs = timesteps[0].observation
    game_loop = obs["game_loop"] if "game_loop" in obs else None
    return EpisodeStats(
        score=score,
        length=steps,
        game_loop=int(np.asarray(game_loop).reshape(-1)[0]) if game_loop is not None else None,
        outcome=int(np.sign(reward)) if outcome_from_reward else None,
        terminated=not truncated,
        truncated=truncated,
        seed=None,
        wall_s=time.perf_counter() - t0,
    )


def run_two_agent_episode(
    env: Any,
    policy_a: Policy,
    policy_b: Policy,
    *,
    seed: int | None = None,
    max_steps: int | None = None,
    frame_fn: Callable[[Any], np.ndarray] | None = None,
) -> EpisodeStats:
    """Play one two-agent game; stats are from player A's (player 0's) point of view.

    The env is a Gymnasium *vector* env of two slots, slot 0 and slot 1 being the two players of
    one game: `PySC2VectorEnv(num_envs=2, num_agents=2)`'s convention, which the two-player
    simulator (issue 3) follows. Observations and actions are batched ``[2, ...]``; rewards
    ``[2]``; the game ends when either slot reports terminated/truncated. The outcome is
    ``info["outcome"][0]`` when the env gives one, else the sign of player 0's last reward (the
    PySC2 ``score_index=-1`` convention: +1 win, -1 loss, 0 tie).
    """
    rng_a = np.random.default_rng(None if seed is None else [seed, 0])
    rng_b = np.random.default_rng(None if seed is None else [seed, 1])
    t0 = time.perf_counter()
    obs, info = env.reset(seed=seed)
    frames = [frame_fn(env)] if frame_fn is not None else None
    score, steps, last = 0.0, 0, 0.0
    terminated = truncated = False
    while True:
        fa, aa = policy_a.act({k: np.asarray(v)[0:1] for k, v in obs.items()}, rng_a)
        fb, ab = policy_b.act({k: np.asarray(v)[1:2] for k, v in obs.items()}, rng_b)
        actions = {
            "function": np.array([fa[0], fb[0]], dtype=np.int64),
            "args": np.stack([np.asarray(aa[0]), np.asarray(ab[0])]).astype(np.int64),
        }
        obs, rewards, term, trunc, info = env.step(actions)
        last = float(np.asarray(rewards).reshape(-1)[0])
        score += last
        steps += 1
        terminated, truncated = bool(np.any(term)), bool(np.any(trunc))
        if frames is not None:
            frames.append(frame_fn(env))
        if terminated or truncated:
            break
        if max_steps is not None and steps >= max_steps:
            truncated = True
            break
    outcome = 0
    if "outcome" in info and info["outcome"] is not None:
        outcome = int(np.sign(np.asarray(info["outcome"]).reshape(-1)[0]))
    elif terminated:
        outcome = int(np.sign(last))
    game_loop = obs.get("game_loop") if isinstance(obs, Mapping) else None
    failed = np.asarray(info.get("episode_failed", False)).reshape(-1)
    return EpisodeStats(
        score=score,
        length=steps,
        game_loop=int(np.asarray(game_loop).reshape(-1)[0]) if game_loop is not None else None,
        outcome=outcome,
        terminated=terminated,
        truncated=truncated,
        seed=seed,
        wall_s=time.perf_counter() - t0,
        frames=np.stack(frames) if frames else None,
        info={"episode_failed": bool(failed.any())},
    )
