"""Shared torch modules (no learner logic): encoders, factored action heads, MLPs, quasimetrics.

* `spatial`: `EncoderConfig`, `SpatialEncoder` (per-layer embedding + AtariNet/FullyConv/ResNet).
* `presets`: named `EncoderConfig`s (``*_tiny`` for tests, ``fullyconv_lite`` default, ``*_full``).
* `heads`: `PolicyHead`, `FactoredQHead` / `FactoredQ` (exact max / logsumexp / expectation over the
  factored PySC2 action), `ActorNetwork`, `QNetwork`, `ValueNetwork`, CPU policies.
* `mlp`: `MLP`; `quasimetric`: `IQE`, `MRN`; `readout`: input checks of the learners' `values()`;
  `optimizers`: `adam` (fused where the device supports it).
"""

from __future__ import annotations

from sc2agents.networks import heads, optimizers, presets, readout, spatial
from sc2agents.networks.heads import (
    ActorNetwork,
    ActorPolicy,
    FactoredQ,
    FactoredQHead,
    GreedyQPolicy,
    PolicyHead,
    PolicyOutput,
    QNetwork,
    ValueNetwork,
)
from sc2agents.networks.mlp import MLP
from sc2agents.networks.quasimetric import IQE, MRN
from sc2agents.networks.spatial import EncoderConfig, EncoderOutput, SpatialEncoder

__all__ = [
    "IQE",
    "MLP",
    "MRN",
    "ActorNetwork",
    "ActorPolicy",
    "EncoderConfig",
    "EncoderOutput",
    "FactoredQ",
    "FactoredQHead",
    "GreedyQPolicy",
    "PolicyHead",
    "PolicyOutput",
    "QNetwork",
    "SpatialEncoder",
    "ValueNetwork",
    "heads",
    "optimizers",
    "presets",
    "readout",
    "spatial",
]
