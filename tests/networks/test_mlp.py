from __future__ import annotations

import pytest
import torch

from sc2agents.networks import MLP


def test_mlp_shapes_layernorm_and_zero_init() -> None:
    m = MLP(4, (8, 8), 3)
    assert m(torch.zeros(5, 4)).shape == (5, 3)
    assert sum(isinstance(x, torch.nn.LayerNorm) for x in m.net) == 2
    z = MLP(4, (8,), 3, final_scale=0.0)
    assert torch.equal(z(torch.randn(2, 4)), torch.zeros(2, 3))
    assert MLP(4, (), 2, layer_norm=False)(torch.zeros(1, 4)).shape == (1, 2)
    with pytest.raises(ValueError, match="activation"):
        MLP(4, (8,), 2, activation="tanh")
