"""Small torch helpers shared by networks and learners: devices, target updates, observations.

Rules (TorchRL's): modules never cache a device; the device of a module is read off its parameters
with `module_device`, and data is moved with `obs_to_torch` / `Batch.to` right before use.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from absl import logging
from torch import nn

__all__ = [
    "frozen_copy",
    "grad_norm",
    "hard_update",
    "module_device",
    "obs_to_torch",
    "optimizer_step",
    "optimizer_to",
    "load_optimizer_state",
    "parse_action_spec",
    "check_config_match",
    "require_fields",
    "resolve_device",
    "soft_update",
]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> cuda when available else cpu; anything else as `torch.device`."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def module_device(module: nn.Module) -> torch.device:
    """The device of a module's first parameter (cpu for a parameterless module)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def obs_to_torch(obs: Mapping[str, Any], device: torch.device | str) -> dict[str, torch.Tensor]:
    """Numpy/torch storage-form observations -> tensors on ``device``, keeping integer dtypes.

    uint16 (unit types) becomes int32, which is lossless and has CPU arithmetic; uint8 stays uint8
    so that host-to-device copies move 1 byte per value. The encoder makes floats on the device.
    """
    out: dict[str, torch.Tensor] = {}
    for k, v in obs.items():
        if isinstance(v, torch.Tensor):
            out[k] = v.to(device)
            continue
        a = np.asarray(v)
        if a.dtype == np.uint16:
            a = a.astype(np.int32)
        out[k] = torch.from_numpy(np.ascontiguousarray(a)).to(device)
    return out


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """Polyak averaging ``target <- (1 - tau) * target + tau * source`` (parameters and buffers)."""
    tp = list(target.parameters())
    sp = list(source.parameters())
    if tau >= 1.0:
        for t, s in zip(tp, sp, strict=True):
            t.copy_(s)
    else:
        torch._foreach_lerp_(tp, sp, tau)
    for tb, sb in zip(target.buffers(), source.buffers(), strict=True):
        tb.copy_(sb)


def hard_update(target: nn.Module, source: nn.Module) -> None:
    """Copy ``source``'s parameters and buffers into ``target``."""
    soft_update(target, source, 1.0)


def grad_norm(params: Iterable[nn.Parameter]) -> float:
    """Global L2 norm of the gradients of ``params`` (0 when none has a gradient)."""
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    )


def frozen_copy(module: nn.Module) -> nn.Module:
    """A CPU deep copy in eval mode with gradients off (what crosses into `acting/` and Ray)."""
    m = copy.deepcopy(module).to("cpu").eval()
    m.requires_grad_(False)
    return m


def optimizer_to(optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """Move an optimiser's state tensors (after `load_state_dict` from a CPU checkpoint)."""
    for state in optimizer.state.values():
        for k, v in state.items():
            if isinstance(v, torch.Tensor) and k != "step":
                state[k] = v.to(device)


def optimizer_step(
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    params: Iterable[nn.Parameter],
    max_grad_norm: float = 0.0,
) -> float:
    """``zero_grad``, ``backward``, optional global-norm clipping, ``step``; returns grad norm."""
    params = list(params)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm > 0:
        norm = float(torch.nn.utils.clip_grad_norm_(params, max_grad_norm))
    else:
        norm = grad_norm(params)
    optimizer.step()
    return norm


def parse_action_spec(action_spec: Mapping[str, Any]) -> tuple[int, int]:
    """``(screen_size, minimap_size)`` from a learner's ``action_spec``.

    Raises:
        ValueError: naming the missing or non-positive key.
    """
    out = []
    for key in ("screen_size", "minimap_size"):
        if key not in action_spec:
            raise ValueError(f"action_spec: missing {key!r} (has {sorted(action_spec)})")
        v = int(action_spec[key])
        if v <= 0:
            raise ValueError(f"action_spec[{key!r}]: must be > 0, got {v}")
        out.append(v)
    return out[0], out[1]


def check_config_match(
    saved: Mapping[str, Any], current: Mapping[str, Any], where: str, strict: bool = True
) -> None:
    """Compare a checkpoint's config with ours, field by field.

    Args:
        saved: ``dataclasses.asdict`` of the checkpoint's config.
        current: ``dataclasses.asdict`` of ours.
        where: the learner, for messages.
        strict: raise on the first difference (exact resume); False only logs the differences
            (fine-tuning from a checkpoint with, e.g., another learning rate). Shapes that differ
            still fail in ``nn.Module.load_state_dict``.

    Raises:
        ValueError: naming the first differing field, when ``strict``.
    """
    for k in sorted(set(saved) | set(current)):
        a, b = saved.get(k), current.get(k)
        if isinstance(a, list):
            a = tuple(a)
        if isinstance(b, list):
            b = tuple(b)
        if a != b:
            msg = f"{where}: config field {k!r} is {a!r} in the state, {b!r} here"
            if strict:
                raise ValueError(msg)
            logging.warning("%s (strict_config=False: loading anyway)", msg)


def require_fields(batch: Any, fields: Iterable[str], learner: str) -> None:
    """Raise ValueError naming the `Batch` fields a learner needs but the sampler left empty."""
    missing = [f for f in fields if getattr(batch, f, None) is None]
    if missing:
        raise ValueError(
            f"{learner} needs batch.{', batch.'.join(missing)}; configure the sampler to fill them"
        )


def load_optimizer_state(
    optimizer: torch.optim.Optimizer, state: Mapping[str, Any], device: torch.device
) -> None:
    """Load an optimiser state, keep the current learning rates, move tensors to ``device``.

    The learning rates come from the learner's config, not the checkpoint, so that fine-tuning
    with ``strict_config=False`` and another ``lr`` takes effect (identical on an exact resume).
    So do the implementation flags (``fused``, ``foreach``): a checkpoint saved by an older
    version (plain Adam) resumes on the fused kernel the learner asks for today (same maths).
    """
    keep = ("lr", "fused", "foreach")
    current = [{k: g[k] for k in keep if k in g} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, flags in zip(optimizer.param_groups, current, strict=True):
        group.update(flags)
    optimizer_to(optimizer, device)
