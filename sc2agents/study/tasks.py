"""Horizon-parameterised simulator tasks of the scaling study, and their datasets.

The study needs *the same goal* at growing horizons (issue 8). `BeaconChain` is MoveToBeacon
turned into a combination-lock-like chain (ALGORITHMS.md §D.3): the marine must reach ``K``
beacons one after the other; the reward is a single ``+1`` when the ``K``-th is reached, which
also ends the game (``terminated``). The true discounted return of a step ``t`` of an episode that
reached the goal is therefore exactly ``gamma^(T - t - 1)`` (distance to the episode end), which
is what the value-bias metric needs. The horizon grows with ``K`` and shrinks with ``step_mul``
(game loops per agent step): the same path takes 8x the agent steps at ``step_mul=1``.

The progress so far (beacons reached) is shown to the agent in the ``minerals`` field of the
``player`` features, so the task stays Markov (without it the value of a state would depend on
the unobserved count). A generous time limit truncates games that wander (random demonstrators).

Variants (``HORIZON_TASKS``; names are scenario names, registered with
`sc2agents.envs.sim.scenarios.register_scenario` by `register_horizon_tasks`):

================  ===  ========  =====================================================
name              K    step_mul  expert agent steps (measured, ``tests/study``)
================  ===  ========  =====================================================
BeaconChain-H100  9    8         ~100
BeaconChain-H1k   12   1         ~1,000
BeaconChain-H10k  120  1         ~10,000
================  ===  ========  =====================================================

At 16 px layers (1.5 map cells per pixel) the demonstrator's move target can land more than one
cell from the beacon centre and stall; this is rare per beacon (H100/H1k expert episodes all reach
the goal in the tests) but over H10k's 120 beacons it happens in some episodes, so use >= 32 px
there (the ``full`` budget does).

The scripted MoveToBeacon demonstrator solves every variant (it walks to the visible beacon), so
the dataset builder (`sc2agents.data.sim_rollouts`) produces expert / medium / random datasets of
known quality for each; `build_task_dataset` wraps it with the study's own folder layout.

**The melee vs a built-in bot** (`MeleeTask`, `MeleeVsBot`): the Simple64 Terran 1v1 of
`sc2agents.envs.sim.melee` against a ``very_easy`` built-in bot, the *same game* at ``step_mul``
8, 2 and 1 (the agent steps per game grow 4x and 8x). The reward is ``+1`` on a win, ``0`` on a
loss, a tie or the time limit (PySC2's melee pays ``-1`` for a loss; 0 keeps every method's
read-out, several of which are sigmoids, on one ``[0, 1]`` scale), paid once when the game ends
(``terminated``), so the true discounted return of step ``t`` of a game won at ``T`` is
``gamma^(T - t - 1)`` and 0 in a lost one: experiment 1's value-vs-distance metric applies as is.
The demonstrator is a built-in bot level playing the agent's seat
(`sc2agents.agents.state_demonstrator.StateDemonstrator`, registered with
`sim_rollouts.register_demonstrator`): ``expert`` = the ``hard`` level, ``medium`` = the same
level with ``medium_epsilon`` random actions, ``random`` = uniform random actions. It reads the
engine state; the dataset holds only observations and actions. Measured on Melee-H850 at 32 px
(4 games each): expert wins 4/4 in 832-869 steps; random actions are very costly to the bot, so
``medium`` wins none: 3 losses and 1 time-out at epsilon 0.1, 4 time-outs at 0.3 (the
``medium`` bot level with epsilon 0.3: 3 losses, 1 time-out). The bot clicks building
sites on the screen, which needs >= 32 px layers (at 16 px its buildings fail and every game
times out), so `build_task_dataset` refuses smaller sizes for these tasks.

================  ========  ===================================================
name              step_mul  expert agent steps (hard vs very_easy, 32 px)
================  ========  ===================================================
Melee-H850        8         ~850
Melee-H3k         2         ~3,400
Melee-H7k         1         ~6,800
================  ========  ===================================================
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import pathlib
from typing import Any

import numpy as np

from sc2agents.envs.sim import melee
from sc2agents.envs.sim import scenarios as sim_scenarios

__all__ = [
    "HORIZON_TASKS",
    "BeaconChain",
    "HorizonTask",
    "MeleeTask",
    "MeleeVsBot",
    "build_task_dataset",
    "dataset_dir",
    "get_task",
    "register_horizon_tasks",
]


@dataclasses.dataclass
class BeaconChain(sim_scenarios.MoveToBeacon):
    """MoveToBeacon with ``num_beacons`` beacons in a row and one terminal reward.

    Attributes:
        num_beacons: beacons to reach; the last one gives ``+1`` and ends the game.
    """

    name: str = "BeaconChain"
    num_beacons: int = 8
    time_limit_s: float = 600.0

    def attach(self, engine: Any) -> None:
        st = engine.state
        if "minerals" not in st.extra:
            st.extra["minerals"] = np.zeros((st.num_envs, max(1, self.num_players)), np.int32)

    def update(self, st, events, rng):
        reward, over = super().update(st, events, rng)
        hit = reward[0] > 0
        done = np.zeros(st.num_envs, bool)
        if hit.any():
            prog = st.extra["minerals"]
            prog[hit, 0] += 1
            done = hit & (prog[:, 0] >= self.num_beacons)
        reward = np.where(done[None], 1.0, 0.0).astype(np.float32)
        return reward, over | done


@dataclasses.dataclass(frozen=True)
class HorizonTask:
    """One member of the horizon family.

    Attributes:
        name: scenario name (``BeaconChain-H100``...).
        num_beacons: K.
        step_mul: game loops per agent step.
        target_horizon: the nominal expert episode length in agent steps.
        time_limit_s: game seconds before truncation.
    """

    name: str
    num_beacons: int
    step_mul: int
    target_horizon: int
    time_limit_s: float
    min_size: int = 0  # Smallest screen/minimap size the demonstrator plays at (0: any).

    def scenario(self) -> BeaconChain:
        """A fresh scenario instance."""
        return BeaconChain(
            name=self.name, num_beacons=self.num_beacons, time_limit_s=self.time_limit_s
        )


@dataclasses.dataclass
class MeleeVsBot(melee.Simple64):
    """Simple64 vs a built-in bot, reward ``+1`` win / ``0`` otherwise, paid when the game ends."""

    name: str = "MeleeVsBot"
    default_bots: tuple[str, ...] = ("very_easy",)

    def update(self, st, events, rng):
        reward, over = super().update(st, events, rng)
        return np.maximum(reward, 0.0).astype(np.float32), over


@dataclasses.dataclass(frozen=True)
class MeleeTask:
    """One step_mul of the melee member of the horizon family (see the module docstring).

    Attributes:
        name: scenario name (``Melee-H850``...).
        step_mul: game loops per agent step.
        target_horizon: the nominal expert game length in agent steps (sets the discount).
        time_limit_s: game seconds before the game ends as a tie (Simple64's 20 minutes).
        opponent: the built-in bot's difficulty.
        expert_level / medium_level: bot levels playing the agent's seat for those datasets.
        min_size: smallest screen/minimap size at which the demonstrator plays.
    """

    name: str
    step_mul: int
    target_horizon: int
    time_limit_s: float = 1680.0
    opponent: str = "very_easy"
    expert_level: str = "hard"
    medium_level: str = "hard"
    min_size: int = 32

    def scenario(self) -> MeleeVsBot:
        """A fresh scenario instance."""
        return MeleeVsBot(
            name=self.name, default_bots=(self.opponent,), time_limit_s=self.time_limit_s
        )


def _melee_demonstrator(task: MeleeTask, env: Any, level: str, epsilon: float, seed: int) -> Any:
    """`sim_rollouts` demonstrator hook: the task's bot level in the agent's seat."""
    from sc2agents.agents.state_demonstrator import StateDemonstrator

    bot = task.expert_level if level == "expert" else task.medium_level
    return StateDemonstrator(env, bot, epsilon=epsilon, seed=seed)


def _limit(target_steps: int, step_mul: int) -> float:
    """A time limit of ~3x the expert's horizon, in game seconds (16 loops each)."""
    return 3.0 * target_steps * step_mul / sim_scenarios.LOOPS_PER_GAME_SECOND


HORIZON_TASKS: dict[str, HorizonTask | MeleeTask] = {
    t.name: t
    for t in (
        HorizonTask("BeaconChain-H100", 9, 8, 100, _limit(100, 8)),
        HorizonTask("BeaconChain-H1k", 12, 1, 1_000, _limit(1_000, 1)),
        HorizonTask("BeaconChain-H10k", 120, 1, 10_000, _limit(10_000, 1)),
        MeleeTask("Melee-H850", 8, 850),
        MeleeTask("Melee-H3k", 2, 3_400),
        MeleeTask("Melee-H7k", 1, 6_800),
    )
}
"""The horizon family, by scenario name."""


def register_horizon_tasks() -> None:
    """Register every `HORIZON_TASKS` scenario and its demonstrator (idempotent)."""
    from sc2agents.agents import scripted
    from sc2agents.data import sim_rollouts

    for name, task in HORIZON_TASKS.items():
        if name not in sim_scenarios.SCENARIOS:
            sim_scenarios.register_scenario(name, task.scenario)
        if isinstance(task, MeleeTask):
            sim_rollouts.register_demonstrator(name, functools.partial(_melee_demonstrator, task))
            continue
        # The MoveToBeacon demonstrator walks to the visible beacon: it solves the chain.
        scripted.SCRIPTED_POLICIES.setdefault(name, scripted.SCRIPTED_POLICIES["MoveToBeacon"])


def get_task(name: str) -> HorizonTask | MeleeTask:
    """The horizon task ``name``.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    if name not in HORIZON_TASKS:
        raise ValueError(f"unknown horizon task {name!r}; known: {sorted(HORIZON_TASKS)}")
    return HORIZON_TASKS[name]


def dataset_dir(
    root: str | pathlib.Path, task: str, quality: str, episodes: int, size: int
) -> pathlib.Path:
    """Folder of one study dataset: ``<root>/<task>_<quality>_<episodes>ep_<size>px``."""
    return pathlib.Path(root) / f"{task}_{quality}_{episodes}ep_{size}px"


def build_task_dataset(
    task: str,
    *,
    quality: str,
    episodes: int,
    root: str | pathlib.Path,
    size: int = 16,
    medium_epsilon: float = 0.3,
    seed: int = 0,
    progress: bool = True,
) -> pathlib.Path:
    """Build (or finish, after a kill) the simulator dataset of a horizon task; returns its path.

    Args:
        task: a `HORIZON_TASKS` name.
        quality: ``expert``, ``medium``, ``random`` or ``mixed`` (sim_rollouts levels).
        episodes: episodes in the dataset.
        root: parent folder.
        size: screen and minimap resolution.
        medium_epsilon: random-action probability of the medium demonstrator.
        seed: rollout seed (datasets of different sizes share their first episodes).
        progress: show a progress bar.
    """
    from tqdm.auto import tqdm

    from sc2agents.data import sim_rollouts
    from sc2agents.data.dataset import DatasetWriter

    register_horizon_tasks()
    t = get_task(task)
    if size < t.min_size:
        raise ValueError(
            f"{task}: its demonstrator needs >= {t.min_size} px layers, got size={size} "
            "(set the budget's size)"
        )
    path = dataset_dir(root, task, quality, episodes, size)
    if (path / "manifest.json").exists():
        from sc2agents.data.dataset import open_dataset

        if open_dataset(path).num_episodes >= episodes:
            return path
    cfg = sim_rollouts.SimRolloutConfig(
        map_name=task,
        policy=quality,
        episodes=episodes,
        episodes_per_task=4,
        num_envs=4,
        seed=seed,
        medium_epsilon=medium_epsilon,
        screen_size=size,
        minimap_size=size,
        step_mul=t.step_mul,
    )
    meta = {"source": "sim", "map": task, "policy": quality, "study": "horizon"}
    with DatasetWriter(path, metadata=meta) as writer:
        have = collections.Counter(s.split("/")[0] for s in writer.existing_sources)
        todo = [k for k in sim_rollouts.plan_tasks(cfg) if have[k.source] < k.num_episodes]
        for k in tqdm(todo, desc=f"data {path.name}", unit="task", disable=not progress):
            writer.add_episodes(sim_rollouts.rollout(k, cfg))
    return path
