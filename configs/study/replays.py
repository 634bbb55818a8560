"""Experiment 5, human replays: next-macro-action accuracy (BC) and win calibration (MC).

Build the dataset first (binary-free, ``build_dataset --source=replays``)::

    python -m sc2agents.bin.build_dataset --source=replays --replays=replays/ \
        --out=datasets/study/replays_16px --minimap_size=16 --screen_size=16
    python -m sc2agents.bin.study --experiment=replays --budget=small
"""

from __future__ import annotations


def get_config():
    return {
        "experiment": "replays",
        "budgets": {
            "small": {
                "tasks": ("replays",),
                "methods": ("bc", "mc"),
                "seeds": (0, 1, 2),
                "steps": 300,
                "batch_size": 32,
                "val_fraction": 0.25,
                "eval_points": 2048,
                "replay_path": "datasets/study/replays_16px",
            },
            "full": {
                "tasks": ("replays",),
                "methods": ("bc", "mc"),
                "seeds": (0, 1, 2, 3, 4),
                "steps": 50_000,
                "batch_size": 256,
                "val_fraction": 0.2,
                "encoder": "fullyconv_lite",
                "eval_points": 20_000,
                "replay_path": "datasets/study/replays_64px",
                "threads": 4,
            },
        },
    }
