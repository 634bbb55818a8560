"""Behaviour cloning on human 1v1 replays; evaluated by win rate against built-in bots.

Needs a replay dataset (``python -m sc2agents.bin.build_dataset --source=replays ...`` into
``data/replays/1v1``; see docs) and, for evaluation, the StarCraft II binary (``env.backend=pysc2``
on a ladder map against the very easy and easy built-in bots). Without the game, set
``--config.eval.every=0 --config.eval.at_end=false`` to train and validate only.

    python -m sc2agents.bin.train --config=configs/bc_replays_1v1.py
"""

from __future__ import annotations

from sc2agents.training.config import experiment


def get_config():
    return experiment(
        "bc",
        learner_overrides={"encoder": "resnet_full"},
        env={"task": "Simple64", "backend": "pysc2", "screen_size": 64, "minimap_size": 64},
        data={"path": "data/replays/1v1", "build_if_missing": False, "batch_size": 64},
        run={"steps": 200_000, "log_every": 200, "val_every": 2_000, "checkpoint_every": 5_000},
        eval={"every": 20_000, "episodes": 20, "opponents": "very_easy,easy"},
    )
