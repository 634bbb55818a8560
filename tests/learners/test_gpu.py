"""Every learner on CUDA: same loss as on CPU from the same state, a finite update, a CPU policy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sc2agents.learners import LEARNERS
from sc2agents.training import config as tc
from tests.learners import contract

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.mark.parametrize("name", sorted(LEARNERS))
def test_learner_on_cuda_matches_cpu(name: str) -> None:
    cfg_cls = tc.learner_config_class(name)
    cfg = cfg_cls(encoder="fullyconv_tiny")
    spec = contract.obs_spec()
    cpu = LEARNERS[name](cfg, spec, contract.ACTION_SPEC, device="cpu")
    gpu = LEARNERS[name](cfg, spec, contract.ACTION_SPEC, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    batch = contract.make_batch(spec, 8, np.random.default_rng(0))
    with torch.no_grad():
        lc, _ = cpu.loss(batch)
        lg, _ = gpu.loss(batch)
    assert float(lg) == pytest.approx(float(lc), rel=1e-3, abs=1e-4)
    metrics = gpu.update(batch)
    assert all(np.isfinite(v) for v in metrics.values())
    kwargs = {"goal": {k: v[0] for k, v in batch.goals.items()}} if name in ("crl", "qrl") else {}
    fn, args = gpu.policy(**kwargs).act(batch.observations, np.random.default_rng(0))
    contract.check_actions_valid(
        fn, args, batch.observations["available_actions"], contract.ACTION_SPEC
    )
