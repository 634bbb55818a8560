"""The real parts of the training loop: dataset, samplers, learner, evaluator, prefetcher.

`default_components` wires `sc2agents.training.loop.Trainer` to:

* **data** (`make_data`): the dataset at ``config.data.path`` (memory-mapped with
  `sc2agents.data.dataset.open_dataset`). When the path is empty it defaults to
  ``data/sim/<task>_<screen>x<minimap>_<policy>_<episodes>ep``; when that folder does not
  exist and ``data.build_if_missing`` is set (simulator backend), a small dataset is built there
  first from the scripted agent with ``data.build_noise`` through `sc2agents.data.sim_rollouts`
  (the code ``bin/build_dataset --source=sim`` runs), so ``configs/smoke.py`` and the quickstart
  work from a fresh checkout. Otherwise a missing dataset is an error naming ``config.data.path``.
  The observation shapes of the dataset are checked against ``config.env`` here, before training.
* **split**: episodes are split once, by a fixed permutation (independent of the run seed, so every
  seed validates on the same episodes), into training and held-out sets (``data.val_fraction``).
* **samplers** (`sampler_config_for`): the `sc2agents.data.samplers.SamplerConfig` each learner
  needs (1-step, n-step, SHARSA chunk, goals, Monte-Carlo), derived from its config. Batch ``i`` of
  the training stream is drawn with a generator seeded by ``(seed, "train", i)`` over the training
  episodes' steps, which makes the stream position-addressable (exact resume).
* **learner**: ``LEARNERS[name](config, obs_spec, action_spec)`` moved to ``run.device``.
* **evaluator**: `sc2agents.acting.evaluator.Evaluator` on ``env.task`` (minigame score, or win rate
  against the built-in bots of ``eval.opponents``), in-process.
* **prefetch**: `sc2agents.data.prefetch.Prefetcher` (background thread, pinned memory, uint8 until
  on the device).
"""

from __future__ import annotations

import collections
import dataclasses
import math
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from absl import logging

from sc2agents.core import Learner, Policy
from sc2agents.data.batch import Batch
from sc2agents.training import config as tc
from sc2agents.training import loop
from sc2agents.utils import seeding

__all__ = [
    "build_sim_dataset",
    "dataset_path",
    "default_components",
    "make_data",
    "make_evaluator",
    "make_learner",
    "sampler_config_for",
    "split_episodes",
]

# Evaluator statistics that measure time, logged under time/ (eval/ must be reproducible).
_TIMING_STATS = {"wall_s_mean": "game_s", "cpu_s_mean": "game_cpu_s"}
_SPLIT_SEED = 20_240_601  # Fixed: the held-out episodes do not depend on the run seed.


def dataset_path(exp: tc.ExperimentConfig) -> pathlib.Path:
    """``data.path``, or the default folder of the small simulator dataset for ``env.task``."""
    d, e = exp.data, exp.env
    if d.path:
        return pathlib.Path(d.path)
    level = f"{d.build_policy}{d.build_noise:g}" if d.build_policy == "medium" else d.build_policy
    name = f"{e.task}_{e.screen_size}x{e.minimap_size}_{level}_{d.build_episodes}ep"
    return pathlib.Path("data") / "sim" / name


