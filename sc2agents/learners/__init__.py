"""Offline learners, one file each (ARCHITECTURE.md §2.3), and the registry ``LEARNERS``.

The registry key equals the file stem and the Config's ``learner_name``. Every learner is built as
``LEARNERS[name](config, obs_spec, action_spec, device=...)``; it satisfies `core.Learner`.

| key | file | paper |
|---|---|---|
| ``bc`` | ``bc.py`` | Vinyals et al. 2017 (SC2LE); Mathieu et al. 2023 (AlphaStar Unplugged) |
| ``dqn`` | ``dqn.py`` | Mnih et al. 2015; van Hasselt et al. 2016 (double); Hessel et al. 2018 |
| ``cql`` | ``cql.py`` | Kumar et al. 2020 (CQL); Kumar et al. 2023 (Scaled QL, C51 option) |
| ``mc`` | ``mc.py`` | Park et al. 2025 (horizon reduction, n = inf); Park et al. 2024 |
| ``sharsa`` | ``sharsa.py`` | Park et al. 2025, "Horizon Reduction Makes RL Scalable" |
| ``crl`` | ``crl.py`` | Eysenbach et al. 2022, "Contrastive Learning as Goal-Conditioned RL" |
| ``qrl`` | ``qrl.py`` | Wang et al. 2023, "Optimal Goal-Reaching RL via Quasimetric Learning" |

**Value read-out.** Every learner in ``VALUE_LEARNERS`` (all but ``bc``, which learns no value and
has no ``values`` method) satisfies `ValueLearner`: ``learner.values(observations, actions,
goals=None) -> torch.Tensor [B]``, the learned value of the state-action pairs on the scale of the
discounted return, without gradients, networks in eval mode. ``learner.goal_conditioned`` says
whether ``goals`` are required (``crl`` with ``goal_mode="state"``, ``qrl``); without them it
raises ValueError. Per learner: ``dqn``/``cql`` ``Q(s, a)``; ``mc`` ``Q`` (``sigmoid`` for BCE);
``sharsa`` min/mean over critics of ``Q`` (``sigmoid`` for BCE); ``crl``
``min_e sigmoid(phi_e . psi_e / sqrt(d))``; ``qrl`` ``gamma ** d(z(s), z(g))`` (``gamma=`` keyword,
default ``config.gamma``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import torch

from sc2agents.learners.bc import BCConfig, BCLearner
from sc2agents.learners.cql import CQLConfig, CQLLearner
from sc2agents.learners.crl import CRLConfig, CRLLearner
from sc2agents.learners.dqn import DQNConfig, DQNLearner
from sc2agents.learners.mc import MCConfig, MCLearner
from sc2agents.learners.qrl import QRLConfig, QRLLearner
from sc2agents.learners.sharsa import SHARSAConfig, SHARSALearner

LEARNERS: dict[str, type] = {
    "bc": BCLearner,
    "dqn": DQNLearner,
    "cql": CQLLearner,
    "mc": MCLearner,
    "sharsa": SHARSALearner,
    "crl": CRLLearner,
    "qrl": QRLLearner,
}

VALUE_LEARNERS: tuple[str, ...] = ("dqn", "cql", "mc", "sharsa", "crl", "qrl")


@runtime_checkable
class ValueLearner(Protocol):
    """A learner with the public value read-out (every ``VALUE_LEARNERS`` entry)."""

    goal_conditioned: bool

    def values(
        self,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any],
        goals: Mapping[str, Any] | None = None,
    ) -> torch.Tensor: ...


__all__ = [
    "LEARNERS",
    "VALUE_LEARNERS",
    "BCConfig",
    "BCLearner",
    "CQLConfig",
    "CQLLearner",
    "CRLConfig",
    "CRLLearner",
    "DQNConfig",
    "DQNLearner",
    "MCConfig",
    "MCLearner",
    "QRLConfig",
    "QRLLearner",
    "SHARSAConfig",
    "SHARSALearner",
    "ValueLearner",
]
