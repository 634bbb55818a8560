"""Evaluator, Wilson intervals, normalisation, episode loop (on fakes with the real spaces)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sc2agents.acting import env_loop, evaluator
from sc2agents.acting.evaluator import (
    Evaluator,
    PolicyOpponent,
    normalized_score,
    parse_opponents,
    resolve_env_id,
    wilson_interval,
)
from sc2agents.acting.policy import EpsilonGreedyPolicy, load_policy
from tests.acting import fakes


def test_wilson_interval_known_values_and_edges():
    # Reference values (Wilson 1927; e.g. Agresti & Coull 1998, table for 95%).
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-3)
    lo, hi = wilson_interval(10, 10)
    assert hi == 1.0 and lo == pytest.approx(0.7225, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    # Narrower with more games, always containing the estimate.
    for k, n in [(3, 7), (30, 70), (300, 700)]:
        lo, hi = wilson_interval(k, n)
        assert lo < k / n < hi
    assert (
        np.diff(
            [
                wilson_interval(k, n)[1] - wilson_interval(k, n)[0]
                for k, n in [(3, 7), (30, 70), (300, 700)]
            ]
        ).max()
        < 0
    )
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


def test_normalized_score_uses_the_b5_table():
    assert normalized_score(1.0, "MoveToBeacon") == 0.0
    assert normalized_score(26.0, "MoveToBeacon") == 1.0
    assert normalized_score(28.0, "MoveToBeacon", "grandmaster") == 1.0
    assert normalized_score(75.0, "CollectMineralShards") == pytest.approx((75 - 17) / (133 - 17))
    assert normalized_score(5.0, "NoSuchMap") is None


def test_resolve_env_and_opponents():
    assert resolve_env_id("MoveToBeacon") == "sc2agents/Sim-MoveToBeacon-v0"
    assert resolve_env_id("Simple64", "pysc2") == "sc2agents/PySC2-Simple64-v0"
    assert evaluator.map_name("sc2agents/Sim-MoveToBeacon-v0") == "MoveToBeacon"
    opps = parse_opponents("very_easy, hard/zerg")
    assert [o.name for o in opps] == ["very_easy", "hard/zerg"]
    assert opps[1].env_kwargs() == {"difficulty": "hard", "bot_race": "zerg"}
    with pytest.raises(ValueError, match="difficulty"):
        parse_opponents("impossible")


def test_run_episode_is_a_function_of_the_seed():
    env = fakes.FakeBeaconEnv()
    policy = EpsilonGreedyPolicy(fakes.OraclePolicy(), 0.5)
    a = env_loop.run_episode(env, policy, seed=3, record_actions=True)
    b = env_loop.run_episode(env, policy, seed=3, record_actions=True)
    assert a.length == fakes.STEPS and a.truncated and not a.terminated
    assert a.score == b.score and np.array_equal(a.actions["args"], b.actions["args"])
    assert 0 < a.score < fakes.STEPS  # epsilon 0.5 misses some beacons
    oracle = env_loop.run_episode(env, fakes.OraclePolicy(), seed=3)
    assert oracle.score == fakes.STEPS and oracle.game_loop == 8 * fakes.STEPS


def test_evaluator_minigame_report(tmp_path):
    ev = Evaluator(
        fakes.ENV_ID, games=6, seed=1, replay_games=[0], video_games=[1], out_dir=tmp_path
    )
    report = ev.evaluate(fakes.OraclePolicy(), name="oracle")
    s = report.summary["minigame"]
    assert s["games"] == 6 and s["score_mean"] == fakes.STEPS and s["score_std"] == 0.0
    assert "win_rate" not in s  # minigames have no outcome
    assert s["length_mean"] == fakes.STEPS
    replay = np.load(report.games[0].replay)
    assert (
        replay["function"].shape == (fakes.STEPS,) and int(replay["seed"]) == report.games[0].seed
    )
    assert report.games[1].video and (tmp_path / "videos").exists()
    data = json.loads(report.save_json(tmp_path / "r.json").read_text())
    assert data["summary"]["minigame"]["games"] == 6
    rand = ev.evaluate("random", games=6, desc=None).summary["minigame"]
    assert rand["score_mean"] < s["score_mean"]


def test_evaluator_against_bots_rates_and_intervals():
    opps = parse_opponents("very_easy,easy,medium,hard")
    ev = Evaluator(fakes.ENV_ID, opponents=opps, games=12, seed=0, games_per_task=5)
    half = ev.evaluate(fakes.HalfOraclePolicy(), name="half")
    # HalfOracle scores 4 of 8: beats very_easy (1) and easy (3), ties medium? no (5): loses.
    rates = {k: v["win_rate"] for k, v in half.summary.items()}
    assert rates == {"very_easy": 1.0, "easy": 1.0, "medium": 0.0, "hard": 0.0}
    for v in half.summary.values():
        assert v["games"] == 12 and v["wins"] + v["ties"] + v["losses"] == 12
        lo, hi = v["win_ci"]
        assert lo <= v["win_rate"] <= hi
    # Same seeds for every opponent (common random numbers).
    seeds = {o: sorted(g.seed for g in half.games if g.opponent == o) for o in rates}
    assert len({tuple(s) for s in seeds.values()}) == 1
    metrics = half.metrics()
    assert metrics["eval/FakeBeacon/easy/win_rate"] == 1.0


def test_evaluator_two_agent_games():
    opp = PolicyOpponent("half", fakes.HalfOraclePolicy())
    report = Evaluator(fakes.ENV_ID, opponents=[opp], games=4).evaluate(fakes.OraclePolicy())
    assert report.summary["half"]["games"] == 4
    assert report.summary["half"]["win_rate"] == 1.0
    # The other way round the oracle opponent wins every game.
    opp = PolicyOpponent("oracle", fakes.OraclePolicy())
    report = Evaluator(fakes.ENV_ID, opponents=[opp], games=4).evaluate(fakes.HalfOraclePolicy())
    assert report.summary["oracle"]["loss_rate"] == 1.0


def test_crashed_game_is_rerun_and_failures_are_reported(tmp_path):
    marker = tmp_path / "crashed"
    ev = Evaluator(fakes.ENV_ID, games=3, env_kwargs={"crash_marker": str(marker)})
    report = ev.evaluate(fakes.OraclePolicy(), desc=None)
    assert marker.exists() and report.summary["minigame"]["games"] == 3 and not report.errors

    class Broken:
        def act(self, observations, rng=None):
            raise RuntimeError("policy bug")

    report = Evaluator(fakes.ENV_ID, games=2).evaluate(Broken(), desc=None)
    assert report.summary["minigame"]["games"] == 0
    assert len(report.errors) == 2 and "policy bug" in report.errors[0][2]


def test_load_policy_specs():
    assert type(load_policy("random")).__name__ == "RandomPolicy"
    p = load_policy("random@eps=0.5")
    assert isinstance(p, EpsilonGreedyPolicy) and p.epsilon == 0.5
    with pytest.raises(ValueError, match="unknown kind"):
        load_policy("bogus:thing")
    with pytest.raises(FileNotFoundError):
        load_policy("ckpt:/nonexistent/ckpt_000000001.pt")
    with pytest.raises(ValueError, match="epsilon"):
        load_policy("random@eps=x")
    spec = load_policy("pysc2:pysc2_evolved.agents.random_agent.RandomAgent")
    assert type(spec.make()).__name__ == "RandomAgent"
    assert math.isfinite(EpsilonGreedyPolicy(fakes.OraclePolicy(), 0.0).epsilon)


def test_simulator_scripted_policy_and_pysc2_agent_class(tmp_path):
    """The real simulator: a storage-form policy and a PySC2 BaseAgent class, same seeds."""
    from sc2agents.envs.sim.sim_replay import load_replay

    kw = dict(games=2, seed=0, env_kwargs={"screen_size": 16, "minimap_size": 16}, max_steps=30)
    ev = Evaluator("MoveToBeacon", replay_games=[1], out_dir=tmp_path, **kw)
    scripted = ev.evaluate("scripted", desc=None)
    # The simulator's own replay format: plays back bit-exactly (`bin/play --replay=`).
    assert scripted.games[0].replay is None and scripted.games[1].replay.endswith(".simreplay")
    engine = load_replay(scripted.games[1].replay).play()
    assert int(engine.state.game_loop[0]) == scripted.games[1].game_loop
    ev = Evaluator("MoveToBeacon", **kw)
    agent = ev.evaluate("pysc2:sc2agents.agents.MoveToBeaconAgent", desc=None)
    rand = ev.evaluate("pysc2:pysc2_evolved.agents.random_agent.RandomAgent", desc=None)
    for r in (scripted, agent, rand):
        assert not r.errors and r.summary["minigame"]["games"] == 2
        assert r.summary["minigame"]["length_mean"] == 30
    assert agent.summary["minigame"]["score_mean"] > rand.summary["minigame"]["score_mean"]
    assert "normalized_human" in agent.summary["minigame"]
