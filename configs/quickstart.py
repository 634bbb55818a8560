"""Quickstart: train a learner for a few minutes on a small simulator MoveToBeacon dataset.

``make quickstart`` builds the dataset with ``bin/build_dataset`` and passes its path; the learner
is the config argument (ml_collections' ``--config=FILE:ARG``), so every learner runs with its own
defaults and the same budget::

    python -m sc2agents.bin.build_dataset --source=sim --map=MoveToBeacon --policy=mixed \\
        --episodes=64 --screen_size=32 --minimap_size=32 --out=out/quickstart/dataset
    python -m sc2agents.bin.train --config=configs/quickstart.py:bc \\
        --config.data.path=out/quickstart/dataset --config.run.out_dir=out/quickstart/runs

Without ``--config.data.path`` the program builds an equivalent dataset itself under ``data/sim/``.
"""

from __future__ import annotations

from sc2agents.training.config import experiment


def get_config(learner: str = "bc"):
    return experiment(
        learner,
        learner_overrides={"encoder": "fullyconv_tiny"},  # Minutes on a laptop CPU.
        env={"task": "MoveToBeacon", "screen_size": 32, "minimap_size": 32},
        data={"build_episodes": 64, "build_policy": "mixed", "batch_size": 32},
        # One torch thread: the tiny network gains nothing from two, and on a busy 2-core machine
        # two threads oversubscribe the cores (updates ran 10x slower). Evaluate once, at the end.
        run={
            "steps": 1_000,
            "log_every": 50,
            "val_every": 250,
            "checkpoint_every": 250,
            "num_threads": 1,
        },
        eval={"every": 0, "episodes": 2},
    )
