from __future__ import annotations

import pytest
import torch

from sc2agents.networks import optimizers


def _params(seed: int) -> list[torch.nn.Parameter]:
    g = torch.Generator().manual_seed(seed)
    return [torch.nn.Parameter(torch.randn(n, generator=g)) for n in (5, 33, 1)] + [
        torch.nn.Parameter(torch.randn((), generator=g))
    ]


@pytest.mark.parametrize(("decoupled", "wd"), [(False, 0.0), (False, 0.1), (True, 0.01)])
def test_adam_is_fused_on_cpu_and_matches_the_reference(decoupled: bool, wd: float) -> None:
    a, b = _params(0), _params(0)
    opt = optimizers.adam([{"params": a, "lr": 1e-2}], weight_decay=wd, decoupled=decoupled)
    ref_cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    ref = ref_cls([{"params": b, "lr": 1e-2}], weight_decay=wd)
    assert isinstance(opt, ref_cls) and opt.param_groups[0]["fused"]
    g = torch.Generator().manual_seed(1)
    for _ in range(5):
        for x, y in zip(a, b, strict=True):
            x.grad = torch.randn(x.shape, generator=g)
            y.grad = x.grad.clone()
        opt.step()
        ref.step()
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-6)
    assert not any(torch.equal(x, y) for x, y in zip(a, _params(0), strict=True)), "no step"


def test_adam_state_round_trips() -> None:
    a = _params(2)
    opt = optimizers.adam(a, lr=1e-3)
    for p in a:
        p.grad = torch.ones_like(p)
    opt.step()
    other = optimizers.adam(_params(3), lr=1e-3)
    other.load_state_dict(opt.state_dict())
    assert other.state_dict()["state"][0]["exp_avg"].equal(opt.state_dict()["state"][0]["exp_avg"])
