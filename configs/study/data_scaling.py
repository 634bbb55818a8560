"""Experiment 2, data scaling: value error and policy success at 1x/4x/16x/64x data per method.

    python -m sc2agents.bin.study --experiment=data_scaling --budget=small

A fixed gradient budget per cell (as ALGORITHMS.md §D.1); the datasets of one task share their
first episodes (same rollout seed). ``small``: H100, DQN and MC, 2-episode base (2/8/32/128
episodes), 600 updates of batch 32 per cell (150 of batch 16 learned nothing).
"""

from __future__ import annotations


def get_config():
    return {
        "experiment": "data_scaling",
        "budgets": {
            "tiny": {
                "methods": ("mc",),
                "seeds": (0, 1, 2),
                "episodes": 2,
                "data_multipliers": (1, 2),
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
                "episodes": 2,
                "data_multipliers": (1, 4, 16, 64),
                "quality": "mixed",
                "steps": 600,
                "batch_size": 32,
                "eval_points": 768,
                "eval_episodes": 4,
            },
            "full": {
                "tasks": ("BeaconChain-H100", "BeaconChain-H1k", "BeaconChain-H10k"),
                "methods": ("dqn", "cql", "nstep_sarsa", "sharsa", "mc", "crl", "qrl"),
                "seeds": (0, 1, 2, 3),
                "episodes": 50,
                "data_multipliers": (1, 4, 16, 64),
                "quality": "mixed",
                "size": 32,
                "encoder": "fullyconv_lite",
                "steps": 100_000,
                "batch_size": 256,
                "eval_points": 8192,
                "eval_episodes": 32,
                "threads": 4,
            },
        },
    }
