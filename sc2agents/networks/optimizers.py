"""Optimiser construction shared by the learners and the throughput benchmark's bare loops.

`adam` builds ``torch.optim.Adam`` (or ``AdamW``) with the fused kernel where the parameters'
device supports it (CPU and CUDA in torch >= 2.4): one pass over each parameter instead of the
~10 elementwise passes of the single-tensor loop. Measured on one CPU thread, 22M parameters:
177 ms (default) / 132 ms (foreach) / 33 ms (fused) per step; the maths is Adam's in every case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

__all__ = ["adam"]

_FUSED_DEVICES = ("cpu", "cuda")


def _devices(params: Any) -> set[str]:
    out: set[str] = set()
    for p in params:
        if isinstance(p, dict):
            out |= _devices(p["params"])
        else:
            out.add(p.device.type)
    return out


def adam(
    params: Iterable[Any], *, weight_decay: float = 0.0, decoupled: bool = False, **kwargs: Any
) -> torch.optim.Optimizer:
    """``Adam`` (``decoupled=True``: ``AdamW``) over ``params`` (tensors or param-group dicts).

    Args:
        params: parameters or param groups, as for ``torch.optim.Adam``.
        weight_decay: L2 (Adam) or decoupled (AdamW) weight decay.
        decoupled: build ``AdamW``.
        **kwargs: other ``torch.optim.Adam`` arguments (``lr``, ``betas``, ``eps``).

    Returns:
        The optimiser, fused when every parameter lives on a CPU or CUDA device.
    """
    params = list(params)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    fused = bool(params) and _devices(params) <= set(_FUSED_DEVICES) and len(_devices(params)) == 1
    return cls(params, weight_decay=weight_decay, fused=fused or None, **kwargs)
