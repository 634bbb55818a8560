"""The study's value read-out goes through ``learner.values`` and matches the old read-out.

The old read-out (reaching into each learner's networks), kept as the learners' contract test's
``reference_values``, is the reference: on every method of experiment 1, trained for a few steps
so the networks are not at initialisation, the public ``values()`` must give the same numbers (the
study's results do not move with the switch).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from sc2agents.data import samplers
from sc2agents.study import experiments as ex
from sc2agents.study import tasks
from tests.learners.contract import reference_values


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("study_data")
    budget = ex.Budget(episodes=4, steps=4, batch_size=8, data_root=str(root))
    cell = ex.Cell("value_bias", "mc", "BeaconChain-H100", 0)
    return budget, ex.dataset_for(cell, budget)


@pytest.mark.parametrize("method", sorted(ex.METHODS))
def test_values_api_matches_the_old_readout(tiny_data, method):
    budget, path = tiny_data
    tasks.register_horizon_tasks()
    cell = ex.Cell("value_bias", method, "BeaconChain-H100", 1)
    learner, info = ex.train(cell, budget, path)
    ds, gamma = info["dataset"], info["gamma"]
    starts, lengths, _ = ex._episode_table(ds)
    rows = np.asarray(info["val_steps"], np.int64)[:32]
    ep_of = np.searchsorted(starts, rows, side="right") - 1
    smp = samplers.Sampler(ds, samplers.SamplerConfig(gamma=gamma, n_step=1), seed=0)
    batch = smp.batch_at(rows).to("cpu")
    goal = smp.batch_at(starts[ep_of] + lengths[ep_of] - 1).to("cpu").next_observations
    new = ex.value_readout(method, learner, batch, goal, gamma)
    old = reference_values(learner, dataclasses.replace(batch, goals=goal), gamma)
    assert new.shape == (len(rows),)
    assert not new.requires_grad
    torch.testing.assert_close(new.float(), old.float(), rtol=1e-6, atol=1e-7)
    # The values are not a constant (the comparison would then be vacuous).
    assert float(new.std()) > 0


def test_readout_rejects_a_learner_without_values():
    class NoValues:
        pass

    with pytest.raises(ValueError, match="has no values"):
        ex.value_readout("mc", NoValues(), None, None, 0.99)
    with pytest.raises(ValueError, match="unknown method"):
        ex.value_readout("td_lambda", NoValues(), None, None, 0.99)
