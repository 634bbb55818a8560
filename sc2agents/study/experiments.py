"""The study's experiments: cells (one trained learner each), how a cell runs, what it measures.

An experiment is a list of *cells*; a cell is ``(method, task, data multiplier, seed, variant)``
and is the unit of work, of parallelism (Ray workers through `sc2agents.distributed.make_pool`)
and of resume (`sc2agents.study.runner` skips cells whose result file exists).

Methods (the value-learning arms of issue 8, all on the factored PySC2 action space):

===============  ===========================================================================
``dqn``          1-step double DQN (TD with max backup)
``cql``          1-step CQL (conservative TD)
``nstep_sarsa``  SHARSA learner with an 8-step chunk, one critic (plain n-step SARSA), BCE
``sharsa``       SHARSA learner, 32-step chunk, two critics, double (short + long horizon), BCE
``mc``           Monte-Carlo return regression (no bootstrap)
``crl``          contrastive RL, win/reward-goal variant (Monte-Carlo occupancy of the goal)
``qrl``          quasimetric RL; value read out as ``gamma^d(s, s_T)`` towards the reached goal
===============  ===========================================================================

The discount is ``gamma = 1 - 1 / target_horizon`` of the task, so the value horizon grows with
the task horizon (the value of the start state is ~``e^-1`` for the expert everywhere).

Experiments (``EXPERIMENTS``):

1. ``value_bias``: every method on every horizon task, expert data; value error vs distance.
2. ``data_scaling``: methods x data multipliers (1x/4x/16x/64x of a base episode count); value
   error and success rate of the extracted policy.
3. ``extraction``: DDPG+BC vs AWR actors on the same critic (same seed and batches: the critic's
   updates do not depend on the actor loss, which only reads the frozen critic); success rate.
4. ``test_time``: a SHARSA critic + BC actor evaluated with the actor's mode, best-of-N sampling
   ranked by the critic for several N, and value-guided greedy selection.
5. ``replays``: BC (next-macro-action accuracy) and an MC win predictor (Brier, ECE) trained on
   the human-replay dataset and tested on held-out games.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from sc2agents.study import metrics, tasks

__all__ = ["METHODS", "Budget", "Cell", "budget_from", "method_spec", "run_cell"]


@dataclasses.dataclass(frozen=True)
class Budget:
    """Compute settings of a run of an experiment (``configs/study/<experiment>.py``)."""

    tasks: tuple[str, ...] = ("BeaconChain-H100",)
    methods: tuple[str, ...] = ("dqn", "mc")
    seeds: tuple[int, ...] = (0, 1, 2)
    episodes: int = 16  # Base dataset size (episodes), the 1x of data scaling.
    data_multipliers: tuple[int, ...] = (1,)
    quality: str = "expert"  # Demonstrator of the dataset.
    medium_epsilon: float = 0.3
    size: int = 16  # Screen and minimap resolution.
    encoder: str = "fullyconv_tiny"
    steps: int = 500  # Gradient steps per cell.
    batch_size: int = 64
    lr: float = 3e-4
    val_fraction: float = 0.25
    eval_points: int = 2048  # Held-out steps read out for the value error.
    eval_episodes: int = 0  # Policy-evaluation games per cell (0: none).
    eval_envs: int = 4
    extractions: tuple[str, ...] = ("ddpgbc", "awr")
    best_of_n: tuple[int, ...] = (1, 4, 16)
    replay_path: str = ""  # Human-replay dataset (experiment 5).
    data_root: str = "datasets/study"
    threads: int = 1  # torch threads per cell.

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def budget_from(values: Mapping[str, Any], where: str) -> Budget:
    """A `Budget` from a config mapping; unknown keys raise naming ``where``."""
    fields = {f.name: f for f in dataclasses.fields(Budget)}
    bad = [k for k in values if k not in fields]
    if bad:
        raise ValueError(f"{where}: unknown budget key(s) {bad}; known: {sorted(fields)}")
    out = {}
    for k, v in values.items():
        default = getattr(Budget(), k)
        out[k] = tuple(v) if isinstance(default, tuple) else type(default)(v)
    return Budget(**out)


METHODS: dict[str, tuple[str, dict[str, Any], int]] = {
    # name: (learner registry key, learner overrides, n_step of the data for TD learners)
    "dqn": ("dqn", {}, 1),
    "cql": ("cql", {}, 1),
    "nstep_sarsa": (
        "sharsa",
        {"horizon": 8, "num_qs": 1, "value_loss": "bce", "actor_loss": "bestofn"},
        8,
    ),
    "sharsa": (
        "sharsa",
        {"horizon": 32, "double": True, "value_loss": "bce", "actor_loss": "bestofn"},
        32,
    ),
    "mc": ("mc", {"value_loss": "bce"}, 1),
    "crl": ("crl", {"goal_mode": "reward"}, 1),
    "qrl": ("qrl", {}, 1),
}
"""The value-learning arms (see the module docstring)."""


def method_spec(name: str) -> tuple[str, dict[str, Any], int]:
    """``(learner key, overrides, n_step)`` of a method; a clear error for an unknown one."""
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}; known: {sorted(METHODS)}")
    return METHODS[name]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One unit of work of an experiment."""

    experiment: str
    method: str
    task: str
    seed: int
    data_mult: int = 1
    variant: str = ""  # extraction name, or "" (value only)

    @property
    def cell_id(self) -> str:
        v = f"__{self.variant}" if self.variant else ""
        return f"{self.method}__{self.task}__x{self.data_mult}__s{self.seed}{v}"


