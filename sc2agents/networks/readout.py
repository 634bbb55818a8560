"""Input checking and evaluation context for the value learners' public ``values()`` read-out.

Every value learner (``dqn``, ``cql``, ``mc``, ``sharsa``, ``crl``, ``qrl``) offers
``learner.values(observations, actions, goals=None) -> torch.Tensor [B]``: the learned value of
the given state-action pairs on the scale of the discounted return, without gradients and with the
networks in eval mode. `value_inputs` turns the caller's arrays (numpy or torch, storage form) into
device tensors and rejects malformed input with a message naming the learner and the key;
`eval_mode` switches modules to eval for the read-out and restores their previous mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from sc2agents.envs import features
from sc2agents.utils.torch_utils import obs_to_torch


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put ``modules`` (and their children) in eval mode, restoring each one's mode afterwards."""
    saved = [(m, m.training) for mod in modules for m in mod.modules()]
    try:
        for mod in modules:
            mod.eval()
        yield
    finally:
        for m, training in saved:
            m.training = training


def _batch_size(obs: Mapping[str, Any], where: str) -> int:
    if not obs:
        raise ValueError(f"{where}: empty observation dict")
    sizes = {k: int(np.shape(v)[0]) if np.ndim(v) else -1 for k, v in obs.items()}
    if len(set(sizes.values())) != 1 or -1 in sizes.values():
        raise ValueError(f"{where}: keys disagree on the batch size (or are scalars): {sizes}")
    return next(iter(sizes.values()))


def _long(x: Any, device: torch.device) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    return t.to(device).long()


def value_inputs(
    observations: Mapping[str, Any],
    actions: Mapping[str, Any] | None,
    goals: Mapping[str, Any] | None,
    device: torch.device,
    *,
    learner: str,
    needs_actions: bool = True,
    needs_goals: bool = False,
) -> tuple[
    dict[str, torch.Tensor],
    torch.Tensor | None,
    torch.Tensor | None,
    dict[str, torch.Tensor] | None,
]:
    """Check and convert the arguments of ``values()``.

    Args:
        observations: storage-form observations ``{key: [B, ...]}`` (numpy or torch).
        actions: ``{"function": [B], "args": [B, 13]}`` in `features.encode_action` layout.
        goals: storage-form goal observations ``[B, ...]`` (goal-conditioned learners).
        device: the learner's device.
        learner: the learner's name, for error messages.
        needs_actions: raise when ``actions`` is missing.
        needs_goals: raise when ``goals`` is missing.

    Returns:
        ``(observations, function int64 [B], args int64 [B, 13], goals)`` on ``device``
        (``function``/``args`` None when ``actions`` is None and not needed).

    Raises:
        ValueError: a missing argument, a missing action key, or shapes that disagree.
    """
    if not isinstance(observations, Mapping):
        raise ValueError(f"{learner}.values: observations must be a dict of arrays")
    b = _batch_size(observations, f"{learner}.values: observations")
    obs = obs_to_torch(observations, device)
    fn = args = None
    if actions is None:
        if needs_actions:
            raise ValueError(f"{learner}.values needs actions {{'function': [B], 'args': [B, 13]}}")
    else:
        missing = [k for k in ("function", "args") if k not in actions]
        if missing:
            raise ValueError(f"{learner}.values: actions lack key(s) {missing}")
        fn, args = _long(actions["function"], device), _long(actions["args"], device)
        if fn.shape != (b,):
            raise ValueError(
                f"{learner}.values: actions['function'] is {tuple(fn.shape)}, want ({b},)"
            )
        if args.shape != (b, features.NUM_ARG_TYPES):
            raise ValueError(
                f"{learner}.values: actions['args'] is {tuple(args.shape)}, "
                f"want ({b}, {features.NUM_ARG_TYPES})"
            )
    g = None
    if goals is None:
        if needs_goals:
            raise ValueError(
                f"{learner}.values is goal-conditioned: pass goals= (storage-form goal "
                "observations [B, ...])"
            )
    else:
        gb = _batch_size(goals, f"{learner}.values: goals")
        if gb != b:
            raise ValueError(f"{learner}.values: goals have batch {gb}, observations {b}")
        g = obs_to_torch(goals, device)
    return obs, fn, args, g
