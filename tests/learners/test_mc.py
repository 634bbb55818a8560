from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.data.batch import Batch
from sc2agents.envs import features
from sc2agents.learners import LEARNERS
from sc2agents.learners.mc import MCConfig, MCLearner
from sc2agents.networks import spatial
from tests.learners import contract


@pytest.mark.parametrize(("value_loss", "actor_loss"), [("mse", "ddpgbc"), ("bce", "awr")])
def test_contract(value_loss: str, actor_loss: str) -> None:
    cfg = MCConfig(
        encoder="fullyconv_tiny", lr=3e-3, actor_lr=3e-3, value_loss=value_loss,
        actor_loss=actor_loss,
    )  # fmt: skip
    contract.run_contract(MCLearner, cfg, fit_key="value/loss")


def test_registry() -> None:
    assert LEARNERS["mc"] is MCLearner


def test_missing_returns_is_a_clear_error() -> None:
    spec = contract.obs_spec()
    learner = MCLearner(MCConfig(encoder="fullyconv_tiny"), spec, contract.ACTION_SPEC)
    b = contract.make_batch(spec, 4, np.random.default_rng(0))
    b = Batch(observations=b.observations, actions=b.actions)
    with pytest.raises(ValueError, match="batch.returns"):
        learner.loss(b)


@pytest.mark.parametrize(("actor_loss", "alpha"), [("ddpgbc", 0.05), ("awr", 0.0)])
def test_extraction_beats_the_behaviour_policy(actor_loss: str, alpha: float) -> None:
    """Data: 75% no_op (return 0), 25% select_army (return 1). BC would pick no_op; both value-based
    extractions must move the policy to select_army."""
    spec = contract.obs_spec()
    one = spatial.random_storage_obs(spec, 1, np.random.default_rng(0))
    obs = {k: np.repeat(v, 8, axis=0) for k, v in one.items()}
    obs["available_actions"][:] = False
    noop, army = features.FUNCTION_IDS["no_op"], features.FUNCTION_IDS["select_army"]
    obs["available_actions"][:, [noop, army]] = True
    fn = np.array([noop] * 6 + [army] * 2)
    args = np.full((8, features.NUM_ARG_TYPES), -1)
    args[fn == army, features.ARG_TYPES.index("select_add")] = 0
    batch = Batch(
        observations=obs,
        actions={"function": fn, "args": args},
        returns=(fn == army).astype(np.float32),
    )
    cfg = MCConfig(
        encoder="fullyconv_tiny", lr=1e-2, actor_lr=1e-2, actor_loss=actor_loss, alpha=alpha,
        awr_temperature=5.0,
    )  # fmt: skip
    learner = MCLearner(cfg, spec, contract.ACTION_SPEC)
    for _ in range(80):
        learner.update(batch)
    with torch.no_grad():
        pol = learner.actor(batch.to("cpu").observations)
        p_army = torch.softmax(pol.fn_logits, -1)[:, army].mean()
    assert float(p_army) > 0.5
