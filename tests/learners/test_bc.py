from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.learners import LEARNERS
from sc2agents.learners.bc import BCConfig, BCLearner
from sc2agents.networks import heads
from tests.learners import contract


@pytest.mark.parametrize(
    ("encoder", "screen", "minimap"),
    [("fullyconv_tiny", 8, 8), ("atari_tiny", None, 8), ("resnet_tiny", 8, None)],
)
def test_contract(encoder: str, screen: int | None, minimap: int | None) -> None:
    contract.run_contract(
        BCLearner,
        BCConfig(encoder=encoder, lr=3e-3),
        spec=contract.obs_spec(screen, minimap),
    )


def test_registry() -> None:
    assert LEARNERS["bc"] is BCLearner


def test_bad_config_names_field() -> None:
    with pytest.raises(ValueError, match="encoder preset 'nope'"):
        BCConfig(encoder="nope")
    with pytest.raises(ValueError, match="screen_size"):
        BCLearner(BCConfig(encoder="fullyconv_tiny"), contract.obs_spec(), {"minimap_size": 8})


def test_bc_learns_the_data_action() -> None:
    """BC fits a deterministic mapping: the argmax action equals the data action afterwards."""
    spec = contract.obs_spec()
    learner = BCLearner(BCConfig(encoder="fullyconv_tiny", lr=1e-2), spec, contract.ACTION_SPEC)
    batch = contract.make_batch(spec, 8, np.random.default_rng(0))
    for _ in range(60):
        learner.update(batch)
    with torch.no_grad():
        b = batch.to("cpu")
        out = learner.actor(b.observations)
        fn, _ = heads.sample(out, greedy=True)
    assert (fn.numpy() == batch.actions["function"]).mean() >= 0.75


def test_load_state_with_other_hyperparameters_needs_strict_config_false() -> None:
    spec = contract.obs_spec()
    a = BCLearner(BCConfig(encoder="fullyconv_tiny"), spec, contract.ACTION_SPEC)
    b = BCLearner(BCConfig(encoder="fullyconv_tiny", lr=1e-5), spec, contract.ACTION_SPEC)
    with pytest.raises(ValueError, match="'lr'"):
        b.load_state_dict(a.state_dict())
    b.load_state_dict(a.state_dict(), strict_config=False)
    assert b.optimizer.param_groups[0]["lr"] == 1e-5  # the new config's rate
    for p, q in zip(a.actor.parameters(), b.actor.parameters(), strict=True):
        assert torch.equal(p, q)
