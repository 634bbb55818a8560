"""Samplers on hand-made episodes with known answers (incl. truncated episodes and shard edges)."""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.data.dataset import DatasetWriter, open_dataset
from sc2agents.data.episodes import Episode
from sc2agents.data.samplers import (
    GoalConfig,
    Sampler,
    SamplerConfig,
    chunk_sampler,
    goal_sampler,
    mc_sampler,
    nstep_sampler,
    uniform_sampler,
)
from sc2agents.envs import features

# (length, terminated, truncated): a terminated, a truncated, a flagless and very short episodes.
SPECS = [(7, True, False), (5, False, True), (1, True, False), (9, False, True), (2, False, False)]
GAMMA = 0.9


def make_episode(e: int, T: int, terminated: bool, truncated: bool) -> Episode:
    """Observations encode (episode, t); rewards are distinct per (episode, t)."""
    t = np.arange(T + 1)
    player = np.zeros((T + 1, 11), np.float32)
    player[:, 0], player[:, 1] = e, t
    mm = np.zeros((T + 1, 2, 8, 8), np.uint8)
    mm[:, 0, 0, 0] = e
    mm[:, 0, 3, 3] = t
    mm[:, 1, 7, :] = 5  # static content (keyframe-coded)
    fn = (10 * e + np.arange(T)) % features.NUM_FUNCTIONS
    args = np.full((T, 13), -1, np.int32)
    args[:, 0] = e
    args[:, 1] = np.arange(T)
    rewards = (1.0 + e + 0.1 * np.arange(T)).astype(np.float32)
    return Episode(
        observations={"player": player, "minimap": mm},
        actions={"function": fn, "args": args},
        rewards=rewards,
        terminated=terminated,
        truncated=truncated,
        info={"source": f"ep{e}"},
    )


EPISODES = [make_episode(e, *s) for e, s in enumerate(SPECS)]
# Flat list of (episode, t) for every step, in dataset order.
STEPS = [(e, t) for e, (T, _, _) in enumerate(SPECS) for t in range(T)]


