"""Built-in bots (sim.bots): difficulty parsing, valid actions only, monotone strength."""

from __future__ import annotations

import numpy as np
import pytest
from pysc2_evolved.env import sc2_env

from sc2agents.envs import features
from sc2agents.envs.sim import bots
from sc2agents.envs.sim.engine import SimEngine

LEVELS = list(bots.LEVELS)


def test_every_pysc2_difficulty_has_a_level_in_order():
    names = [d.name for d in sorted(sc2_env.Difficulty, key=lambda d: d.value)]
    assert LEVELS == names
    for d in sc2_env.Difficulty:
        assert bots.bot_params(d).name == d.name
        assert bots.bot_params(int(d.value)).name == d.name
        assert bots.bot_params(d.name) is bots.LEVELS[d.name]
    # monotone knobs: never fewer actions per minute, workers or barracks than the level below
    for lo, hi in zip(LEVELS, LEVELS[1:], strict=False):
        a, b = bots.LEVELS[lo], bots.LEVELS[hi]
        assert b.apm > a.apm and b.max_workers >= a.max_workers and b.barracks >= a.barracks
    assert bots.LEVELS["cheat_vision"].full_vision and bots.LEVELS["cheat_insane"].income_mult > 1


@pytest.mark.parametrize("bad", ["impossible", 99, 3.5])
def test_unknown_difficulty_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="unknown bot difficulty"):
        bots.bot_params(bad)


def test_bots_need_an_economy_map():
    with pytest.raises(ValueError, match="economy map"):
        SimEngine("MoveToBeacon", 1, num_players=0, bots=["easy"])


@pytest.mark.parametrize("pair", [LEVELS[i : i + 2] for i in range(0, len(LEVELS), 2)])
def test_bots_never_issue_an_invalid_action(pair):
    """Each bot action is available and in range when issued (checked here, and the engine
    validates bot actions with action_error='raise')."""
    eng = SimEngine("Simple64", 2, num_players=0, bots=pair, seed=1)
    eng.reset()
    issued = []
    act = eng.bots.act

    def checked(e):
        fn, args = act(e)
        for b in range(fn.shape[0]):
            avail = e.available_mask(e.num_players + b)
            assert avail[np.arange(fn.shape[1]), fn[b]].all()
            need = features.FUNCTION_ARG_MASK[fn[b]]
            assert ((args[b] >= 0) | ~need).all()
            assert ((args[b] == -1) | need).all()
        issued.append(fn.copy())
        return fn, args

    eng.bots.act = checked
    empty = (np.zeros((0, 2), np.int64), np.zeros((0, 2, 13), np.int64))
    for _ in range(300):
        eng.step_encoded(*empty)
    used = np.unique(np.concatenate([f.ravel() for f in issued]))
    # they really play: select, gather, build, train
    for name in ("select_point", "Harvest_Gather_screen", "Train_SCV_quick"):
        assert features.FUNCTION_IDS[name] in used, name


def _play(a: str, b: str, games: int, seed: int) -> np.ndarray:
    eng = SimEngine("Simple64", games, num_players=0, bots=[a, b], seed=seed)
    eng.reset()
    empty = (np.zeros((0, games), np.int64), np.zeros((0, games, 13), np.int64))
    out = np.zeros(games)
    done = np.zeros(games, bool)
    while not done.all():
        res = eng.step_encoded(*empty)
        new = (res.terminated | res.truncated) & ~done
        out[new] = eng.episode_reward[0, new]
        done |= new
    return out


def test_stronger_bot_beats_weaker_on_a_small_seeded_round_robin():
    """medium vs very_easy, 2 seeded games from each side."""
    r = np.concatenate(
        [_play("medium", "very_easy", 2, seed=1), -_play("very_easy", "medium", 2, 2)]
    )
    assert (r > 0).sum() > r.size / 2, r


@pytest.mark.slow
def test_three_level_round_robin():
    """very_easy, medium, hard: each beats the one below in most of 4 seeded games."""
    levels = ["very_easy", "medium", "hard"]
    for i in range(1, len(levels)):
        hi, lo = levels[i], levels[i - 1]
        r = np.concatenate([_play(hi, lo, 2, seed=i), -_play(lo, hi, 2, seed=10 + i)])
        assert (r > 0).sum() > r.size / 2, (hi, lo, r)


@pytest.mark.slow
def test_ladder_is_monotone_on_adjacent_levels():
    """Every level beats the level below in more than half of 8 seeded games."""
    for i in range(1, len(LEVELS)):
        hi, lo = LEVELS[i], LEVELS[i - 1]
        r = np.concatenate([_play(hi, lo, 4, seed=i), -_play(lo, hi, 4, seed=100 + i)])
        assert (r > 0).sum() > r.size / 2, (hi, lo, r)


def test_state_policy_plays_an_agent_player():
    eng = SimEngine("BuildMarines", 2, seed=0)
    pol = bots.StatePolicy(eng, bots.ECONOMY_PROFILES["BuildMarines"])
    eng.reset()
    pol.reset()
    for _ in range(1200):
        fn, args = pol.act(eng)
        eng.step_encoded(fn[None], args[None])  # action_error="raise": every action valid
    assert (eng.episode_reward[0] >= 3).all()  # marines trained by the agent player
    with pytest.raises(ValueError, match="not an agent player"):
        bots.StatePolicy(eng, "easy", player=1)
