"""Experiment 4, test-time action selection: BC actor alone vs best-of-N ranked by the critic.

    python -m sc2agents.bin.study --experiment=test_time --budget=small

SARSA critics (the SHARSA learner) with the BC actor; each cell evaluates the same trained learner
with N = 1 (BC sample), 4 and 16 candidate actions (``BestOfNPolicy``).
"""

from __future__ import annotations


def get_config():
    return {
        "experiment": "test_time",
        "budgets": {
            "tiny": {
                "methods": ("nstep_sarsa",),
                "seeds": (0, 1, 2),
                "episodes": 4,
                "steps": 3,
                "batch_size": 8,
                "eval_points": 64,
                "eval_episodes": 1,
                "eval_envs": 1,
                "best_of_n": (1, 4),
                "data_root": "datasets/study_tiny",
            },
            "small": {
                "tasks": ("BeaconChain-H100",),
                "methods": ("nstep_sarsa",),
                "seeds": (0, 1, 2),
                "episodes": 24,
                "quality": "medium",
                "steps": 600,
                "batch_size": 32,
                "eval_points": 512,
                "eval_episodes": 8,
                "best_of_n": (1, 4, 16),
            },
            "full": {
                "tasks": ("BeaconChain-H100", "BeaconChain-H1k"),
                "methods": ("nstep_sarsa", "sharsa"),
                "seeds": (0, 1, 2, 3),
                "episodes": 500,
                "quality": "medium",
                "size": 32,
                "encoder": "fullyconv_lite",
                "steps": 50_000,
                "batch_size": 256,
                "eval_episodes": 64,
                "best_of_n": (1, 4, 16, 64),
                "threads": 4,
            },
        },
    }
