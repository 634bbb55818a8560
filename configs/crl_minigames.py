"""Contrastive RL on simulator minigames: the shared minigame protocol, one learner.

All ``*_minigames`` configs share the dataset (200 CollectMineralShards episodes, mixed
expert/medium/random scripted demonstrators, 32x32 layers), the lite FullyConv encoder, the budget
(50k updates of batch 64) and the evaluation (16 games every 5k updates), so that their
``eval/CollectMineralShards/minigame/score_mean`` curves compare like with like.

    python -m sc2agents.bin.train --config=configs/crl_minigames.py --config.run.seed=0
"""

from __future__ import annotations

from sc2agents.training.config import experiment


def get_config():
    return experiment(
        "crl",
        # Minigame evaluation gives the policy no goal state: use CRL's reward-goal variant
        # (the critic classifies reaching reward; y = clip(discounted return, 0, 1)).
        learner_overrides={"encoder": "fullyconv_lite", "goal_mode": "reward"},
        env={"task": "CollectMineralShards", "screen_size": 32, "minimap_size": 32},
        data={"build_episodes": 200, "build_policy": "mixed", "batch_size": 64},
        run={"steps": 50_000, "log_every": 100, "val_every": 1_000, "checkpoint_every": 2_500},
        eval={"every": 5_000, "episodes": 16},
    )