# --------------------------------------------------------------------------------- training
def gamma_of(task: str) -> float:
    """The discount of a horizon task: ``1 - 1 / target_horizon``."""
    return 1.0 - 1.0 / tasks.get_task(task).target_horizon


def _learner_and_sampler(
    method: str, variant: str, budget: Budget, gamma: float, obs_spec: Any
) -> tuple[Any, Any]:
    from sc2agents.training import config as tc
    from sc2agents.training import parts

    key, overrides, n_step = method_spec(method)
    from sc2agents.learners import LEARNERS

    cls = LEARNERS[key]
    cfg_cls = cls.config_cls
    names = {f.name for f in dataclasses.fields(cfg_cls)}
    kw = dict(overrides)
    kw["encoder"] = budget.encoder
    if "lr" in names:
        kw["lr"] = budget.lr
    if "gamma" in names:
        kw["gamma"] = gamma
    if variant:
        kw["actor_loss"] = variant
    lcfg = cfg_cls(**{k: v for k, v in kw.items() if k in names})
    exp = tc.ExperimentConfig(
        name="study",
        learner_name=key,
        learner=lcfg,
        env=tc.EnvConfig(task="study", screen_size=budget.size, minimap_size=budget.size),
        data=tc.DataConfig(gamma=gamma, n_step=n_step, batch_size=budget.batch_size),
        run=tc.RunConfig(),
        eval=tc.EvalConfig(),
    )
    scfg = parts.sampler_config_for(exp, cls)
    action_spec = {"screen_size": budget.size, "minimap_size": budget.size}
    learner = cls(lcfg, obs_spec, action_spec, device="cpu")
    return learner, scfg


