"""Report writers: PNGs exist and JSON is valid (NaN-free) for evaluations and leagues."""

from __future__ import annotations

import json

from rich.console import Console

from sc2agents.acting import reporting
from sc2agents.acting.evaluator import EvalReport, GameResult, summarize
from sc2agents.acting.league import League, MatchRecord, Member


def _games(opp, outcomes):
    return [GameResult(opp, i, i, float(o), 10, 80, o, 0.1) for i, o in enumerate(outcomes)]


def test_eval_plot_and_table(tmp_path):
    summary = {
        "hard": summarize(_games("hard", [-1, -1, 0])),
        "very_easy": summarize(_games("very_easy", [1, 1, 0])),
    }
    report = EvalReport("p", "sc2agents/Sim-Simple64-v0", summary, [], [])
    png = reporting.plot_win_rates(report, tmp_path / "wr.png")
    assert png.stat().st_size > 1000
    console = Console(width=150, record=True)
    console.print(reporting.eval_table(report))
    text = console.export_text()
    assert "very_easy" in text and "0.67" in text  # 2 of 3 wins


def test_league_report_files(tmp_path):
    league = League([Member("a", "random"), Member("b", "random"), Member("c", "random")])
    league.record(MatchRecord(0, "a", "b", 1, 1.0, 0.0, 5, 0))
    league.record(MatchRecord(1, "a", "b", 0, 1.0, 1.0, 5, 1))
    paths = reporting.write_league_report(league, tmp_path)

    def no_nan(token):
        raise ValueError(f"non-standard JSON constant {token}")

    data = json.loads((tmp_path / "ratings.json").read_text(), parse_constant=no_nan)
    assert data["num_matches"] == 2 and data["members"][0] == "a"
    i, j = data["members"].index("a"), data["members"].index("b")
    assert data["payoff"][i][j] == 0.75 and data["payoff"][i][data["members"].index("c")] is None
    for key in ("payoff_png", "ratings_png"):
        assert (tmp_path / paths[key].split("/")[-1]).stat().st_size > 1000
