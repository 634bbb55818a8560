"""Experiment 5 helpers: next-macro-action targets and the by-game split."""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.envs import features
from sc2agents.study import replays


def _fid(name: str) -> int:
    return next(int(f.id) for f in features.FUNCTIONS if f.name == name)


def test_macro_functions_are_macro_names():
    names = {features.FUNCTIONS[int(i)].name for i in replays.MACRO_FUNCTIONS}
    assert "Build_Barracks_screen" in names and "Train_Marine_quick" in names
    assert "Move_screen" not in names and "no_op" not in names


def test_next_macro_targets():
    move, noop = _fid("Move_screen"), _fid("no_op")
    bar, marine = _fid("Build_Barracks_screen"), _fid("Train_Marine_quick")
    fn = np.array([noop, move, bar, move, marine, noop])
    np.testing.assert_array_equal(
        replays.next_macro_targets(fn), [bar, bar, bar, marine, marine, -1]
    )


def test_game_split_keeps_games_together():
    games = ["a", "a", "b", "b", "c", "c", "d", "d"]
    tr, va = replays.game_split(games, 0.25, seed=1)
    assert len(va) == 2 and len(tr) == 6
    assert {games[i] for i in va}.isdisjoint({games[i] for i in tr})
    with pytest.raises(ValueError, match=">= 2 games"):
        replays.game_split(["a", "a"], 0.5)
