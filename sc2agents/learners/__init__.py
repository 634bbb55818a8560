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
"""

from __future__ import annotations

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

__all__ = [
    "LEARNERS",
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
]
