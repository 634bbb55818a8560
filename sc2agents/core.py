"""Core interfaces (acme's vocabulary, not its machinery): Learner, Policy, Logger, VariableSource.

These are `typing.Protocol`s: learners, scripted agents and loggers satisfy them structurally.

* A **Policy** acts on *batched storage-form observations* (the dict that
  `sc2agents.envs.features.observation_to_storage` returns, stacked over a leading batch axis, or
  the observation of a `SimVectorEnv`) and returns the factored action: ``function`` ``[B]`` and
  ``args`` ``[B, 13]`` (`features.encode_action` layout). Policies are CPU, frozen and picklable so
  they can cross into `acting/` and Ray workers.
* A **Learner** owns networks and optimisers; ``update(batch)`` is its only mutating method.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from sc2agents.data.batch import Batch

ObsBatch = Mapping[str, np.ndarray]
"""Storage-form observations with a leading batch axis."""


@runtime_checkable
class Policy(Protocol):
    """Maps a batch of observations to factored PySC2 actions."""

    def act(
        self, observations: ObsBatch, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(function [B] int64, args [B, 13] int64)``; only available functions."""
        ...


@runtime_checkable
class Learner(Protocol):
    """An offline learner: one gradient step per `update`."""

    def update(self, batch: Batch) -> dict[str, float]: ...

    def loss(self, batch: Batch) -> tuple[Any, dict[str, Any]]: ...

    def policy(self) -> Policy: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


@runtime_checkable
class Logger(Protocol):
    """Writes a flat dict of scalars at a step (``train/value/loss``-style keys)."""

    def write(self, values: Mapping[str, float], step: int) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class VariableSource(Protocol):
    """Gives CPU numpy parameters of a learner's policy (what is broadcast to workers)."""

    def get_variables(self) -> dict[str, np.ndarray]: ...