def build_sim_dataset(exp: tc.ExperimentConfig, path: pathlib.Path) -> None:
    """Build the small simulator dataset of ``exp`` at ``path`` with `sim_rollouts` (progress bar).

    A killed build leaves whole shards; the next run appends the missing rollout tasks (the
    dataset writer records each task's ``source``), like ``bin/build_dataset``.
    """
    from tqdm.auto import tqdm

    from sc2agents.data import sim_rollouts
    from sc2agents.data.dataset import DatasetWriter

    e, d = exp.env, exp.data
    try:
        cfg = sim_rollouts.SimRolloutConfig(
            map_name=e.task,
            policy=d.build_policy,
            episodes=d.build_episodes,
            medium_epsilon=d.build_noise,
            screen_size=e.screen_size,
            minimap_size=e.minimap_size,
            step_mul=e.step_mul,
            seed=_SPLIT_SEED,
        )
    except ValueError as err:
        raise tc.ConfigError(f"config.data: cannot build a simulator dataset: {err}") from err
    logging.info("building a %d-episode %s dataset at %s", d.build_episodes, e.task, path)
    meta = {"source": "sim", "map": e.task, "policy": d.build_policy}
    with DatasetWriter(path, metadata=meta) as writer:
        # Episode sources are "<task source>/<k>": a task is done when all its episodes are in.
        have = collections.Counter(s.split("/")[0] for s in writer.existing_sources)
        tasks = [t for t in sim_rollouts.plan_tasks(cfg) if have[t.source] < t.num_episodes]
        for task in tqdm(tasks, desc=f"build {path.name}", unit="task", disable=len(tasks) < 2):
            writer.add_episodes(sim_rollouts.rollout(task, cfg))


