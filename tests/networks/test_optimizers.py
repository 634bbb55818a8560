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


@pytest.mark.parametrize("max_norm", [0.0, 0.5, 100.0])
def test_clip_grad_norm_is_the_global_norm_as_a_tensor(max_norm: float) -> None:
    from sc2agents.utils import torch_utils as tu

    ps = _params(4)
    g = torch.Generator().manual_seed(5)
    for p in ps:
        p.grad = torch.randn(p.shape, generator=g)
    want = tu.grad_norm(ps)
    got = optimizers.clip_grad_norm(ps, max_norm)
    assert isinstance(got, torch.Tensor) and got.dim() == 0
    assert float(got) == pytest.approx(want, rel=1e-6)
    after = tu.grad_norm(ps)
    assert after == pytest.approx(min(want, max_norm) if max_norm > 0 else want, rel=1e-5)
    assert float(optimizers.clip_grad_norm([torch.nn.Parameter(torch.ones(2))], 0.0)) == 0.0


def test_metrics_to_floats() -> None:
    m = {"a": torch.tensor(1.5), "b": torch.tensor(2, dtype=torch.int64), "c": torch.tensor(-3.0)}
    out = optimizers.metrics_to_floats(m)
    assert out == {"a": 1.5, "b": 2.0, "c": -3.0}
    assert all(type(v) is float for v in out.values())
    assert optimizers.metrics_to_floats({}) == {}