@pytest.fixture(scope="module", params=[1, 10_000], ids=["many_shards", "one_shard"])
def ds(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(f"ds{request.param}")
    with DatasetWriter(path, shard_size=request.param) as w:
        for ep in EPISODES:
            w.add_episode(ep)
    return open_dataset(path)


def obs_id(obs) -> list[tuple[int, int]]:
    p = obs["player"]
    mm = obs["minimap"]
    # Both keys (raw and keyframe-coded) must agree on which row was decoded.
    assert np.array_equal(p[:, 0], mm[:, 0, 0, 0])
    assert np.array_equal(p[:, 1], mm[:, 0, 3, 3])
    assert np.all(mm[:, 1, 7, :] == 5)
    return [(int(a), int(b)) for a, b in zip(p[:, 0], p[:, 1], strict=True)]


def ref_transition(e: int, t: int, n: int | None, gamma: float):
    T, term, _ = SPECS[e]
    r = EPISODES[e].rewards.astype(np.float64)
    k = T - t if n is None else min(n, T - t)
    ret = sum(gamma**j * r[t + j] for j in range(k))
    end = k == T - t
    return dict(k=k, reward=ret, terminal=float(end and term), truncation=float(end and not term))


def all_steps(sampler: Sampler):
    return sampler.batch_at(np.arange(sampler.num_steps))


def test_uniform_transitions(ds):
    b = all_steps(uniform_sampler(ds, gamma=GAMMA, seed=0))
    ids = obs_id(b.observations)
    nxt = obs_id(b.next_observations)
    assert ids == STEPS
    for i, (e, t) in enumerate(STEPS):
        ref = ref_transition(e, t, 1, GAMMA)
        assert nxt[i] == (e, t + 1)
        assert b.rewards[i] == pytest.approx(EPISODES[e].rewards[t])
        assert b.terminals[i] == ref["terminal"]
        assert b.truncations[i] == ref["truncation"]
        assert b.masks[i] == 1.0 - ref["terminal"]
        assert b.discounts[i] == pytest.approx(GAMMA)
        assert b.actions["function"][i] == EPISODES[e].actions["function"][t]
        assert tuple(b.actions["args"][i, :2]) == (e, t)
    assert b.actions["function"].dtype == np.int64 and b.actions["args"].dtype == np.int64
    assert b.observations["minimap"].dtype == np.uint8
    # Truncated episodes end in a truncation, never a terminal (and bootstrap: mask 1).
    last_of_truncated = [
        i for i, (e, t) in enumerate(STEPS) if t == SPECS[e][0] - 1 and SPECS[e][2]
    ]
    assert last_of_truncated and all(
        b.truncations[i] == 1 and b.masks[i] == 1 for i in last_of_truncated
    )


@pytest.mark.parametrize("n", [2, 3, 10])
def test_nstep_returns(ds, n):
    b = all_steps(nstep_sampler(ds, n=n, gamma=GAMMA))
    nxt = obs_id(b.next_observations)
    for i, (e, t) in enumerate(STEPS):
        ref = ref_transition(e, t, n, GAMMA)
        assert nxt[i] == (e, t + ref["k"]), (e, t)  # clipped to the episode's final observation
        assert b.rewards[i] == pytest.approx(ref["reward"], rel=1e-6)
        assert b.discounts[i] == pytest.approx(GAMMA ** ref["k"])
        assert b.terminals[i] == ref["terminal"]
        assert b.truncations[i] == ref["truncation"]
        assert b.terminals[i] * b.truncations[i] == 0


def test_chunks_never_cross_episode(ds):
    K = 4
    b = all_steps(chunk_sampler(ds, horizon=K, gamma=GAMMA))
    nxt = obs_id(b.next_observations)
    assert b.valids.shape == (len(STEPS), K)
    for i, (e, t) in enumerate(STEPS):
        T = SPECS[e][0]
        ref = ref_transition(e, t, K, GAMMA)
        nvalid = min(K, T - t)
        assert list(b.valids[i]) == [1.0] * nvalid + [0.0] * (K - nvalid)
        fn = b.action_chunks["function"][i]
        args = b.action_chunks["args"][i]
        assert list(fn[:nvalid]) == list(EPISODES[e].actions["function"][t : t + nvalid])
        assert np.all(args[:nvalid, 0] == e)  # no entry from a neighbouring episode
        assert list(args[:nvalid, 1]) == list(range(t, t + nvalid))
        assert np.all(fn[nvalid:] == features.FUNCTION_IDS["no_op"]) and np.all(args[nvalid:] == -1)
        assert nxt[i] == (e, t + nvalid)
        assert b.rewards[i] == pytest.approx(ref["reward"], rel=1e-6)
        assert b.terminals[i] == ref["terminal"] and b.truncations[i] == ref["truncation"]


def test_monte_carlo_returns(ds):
    b = all_steps(mc_sampler(ds, gamma=GAMMA))
    nxt = obs_id(b.next_observations)
    for i, (e, t) in enumerate(STEPS):
        T, term, _ = SPECS[e]
        ref = ref_transition(e, t, None, GAMMA)
        assert b.returns[i] == pytest.approx(ref["reward"], rel=1e-6)
        assert b.rewards[i] == pytest.approx(ref["reward"], rel=1e-6)
        assert nxt[i] == (e, T)
        assert b.truncations[i] == float(not term)  # bootstrap flag for truncated episodes
        assert b.terminals[i] == float(term)
        assert b.discounts[i] == pytest.approx(GAMMA ** (T - t))


def test_returns_flag_on_nstep(ds):
    b = all_steps(nstep_sampler(ds, n=2, gamma=GAMMA, returns=True))
    for i, (e, t) in enumerate(STEPS):
        assert b.returns[i] == pytest.approx(ref_transition(e, t, None, GAMMA)["reward"], rel=1e-6)


@pytest.mark.parametrize("geom", [True, False])
def test_future_goals(ds, geom):
    s = goal_sampler(ds, gamma=GAMMA, goals=GoalConfig(p_trajgoal=1.0, geom_sample=geom), seed=1)
    offsets = []
    for _ in range(20):
        idx = s.rng.integers(0, s.num_steps, 64)
        b = s.batch_at(idx)
        for i, (e, t) in enumerate(obs_id(b.observations)):
            ge, gt = obs_id(b.goals)[i]
            assert ge == e and t < gt <= SPECS[e][0]  # future state, never past the final one
            assert b.goal_distances[i] == gt - t
            offsets.append((gt - t, SPECS[e][0] - t))
    # Uniform offsets reach the final state; geometric ones prefer short offsets.
    d = np.array(offsets)
    assert np.any(d[:, 0] == d[:, 1])
    if not geom:
        assert len(np.unique(d[d[:, 1] >= 5, 0])) >= 4


def test_geometric_offset_distribution(tmp_path):
    """Long episode: Geom(1-gamma) offsets have mean 1/(1-gamma) (before clipping)."""
    ep = make_episode(0, 3000, False, True)
    with DatasetWriter(tmp_path) as w:
        w.add_episode(ep)
    gamma = 0.95
    s = goal_sampler(open_dataset(tmp_path), gamma=gamma, goals=GoalConfig(), seed=0)
    b = s.batch_at(np.zeros(4000, np.int64))
    assert b.goal_distances.min() >= 1
    assert b.goal_distances.mean() == pytest.approx(1 / (1 - gamma), rel=0.1)


def test_goal_mixture_and_random_goals(ds):
    cfg = GoalConfig(p_curgoal=0.3, p_trajgoal=0.3, p_randomgoal=0.4)
    s = goal_sampler(ds, gamma=GAMMA, goals=cfg, seed=3)
    b = s.sample(3000)
    ids, gids = obs_id(b.observations), obs_id(b.goals)
    n_cur = n_other = 0
    for (e, t), (ge, gt), d in zip(ids, gids, b.goal_distances, strict=True):
        if ge == e and gt >= t:
            assert d == gt - t  # random goals that lie ahead get their true offset
        else:
            assert d == -1
            n_other += 1
        n_cur += (ge, gt) == (e, t)
    assert 0.25 < n_cur / 3000 < 0.45  # 0.3 current + random hits of the same state
    assert n_other > 0


def test_goal_reward_no_success_at_trajectory_end(ds):
    """The horizon-reduction quirk: the chunk reaching the episode end is NOT a success."""
    K = 4
    cfg = GoalConfig(p_trajgoal=1.0, geom_sample=False, goal_reward=True)
    s = Sampler(ds, SamplerConfig(gamma=GAMMA, n_step=K, chunk=K, goals=cfg), seed=0)
    saw_success = saw_truncated_end = 0
    for _ in range(30):
        b = s.batch_at(s.rng.integers(0, s.num_steps, 64))
        for i, (e, t) in enumerate(obs_id(b.observations)):
            T, term, _ = SPECS[e]
            d = int(b.goal_distances[i])
            k = min(K, T - t)
            if d < k:  # goal reached inside the chunk: success, stop at the goal
                saw_success += 1
                assert b.rewards[i] == pytest.approx(GAMMA**d)
                assert b.terminals[i] == 1 and b.masks[i] == 0
                assert obs_id(b.next_observations)[i] == (e, t + d)
            else:
                assert b.rewards[i] == 0
                assert b.discounts[i] == pytest.approx(GAMMA**k)
                if k == T - t and not term:
                    saw_truncated_end += 1
                    assert b.truncations[i] == 1 and b.masks[i] == 1 and b.terminals[i] == 0
                else:
                    assert b.terminals[i] == float(k == T - t and term)
    assert saw_success and saw_truncated_end


def test_gc_negative_rewards(ds):
    cfg = GoalConfig(p_curgoal=0.5, p_trajgoal=0.5, goal_reward=True, gc_negative=True)
    b = goal_sampler(ds, gamma=GAMMA, goals=cfg, seed=0).sample(500)
    cur = b.goal_distances == 0
    assert np.all(b.rewards[cur] == 0) and np.all(b.masks[cur] == 0)
    assert np.allclose(b.rewards[~cur], -1.0)  # one step, goal not reached


def test_sampler_deterministic_and_uniform(ds):
    a = uniform_sampler(ds, seed=5).sample(4000)
    b = uniform_sampler(ds, seed=5).sample(4000)
    assert np.array_equal(a.observations["minimap"], b.observations["minimap"])
    counts = np.bincount([STEPS.index(x) for x in obs_id(a.observations)], minlength=len(STEPS))
    assert counts.min() > 0.5 * 4000 / len(STEPS)


def test_obs_keys_subset_and_errors(ds):
    b = uniform_sampler(ds, obs_keys=["player"], next_observations=False).sample(8)
    assert set(b.observations) == {"player"} and b.next_observations is None
    with pytest.raises(KeyError, match="nope"):
        uniform_sampler(ds, obs_keys=["nope"])
    with pytest.raises(ValueError, match="sum to 1"):
        GoalConfig(p_curgoal=0.5, p_trajgoal=0.6)


def test_streaming_sampler_draws_from_resident_shards(tmp_path):
    with DatasetWriter(tmp_path, shard_size=1) as w:
        for ep in EPISODES:
            w.add_episode(ep)
    data = open_dataset(tmp_path)
    stream = data.stream(resident_shards=2, replace_interval=50, seed=0)
    s = uniform_sampler(stream, seed=0)
    seen = set()
    for _ in range(40):
        resident = {e for e in stream.resident_ids}
        b = s.sample(25)
        eps = {e for e, _ in obs_id(b.observations)}
        assert eps <= resident  # one episode per shard here
        seen |= eps
    assert stream.swaps >= 15 and seen == set(range(len(SPECS)))


def test_steps_subset_and_actor_goals(ds):
    train_eps = {0, 3}
    steps = np.array([i for i, (e, _) in enumerate(STEPS) if e in train_eps])
    s = goal_sampler(ds, gamma=GAMMA, goals=GoalConfig(p_curgoal=1.0, p_trajgoal=0.0), steps=steps)
    b = s.sample(200)
    ids = obs_id(b.observations)
    assert {e for e, _ in ids} == train_eps
    assert ids == sorted(ids)  # sample() sorts its rows (contiguous per-shard decoding)
    assert np.all(b.goal_distances == 0)
    # Actor goals with another mixture, for the same rows.
    goals, dist = s.goals_at(s.last_steps, GoalConfig(p_trajgoal=1.0, geom_sample=False))
    for (e, t), (ge, gt), d in zip(ids, obs_id(goals), dist, strict=True):
        assert ge == e and gt > t and d == gt - t
    with pytest.raises(ValueError, match="global step indices"):
        uniform_sampler(ds, steps=np.array([len(STEPS)]))


def test_long_nstep_windows_use_returns_to_go(tmp_path):
    rng = np.random.default_rng(0)
    eps = [make_episode(e, T, T % 2 == 0, T % 2 == 1) for e, T in enumerate([700, 301, 40])]
    for ep in eps:
        ep.rewards[:] = rng.standard_normal(ep.num_steps).astype(np.float32)
    with DatasetWriter(tmp_path, shard_size=500) as w:
        for ep in eps:
            w.add_episode(ep)
    n, gamma = 300, 0.99
    s = nstep_sampler(open_dataset(tmp_path), n=n, gamma=gamma)
    idx = np.arange(0, s.num_steps, 7)
    b = s.batch_at(idx)

    def ids(obs):  # the minimap's uint8 step counter wraps past 255: use `player`
        return [(int(a), int(c)) for a, c in obs["player"][:, :2]]

    for i, (e, t) in enumerate(ids(b.observations)):
        r = eps[e].rewards.astype(np.float64)
        k = min(n, len(r) - t)
        assert b.rewards[i] == pytest.approx(sum(gamma**j * r[t + j] for j in range(k)), abs=1e-4)
        assert ids(b.next_observations)[i] == (e, t + k)
