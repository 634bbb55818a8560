"""MLP with the horizon-reduction defaults (GELU, LayerNorm after every hidden layer).

Example:
    >>> import torch
    >>> MLP(8, (32, 32), 4)(torch.zeros(2, 8)).shape
    torch.Size([2, 4])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP"]


class MLP(nn.Module):
    """``in_dim -> hidden... -> out_dim``; activation + optional LayerNorm after each hidden layer.

    Args:
        in_dim: input width.
        hidden: hidden widths (may be empty: a single linear layer).
        out_dim: output width.
        layer_norm: LayerNorm after every hidden layer (OGBench / horizon-reduction default).
        activation: ``"gelu"`` or ``"relu"``.
        final_scale: multiply the last layer's initial weights (e.g. 0 for residual dynamics).
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        layer_norm: bool = True,
        activation: str = "gelu",
        final_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"activation must be gelu or relu, got {activation!r}")
        layers: list[nn.Module] = []
        prev = in_dim
        for h in hidden:
            layers.append(nn.Linear(prev, h))
            layers.append(nn.GELU() if activation == "gelu" else nn.ReLU())
            if layer_norm:
                layers.append(nn.LayerNorm(h))
            prev = h
        last = nn.Linear(prev, out_dim)
        with torch.no_grad():
            last.weight.mul_(final_scale)
            if final_scale == 0:
                last.bias.zero_()
        layers.append(last)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
