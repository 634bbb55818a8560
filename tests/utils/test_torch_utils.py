from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from sc2agents.utils import torch_utils as tu


def test_soft_update_is_polyak_and_copies_buffers() -> None:
    src, tgt = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    with torch.no_grad():
        src.weight.fill_(2.0)
        tgt.weight.fill_(0.0)
        src.running_mean.fill_(5.0)
    tu.soft_update(tgt, src, 0.25)
    torch.testing.assert_close(tgt.weight, torch.full((3,), 0.5))
    torch.testing.assert_close(tgt.running_mean, torch.full((3,), 5.0))
    tu.hard_update(tgt, src)
    torch.testing.assert_close(tgt.weight, src.weight)


def test_obs_to_torch_keeps_compact_dtypes() -> None:
    out = tu.obs_to_torch(
        {"a": np.zeros((2, 3), np.uint8), "b": np.zeros(2, np.uint16), "c": np.ones(2, bool)}, "cpu"
    )
    assert out["a"].dtype == torch.uint8
    assert out["b"].dtype == torch.int32
    assert out["c"].dtype == torch.bool


def test_parse_action_spec_names_the_key() -> None:
    assert tu.parse_action_spec({"screen_size": 8, "minimap_size": 4}) == (8, 4)
    with pytest.raises(ValueError, match="minimap_size"):
        tu.parse_action_spec({"screen_size": 8})
    with pytest.raises(ValueError, match="screen_size"):
        tu.parse_action_spec({"screen_size": 0, "minimap_size": 4})


def test_check_config_match_names_the_field() -> None:
    tu.check_config_match({"a": [1, 2]}, {"a": (1, 2)}, "X")
    with pytest.raises(ValueError, match="'lr'"):
        tu.check_config_match({"lr": 1.0}, {"lr": 2.0}, "X")


def test_frozen_copy_is_detached_cpu_eval() -> None:
    m = nn.Linear(2, 2).train()
    f = tu.frozen_copy(m)
    assert not f.training and not any(p.requires_grad for p in f.parameters())
    with torch.no_grad():
        m.weight.add_(1.0)
    assert not torch.equal(f.weight, m.weight)


def test_check_config_match_non_strict_only_warns() -> None:
    tu.check_config_match({"lr": 1.0}, {"lr": 2.0}, "X", strict=False)  # no raise


def test_load_optimizer_state_keeps_current_lr_and_fused_flag() -> None:
    torch.manual_seed(0)
    net = nn.Linear(3, 2)
    old = torch.optim.Adam(net.parameters(), lr=1e-3)  # a checkpoint from plain Adam
    net(torch.randn(4, 3)).sum().backward()
    old.step()
    new = torch.optim.Adam(net.parameters(), lr=5e-4, fused=True)
    tu.load_optimizer_state(new, old.state_dict(), torch.device("cpu"))
    group = new.param_groups[0]
    assert group["fused"] is True and group["lr"] == 5e-4
    # the moments came from the checkpoint
    for p in net.parameters():
        assert torch.equal(new.state[p]["exp_avg"], old.state[p]["exp_avg"])
