from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.envs import features
from sc2agents.learners import LEARNERS
from sc2agents.learners.sharsa import BestOfNPolicy, SHARSAConfig, SHARSALearner
from sc2agents.networks import spatial
from sc2agents.utils import torch_utils as tu
from tests.learners import contract


@pytest.mark.parametrize(
    ("value_loss", "double", "actor_loss"),
    [("mse", False, "bestofn"), ("bce", True, "bestofn"), ("bce", False, "ddpgbc")],
)
def test_contract(value_loss: str, double: bool, actor_loss: str) -> None:
    cfg = SHARSAConfig(
        encoder="fullyconv_tiny", lr=3e-3, value_loss=value_loss, double=double,
        actor_loss=actor_loss, num_qs=2, num_samples=4, low_keep=2, horizon=3, gamma=0.9,
    )  # fmt: skip
    contract.run_contract(SHARSALearner, cfg, fit_key="value/q_loss")


def test_registry() -> None:
    assert LEARNERS["sharsa"] is SHARSALearner


def test_best_of_n_executes_the_best_sampled_action() -> None:
    spec = contract.obs_spec()
    cfg = SHARSAConfig(encoder="fullyconv_tiny", num_samples=16, num_qs=2)
    learner = SHARSALearner(cfg, spec, contract.ACTION_SPEC)
    army, noop = features.FUNCTION_IDS["select_army"], features.FUNCTION_IDS["no_op"]
    with torch.no_grad():
        for c in learner.q:
            c.head.fn.bias[army] += 10.0  # select_army is by far the best function
    obs = spatial.random_storage_obs(spec, 8, np.random.default_rng(0))
    obs["available_actions"][:] = False
    obs["available_actions"][:, [noop, army]] = True
    policy = learner.policy()
    assert isinstance(policy, BestOfNPolicy)
    fn, args = policy.act(obs, np.random.default_rng(0))
    assert (fn == army).all()
    contract.check_actions_valid(fn, args, obs["available_actions"], contract.ACTION_SPEC)
    # N = 1 is plain BC sampling: it takes no_op some of the time.
    single = BestOfNPolicy(tu.frozen_copy(learner.actor), tu.frozen_copy(learner.q), 1, "min")
    many = spatial.random_storage_obs(spec, 64, np.random.default_rng(1))
    many["available_actions"][:] = False
    many["available_actions"][:, [noop, army]] = True
    assert (single.act(many, np.random.default_rng(1))[0] == noop).any()


def test_double_uses_short_horizon_discount() -> None:
    spec = contract.obs_spec()
    cfg = SHARSAConfig(
        encoder="fullyconv_tiny", double=True, gamma=0.9, horizon=4, value_loss="bce"
    )
    learner = SHARSALearner(cfg, spec, contract.ACTION_SPEC)
    batch = contract.make_batch(spec, 6, np.random.default_rng(0), gamma=0.9).to("cpu")
    k = np.round(np.log(batch.discounts.numpy()) / np.log(0.9))
    with torch.no_grad():
        nv = torch.sigmoid(learner.v_low(batch.next_observations)).numpy()
    want = batch.rewards.numpy() + (0.75**k) * batch.masks.numpy() * nv
    captured = {}
    orig = learner._regress

    def spy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        captured.setdefault("targets", []).append(target.detach().numpy().copy())
        return orig(pred, target)

    learner._regress = spy  # type: ignore[method-assign]
    with torch.no_grad():
        learner.low_value_loss(batch)
    np.testing.assert_allclose(
        captured["targets"][1], want, rtol=1e-5, atol=1e-6
    )  # [0] is L_V's target
