"""Vectorised batch samplers over sharded datasets, filling the fixed `Batch` key vocabulary.

One `Sampler` class draws step indices uniformly over the steps it can see (all shards of a
`ShardedDataset`, or the resident shards of a `ShardStream`) and fills what its `SamplerConfig`
asks for. The named constructors cover the learners' needs:

==========================  =====================================================================
`uniform_sampler`           one-step transitions (``n_step=1``)
`nstep_sampler`             n-step returns: ``rewards = sum_{j<k} gamma^j r_{t+j}``, ``k = min(n,
                            steps left)``, ``discounts = gamma^k``, next observation at ``t+k``
`chunk_sampler`             SHARSA action/value chunks of horizon K: ``action_chunks [B, K]``,
                            ``valids [B, K]``, next observation at ``t + min(K, steps left)``
`goal_sampler`              CRL/QRL/GC goals: current / future (geometric ``Geom(1-gamma)`` or
                            uniform offset) / random goal mixture, ``goal_distances``
`mc_sampler`                Monte-Carlo returns to the episode end (``n = inf``)
==========================  =====================================================================

Semantics, for step ``t`` of an episode with ``T`` steps (``T + 1`` stored observations):

* ``k = min(n, T - t)``; the transition ends at the episode end iff ``k == T - t``. There,
  ``terminals = 1`` only if the episode *terminated*; if it was *truncated* (or neither flag is set)
  ``truncations = 1``, ``terminals = 0``, ``masks = 1`` and the learner bootstraps from the final
  observation ``s_T`` with ``discounts = gamma^k``. A truncation is never a terminal.
* Nothing crosses an episode boundary: windows are clipped to the episode, chunk entries past the
  end have ``valids = 0`` (padded with ``no_op`` and ``-1`` arguments), future goals are ``<= s_T``.
* Goal-conditioned rewards (``GoalConfig.goal_reward``) follow horizon-reduction's HGCDataset
  (ALGORITHMS.md §A.0) *without its quirk*: success means the goal state is reached at offset
  ``d < k`` inside the transition (then ``k = d``, ``rewards = gamma^d`` (or the -1-per-step sum
  with ``gc_negative``), ``terminals = 1``); reaching the end of a trajectory is *not* a success,
  it is a terminal only if the episode terminated and a truncation (bootstrap) otherwise.
* ``goal_distances`` is the offset ``d >= 0`` of the goal state after ``s_t`` in the same episode
  (0 for the current-state goal; random goals that happen to lie ahead in the same episode get
  their true offset) and ``-1`` when the goal is not ahead in this episode.
* ``returns`` (``returns=True`` or `mc_sampler`) is ``sum_{j<T-t} gamma^j r_{t+j}``; with
  `mc_sampler` the batch is the ``n = inf`` transition, so ``truncations`` says whether the learner
  should add ``discounts * V(next_observations)`` (A.12).

Example:
    >>> ds = open_dataset("/data/mtb")  # doctest: +SKIP
    >>> batch = nstep_sampler(ds, n=10, gamma=0.99, seed=0).sample(256)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from sc2agents.data.batch import Batch
from sc2agents.data.dataset import Shard, ShardedDataset, ShardStream
from sc2agents.envs import features

__all__ = [
    "GoalConfig",
    "Sampler",
    "SamplerConfig",
    "chunk_sampler",
    "goal_sampler",
    "mc_sampler",
    "nstep_sampler",
    "uniform_sampler",
]

_NO_OP = int(features.FUNCTION_IDS["no_op"])
_MAX_WINDOW = 256  # n-step sums over longer windows use returns-to-go differences


@dataclasses.dataclass(frozen=True)
class GoalConfig:
    """Goal mixture (horizon-reduction ``sample_goals``); probabilities must sum to 1.

    Attributes:
        p_curgoal: goal = the current state ``s_t``.
        p_trajgoal: goal = a future state of the same episode, ``s_{min(t+Δ, T)}``.
        p_randomgoal: goal = a uniformly random dataset state.
        geom_sample: future offset ``Δ ~ Geom(1 - gamma)`` (``Δ >= 1``) if True, else uniform on
            ``[t+1, T]``.
        goal_keys: observation keys of the goals (default: the sampler's observation keys).
        goal_reward: replace ``rewards``/``terminals``/``masks``/``discounts`` by the
            goal-reaching ones (see the module docstring); otherwise keep the environment's.
        gc_negative: goal rewards are -1 per step before the goal (IQL/HIQL) instead of
            ``gamma^d`` at success (SAC+BC, SHARSA).
    """

    p_curgoal: float = 0.0
    p_trajgoal: float = 1.0
    p_randomgoal: float = 0.0
    geom_sample: bool = True
    goal_keys: Sequence[str] | None = None
    goal_reward: bool = False
    gc_negative: bool = False

    def __post_init__(self) -> None:
        ps = (self.p_curgoal, self.p_trajgoal, self.p_randomgoal)
        if min(ps) < 0 or abs(sum(ps) - 1.0) > 1e-6:
            raise ValueError(f"GoalConfig: goal probabilities {ps} must be >= 0 and sum to 1")


@dataclasses.dataclass(frozen=True)
class SamplerConfig:
    """What a `Sampler` fills.

    Attributes:
        gamma: discount.
        n_step: transition length n (next observation at ``t + min(n, T - t)``); None = to the
            episode end (Monte-Carlo).
        chunk: action-chunk length K (0 = no ``action_chunks``/``valids``).
        goals: goal sampling, or None.
        returns: also fill ``returns`` (Monte-Carlo return to the episode end).
        obs_keys: observation keys to decode (default: all keys of the dataset view).
        next_observations: decode ``next_observations`` (skip for pure behaviour cloning).
    """

    gamma: float = 0.99
    n_step: int | None = 1
    chunk: int = 0
    goals: GoalConfig | None = None
    returns: bool = False
    obs_keys: Sequence[str] | None = None
    next_observations: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"SamplerConfig: gamma must be in [0, 1], got {self.gamma}")
        if self.n_step is not None and self.n_step < 1:
            raise ValueError(f"SamplerConfig: n_step must be >= 1 or None, got {self.n_step}")
        if self.chunk < 0:
            raise ValueError(f"SamplerConfig: chunk must be >= 0, got {self.chunk}")


class _Index:
    """Flat per-step/per-episode tables over a list of shards (global = concatenation order)."""

    def __init__(self, shards: Sequence[Shard], need_returns: bool, gamma: float) -> None:
        self.shards = list(shards)
        if not self.shards:
            raise ValueError("sampler: no shards to sample from")
        self.step_off = np.cumsum([0] + [s.num_steps for s in self.shards]).astype(np.int64)
        self.obs_off = np.cumsum([0] + [s.num_obs for s in self.shards]).astype(np.int64)
        self.lengths = np.concatenate([s.lengths for s in self.shards]).astype(np.int64)
        self.terminated = np.concatenate([s.terminated for s in self.shards]).astype(bool)
        self.num_steps = int(self.step_off[-1])
        self.num_episodes = int(self.lengths.shape[0])
        self.step_start = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        # Global episode of every step (int32: 4 bytes/step).
        self.ep = np.repeat(np.arange(self.num_episodes, dtype=np.int32), self.lengths)
        self.rewards = np.concatenate([np.asarray(s.rewards) for s in self.shards]).astype(
            np.float32
        )
        self.G: np.ndarray | None = None
        if need_returns:
            self.G = _returns_to_go(self.rewards, self.step_start, self.lengths, gamma)

    def obs(self, rows: np.ndarray, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Decode global observation rows.

        Rows of one shard that form contiguous runs (sorted batches, see `Sampler.sample`) are
        decoded straight into slices of the output; other rows go through a permutation.
        """
        if len(self.shards) == 1:
            return self.shards[0].observations(rows, keys)
        sid = np.searchsorted(self.obs_off, rows, side="right") - 1
        shard0 = self.shards[0]
        out = {
            k: np.empty((rows.shape[0], *shard0.obs_spec[k]["shape"]), shard0.obs_spec[k]["dtype"])
            for k in keys
        }
        # Runs of equal shard id; a sorted batch has at most a few (obs, next obs, goals).
        cuts = np.flatnonzero(np.diff(sid)) + 1
        if len(cuts) + 1 <= 4 * len(self.shards):
            bounds = [0, *cuts.tolist(), rows.shape[0]]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                s = int(sid[a])
                self.shards[s].observations(
                    rows[a:b] - self.obs_off[s], keys, out={k: v[a:b] for k, v in out.items()}
                )
            return out
        order = np.argsort(sid, kind="stable")
        srt = self.obs(rows[order], keys)
        for k in keys:
            out[k][order] = srt[k]
        return out

    def actions(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(function int64 [..], args int64 [.., 13])`` of global steps (any shape)."""
        flat = steps.reshape(-1)
        if len(self.shards) == 1:
            fn = self.shards[0].function[flat]
            args = self.shards[0].args[flat]
        else:
            sid = np.searchsorted(self.step_off, flat, side="right") - 1
            fn = np.empty(flat.shape, np.int16)
            args = np.empty((flat.shape[0], self.shards[0].args.shape[1]), np.int32)
            for s in np.unique(sid):
                m = sid == s
                local = flat[m] - self.step_off[s]
                fn[m] = self.shards[s].function[local]
                args[m] = self.shards[s].args[local]
        return (
            fn.astype(np.int64).reshape(steps.shape),
            args.astype(np.int64).reshape(*steps.shape, -1),
        )


def _returns_to_go(
    rewards: np.ndarray, step_start: np.ndarray, lengths: np.ndarray, gamma: float
) -> np.ndarray:
    """Discounted return to the episode end for every step (float64).

    Vectorised across episodes: one numpy step per offset from the episode end (max length
    iterations), instead of a Python loop over every step.
    """
    g = np.zeros(rewards.shape[0] + 1, np.float64)
    r = rewards.astype(np.float64)
    ends = step_start[1:]  # one past the last step of each episode
    order = np.argsort(-lengths, kind="stable")
    ends_sorted, lens_sorted = ends[order], lengths[order]
    nxt = np.full(lengths.shape[0], 0.0)
    max_len = int(lengths.max()) if lengths.size else 0
    for j in range(max_len):
        alive = int(np.searchsorted(-lens_sorted, -j, side="left"))  # episodes with length > j
        idx = ends_sorted[:alive] - 1 - j
        val = r[idx] + gamma * nxt[:alive]
        g[idx] = val
        nxt[:alive] = val
    return g[:-1]


class Sampler:
    """Draws `Batch`es (numpy) from a dataset, a `ShardStream` or a list of shards.

    Args:
        data: `ShardedDataset` (all shards, memory-mapped), `ShardStream` (resident shards,
            swapped as samples are drawn) or a sequence of `Shard`.
        config: what to fill.
        seed: RNG seed (the sampler is deterministic for a seed and a dataset).
        steps: restrict `sample` to these global step indices (e.g. the training episodes of a
            train/validation split); windows, goals and returns still use whole episodes.
    """

    def __init__(
        self,
        data: ShardedDataset | ShardStream | Sequence[Shard],
        config: SamplerConfig | None = None,
        seed: int | None = None,
        steps: np.ndarray | None = None,
    ) -> None:
        self.config = config or SamplerConfig()
        self.rng = np.random.default_rng(seed)
        self._stream: ShardStream | None = data if isinstance(data, ShardStream) else None
        self._data = data
        self._version = -1
        self.last_steps: np.ndarray | None = None
        self._index: _Index | None = None
        self._refresh()
        self.steps: np.ndarray | None = None
        if steps is not None:
            if self._stream is not None:
                raise ValueError("sampler: `steps` cannot be combined with a ShardStream")
            st = np.unique(np.asarray(steps, dtype=np.int64))
            if st.size == 0 or st[0] < 0 or st[-1] >= self.num_steps:
                raise ValueError(
                    "sampler: `steps` must be non-empty global step indices in "
                    f"[0, {self.num_steps})"
                )
            self.steps = st
        shard0 = self._index.shards[0]  # type: ignore[union-attr]
        self.obs_keys = list(self.config.obs_keys or shard0.obs_keys)
        missing = [k for k in self.obs_keys if k not in shard0.obs_keys]
        goal_keys = self.config.goals.goal_keys if self.config.goals else None
        self.goal_keys = list(goal_keys) if goal_keys is not None else self.obs_keys
        missing += [k for k in self.goal_keys if k not in shard0.obs_keys]
        if missing:
            raise KeyError(
                f"sampler: observation keys {missing} not in the dataset ({shard0.obs_keys})"
            )

    def _shards(self) -> list[Shard]:
        if isinstance(self._data, ShardedDataset):
            return self._data.shards
        if isinstance(self._data, ShardStream):
            return list(self._data.resident)
        return list(self._data)

    def _refresh(self) -> None:
        version = self._stream.version if self._stream is not None else 0
        if self._index is None or version != self._version:
            self._index = None  # free the old tables first (bounded memory while streaming)
            c = self.config
            need_g = c.returns or c.n_step is None or c.n_step > _MAX_WINDOW
            self._index = _Index(self._shards(), need_g, c.gamma)
            self._version = version

    @property
    def num_steps(self) -> int:
        """Steps the sampler currently draws from."""
        assert self._index is not None
        return self._index.num_steps

    def sample(self, batch_size: int) -> Batch:
        """Draw ``batch_size`` steps uniformly and build their `Batch`."""
        self._refresh()
        assert self._index is not None
        # Sorted: rows of one shard are contiguous (decoded in place) and reads are in file order.
        if self.steps is not None:
            idx = np.sort(self.steps[self.rng.integers(0, len(self.steps), size=batch_size)])
        else:
            idx = np.sort(self.rng.integers(0, self._index.num_steps, size=batch_size))
        self.last_steps = idx
        batch = self.batch_at(idx)
        if self._stream is not None:
            self._stream.tick(batch_size)
        return batch

    def __iter__(self) -> Iterator[Batch]:
        raise TypeError("use sampler.sample(batch_size) or iterate `sampler.batches(batch_size)`")

    def batches(self, batch_size: int) -> Iterator[Batch]:
        """Endless iterator of batches."""
        while True:
            yield self.sample(batch_size)

    def batch_at(self, steps: np.ndarray) -> Batch:
        """Build the `Batch` of the given global step indices (deterministic given the RNG)."""
        ix = self._index
        assert ix is not None
        c = self.config
        steps = np.asarray(steps, dtype=np.int64)
        b = steps.shape[0]
        ep = ix.ep[steps].astype(np.int64)
        t = steps - ix.step_start[ep]
        length = ix.lengths[ep]
        left = length - t  # steps remaining incl. this one, >= 1
        obs_row = steps + ep  # each episode stores one extra (final) observation
        gamma = np.float64(c.gamma)

        k = left.copy() if c.n_step is None else np.minimum(c.n_step, left)

        # Goals first: a goal reached inside the transition shortens it (goal_reward).
        goal_rows = goal_dist = None
        success = np.zeros(b, bool)
        if c.goals is not None:
            goal_rows, goal_dist = self._sample_goals(c.goals, steps, ep, t, length, obs_row)
            if c.goals.goal_reward:
                success = (goal_dist >= 0) & (goal_dist < k)
                k = np.where(success, goal_dist, k)

        end_in = (k == left) & ~success
        term_ep = ix.terminated[ep]
        terminals = (end_in & term_ep) | success
        truncations = end_in & ~term_ep

        # Rewards: discounted sum over the (clipped) window; MC uses the precomputed returns.
        if c.goals is not None and c.goals.goal_reward:
            if c.goals.gc_negative:
                rewards = -(1.0 - gamma**k) / (1.0 - gamma) if gamma < 1 else -k.astype(np.float64)
            else:
                rewards = np.where(success, gamma**k, 0.0)
        elif c.n_step is None:
            assert ix.G is not None
            rewards = ix.G[steps]
        elif c.n_step == 1:
            rewards = ix.rewards[steps].astype(np.float64)
        elif c.n_step > _MAX_WINDOW:  # long windows: difference of returns-to-go, O(1) per row
            assert ix.G is not None
            end = steps + k
            g_end = np.where(k < left, ix.G[np.minimum(end, ix.num_steps - 1)], 0.0)
            rewards = ix.G[steps] - gamma**k * g_end
        else:
            j = np.arange(c.n_step, dtype=np.int64)
            valid = j[None, :] < k[:, None]
            win = np.minimum(steps[:, None] + j[None, :], ix.num_steps - 1)
            rewards = np.where(valid, ix.rewards[win] * gamma ** j[None, :], 0.0).sum(axis=1)
        discounts = gamma**k

        # Observations (current, next, goals) decoded together: one gather per key.
        rows = [obs_row]
        next_rows = obs_row + k
        if c.next_observations:
            rows.append(next_rows)
        all_rows = np.concatenate(rows)
        dec = ix.obs(all_rows, self.obs_keys)
        observations = {key: v[:b] for key, v in dec.items()}
        next_obs = {key: v[b:] for key, v in dec.items()} if c.next_observations else None
        goals = None
        if goal_rows is not None:
            goals = ix.obs(goal_rows, self.goal_keys)

        fn, args = ix.actions(steps)
        action_chunks = valids = None
        if c.chunk:
            j = np.arange(c.chunk, dtype=np.int64)
            vmask = j[None, :] < left[:, None]
            cs = np.where(vmask, steps[:, None] + j[None, :], steps[:, None])
            cfn, cargs = ix.actions(cs)
            cfn[~vmask] = _NO_OP
            cargs[~vmask] = -1
            action_chunks = {"function": cfn, "args": cargs}
            valids = vmask.astype(np.float32)

        returns = None
        if c.returns or c.n_step is None:
            assert ix.G is not None
            returns = ix.G[steps].astype(np.float32)

        f32 = np.float32
        return Batch(
            observations=observations,
            actions={"function": fn, "args": args},
            rewards=np.asarray(rewards, dtype=f32),
            next_observations=next_obs,
            terminals=terminals.astype(f32),
            truncations=truncations.astype(f32),
            masks=(~terminals).astype(f32),
            discounts=discounts.astype(f32),
            valids=valids,
            goals=goals,
            goal_distances=None if goal_dist is None else goal_dist.astype(f32),
            returns=returns,
            action_chunks=action_chunks,
        )

    def goals_at(
        self, steps: np.ndarray, goals: GoalConfig | None = None
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Sample a second set of goals for ``steps`` (e.g. SHARSA/HIQL actor goals).

        Args:
            steps: global step indices (those of a batch from `batch_at`, or sorted ones from
                `sample`: use ``last_steps``).
            goals: the goal mixture (default: the sampler's own).

        Returns:
            ``(goal observations, goal_distances float32 [B])`` with the semantics of the batch's.
        """
        g = goals or self.config.goals
        if g is None:
            raise ValueError("goals_at: no GoalConfig given and the sampler has none")
        ix = self._index
        assert ix is not None
        steps = np.asarray(steps, dtype=np.int64)
        ep = ix.ep[steps].astype(np.int64)
        t = steps - ix.step_start[ep]
        rows, dist = self._sample_goals(g, steps, ep, t, ix.lengths[ep], steps + ep)
        keys = list(g.goal_keys) if g.goal_keys is not None else self.goal_keys
        return ix.obs(rows, keys), dist.astype(np.float32)

    def _sample_goals(
        self,
        g: GoalConfig,
        steps: np.ndarray,
        ep: np.ndarray,
        t: np.ndarray,
        length: np.ndarray,
        obs_row: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Goal observation rows and distances (``-1`` = not ahead in this episode)."""
        assert self._index is not None
        ix = self._index
        b = steps.shape[0]
        u = self.rng.random(b)
        # Future goal in the same episode: offset in [1, T - t] (state s_T is the final obs).
        if g.geom_sample:
            off = self.rng.geometric(p=max(1.0 - self.config.gamma, 1e-12), size=b).astype(np.int64)
            off = np.minimum(off, length - t)
        else:
            off = 1 + np.floor(self.rng.random(b) * (length - t)).astype(np.int64)
            off = np.minimum(off, length - t)
        traj_rows = obs_row + off
        # Random goal: a uniformly random step's observation.
        rand_steps = self.rng.integers(0, ix.num_steps, size=b, dtype=np.int64)
        rand_ep = ix.ep[rand_steps].astype(np.int64)
        rand_rows = rand_steps + rand_ep
        rand_t = rand_steps - ix.step_start[rand_ep]
        rand_dist = np.where((rand_ep == ep) & (rand_t >= t), rand_t - t, -1)

        is_cur = u < g.p_curgoal
        is_traj = ~is_cur & (u < g.p_curgoal + g.p_trajgoal)
        rows = np.where(is_cur, obs_row, np.where(is_traj, traj_rows, rand_rows))
        dist = np.where(is_cur, 0, np.where(is_traj, off, rand_dist)).astype(np.int64)
        return rows, dist


def uniform_sampler(data: Any, *, seed: int | None = None, steps: Any = None, **kw: Any) -> Sampler:
    """One-step transitions (``SamplerConfig`` keywords pass through)."""
    return Sampler(data, SamplerConfig(n_step=1, **kw), seed, steps)


def nstep_sampler(
    data: Any, n: int, gamma: float, *, seed: int | None = None, steps: Any = None, **kw: Any
) -> Sampler:
    """n-step transitions with discounted reward sums, bootstrapping at truncations."""
    return Sampler(data, SamplerConfig(n_step=n, gamma=gamma, **kw), seed, steps)


def chunk_sampler(
    data: Any, horizon: int, gamma: float, *, seed: int | None = None, steps: Any = None, **kw: Any
) -> Sampler:
    """SHARSA chunks: ``action_chunks``/``valids`` and the ``horizon``-step value target."""
    return Sampler(
        data, SamplerConfig(n_step=horizon, chunk=horizon, gamma=gamma, **kw), seed, steps
    )


def goal_sampler(
    data: Any,
    gamma: float,
    goals: GoalConfig | None = None,
    *,
    n_step: int = 1,
    seed: int | None = None,
    steps: Any = None,
    **kw: Any,
) -> Sampler:
    """Goal-conditioned transitions (CRL: ``GoalConfig(p_trajgoal=1, geom_sample=True)``)."""
    return Sampler(
        data,
        SamplerConfig(gamma=gamma, n_step=n_step, goals=goals or GoalConfig(), **kw),
        seed,
        steps,
    )


def mc_sampler(
    data: Any, gamma: float, *, seed: int | None = None, steps: Any = None, **kw: Any
) -> Sampler:
    """Monte-Carlo transitions: ``rewards = returns`` to the episode end, next obs = final obs."""
    return Sampler(data, SamplerConfig(n_step=None, gamma=gamma, returns=True, **kw), seed, steps)
