"""Experiment 1, value bias vs horizon: every value learner on the horizon family, expert data.

    python -m sc2agents.bin.study --experiment=value_bias --budget=small

``small`` fits one 2-core machine in about an hour with ``--processes=2`` (H100 and H1k, 3 seeds,
600 updates of batch 32 per cell: measured on an idle core, fullyconv_tiny at 16 px, one torch
thread, the seven methods cost 47/68/73/198/57/367/100 ms per update for
dqn/cql/nstep_sarsa/sharsa/mc/crl/qrl, i.e. ~0.9 s per update of all seven; 600 updates are
enough for MC to beat the constant predictor on H100, 150 were not). Measured on two idle cores
with ``--processes=2``: the six methods other than CRL in 13.1 min (36 cells), CRL's 3 H1k cells in
3.1 min, so all seven take about 20 min. ``small_crl`` is CRL alone. ``full`` adds H10k and the
melee family, 5 seeds, the lite encoder and 50k updates (cluster / GPU).
"""

from __future__ import annotations

ALL_METHODS = ("dqn", "cql", "nstep_sarsa", "sharsa", "mc", "crl", "qrl")
# CRL costs 367 ms per update (two critics and a DDPG+BC actor), 40% of the seven methods' cost;
# `small_crl` runs it alone (on a loaded machine its cells ran separately from the other six).
SMALL_METHODS = ALL_METHODS


def get_config():
    return {
        "experiment": "value_bias",
        "budgets": {
            "tiny": {
                "tasks": ("BeaconChain-H100",),
                "methods": ("dqn", "mc"),
                "seeds": (0, 1, 2),
                "episodes": 4,
                "steps": 3,
                "batch_size": 8,
                "eval_points": 64,
                "data_root": "datasets/study_tiny",
            },
            "small": {
                "tasks": ("BeaconChain-H100", "BeaconChain-H1k"),
                "methods": SMALL_METHODS,
                "seeds": (0, 1, 2),
                "episodes": 12,
                "steps": 600,
                "batch_size": 32,
                "eval_points": 512,
            },
            "small_crl": {  # CRL at the small budget (~6 min per cell idle)
                "tasks": ("BeaconChain-H100", "BeaconChain-H1k"),
                "methods": ("crl",),
                "seeds": (0, 1, 2),
                "episodes": 12,
                "steps": 600,
                "batch_size": 32,
                "eval_points": 512,
            },
            "melee_small": {  # the melee (32 px) at the small budget; ~13 min on 2 idle cores
                "tasks": ("Melee-H850",),
                "methods": ("dqn", "nstep_sarsa", "mc"),
                "seeds": (0, 1, 2),
                "episodes": 12,
                "size": 32,
                "steps": 600,
                "batch_size": 32,
                "eval_points": 512,
            },
            "probe": {  # one seed, 13x the small budget's updates: do the values separate?
                "tasks": ("BeaconChain-H100",),
                "methods": ("dqn", "mc"),
                "seeds": (0,),
                "episodes": 12,
                "steps": 2000,
                "batch_size": 32,
                "eval_points": 768,
            },
            "full": {
                "tasks": (
                    "BeaconChain-H100",
                    "BeaconChain-H1k",
                    "BeaconChain-H10k",
                    "Melee-H850",
                    "Melee-H3k",
                    "Melee-H7k",
                ),
                "methods": ALL_METHODS,
                "seeds": (0, 1, 2, 3, 4),
                "episodes": 200,
                "size": 32,
                "encoder": "fullyconv_lite",
                "steps": 50_000,
                "batch_size": 256,
                "eval_points": 8192,
                "threads": 4,
            },
        },
    }
