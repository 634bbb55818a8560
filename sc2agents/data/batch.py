"""The batch schema shared by datasets, samplers and learners: one fixed key vocabulary.

A `Batch` is a frozen dataclass of tensors (or numpy arrays before `to_torch`). Observation and
action entries are themselves flat dicts so that a dataset can carry any subset of observation keys.

Keys (``B`` = batch size; ``K`` = chunk length; ``H, W`` = layer resolution):

* ``observations``: dict of observation arrays in storage form (see
  `sc2agents.envs.features.observation_to_storage`):

  - ``minimap`` uint8 ``[B, 10, H, W]`` and ``minimap_unit_type`` uint16 ``[B, H, W]``;
  - ``screen`` uint8 ``[B, 26, H, W]`` and ``screen_unit_type`` uint16 ``[B, H, W]`` (optional);
  - ``player`` float32 ``[B, 11]``; ``available_actions`` bool ``[B, 573]``;
  - ``unit_counts`` uint16 ``[B, U]`` in datasets, int32 after `Batch.to` (optional; replays).
* ``next_observations``: same keys, the observation after the (n-step / chunked) transition.
* ``actions``: ``function`` int64 ``[B]`` and ``args`` int64 ``[B, 13]`` (`features.encode_action`).
* ``rewards`` float32 ``[B]``: the (n-step discounted) reward sum of the transition.
* ``terminals`` float32 ``[B]``: 1 where the MDP ended inside the transition (Gymnasium
  ``terminated``). ``truncations`` float32 ``[B]``: 1 where the episode was cut (time limit, leaver)
  inside the transition; a truncation is *never* a terminal and the learner bootstraps there.
* ``masks`` float32 ``[B]``: ``1 - terminals`` (bootstrap multiplier).
* ``discounts`` float32 ``[B]``: ``gamma**k`` for the k steps the transition spans.
* ``valids`` float32 ``[B, K]``: chunk entries that lie inside the episode.
* ``goals``: dict of observation arrays (goal-conditioned learners); a second goal set (e.g.
  SHARSA/HIQL actor goals) comes from `Sampler.goals_at`.
* ``goal_distances`` float32 ``[B]``: steps from the state to the goal state within the same
  episode, -1 when the goal is not ahead in that episode (a random goal, or one behind).
* ``returns`` float32 ``[B]``: Monte-Carlo discounted return to the episode end.
* ``action_chunks``: ``function`` ``[B, K]`` and ``args`` ``[B, K, 13]`` (SHARSA).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

ArrayDict = Mapping[str, Any]

BATCH_KEYS: tuple[str, ...] = (
    "observations",
    "next_observations",
    "actions",
    "rewards",
    "terminals",
    "truncations",
    "masks",
    "discounts",
    "valids",
    "goals",
    "goal_distances",
    "returns",
    "action_chunks",
)


@dataclasses.dataclass(frozen=True)
class Batch:
    """A batch of transitions with the fixed key vocabulary above. Unused fields are None."""

    observations: ArrayDict
    actions: ArrayDict
    rewards: Any = None
    next_observations: ArrayDict | None = None
    terminals: Any = None
    truncations: Any = None
    masks: Any = None
    discounts: Any = None
    valids: Any = None
    goals: ArrayDict | None = None
    goal_distances: Any = None
    returns: Any = None
    action_chunks: ArrayDict | None = None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """Move (and convert from numpy) every array to ``device``; uint8 stays uint8."""

        def conv(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, Mapping):
                return {k: conv(v) for k, v in x.items()}
            if isinstance(x, np.ndarray):
                if x.dtype == np.uint16:  # torch lacks uint16 arithmetic on CPU; int32 is lossless
                    x = x.astype(np.int32)
                x = torch.from_numpy(np.ascontiguousarray(x))
            return x.to(device, non_blocking=non_blocking)

        return Batch(**{f.name: conv(getattr(self, f.name)) for f in dataclasses.fields(self)})

    def pin_memory(self) -> Batch:
        """Page-lock every tensor (for fast host-to-GPU copies)."""

        def pin(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, Mapping):
                return {k: pin(v) for k, v in x.items()}
            return x.pin_memory() if isinstance(x, torch.Tensor) else x

        return Batch(**{f.name: pin(getattr(self, f.name)) for f in dataclasses.fields(self)})

    @property
    def batch_size(self) -> int:
        return int(len(self.actions["function"]))
