"""A learner checkpoint as an evaluated policy and as a league member (watcher -> copy -> play)."""

from __future__ import annotations

import pickle

import numpy as np

from sc2agents.acting.evaluator import Evaluator
from sc2agents.acting.league import LeagueStore, Member
from sc2agents.acting.policy import _storage_obs_spec, load_policy
from sc2agents.acting.self_play import CheckpointWatcher, ScoreMatch, SelfPlayRunner
from sc2agents.utils.checkpoint import save_checkpoint

SIZE = 16


def _bc_checkpoint(run_dir, step):
    from sc2agents.learners import LEARNERS

    cls = LEARNERS["bc"]
    import importlib

    cfg_cls = importlib.import_module(cls.__module__).BCConfig
    config = cfg_cls(encoder="fullyconv_tiny")
    obs_spec = {k: v for k, v in _storage_obs_spec(SIZE, SIZE).items() if k != "game_loop"}
    learner = cls(config, obs_spec, {"screen_size": SIZE, "minimap_size": SIZE})
    state = {  # the Trainer's checkpoint layout
        "step": step,
        "learner": learner.state_dict(),
        "config": {"learner": {"name": "bc", "encoder": "fullyconv_tiny"},
                   "env": {"screen_size": SIZE, "minimap_size": SIZE}},
        "learner_name": "bc",
        "obs_spec": {k: (list(s), str(np.dtype(d))) for k, (s, d) in obs_spec.items()},
        "action_spec": {"screen_size": SIZE, "minimap_size": SIZE},
    }  # fmt: skip
    return save_checkpoint(run_dir / "checkpoints", step, state)


def test_checkpoint_policy_evaluates_and_joins_a_league(tmp_path):
    path = _bc_checkpoint(tmp_path / "run", 5)
    policy = load_policy(f"ckpt:{path}@eps=0.1")
    pickle.loads(pickle.dumps(policy))  # crosses into pool workers
    env_kwargs = {"screen_size": SIZE, "minimap_size": SIZE}
    report = Evaluator("MoveToBeacon", games=1, env_kwargs=env_kwargs, max_steps=4).evaluate(
        str(tmp_path / "run"),
        desc=None,  # a run directory: its newest checkpoint
    )
    assert not report.errors and report.summary["minigame"]["length_mean"] == 4

    store = LeagueStore(tmp_path / "league")
    runner = SelfPlayRunner(
        store,
        ScoreMatch("sc2agents/Sim-MoveToBeacon-v0", tuple(env_kwargs.items()), max_steps=4),
        members=[Member("scripted", "scripted", fixed=True)],
        watchers=[CheckpointWatcher(tmp_path / "run", tmp_path / "league", prefix="bc")],
        matches_per_round=2,
    )
    runner.run(2)
    assert "bc@5" in runner.league.members and runner.league.num_matches == 2
    assert runner.league.payoff.games("bc@5", "scripted") == 2
    _bc_checkpoint(tmp_path / "run", 9)  # training goes on: the next round picks it up
    runner.run(3)
    assert "bc@9" in runner.league.members
    store.close()


def test_bad_checkpoints_name_the_file_and_the_problem(tmp_path):
    import pytest

    bare = save_checkpoint(tmp_path / "a", 1, {"step": 1})
    with pytest.raises(ValueError, match=r"ckpt_000000001\.pt: cannot find .*learner name"):
        load_policy(f"ckpt:{bare}")
    alien = save_checkpoint(
        tmp_path / "b", 1,
        {"learner": {}, "learner_name": "nope", "obs_spec": {}, "action_spec": {}},
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"learner 'nope' is not in LEARNERS"):
        load_policy(str(alien))
    with pytest.raises(FileNotFoundError, match="no ckpt_"):
        load_policy(f"ckpt:{tmp_path}")
