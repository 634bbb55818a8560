"""The evaluator on the real game (needs SC2PATH; skipped without the binary)."""

from __future__ import annotations

import pytest

from sc2agents.acting.evaluator import Evaluator, parse_opponents


@pytest.mark.sc2
def test_pysc2_minigame_and_bot_games_with_replays(tmp_path):
    kw = dict(backend="pysc2", games=1, env_kwargs={"screen_size": 32, "minimap_size": 32})
    mini = Evaluator("MoveToBeacon", max_steps=20, replay_games=[0], out_dir=tmp_path, **kw)
    report = mini.evaluate("random", desc=None)
    assert not report.errors and report.summary["minigame"]["length_mean"] == 20
    assert report.games[0].replay and report.games[0].replay.endswith(".SC2Replay")
    bots = Evaluator("Simple64", opponents=parse_opponents("very_easy"), max_steps=50, **kw)
    s = bots.evaluate("random", desc=None).summary["very_easy"]
    assert s["games"] == 1 and s["wins"] + s["ties"] + s["losses"] == 1
