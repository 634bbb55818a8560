from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.data.batch import Batch
from sc2agents.learners import LEARNERS
from sc2agents.learners.dqn import DQNConfig, DQNLearner
from sc2agents.networks import spatial
from tests.learners import contract


@pytest.mark.parametrize("actor_loss", ["greedy", "ddpgbc", "awr"])
def test_contract(actor_loss: str) -> None:
    cfg = DQNConfig(encoder="fullyconv_tiny", lr=3e-3, actor_lr=3e-3, actor_loss=actor_loss)
    contract.run_contract(DQNLearner, cfg, fit_key="critic/loss")


def test_registry() -> None:
    assert LEARNERS["dqn"] is DQNLearner


def test_n_step_targets_on_hand_made_episode() -> None:
    """y = sum_{j<k} g^j r_{t+j} + g^k (1 - terminal) Q(s_{t+k}, a*); truncation bootstraps."""
    gamma, n = 0.5, 3
    rewards = np.array([1.0, 0.0, 2.0, 0.0, 3.0], np.float32)  # episode of 5 steps, s_0..s_5
    spec = contract.obs_spec()
    states = spatial.random_storage_obs(spec, 6, np.random.default_rng(0))
    learner = DQNLearner(DQNConfig(encoder="fullyconv_tiny"), spec, contract.ACTION_SPEC)

    def transition(t: int, terminated: bool) -> tuple[float, float, float, int]:
        k = min(n, len(rewards) - t)
        ret = float(sum(gamma**j * rewards[t + j] for j in range(k)))
        end_inside = t + k == len(rewards)
        return ret, gamma**k, 0.0 if (terminated and end_inside) else 1.0, t + k

    rows = [transition(0, True), transition(3, True), transition(3, False), transition(4, True)]
    assert rows[0][:3] == (1.0 + 0.0 + 0.25 * 2.0, 0.125, 1.0)
    assert rows[1][:3] == (0.0 + 0.5 * 3.0, 0.25, 0.0)  # terminal: no bootstrap
    assert rows[2][:3] == (1.5, 0.25, 1.0)  # truncated: bootstrap from s_5
    t_idx = [0, 3, 3, 4]
    pick = lambda idx: {k: v[idx] for k, v in states.items()}  # noqa: E731
    nxt = [r[3] for r in rows]
    actions = contract.random_actions(states["available_actions"][t_idx], contract.ACTION_SPEC,
                                      np.random.default_rng(1))  # fmt: skip
    batch = Batch(
        observations=pick(t_idx),
        actions={"function": actions[0], "args": actions[1]},
        rewards=np.array([r[0] for r in rows], np.float32),
        next_observations=pick(nxt),
        masks=np.array([r[2] for r in rows], np.float32),
        terminals=np.array([1 - r[2] for r in rows], np.float32),
        discounts=np.array([r[1] for r in rows], np.float32),
    ).to("cpu")
    got = learner.td_target(batch)
    with torch.no_grad():
        nobs = batch.next_observations
        fn, args, _ = learner.q(nobs).greedy(nobs["available_actions"])
        q_next = learner.q_target(nobs).action_values(fn, args)
    want = torch.tensor([r[0] + r[1] * r[2] * float(q) for r, q in zip(rows, q_next, strict=True)])
    torch.testing.assert_close(got, want)
    assert float(got[1]) == pytest.approx(1.5)  # the terminal row ignores Q entirely


def test_epsilon_greedy_policy_stays_valid() -> None:
    spec = contract.obs_spec()
    learner = DQNLearner(
        DQNConfig(encoder="fullyconv_tiny", eval_epsilon=0.5), spec, contract.ACTION_SPEC
    )
    obs = spatial.random_storage_obs(spec, 32, np.random.default_rng(0))
    policy = learner.policy()
    fn, args = policy.act(obs, np.random.default_rng(1))
    contract.check_actions_valid(fn, args, obs["available_actions"], contract.ACTION_SPEC)
    assert len(set(fn.tolist())) > 1  # exploration: not one function for every state
