"""The offline training program's library: config schema and validation, data, the loop, resume.

* `sc2agents.training.config`: `experiment` (what ``configs/*.py`` return), `resolve` (validation
  into a frozen `ExperimentConfig`), `ConfigError`.
* `sc2agents.training.loop`: `Trainer` (train, validate, evaluate, log, checkpoint, resume).

``python -m sc2agents.bin.train --config=configs/smoke.py`` is the command-line front end.
"""

from __future__ import annotations
