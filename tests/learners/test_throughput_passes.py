"""The throughput benchmark's per-algorithm pass lists name real modules and run on a batch.

`benchmarks/learner_throughput.algorithm_passes` is the bound the learners are measured against;
a renamed attribute or a new config variant must fail here, not silently in the benchmark.
"""

from __future__ import annotations

import importlib.util
import pathlib
from typing import Any

import numpy as np
import pytest
import torch

from sc2agents.learners import LEARNERS
from tests.learners import contract

_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "learner_throughput.py"


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("learner_throughput", _PATH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CASES = [
    ("bc", {}),
    ("dqn", {}),
    ("dqn", {"double": False, "actor_loss": "awr"}),
    ("cql", {}),
    ("mc", {}),
    ("sharsa", {}),
    ("sharsa", {"double": True, "num_qs": 3}),
    ("crl", {}),
    ("crl", {"goal_mode": "reward"}),
    ("qrl", {}),
    ("qrl", {"actor_loss": "ddpgbc"}),
]


@pytest.mark.parametrize(("name", "overrides"), CASES)
def test_algorithm_passes_resolve_and_run(bench: Any, name: str, overrides: dict) -> None:
    cls = LEARNERS[name]
    cfg = cls.config_cls(encoder="fullyconv_tiny", **overrides)
    learner = cls(cfg, contract.obs_spec(), contract.ACTION_SPEC)
    passes = bench.algorithm_passes(name, learner)
    assert passes and all(
        isinstance(bench._module_at(learner, p), torch.nn.Module) for p, _, _ in passes
    )
    trained = {p for p, _, t in passes if t}
    # Every trainable network of the learner is trained by some pass (nothing left out).
    for k, m in bench.modules_of(learner):
        if bench.n_params(m) > 0 and k not in ("metric", "critic.metric"):
            assert any(k == p or k.startswith(p) for p in trained), (k, trained)
    if name in ("dqn", "cql"):
        assert (("q", "s'", False) in passes) == cfg.double
    batch = contract.make_batch(contract.obs_spec(), 4, np.random.default_rng(0)).to("cpu")
    loop = bench.PassesLoop(learner, passes, batch)
    before = [p.detach().clone() for p in loop.opt.param_groups[0]["params"]]
    loop.step()
    after = loop.opt.param_groups[0]["params"]
    assert any(not torch.equal(a, b) for a, b in zip(after, before, strict=True))