def _episode_table(ds: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(starts, lengths, terminated)`` per episode in global step order."""
    lengths = np.concatenate([s.lengths for s in ds.shards]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    terminated = np.concatenate([np.asarray(s.terminated, bool) for s in ds.shards])
    return starts, lengths, terminated


def train(
    cell: Cell, budget: Budget, data_path: str, *, progress: bool = False
) -> tuple[Any, dict[str, Any]]:
    """Train the learner of ``cell`` on ``data_path``; returns ``(learner, info)``."""
    import torch

    from sc2agents.data import samplers
    from sc2agents.data.dataset import open_dataset
    from sc2agents.training import parts

    torch.manual_seed(cell.seed)
    torch.set_num_threads(max(1, budget.threads))
    ds = open_dataset(data_path)
    gamma = gamma_of(cell.task)
    learner, scfg = _learner_and_sampler(
        cell.method, cell.variant, budget, gamma, ds.observation_spec
    )
    _, lengths, _ = _episode_table(ds)
    train_steps, val_steps = parts.split_episodes(lengths, budget.val_fraction)
    sampler = samplers.Sampler(ds, scfg, seed=cell.seed)
    t0 = time.perf_counter()
    last: dict[str, float] = {}
    it = range(1, budget.steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=cell.cell_id, unit="step", leave=False)
    for i in it:
        sampler.rng = np.random.default_rng((cell.seed, i))
        batch = sampler.batch_at(
            train_steps[sampler.rng.integers(0, len(train_steps), budget.batch_size)]
        )
        last = learner.update(batch)
    info = {
        "train_seconds": time.perf_counter() - t0,
        "dataset_episodes": int(ds.num_episodes),
        "dataset_steps": int(ds.num_steps),
        "train_steps_in_data": int(len(train_steps)),
        "gamma": gamma,
        "final_train_metrics": {k: float(v) for k, v in last.items()},
    }
    return learner, {"val_steps": val_steps, "dataset": ds, **info}


# --------------------------------------------------------------------------------- values
def value_readout(method: str, learner: Any, batch: Any, goal_obs: Any, gamma: float) -> Any:
    """Learned ``Q(s_t, a_t)`` on the value scale of the true discounted return ``[B]``.

    Goes through the learners' public read-out (`sc2agents.learners.ValueLearner.values`): DQN /
    CQL give ``Q``, MC and SHARSA ``sigmoid`` of their BCE logits (SHARSA the min over its
    critics), CRL the min over its ensemble of ``sigmoid(phi . psi)``, QRL ``gamma^d(s, g)``.

    Args:
        method: a `METHODS` key.
        learner: its trained learner.
        batch: torch `Batch` of held-out steps (observations, actions).
        goal_obs: torch observations of each row's episode end (QRL's goal; ignored otherwise).
        gamma: discount of the task (QRL: ``gamma^distance``).

    Raises:
        ValueError: unknown method, or a learner without the value read-out.
    """
    key = method_spec(method)[0]
    if not callable(getattr(learner, "values", None)):
        raise ValueError(f"method {method!r}: learner {type(learner).__name__} has no values()")
    if key == "qrl":
        return learner.values(batch.observations, batch.actions, goal_obs, gamma=gamma)
    return learner.values(batch.observations, batch.actions)


def evaluate_values(
    cell: Cell, learner: Any, info: Mapping[str, Any], budget: Budget
) -> dict[str, Any]:
    """Value error vs true return on held-out, goal-reaching episodes, by distance to the end."""
    import torch

    from sc2agents.data import samplers

    ds = info["dataset"]
    gamma = info["gamma"]
    starts, lengths, terminated = _episode_table(ds)
    val_steps = np.asarray(info["val_steps"], np.int64)
    ep_of = np.searchsorted(starts, val_steps, side="right") - 1
    keep = terminated[ep_of]
    val_steps, ep_of = val_steps[keep], ep_of[keep]
    if not len(val_steps):
        return {"value": None, "value_note": "no terminated held-out episode"}
    rng = np.random.default_rng(12345)
    if len(val_steps) > budget.eval_points:
        pick = np.sort(rng.choice(len(val_steps), budget.eval_points, replace=False))
        val_steps, ep_of = val_steps[pick], ep_of[pick]
    dist = starts[ep_of] + lengths[ep_of] - val_steps - 1
    scfg = samplers.SamplerConfig(gamma=gamma, n_step=1, returns=True)
    smp = samplers.Sampler(ds, scfg, seed=0)
    preds, trues = [], []
    for lo in range(0, len(val_steps), 256):
        rows = val_steps[lo : lo + 256]
        b = smp.batch_at(rows)
        last = smp.batch_at(starts[ep_of[lo : lo + 256]] + lengths[ep_of[lo : lo + 256]] - 1)
        tb = b.to("cpu")
        goal = last.to("cpu").next_observations
        preds.append(value_readout(cell.method, learner, tb, goal, gamma).float().numpy())
        trues.append(np.asarray(b.returns, np.float64))
    pred = np.concatenate(preds)
    true = np.concatenate(trues)
    out = metrics.value_error_by_distance(pred, true, dist)
    del torch
    return {"value": out}


# --------------------------------------------------------------------------------- policies
def evaluate_policy(policy: Any, task: str, budget: Budget, seed: int) -> dict[str, float]:
    """Success rate (goal reached / game won before the time limit) and mean game length."""
    from sc2agents.data import sim_rollouts
    from sc2agents.envs.sim.vector_env import SimVectorEnv

    tasks.register_horizon_tasks()
    t = tasks.get_task(task)
    n = budget.eval_episodes
    env = SimVectorEnv(
        num_envs=min(budget.eval_envs, n),
        map_name=task,
        screen_size=budget.size,
        minimap_size=budget.size,
        step_mul=t.step_mul,
        action_error="warn",
    )
    try:
        eps = sim_rollouts.collect_episodes(
            env, {"learned": policy}, n, seed=10_000 + seed, obs_keys=("player",)
        )
    finally:
        env.close()
    # Success = the goal event paid its +1 (the chain's last beacon, a melee win).
    success = np.asarray([bool(e.terminated) and e.rewards.sum() > 0 for e in eps], np.float64)
    length = np.asarray([len(e.rewards) for e in eps], np.float64)
    if isinstance(t, tasks.HorizonTask):  # beacons reached / K (progress in `minerals`)
        progress = np.asarray(
            [float(e.observations["player"][-1][1]) / t.num_beacons for e in eps], np.float64
        )
    else:  # the melee has no partial progress measure here: a win is the progress
        progress = success
    return {
        "success": float(success.mean()),
        "progress": float(np.clip(progress, 0, 1).mean()),
        "length": float(length.mean()),
        "length_rel": float(length.mean() / t.target_horizon),
    }


def _best_of_n_policy(learner: Any, n: int) -> Any:
    from sc2agents.learners.sharsa import BestOfNPolicy
    from sc2agents.utils import torch_utils as tu

    return BestOfNPolicy(
        tu.frozen_copy(learner.actor),
        tu.frozen_copy(learner.q),
        num_samples=n,
        q_agg=learner.config.q_agg,
    )


# --------------------------------------------------------------------------------- cells
def dataset_for(cell: Cell, budget: Budget, progress: bool = False) -> str:
    """Build (once) the dataset a cell trains on; returns its path."""
    eps = budget.episodes * cell.data_mult
    path = tasks.build_task_dataset(
        cell.task,
        quality=budget.quality,
        episodes=eps,
        root=budget.data_root,
        size=budget.size,
        medium_epsilon=budget.medium_epsilon,
        progress=progress,
    )
    return str(path)


def run_cell(cell: Cell, budget: Budget, progress: bool = False) -> dict[str, Any]:
    """Run one cell end to end; returns its JSON-able result."""
    tasks.register_horizon_tasks()
    t0 = time.perf_counter()
    if cell.experiment == "replays":
        from sc2agents.study import replays

        return replays.run_cell(cell, budget, progress=progress)
    path = dataset_for(cell, budget, progress)
    learner, info = train(cell, budget, path, progress=progress)
    res: dict[str, Any] = {**dataclasses.asdict(cell), "cell_id": cell.cell_id}
    res.update({k: v for k, v in info.items() if k not in ("dataset", "val_steps")})
    res.update(evaluate_values(cell, learner, info, budget))
    if budget.eval_episodes > 0 and method_spec(cell.method)[0] == "qrl":
        # QRL's actor is goal-conditioned on a state; the chain's goal is an event (K beacons),
        # which has no single goal observation: its policy is not evaluated here.
        res["policy_note"] = "qrl: goal-conditioned actor, not evaluated on the reward task"
    elif budget.eval_episodes > 0:
        if cell.experiment == "test_time":
            res["policies"] = {
                f"best_of_{n}": evaluate_policy(
                    _best_of_n_policy(learner, n), cell.task, budget, cell.seed
                )
                for n in budget.best_of_n
            }
        else:
            res["policy"] = evaluate_policy(learner.policy(), cell.task, budget, cell.seed)
    res["seconds"] = time.perf_counter() - t0
    return res


def flat_metrics(res: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten a cell result for aggregation: ``abs_error``, ``bias``, ``abs_error_d<lo>``..."""
    out: dict[str, Any] = {}
    v = res.get("value")
    if v:
        out["abs_error"] = v["overall"]["abs_error"]
        out["bias"] = v["overall"]["bias"]
        for b in v["bins"]:
            out[f"abs_error_d{b['lo']}"] = b["abs_error"] if b["count"] else math.nan
            out[f"bias_d{b['lo']}"] = b["bias"] if b["count"] else math.nan
            out[f"rel_error_d{b['lo']}"] = b["rel_abs_error"] if b["count"] else math.nan
    for k, val in (res.get("policy") or {}).items():
        out[f"policy_{k}"] = val
    for name, pol in (res.get("policies") or {}).items():
        for k, val in pol.items():
            out[f"{name}_{k}"] = val
    for k, val in (res.get("replay") or {}).items():
        if isinstance(val, (int, float)):
            out[k] = val
    return out


