from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.learners import LEARNERS
from sc2agents.learners.qrl import QRLConfig, QRLLearner
from sc2agents.networks import IQE, MRN, spatial
from tests.learners import contract


def _goal() -> dict[str, np.ndarray]:
    one = spatial.random_storage_obs(contract.obs_spec(), 1, np.random.default_rng(42))
    return {k: v[0] for k, v in one.items()}


@pytest.mark.parametrize(("metric", "actor_loss"), [("iqe", "awr"), ("mrn", "ddpgbc")])
def test_contract(metric: str, actor_loss: str) -> None:
    cfg = QRLConfig(
        encoder="fullyconv_tiny", lr=3e-3, actor_lr=3e-3, latent_dim=16, iqe_components=4,
        quasimetric=metric, actor_loss=actor_loss, gamma=0.9,
    )  # fmt: skip
    contract.run_contract(
        QRLLearner, cfg, fit_key="value/push_loss", policy_kwargs={"goal": _goal()}
    )


def test_registry() -> None:
    assert LEARNERS["qrl"] is QRLLearner


@pytest.mark.parametrize("head", [IQE(32, 4), IQE(24, 8), MRN(16)])
def test_quasimetric_axioms(head: torch.nn.Module) -> None:
    """d(x, x) = 0, d >= 0 and the triangle inequality, for random parameters and points."""
    g = torch.Generator().manual_seed(0)
    dim = (
        32
        if isinstance(head, IQE) and head.components == 4
        else (24 if isinstance(head, IQE) else 16)
    )
    with torch.no_grad():
        if isinstance(head, IQE):
            head.raw_alpha.fill_(0.3)
        x, y, z = (torch.randn(512, dim, generator=g) * 3 for _ in range(3))
        assert torch.allclose(head(x, x), torch.zeros(512))
        dxy, dyz, dxz = head(x, y), head(y, z), head(x, z)
    assert (dxy >= 0).all()
    assert (dxz <= dxy + dyz + 1e-5).all()
    assert not torch.allclose(dxy, head(y, x))  # asymmetric in general


def test_iqe_component_is_union_of_intervals() -> None:
    """One component: intervals [x_j, max(x_j, y_j)] = [0,2], [1,3], [5,5] -> measure 3."""
    iqe = IQE(3, 1).requires_grad_(False)
    x = torch.tensor([[0.0, 1.0, 5.0]])
    y = torch.tensor([[2.0, 3.0, 4.0]])
    assert float(iqe(x, y)[0]) == pytest.approx(3.0)
    assert float(iqe(y, x)[0]) == pytest.approx(1.0)  # [2,2], [3,3], [4,5]


@pytest.mark.parametrize(("eps", "rises"), [(-1.0, True), (10.0, False)])
def test_lagrange_multiplier_direction(eps: float, rises: bool) -> None:
    """lambda grows while E relu(d(s, s') - c)^2 > eps (violated) and shrinks otherwise."""
    spec = contract.obs_spec()
    cfg = QRLConfig(encoder="fullyconv_tiny", lr=1e-2, latent_dim=16, iqe_components=4, eps=eps)
    learner = QRLLearner(cfg, spec, contract.ACTION_SPEC)
    batch = contract.make_batch(spec, 8, np.random.default_rng(0))
    first = learner.update(batch)["value/lambda"]
    for _ in range(3):
        last = learner.update(batch)["value/lambda"]
    assert (last > first) == rises
