from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sc2agents.learners import LEARNERS
from sc2agents.learners.crl import CRLConfig, CRLLearner, binary_nce, info_nce
from sc2agents.networks import spatial
from tests.learners import contract


def _goal() -> dict[str, np.ndarray]:
    one = spatial.random_storage_obs(contract.obs_spec(), 1, np.random.default_rng(42))
    return {k: v[0] for k, v in one.items()}


@pytest.mark.parametrize(
    ("loss", "mode", "actor_loss"),
    [("binary", "state", "ddpgbc"), ("infonce", "state", "awr"), ("binary", "reward", "ddpgbc")],
)
def test_contract(loss: str, mode: str, actor_loss: str) -> None:
    cfg = CRLConfig(
        encoder="fullyconv_tiny", lr=3e-3, actor_lr=3e-3, latent_dim=16,
        num_critics=2 if loss == "binary" and mode == "state" else 1,
        contrastive_loss=loss, goal_mode=mode, actor_loss=actor_loss,
    )  # fmt: skip
    pk = {"goal": _goal()} if mode == "state" else {}
    contract.run_contract(CRLLearner, cfg, fit_key="critic/loss", policy_kwargs=pk)


def test_registry() -> None:
    assert LEARNERS["crl"] is CRLLearner


def _softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_binary_nce_on_known_batch() -> None:
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    # BCE(l, 1) = softplus(-l); BCE(l, 0) = softplus(l).
    want = (_softplus(-2.0) + _softplus(-3.0) + _softplus(0.0) + _softplus(1.0)) / 4
    assert float(binary_nce(logits)) == pytest.approx(want, rel=1e-6)


def test_info_nce_on_known_batch() -> None:
    logits = torch.tensor([[2.0, 0.0], [1.0, 3.0]])
    lse0, lse1 = math.log(math.exp(2) + 1), math.log(math.exp(1) + math.exp(3))
    want = ((lse0 - 2.0) + (lse1 - 3.0)) / 2
    assert float(info_nce(logits)) == pytest.approx(want, rel=1e-6)
    reg = 0.01 * (lse0**2 + lse1**2) / 2
    assert float(info_nce(logits, 0.01)) == pytest.approx(want + reg, rel=1e-6)


def test_critic_ranks_the_positive_goal_after_training() -> None:
    spec = contract.obs_spec()
    cfg = CRLConfig(encoder="fullyconv_tiny", lr=3e-3, latent_dim=16, num_critics=1)
    learner = CRLLearner(cfg, spec, contract.ACTION_SPEC)
    batch = contract.make_batch(spec, 8, np.random.default_rng(0))
    for _ in range(40):
        learner.update(batch)
    with torch.no_grad():
        _, info = learner.loss(batch)
    assert float(info["critic/accuracy"]) >= 0.75
    assert float(info["critic/logits_pos"]) > float(info["critic/logits_neg"])


def test_goal_conditioned_policy_needs_a_goal() -> None:
    spec = contract.obs_spec()
    learner = CRLLearner(
        CRLConfig(encoder="fullyconv_tiny", latent_dim=8), spec, contract.ACTION_SPEC
    )
    obs = spatial.random_storage_obs(spec, 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="goal"):
        learner.policy().act(obs)
    goal_obs = {**obs, **{f"goal/{k}": v for k, v in obs.items()}}
    fn, args = learner.policy().act(goal_obs, np.random.default_rng(0))
    contract.check_actions_valid(fn, args, obs["available_actions"], contract.ACTION_SPEC)
