"""Simulator datasets of known quality: scripted-demonstrator rollouts as `Episode`s.

``build_dataset --source=sim --map=MoveToBeacon --policy=expert|medium|random|mixed --episodes=N``
splits the N episodes into `SimTask`s (`plan_tasks`), and the shared job runner calls
``rollout(task, cfg)`` for each (in-process or on workers); every task runs its own
`SimVectorEnv` with ``cfg.num_envs`` games and returns its episodes. A task is deterministic for
its seed (env seed, policy seeds and the per-episode quality draws all derive from it), so a
resumed build regenerates exactly the missing tasks.

Quality levels (the D4RL/OGBench convention, with the noise under control):

=========  ================================================================================
expert     the map's scripted policy (`sc2agents.agents.make_policy("scripted")`) with
           ``epsilon = cfg.expert_epsilon`` (default 0: pure demonstrator)
medium     the scripted policy with ``epsilon = cfg.medium_epsilon`` (default 0.5): half the
           steps a uniformly random available action
random     `RandomPolicy`: uniform over available functions and arguments
mixed      each episode draws one of the three levels uniformly (``info["policy"]`` records it)
=========  ================================================================================

Maps without an observation-based scripted policy can register an *engine demonstrator*
(`register_demonstrator`): a factory ``(env, level, epsilon, seed) -> policy`` called once the
task's env exists, for the ``expert`` and ``medium`` levels (e.g. a built-in bot playing the
agent's seat through `sc2agents.agents.state_demonstrator.StateDemonstrator`, which reads the
engine state). A policy with an ``act_rows(observations, rows)`` method is told which games of
the env the rows are (an engine-reading policy needs it); others get ``act(observations)``.

The vector env uses Gymnasium's NEXT_STEP autoreset: the step after a game ends resets it and
its action and reward are ignored; here that step only starts the next episode's observations.
Episodes carry the storage-form observations (``cfg.obs_keys``; ``game_loop`` is dropped), the
actions actually sent, the rewards, ``terminated``/``truncated`` from the env, and ``info``:
``source``, ``map``, ``policy``, ``epsilon``, ``seed``, ``task``, ``env``, ``return``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from absl import logging

from sc2agents import core
from sc2agents.data.episodes import Episode

__all__ = [
    "DEMONSTRATORS",
    "POLICY_LEVELS",
    "SimRolloutConfig",
    "SimTask",
    "as_config",
    "collect_episodes",
    "plan_tasks",
    "register_demonstrator",
    "rollout",
]

POLICY_LEVELS: tuple[str, ...] = ("expert", "medium", "random")
_DEFAULT_KEYS = (
    "minimap",
    "minimap_unit_type",
    "screen",
    "screen_unit_type",
    "player",
    "available_actions",
)


@dataclasses.dataclass(frozen=True)
class SimRolloutConfig:
    """What `rollout` plays.

    Attributes:
        map_name: simulator scenario (``MoveToBeacon``, ``DefeatRoaches``, ...).
        policy: ``expert``, ``medium``, ``random`` or ``mixed``.
        episodes: total episodes of the build (split by `plan_tasks`).
        episodes_per_task: episodes per `SimTask` (the unit of parallelism and of resume).
        num_envs: games stepped together inside one task.
        seed: base seed; task ``i`` uses ``seed + 1000003 * i``.
        expert_epsilon / medium_epsilon: random-action probability of those levels.
        screen_size / minimap_size / step_mul / game_steps_per_episode / disable_fog: env options.
        obs_keys: observation keys to store (default: the whole storage form).
        max_steps_per_task: safety cap on env steps per task (an error names the task).
    """

    map_name: str = "MoveToBeacon"
    policy: str = "expert"
    episodes: int = 100
    episodes_per_task: int = 16
    num_envs: int = 8
    seed: int = 0
    expert_epsilon: float = 0.0
    medium_epsilon: float = 0.5
    screen_size: int = 64
    minimap_size: int = 64
    step_mul: int = 8
    game_steps_per_episode: int | None = None
    disable_fog: bool = False
    obs_keys: Sequence[str] = _DEFAULT_KEYS
    max_steps_per_task: int = 1_000_000

    def __post_init__(self) -> None:
        if self.policy not in (*POLICY_LEVELS, "mixed"):
            raise ValueError(
                f"policy must be one of {(*POLICY_LEVELS, 'mixed')}, got {self.policy!r}"
            )
        if self.episodes < 1 or self.episodes_per_task < 1 or self.num_envs < 1:
            raise ValueError("episodes, episodes_per_task and num_envs must be >= 1")
        for name in ("expert_epsilon", "medium_epsilon"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class SimTask:
    """One unit of rollout work: ``num_episodes`` episodes from seed ``seed``."""

    index: int
    num_episodes: int
    seed: int

    @property
    def source(self) -> str:
        """Identifier recorded in ``info["source"]`` (used to resume builds)."""
        return f"sim-task-{self.index:06d}"


def plan_tasks(cfg: SimRolloutConfig) -> list[SimTask]:
    """Split ``cfg.episodes`` into deterministic tasks of ``cfg.episodes_per_task``."""
    tasks = []
    for i, start in enumerate(range(0, cfg.episodes, cfg.episodes_per_task)):
        n = min(cfg.episodes_per_task, cfg.episodes - start)
        tasks.append(SimTask(index=i, num_episodes=n, seed=cfg.seed + 1_000_003 * i))
    return tasks


DemonstratorFactory = Callable[[Any, str, float, int], core.Policy]
"""``(env, level, epsilon, seed) -> policy`` of an engine demonstrator (`register_demonstrator`)."""

DEMONSTRATORS: dict[str, DemonstratorFactory] = {}
"""Map name -> engine demonstrator factory, used instead of the scripted policy when present."""


def register_demonstrator(map_name: str, factory: DemonstratorFactory) -> None:
    """Use ``factory(env, level, epsilon, seed)`` for the expert / medium levels of ``map_name``.

    The factory is called in `rollout` after the task's env is made, with ``level`` one of
    ``expert`` / ``medium``, the level's ``epsilon`` and a seed; it returns a batched policy
    (``act`` or ``act_rows``). Registering the same map again replaces its factory.

    Raises:
        ValueError: ``factory`` is not callable.
    """
    if not callable(factory):
        raise ValueError(f"register_demonstrator({map_name!r}): factory must be callable")
    DEMONSTRATORS[map_name] = factory


def _level_epsilon(cfg: SimRolloutConfig, level: str) -> float:
    return {"expert": cfg.expert_epsilon, "medium": cfg.medium_epsilon, "random": 1.0}[level]


def _make_policies(cfg: SimRolloutConfig, seed: int, env: Any = None) -> dict[str, core.Policy]:
    from sc2agents.agents import make_policy

    levels = POLICY_LEVELS if cfg.policy == "mixed" else (cfg.policy,)
    out: dict[str, core.Policy] = {}
    demo = DEMONSTRATORS.get(cfg.map_name)
    for j, level in enumerate(levels):
        if level == "random":
            out[level] = make_policy("random", cfg.map_name, seed=seed + 17 * j)
        elif demo is not None:
            if env is None:
                raise ValueError(f"the demonstrator of {cfg.map_name!r} needs the env")
            out[level] = demo(env, level, _level_epsilon(cfg, level), seed + 17 * j)
        else:
            out[level] = make_policy(
                "scripted",
                cfg.map_name,
                epsilon=_level_epsilon(cfg, level),
                step_mul=cfg.step_mul,
                seed=seed + 17 * j,
            )
    return out


def _make_env(cfg: SimRolloutConfig, num_envs: int, seed: int) -> Any:
    from sc2agents.envs.sim.vector_env import SimVectorEnv

    return SimVectorEnv(
        num_envs,
        cfg.map_name,
        screen_size=cfg.screen_size,
        minimap_size=cfg.minimap_size,
        step_mul=cfg.step_mul,
        game_steps_per_episode=cfg.game_steps_per_episode,
        disable_fog=cfg.disable_fog,
        action_error="warn",
        seed=seed,
    )


_CFG_ALIASES = {"map": "map_name", "episodes_total": "episodes"}


def as_config(cfg: SimRolloutConfig | Mapping[str, Any]) -> SimRolloutConfig:
    """A `SimRolloutConfig` from itself or a dict (``map`` is accepted for ``map_name``).

    Raises:
        ValueError: a key that is not a `SimRolloutConfig` field, naming it.
    """
    if isinstance(cfg, SimRolloutConfig):
        return cfg
    fields = {f.name for f in dataclasses.fields(SimRolloutConfig)}
    kw: dict[str, Any] = {}
    for k, v in cfg.items():
        name = _CFG_ALIASES.get(k, k)
        if name not in fields:
            raise ValueError(f"sim rollout config: unknown key {k!r} (known: {sorted(fields)})")
        if v is not None:
            kw[name] = tuple(v) if name == "obs_keys" else v
    return SimRolloutConfig(**kw)


def rollout(
    task: SimTask | Mapping[str, Any] | int, cfg: SimRolloutConfig | Mapping[str, Any]
) -> list[Episode]:
    """Play one task's episodes with the configured demonstrator (deterministic for the seed).

    Args:
        task: a `SimTask` (from `plan_tasks`), a task index, or a dict with ``index``,
            ``num_episodes``, ``seed`` and optionally ``map`` / ``policy`` (which override
            ``cfg``; the form `sc2agents.data.build` sends).
        cfg: a `SimRolloutConfig` or a dict of its fields (``map`` for ``map_name``).
    """
    cfg = as_config(cfg)
    if isinstance(task, int):
        task = plan_tasks(cfg)[task]
    elif isinstance(task, Mapping):
        over = {}
        if task.get("map") is not None:
            over["map_name"] = task["map"]
        if task.get("policy") is not None:
            over["policy"] = task["policy"]
        if over:
            cfg = dataclasses.replace(cfg, **over)
        task = SimTask(
            index=int(task["index"]), num_episodes=int(task["num_episodes"]), seed=int(task["seed"])
        )
    num_envs = min(cfg.num_envs, task.num_episodes)
    env = _make_env(cfg, num_envs, task.seed)
    try:
        if cfg.map_name in DEMONSTRATORS:  # engine demonstrators are made for this env
            policies = _make_policies(cfg, task.seed, env)
        else:
            policies = _make_policies(cfg, task.seed)
        return collect_episodes(
            env,
            policies,
            task.num_episodes,
            seed=task.seed,
            obs_keys=cfg.obs_keys,
            epsilons={lv: _level_epsilon(cfg, lv) for lv in policies},
            info={"map": cfg.map_name, "source": task.source, "task": task.index},
            max_steps=cfg.max_steps_per_task,
        )
    finally:
        close = getattr(env, "close", None)
        if callable(close):
            close()


def collect_episodes(
    env: Any,
    policies: Mapping[str, core.Policy],
    num_episodes: int,
    *,
    seed: int,
    obs_keys: Sequence[str] | None = None,
    epsilons: Mapping[str, float] | None = None,
    info: Mapping[str, Any] | None = None,
    max_steps: int = 1_000_000,
    choose: Callable[[np.random.Generator], str] | None = None,
) -> list[Episode]:
    """Run a NEXT_STEP-autoreset vector env until ``num_episodes`` episodes have finished.

    Args:
        env: a Gymnasium vector env with dict observations (e.g. `SimVectorEnv`) and dict actions
            ``{"function": [N], "args": [N, 13]}``.
        policies: quality level -> batched policy; each episode draws one level uniformly
            (a single entry: always that one).
        num_episodes: episodes to return (game ``i`` plays ``num_episodes // N`` of them, the
            first ``num_episodes % N`` games one more).
        seed: seeds the env reset and the level draws.
        obs_keys: observation keys to keep (default: all but ``game_loop``).
        epsilons: per level, recorded in ``info["epsilon"]``.
        info: extra info for every episode (``source`` gets ``/<k>`` appended).
        max_steps: raise if the env has not produced the episodes after this many steps.
        choose: override of the per-episode level draw (tests).

    Returns:
        Episodes ordered by game, then by time (each game plays a fixed share of
        ``num_episodes``, so short episodes are not over-represented): deterministic for a seed.
    """
    levels = list(policies)
    obs, _ = env.reset(seed=seed)
    n = int(np.asarray(obs["available_actions"]).shape[0])
    # One generator per game for its quality draws, and a fixed quota of episodes per game:
    # taking "the first N episodes to finish" would favour short episodes (quick wins, quick
    # deaths) and bias the dataset's quality.
    rngs = [np.random.default_rng([seed, i]) for i in range(n)]
    quota = [num_episodes // n + (i < num_episodes % n) for i in range(n)]

    def pick(i: int) -> str:
        return choose(rngs[i]) if choose else levels[int(rngs[i].integers(len(levels)))]

    keys = [k for k in (obs_keys or obs) if k != "game_loop"]
    missing = [k for k in keys if k not in obs]
    if missing:
        raise KeyError(f"collect_episodes: env observations lack {missing} (have {sorted(obs)})")

    def snap(o: Mapping[str, np.ndarray], i: int) -> dict[str, np.ndarray]:
        return {k: np.array(o[k][i]) for k in keys}

    def fresh(i: int) -> dict[str, Any]:
        return {"obs": [snap(obs, i)], "fn": [], "args": [], "rew": [], "level": pick(i)}

    bufs = [fresh(i) for i in range(n)]
    resetting = np.zeros(n, bool)
    finished: list[list[tuple[dict[str, Any], bool, bool]]] = [[] for _ in range(n)]
    base_info = dict(info or {})
    steps = 0
    while any(len(finished[i]) < quota[i] for i in range(n)):
        if steps >= max_steps:
            have = sum(len(f) for f in finished)
            raise RuntimeError(
                f"collect_episodes ({base_info.get('source', '?')}): only {have} of "
                f"{num_episodes} episodes after {steps} steps"
            )
        active = np.array([len(finished[i]) < quota[i] for i in range(n)])
        fn = np.zeros(n, np.int64)  # no_op for games whose quota is met
        args = np.full((n, 13), -1, np.int64)
        for level, policy in policies.items():
            rows = np.flatnonzero([active[i] and bufs[i]["level"] == level for i in range(n)])
            if rows.size:
                sub = {k: np.asarray(v)[rows] for k, v in obs.items()}
                act_rows = getattr(policy, "act_rows", None)
                f, a = act_rows(sub, rows) if callable(act_rows) else policy.act(sub)
                fn[rows], args[rows] = f, a
        obs, rew, term, trunc, _ = env.step({"function": fn, "args": args})
        steps += 1
        for i in range(n):
            if not active[i]:
                continue
            if resetting[i]:  # NEXT_STEP autoreset: this step reset game i
                bufs[i] = fresh(i)
                continue
            b = bufs[i]
            b["fn"].append(fn[i])
            b["args"].append(args[i])
            b["rew"].append(float(rew[i]))
            b["obs"].append(snap(obs, i))
            if term[i] or trunc[i]:
                finished[i].append((b, bool(term[i]), bool(trunc[i])))
        resetting = np.asarray(term, bool) | np.asarray(trunc, bool)

    done_eps: list[Episode] = []
    for i in range(n):
        for b, terminated, truncated in finished[i]:
            k = len(done_eps)
            done_eps.append(
                Episode(
                    observations={key: np.stack([o[key] for o in b["obs"]]) for key in keys},
                    actions={"function": np.asarray(b["fn"]), "args": np.stack(b["args"])},
                    rewards=np.asarray(b["rew"], np.float32),
                    terminated=terminated,
                    truncated=truncated and not terminated,
                    info={
                        **base_info,
                        "source": f"{base_info.get('source', 'sim')}/{k}",
                        "policy": b["level"],
                        "epsilon": (epsilons or {}).get(b["level"]),
                        "seed": seed,
                        "env": i,
                        "episode": k,
                        "return": float(np.sum(b["rew"])),
                    },
                )
            )
    logging.info(
        "%s: %d episodes, %d steps, mean return %.3f",
        base_info.get("source", "sim"),
        len(done_eps),
        sum(e.num_steps for e in done_eps),
        float(np.mean([e.info["return"] for e in done_eps])),
    )
    return done_eps
