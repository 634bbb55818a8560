"""Smoke test: a few seconds end to end (tiny simulator dataset, tiny encoder, few steps).

Used by tests/bin/test_train.py and as the default of ``bin/train --config``. Every budget is tiny
on purpose: it checks that the program runs, not that the policy learns.

    python -m sc2agents.bin.train --config=configs/smoke.py
"""

from __future__ import annotations

from sc2agents.training.config import experiment


def get_config():
    return experiment(
        "bc",
        learner_overrides={"encoder": "fullyconv_tiny", "lr": 1e-3},
        env={"task": "MoveToBeacon", "screen_size": 16, "minimap_size": 16},
        data={"build_episodes": 6, "build_policy": "medium", "batch_size": 8, "prefetch": 2},
        run={
            "steps": 20,
            "log_every": 5,
            "val_every": 10,
            "val_batches": 2,
            "checkpoint_every": 10,
            "keep_checkpoints": 0,
            "device": "cpu",
            "num_threads": 1,  # Tiny tensors: extra threads only spin on a shared CPU.
            "progress": "none",
        },
        eval={"every": 0, "at_end": True, "episodes": 1, "max_steps": 40},
    )
