"""The random agent: uniform over the available functions and over each of their arguments.

Batched storage-form counterpart of `pysc2_evolved.agents.random_agent.RandomAgent`.
"""

from __future__ import annotations

import numpy as np

from sc2agents import core
from sc2agents.agents import base
from sc2agents.envs import features

__all__ = ["RandomPolicy", "random_actions"]

_SIZES = np.array(
    [features.ARG_TYPE_SIZES.get(name, 0) for name in features.ARG_TYPES], dtype=np.int64
)
_SPATIAL = np.array([name in features.SPATIAL_ARG_TYPES for name in features.ARG_TYPES])
_MINIMAP = np.array([name == "minimap" for name in features.ARG_TYPES])


def random_actions(
    observations: core.ObsBatch, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Uniform random available function per row and uniform arguments for it.

    Returns:
        ``(function [B] int64, args [B, 13] int64)`` in `features.encode_action` layout.
    """
    avail = np.asarray(observations["available_actions"], dtype=bool)
    b = avail.shape[0]
    if not avail.any(axis=1).all():
        raise ValueError("random agent: an observation has no available function")
    # Uniform over available functions: argmax of masked uniform noise (vectorised).
    noise = np.where(avail, rng.random(avail.shape), -1.0)
    function = noise.argmax(axis=1).astype(np.int64)
    screen, minimap = base.screen_size(observations), base.minimap_size(observations)
    sizes = np.where(_SPATIAL, np.where(_MINIMAP, minimap * minimap, screen * screen), _SIZES)
    values = (rng.random((b, features.NUM_ARG_TYPES)) * sizes).astype(np.int64)
    used = features.FUNCTION_ARG_MASK[function]
    args = np.where(used, values, -1).astype(np.int64)
    return function, args


class RandomPolicy:
    """`core.Policy` acting uniformly at random over available functions and arguments.

    Args:
        seed: seed of the generator used when ``act`` gets no ``rng``.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def act(
        self, observations: core.ObsBatch, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return random_actions(observations, rng if rng is not None else self._rng)