# --------------------------------------------------------------------------------- plans
EXPERIMENTS: dict[str, str] = {
    "value_bias": "Value bias vs horizon: learned Q vs true discounted return by distance to end",
    "data_scaling": "Data scaling 1x/4x/16x/64x: value error and policy success per method",
    "extraction": "Policy extraction: DDPG+BC vs AWR actors on the same critic",
    "test_time": "Test-time best-of-N action selection ranked by the critic",
    "replays": "Human replays: next-macro-action accuracy and win-prediction calibration",
}
"""Experiment name -> one-line description (``bin/study --experiment``)."""


def make_cells(experiment: str, budget: Budget) -> list[Cell]:
    """The cells of an experiment under a budget (deterministic order).

    Raises:
        ValueError: unknown experiment.
    """
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {sorted(EXPERIMENTS)}")
    for m in budget.methods:
        if experiment != "replays":
            method_spec(m)
    for t in budget.tasks:
        if experiment != "replays":
            tasks.get_task(t)
    cells = []
    variants = budget.extractions if experiment == "extraction" else ("",)
    mults = budget.data_multipliers if experiment == "data_scaling" else (1,)
    # Seeds outermost: a partial (killed) run already has every method on the first seeds.
    for s in budget.seeds:
        for task in budget.tasks:
            for mult in mults:
                for m in budget.methods:
                    for v in variants:
                        cells.append(Cell(experiment, m, task, s, mult, v))
    return cells