def split_episodes(lengths: np.ndarray, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Global step indices of training and held-out episodes.

    Args:
        lengths: steps per episode, in the dataset's global (shard-concatenation) order.
        val_fraction: share of episodes held out (at least one when > 0 and there are two or more).

    Returns:
        ``(train_steps, val_steps)``, int64 arrays of global step indices.
    """
    n = len(lengths)
    n_val = int(round(val_fraction * n))
    if val_fraction > 0 and n >= 2:
        n_val = min(max(n_val, 1), n - 1)
    else:
        n_val = 0
    perm = np.random.default_rng(_SPLIT_SEED).permutation(n)
    is_val = np.zeros(n, bool)
    is_val[perm[:n_val]] = True
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def steps_of(mask: np.ndarray) -> np.ndarray:
        eps = np.flatnonzero(mask)
        if not len(eps):
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(starts[i], starts[i + 1]) for i in eps]).astype(np.int64)

    return steps_of(~is_val), steps_of(is_val)


def sampler_config_for(exp: tc.ExperimentConfig, learner_cls: Any = None) -> Any:
    """The `SamplerConfig` the learner of ``exp`` trains on.

    A learner class may define ``sampler_config(exp) -> SamplerConfig`` (static or class method)
    and is then asked. Otherwise, with ``gamma = data.gamma``:

    * ``bc``: 1-step transitions without next observations (behaviour cloning needs none);
    * ``mc``: Monte-Carlo transitions (``returns`` to the episode end);
    * ``sharsa``: action/value chunks of the learner's ``horizon``;
    * ``crl``: future-state goals with geometric offsets (``goal_mode="state"``) or returns for
      the win/reward-goal variant;
    * ``qrl``: the default goal mixture of `sc2agents.data.samplers.GoalConfig`;
    * any other learner (``dqn``, ``cql``, ...): ``data.n_step`` transitions.
    """
    from sc2agents.data import samplers

    hook = getattr(learner_cls, "sampler_config", None)
    if callable(hook):
        return hook(exp)
    name, lcfg, gamma = exp.learner_name, exp.learner, exp.data.gamma
    if name == "bc":
        return samplers.SamplerConfig(gamma=gamma, n_step=1, next_observations=False)
    if name == "mc":
        return samplers.SamplerConfig(gamma=gamma, n_step=None, returns=True)
    if name == "sharsa":
        k = int(lcfg.horizon)
        return samplers.SamplerConfig(gamma=gamma, n_step=k, chunk=k)
    if name == "crl":
        if getattr(lcfg, "goal_mode", "state") == "reward":
            return samplers.SamplerConfig(gamma=gamma, n_step=1, returns=True)
        goals = samplers.GoalConfig(p_curgoal=0.0, p_trajgoal=1.0, geom_sample=True)
        return samplers.SamplerConfig(gamma=gamma, n_step=1, goals=goals)
    if name == "qrl":
        return samplers.SamplerConfig(gamma=gamma, n_step=1, goals=samplers.GoalConfig())
    return samplers.SamplerConfig(gamma=gamma, n_step=exp.data.n_step)


def _check_shapes(exp: tc.ExperimentConfig, obs_spec: dict[str, Any], path: pathlib.Path) -> None:
    """The dataset's layer resolutions must be the env's (the policy is evaluated there)."""
    for key, field in (
        ("screen", "screen_size"),
        ("screen_unit_type", "screen_size"),
        ("minimap", "minimap_size"),
        ("minimap_unit_type", "minimap_size"),
    ):
        if key not in obs_spec:
            continue
        shape = tuple(obs_spec[key][0])
        want = getattr(exp.env, field)
        if shape[-2:] != (want, want):
            raise tc.ConfigError(
                f"config.env.{field}: {want} does not match the dataset {path} ({key} is "
                f"{'x'.join(map(str, shape[-2:]))}); set --config.env.{field}={shape[-1]}"
            )
    for key in ("minimap", "player", "available_actions"):
        if key not in obs_spec:
            raise tc.ConfigError(
                f"config.data.path: dataset {path} has no {key!r} observations "
                f"(it has {sorted(obs_spec)})"
            )


def make_data(exp: tc.ExperimentConfig) -> loop.DataSource:
    """Open (or build) the dataset, check it against the config, split it, build the samplers."""
    from sc2agents.data import samplers
    from sc2agents.data.dataset import DatasetError, open_dataset

    path = dataset_path(exp)
    if not (path / "manifest.json").exists():
        if not exp.data.build_if_missing:
            raise tc.ConfigError(
                f"config.data.path: dataset {path} does not exist (build it with "
                "python -m sc2agents.bin.build_dataset, or set data.build_if_missing)"
            )
        if exp.env.backend != "sim":
            raise tc.ConfigError(
                f"config.data.path: dataset {path} does not exist; only simulator datasets are "
                "built automatically (env.backend='sim')"
            )
        build_sim_dataset(exp, path)
    try:
        ds = open_dataset(path)
    except DatasetError as e:
        raise tc.ConfigError(f"config.data.path: {e}") from e
    obs_spec = ds.observation_spec
    _check_shapes(exp, obs_spec, path)

    lengths = np.concatenate([s.lengths for s in ds.shards]).astype(np.int64)
    train_steps, val_steps = split_episodes(lengths, exp.data.val_fraction)
    if not len(train_steps):
        raise tc.ConfigError(f"config.data.val_fraction: leaves no training episode in {path}")
    learner_cls = _learner_cls(exp.learner_name)
    scfg = sampler_config_for(exp, learner_cls)
    seed, bs = exp.run.seed, exp.data.batch_size
    train_sampler = samplers.Sampler(ds, scfg, seed=0)
    val_sampler = samplers.Sampler(ds, scfg, seed=0) if len(val_steps) else None

    def draw(sampler: Any, steps: np.ndarray, stream: str, i: int) -> Batch:
        # The sampler's own generator also draws goals: seed it per batch, so that batch i is a
        # pure function of (seed, stream, i). Each sampler is used from one thread only.
        sampler.rng = loop.batch_seed(seed, stream, i)
        return sampler.batch_at(steps[sampler.rng.integers(0, len(steps), size=bs)])

    info = {
        "path": str(path),
        "episodes": ds.num_episodes,
        "steps": ds.num_steps,
        "train_steps": int(len(train_steps)),
        "val_steps": int(len(val_steps)),
        "sampler": dataclasses.asdict(scfg),
    }
    return loop.DataSource(
        obs_spec=obs_spec,
        action_spec={"screen_size": exp.env.screen_size, "minimap_size": exp.env.minimap_size},
        train_batch=lambda i: draw(train_sampler, train_steps, "train", i),
        val_batch=(lambda i: draw(val_sampler, val_steps, "val", i)) if val_sampler else None,
        info=info,
    )


def _learner_cls(name: str) -> Any:
    from sc2agents.learners import LEARNERS

    if name not in LEARNERS:
        known = ", ".join(sorted(LEARNERS))
        raise tc.ConfigError(f"config.learner.name: unknown learner {name!r}; known: {known}")
    return LEARNERS[name]


def make_learner(
    exp: tc.ExperimentConfig, obs_spec: Any, action_spec: Any, device: torch.device
) -> Learner:
    """``LEARNERS[name](config, obs_spec, action_spec, device=device)``.

    Raises:
        ConfigError: the learner rejects the dataset's observations or the action spec (e.g. an
            encoder preset that needs a key the dataset lacks), naming ``config.learner``.
    """
    cls = _learner_cls(exp.learner_name)
    try:
        return cls(exp.learner, obs_spec, action_spec, device=device)
    except (KeyError, ValueError) as e:
        raise tc.ConfigError(
            f"config.learner: {exp.learner_name} cannot be built for observations "
            f"{sorted(obs_spec)} and actions {dict(action_spec)}: {e}"
        ) from e


def make_evaluator(exp: tc.ExperimentConfig, run_dir: pathlib.Path | None = None) -> loop.Evaluate:
    """Evaluate with `sc2agents.acting.evaluator.Evaluator`: ``eval/<task>/<opponent>/<stat>``."""
    from sc2agents.acting import evaluator as ev

    e, v = exp.env, exp.eval
    try:
        opponents: list[Any] = ev.parse_opponents(v.opponents) if v.opponents else [None]
    except ValueError as err:
        raise tc.ConfigError(f"config.eval.opponents: {err}") from err

    def evaluate(policy: Policy, step: int) -> dict[str, float]:
        out_dir = (run_dir / "eval" / f"step_{step:09d}") if run_dir and v.video_games else None
        evaluator = ev.Evaluator(
            e.task,
            backend=e.backend,
            opponents=opponents,
            games=v.episodes,
            seed=seeding.derive_seed(exp.run.seed, "eval"),
            env_kwargs={
                "screen_size": e.screen_size,
                "minimap_size": e.minimap_size,
                "step_mul": e.step_mul,
            },
            max_steps=v.max_steps or None,
            video_games=range(v.video_games) if out_dir else (),
            out_dir=out_dir,
        )
        report = evaluator.evaluate(policy, name=f"{exp.learner_name}@{step}", desc=None)
        out = {}
        for k, x in report.metrics("eval").items():
            if math.isnan(x):
                continue
            stat = k.rsplit("/", 1)[-1]
            if stat in _TIMING_STATS:  # Timing, not a result: keep eval/ reproducible.
                k = f"time/eval_{_TIMING_STATS[stat]}" if len(opponents) == 1 else "time/" + k[5:]
            out[k] = x
        out[f"eval/{e.task}/errors"] = float(len(report.errors))
        return out

    # The metrics the TensorBoard HParams table shows next to the hyperparameters.
    evaluate.headline = [  # type: ignore[attr-defined]
        f"eval/{e.task}/minigame/score_mean" if o is None else f"eval/{e.task}/{o.name}/win_rate"
        for o in opponents
    ]
    return evaluate


def prefetch(batches: Iterator[Batch], device: torch.device, depth: int) -> Iterator[Batch]:
    """`sc2agents.data.prefetch.Prefetcher` over ``batches`` (already sized by the data source)."""
    from sc2agents.data.prefetch import Prefetcher

    class _Next:
        """The Prefetcher's ``sample(batch_size)`` over the loop's pre-sized, indexed stream."""

        def sample(self, batch_size: int) -> Batch:
            return next(batches)

    return Prefetcher(_Next(), batch_size=1, device=device, num_batches_ahead=max(depth, 1))


def default_components() -> loop.Components:
    """The real data, learner, evaluator and prefetcher."""
    return loop.Components(make_data, make_learner, make_evaluator, prefetch)
