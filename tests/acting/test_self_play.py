"""Match types and the league loop on fakes (in-process pool)."""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.acting import self_play
from sc2agents.acting.league import LeagueStore, Member
from sc2agents.acting.self_play import (
    CheckpointWatcher,
    MatchSpec,
    ScoreMatch,
    SelfPlayRunner,
    TwoAgentMatch,
    play_match,
)
from tests.acting import fakes

ORACLE = "py:tests.acting.fakes:OraclePolicy"
HALF = "py:tests.acting.fakes:HalfOraclePolicy"


def test_score_match_compares_scores_on_the_same_seeds():
    m = ScoreMatch(fakes.ENV_ID, games=2)
    out = m.play(fakes.OraclePolicy(), fakes.HalfOraclePolicy(), seed=3)
    assert (out.outcome, out.score_a, out.score_b) == (1, 2 * fakes.STEPS, fakes.STEPS)
    assert m.play(fakes.OraclePolicy(), fakes.OraclePolicy(), seed=3).outcome == 0
    rec = play_match(MatchSpec(7, "h", "o", HALF, ORACLE, 11, m))
    assert rec.outcome == -1 and rec.match_id == 7 and rec.kind == "score"


def test_two_agent_match():
    m = TwoAgentMatch(fakes.ENV_ID)
    out = m.play(fakes.OraclePolicy(), fakes.HalfOraclePolicy(), seed=0)
    assert out.outcome == 1 and out.length == fakes.STEPS
    out = m.play(fakes.HalfOraclePolicy(), fakes.OraclePolicy(), seed=0)
    assert out.outcome == -1


def test_runner_plays_records_and_adds_snapshots(tmp_path):
    members = [Member("oracle", ORACLE, fixed=True), Member("half", HALF), Member("rnd", "random")]
    store = LeagueStore(tmp_path, snapshot_every=5)
    runner = SelfPlayRunner(
        store, ScoreMatch(fakes.ENV_ID), members=members, seed=1, matches_per_round=6
    )
    league = runner.run(12)
    assert league.num_matches == 12 and not runner.failed
    ids = [m.match_id for m in store.matches()]
    assert sorted(ids) == list(range(12))
    assert league.table()[0]["name"] == "oracle"
    # A new snapshot joins mid-run and plays from the next round.
    runner.add_snapshot("half2", HALF, step=100)
    runner.run(24)
    assert league.members["half2"].added_at == 12 and league.members["half2"].meta == {"step": 100}
    assert sum(league.payoff.games("half2", o) for o in ("oracle", "half", "rnd")) > 0
    store.close()
    resumed = SelfPlayRunner(LeagueStore(tmp_path), ScoreMatch(fakes.ENV_ID), members=members)
    assert resumed.league.state() == league.state()


def test_runner_reports_failed_matches_without_recording_them(tmp_path):
    class Boom(ScoreMatch):
        def play(self, a, b, seed):
            raise RuntimeError("env exploded")

    members = [Member("a", ORACLE), Member("b", HALF)]
    runner = SelfPlayRunner(LeagueStore(tmp_path), Boom(fakes.ENV_ID), members=members)
    assert runner.run_round(4) == [] and len(runner.failed) == 4
    assert "env exploded" in runner.failed[0][1]
    with pytest.raises(RuntimeError, match="all 4 matches failed"):
        runner.run(4)
    assert runner.league.num_matches == 0
    assert LeagueStore(tmp_path).matches() == []


def test_checkpoint_watcher_copies_new_checkpoints(tmp_path):
    from sc2agents.utils.checkpoint import save_checkpoint

    run_dir, league_dir = tmp_path / "run", tmp_path / "league"
    save_checkpoint(run_dir / "checkpoints", 10, {"step": 10})
    store = LeagueStore(league_dir)
    runner = SelfPlayRunner(store, ScoreMatch(fakes.ENV_ID), members=[Member("r", "random")])
    watcher = CheckpointWatcher(run_dir, league_dir, prefix="bc")
    new = watcher.poll(runner.league)
    assert [m.name for m in new] == ["bc@10"] and (league_dir / "members" / "bc@10.pt").exists()
    store.add_member(runner.league, new[0])
    assert watcher.poll(runner.league) == []  # already a member
    save_checkpoint(run_dir / "checkpoints", 20, {"step": 20})
    assert [m.name for m in watcher.poll(runner.league)] == ["bc@20"]
    assert np.isfinite(runner.league.rating("bc@10")[0])
    assert self_play.map_name(fakes.ENV_ID) == "FakeBeacon"


def test_a_bad_member_spec_is_named(tmp_path):
    members = [Member("ok", "random"), Member("broken", "bogus:thing")]
    runner = SelfPlayRunner(LeagueStore(tmp_path), ScoreMatch(fakes.ENV_ID), members=members)
    with pytest.raises(ValueError, match=r"league member 'broken' \(spec 'bogus:thing'\)"):
        runner.run(2)
