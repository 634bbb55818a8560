"""The offline training program's library: config schema and validation, data, the loop, resume.

* `sc2agents.training.config`: `experiment` (what ``configs/*.py`` return), `resolve` (validation
  into a frozen `ExperimentConfig`, errors naming the key), `to_dict` (``config.json``),
  `ConfigError`.
* `sc2agents.training.loop`: `Trainer` (train, validate, evaluate, log, checkpoint, exact resume),
  `Components` / `DataSource` (the seams it is built from).
* `sc2agents.training.parts`: the real components: dataset (built when missing), episode split,
  per-learner samplers, learner registry, `Evaluator`, `Prefetcher`.

``python -m sc2agents.bin.train --config=configs/smoke.py`` is the command-line front end.
"""

from __future__ import annotations
