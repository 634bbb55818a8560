"""League maths: payoff, PFSP, openskill ratings, matchmaking, and the event-log store."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sc2agents.acting.league import League, LeagueStore, MatchRecord, Member, Payoff, pfsp_weights


def _match(i, a, b, outcome):
    return MatchRecord(i, a, b, outcome, float(outcome > 0), float(outcome < 0), 10, i)


def test_payoff_counts_both_ways_and_win_rates():
    p = Payoff()
    for o in (1, 1, 0, -1):
        p.record("a", "b", o)
    assert p.counts("a", "b") == (2, 1, 1)
    assert p.counts("b", "a") == (1, 1, 2)
    assert p.win_rate("a", "b") == pytest.approx(2.5 / 4)
    assert p.win_rate("b", "a") == pytest.approx(1.5 / 4)
    assert p.win_rate("a", "c") == 0.5  # never met: prior
    m = p.matrix(["a", "b", "c"])
    assert m[0, 1] == pytest.approx(0.625) and np.isnan(m[0, 2]) and np.isnan(m[0, 0])
    assert Payoff.from_state(p.state()).counts("a", "b") == (2, 1, 1)


def test_pfsp_weights():
    x = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(pfsp_weights(x, "hard"), np.array([1.0, 0.25, 0.0]) / 1.25)
    np.testing.assert_allclose(pfsp_weights(x, "variance"), [0.0, 1.0, 0.0])
    np.testing.assert_allclose(pfsp_weights(x, "linear"), np.array([1.0, 0.5, 0.0]) / 1.5)
    np.testing.assert_allclose(pfsp_weights(np.ones(4), "hard"), np.full(4, 0.25))  # all beaten
    with pytest.raises(ValueError):
        pfsp_weights(x, "nope")


def test_ratings_order_follows_results_and_ties_keep_means():
    league = League([Member("strong", "s"), Member("mid", "m"), Member("weak", "w")])
    rng = np.random.default_rng(0)
    true = {"strong": 2.0, "mid": 1.0, "weak": 0.0}
    for i in range(150):
        a, b = rng.choice(list(true), 2, replace=False)
        p = 1 / (1 + np.exp(-(true[a] - true[b]) * 2))
        league.record(_match(i, a, b, 1 if rng.random() < p else -1))
    table = league.table()
    assert [r["name"] for r in table] == ["strong", "mid", "weak"]
    assert league.predict_win("strong", "weak") > 0.7
    assert table[0]["games"] + table[1]["games"] + table[2]["games"] == 300
    # A draw between equals leaves both means unchanged and shrinks sigma.
    eq = League([Member("x", "x"), Member("y", "y")])
    eq.record(_match(0, "x", "y", 0))
    (mx, sx, _), (my, sy, _) = eq.rating("x"), eq.rating("y")
    assert (
        mx == pytest.approx(25.0)
        and my == pytest.approx(25.0)
        and sx < 25 / 3
        and sy == pytest.approx(sx)
    )
    with pytest.raises(KeyError):
        eq.record(_match(1, "x", "ghost", 1))
    with pytest.raises(ValueError):
        eq.add_member(Member("x", "again"))


def test_matchmaking_uniform_and_pfsp():
    league = League(
        [Member("learner", "l"), Member("easy", "e", fixed=True), Member("hard", "h", fixed=True)]
    )
    for i in range(20):
        league.record(_match(2 * i, "learner", "easy", 1))
        league.record(_match(2 * i + 1, "learner", "hard", -1))
    rng = np.random.default_rng(0)
    pfsp = [league.choose_opponent("learner", rng, mode="pfsp") for _ in range(200)]
    assert pfsp.count("hard") == 200  # (1 - 0)^2 vs (1 - 1)^2: only the opponent it loses to
    uni = [league.choose_opponent("learner", rng, mode="uniform") for _ in range(400)]
    assert 150 < uni.count("hard") < 250
    var = [league.choose_opponent("learner", rng, weighting="variance") for _ in range(50)]
    assert set(var) <= {"easy", "hard"}  # all-zero variance weights fall back to uniform
    pairs = league.schedule(30, np.random.default_rng(1))
    assert all(a == "learner" for a, _ in pairs)  # fixed members are not "players"
    assert pairs == league.schedule(30, np.random.default_rng(1))  # seeded


def test_store_resume_equals_live_league_and_repairs_a_torn_line(tmp_path):
    store = LeagueStore(tmp_path, snapshot_every=4)
    live = League()
    for name in ("a", "b", "c"):
        store.add_member(live, Member(name, name))
    rng = np.random.default_rng(0)
    for i in range(10):
        a, b = rng.choice(["a", "b", "c"], 2, replace=False)
        store.record(live, _match(i, str(a), str(b), int(rng.integers(-1, 2))))
    store.close()
    assert (tmp_path / "snapshot.json").exists()
    snap_events = json.loads((tmp_path / "snapshot.json").read_text())["events"]
    assert 0 < snap_events < 13  # snapshot older than the log: resume must replay the tail
    # A write cut off mid-line (a kill during append).
    with open(tmp_path / "events.jsonl", "a") as f:
        f.write('{"type": "match", "match": {"match_id": 99, "a"')
    resumed = LeagueStore(tmp_path).load()
    assert resumed.state() == live.state()
    assert (tmp_path / "events.jsonl").read_text().endswith("\n")  # torn tail trimmed
    assert len(LeagueStore(tmp_path).matches()) == 10
    # Continuing after resume appends cleanly.
    store2 = LeagueStore(tmp_path)
    league2 = store2.load()
    store2.record(league2, _match(10, "a", "b", 1))
    store2.close()
    assert LeagueStore(tmp_path).load().num_matches == 11


def test_store_rejects_corruption_in_the_middle(tmp_path):
    store = LeagueStore(tmp_path)
    league = League()
    store.add_member(league, Member("a", "a"))
    store.add_member(league, Member("b", "b"))
    store.close()
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    (tmp_path / "events.jsonl").write_text(lines[0] + "\n{garbage\n" + lines[1] + "\n")
    with pytest.raises(ValueError, match="events.jsonl"):
        LeagueStore(tmp_path).load()
    assert LeagueStore(tmp_path / "empty").load() is None