def constant_baseline(task: str, budget: Budget) -> dict[str, Any] | None:
    """Value error of the constant predictor "mean training return" on the held-out steps.

    The reference a learner must beat to have learned anything about *which* state it is in; the
    report adds it as the row ``const``. None when the dataset has not been built.
    """
    from sc2agents.data import samplers
    from sc2agents.data.dataset import open_dataset
    from sc2agents.training import parts

    path = tasks.dataset_dir(budget.data_root, task, budget.quality, budget.episodes, budget.size)
    if not (path / "manifest.json").exists():
        return None
    ds = open_dataset(path)
    gamma = gamma_of(task)
    starts, lengths, terminated = _episode_table(ds)
    train_steps, val_steps = parts.split_episodes(lengths, budget.val_fraction)
    smp = samplers.Sampler(ds, samplers.SamplerConfig(gamma=gamma, n_step=1, returns=True), seed=0)
    rng = np.random.default_rng(0)
    tr = train_steps[rng.integers(0, len(train_steps), min(4096, len(train_steps)))]
    const = float(np.mean(smp.batch_at(tr).returns))
    ep_of = np.searchsorted(starts, val_steps, side="right") - 1
    keep = terminated[ep_of]
    val_steps, ep_of = val_steps[keep], ep_of[keep]
    if not len(val_steps):
        return None
    true = np.asarray(smp.batch_at(val_steps).returns, np.float64)
    dist = starts[ep_of] + lengths[ep_of] - val_steps - 1
    return metrics.value_error_by_distance(np.full_like(true, const), true, dist)


def dataset_quality(task: str, budget: Budget, data_mult: int = 1) -> dict[str, float] | None:
    """Behaviour data of a cell: share of goal-reaching episodes, mean length (None: not built)."""
    from sc2agents.data.dataset import open_dataset

    eps = budget.episodes * data_mult
    path = tasks.dataset_dir(budget.data_root, task, budget.quality, eps, budget.size)
    if not (path / "manifest.json").exists():
        return None
    ds = open_dataset(path)
    _, lengths, terminated = _episode_table(ds)
    return {
        "episodes": float(len(lengths)),
        "success": float(terminated.mean()),
        "length": float(lengths.mean()),
    }
