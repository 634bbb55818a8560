"""Offline learners, one file each (ARCHITECTURE.md §2.3), and the registry ``LEARNERS``.

The registry key equals the file stem and the Config's ``learner_name``. Every learner is built as
``LEARNERS[name](config, obs_spec, action_spec, device=...)``; it satisfies `core.Learner`.

| key | file | paper |
|---|---|---|
| ``bc`` | ``bc.py`` | Vinyals et al. 2017 (SC2LE); Mathieu et al. 2023 (AlphaStar Unplugged) |
"""

from __future__ import annotations

from sc2agents.learners.bc import BCConfig, BCLearner

LEARNERS: dict[str, type] = {
    "bc": BCLearner,
}

__all__ = ["LEARNERS", "BCConfig", "BCLearner"]
