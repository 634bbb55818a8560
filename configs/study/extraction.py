"""Experiment 3, policy extraction: DDPG+BC vs AWR actors on the same critic.

    python -m sc2agents.bin.study --experiment=extraction --budget=small

The two arms of a (method, seed) train on identical batches; the critic's updates do not read the
actor, so both arms extract from the same value function. Medium-quality data (30% random
actions), so extraction has something to improve on.
"""

from __future__ import annotations


def get_config():
    return {
        "experiment": "extraction",
        "budgets": {
            "tiny": {
                "methods": ("mc",),
                "seeds": (0, 1, 2),
                "episodes": 4,
                "steps": 3,
                "batch_size": 8,
                "eval_points": 64,
                "eval_episodes": 1,
                "eval_envs": 1,
                "data_root": "datasets/study_tiny",
            },
            "small": {
                "tasks": ("BeaconChain-H100",),
                "methods": ("dqn", "mc"),
                "seeds": (0, 1, 2),
                "episodes": 24,
                "quality": "medium",
                "steps": 600,
                "batch_size": 32,
                "eval_points": 512,
                "eval_episodes": 8,
            },
            "full": {
                "tasks": ("BeaconChain-H100", "BeaconChain-H1k"),
                "methods": ("dqn", "cql", "nstep_sarsa", "sharsa", "mc", "crl"),
                "seeds": (0, 1, 2, 3),
                "episodes": 500,
                "quality": "medium",
                "size": 32,
                "encoder": "fullyconv_lite",
                "steps": 50_000,
                "batch_size": 256,
                "eval_episodes": 64,
                "threads": 4,
            },
        },
    }
