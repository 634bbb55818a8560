"""The scaling study (issue 8): does Q-learning scale with horizon and data on SC2-like tasks?

* `sc2agents.study.tasks`: the horizon family (``BeaconChain-H100/H1k/H10k`` and the melee vs a
  built-in bot ``Melee-H850/H3k/H7k``, scenarios registered through the simulator's scenario
  registry) and its datasets of known quality;
* `sc2agents.study.experiments`: methods, budgets, cells and how one cell is run and measured;
* `sc2agents.study.metrics`: value error by distance to the episode end, CIs, calibration;
* `sc2agents.study.runner`: resumable execution (one result file per cell; local processes or
  Ray workers on demand);
* `sc2agents.study.report`: Markdown + PNG report;
* `sc2agents.study.replays`: experiment 5 on the human-replay dataset.

Entry point: ``python -m sc2agents.bin.study --experiment=NAME --budget=small|full``; results and
their reading are in ``docs/study.md``.
"""
