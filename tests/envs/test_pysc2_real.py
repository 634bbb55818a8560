"""The real game (``sc2`` marker: skipped unless SC2PATH points at a StarCraft II install).

Run with ``SC2PATH=~/StarCraftII pytest -m sc2 tests/envs/test_pysc2_real.py``; the docker image
``sc2agents:sc2`` has the game. Melee tests need Blizzard's melee map pack under ``Maps/Melee``.
"""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from sc2agents.envs import features, maps, pysc2_env, pysc2_replay

pytestmark = pytest.mark.sc2

SIZE = 32


def random_actions(obs, rng, env):
    """Uniform over available functions, uniform arguments (what SC2LE's random agent does)."""
    avail = np.asarray(obs["available_actions"], bool)
    fn = np.array([rng.choice(np.flatnonzero(a)) for a in avail], np.int64)
    high = np.asarray(env.single_action_space["args"].high, np.int64)
    args = rng.integers(0, high + 1, size=(len(fn), len(high)))
    return {"function": fn, "args": np.where(features.FUNCTION_ARG_MASK[fn], args, -1)}


@pytest.fixture(scope="module", autouse=True)
def _maps_installed():
    maps.install_maps()  # idempotent; the mini-games must be where the game reads maps


def _needs_melee():
    try:
        maps.locate_map("Simple64", maps.find_sc2())
    except maps.MapNotFoundError as e:
        pytest.skip(str(e))


def test_minigame_episode(tmp_path):
    env = pysc2_env.PySC2VectorEnv(
        1, "MoveToBeacon", screen_size=SIZE, minimap_size=SIZE, seed=1,
        save_replay_dir=tmp_path,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    try:
        obs, _ = env.reset(seed=1)
        loops, total = [int(obs["game_loop"][0, 0])], 0.0
        for _ in range(2000):
            obs, r, term, trunc, info = env.step(random_actions(obs, rng, env))
            assert env.observation_space.contains(obs)
            loops.append(int(obs["game_loop"][0, 0]))
            total += float(r[0])
            if term[0] or trunc[0]:
                break
        assert term[0] or trunc[0], "MoveToBeacon lasts 120 s: the episode must end"
        assert not info["episode_failed"][0]
        assert np.all(np.diff(loops) > 0) and total >= 0
        assert info["episode"]["score"][0] == total  # mini-game reward = score increments
        assert obs["screen"].shape == (1, 26, SIZE, SIZE)
    finally:
        env.close()
    assert len(env.replays) == 1 and os.path.getsize(env.replays[0]) > 0


def test_replay_saved_and_observed_back(tmp_path):
    env = pysc2_env.PySC2VectorEnv(
        1, "MoveToBeacon", screen_size=SIZE, minimap_size=SIZE, save_replay_dir=tmp_path
    )
    rng = np.random.default_rng(1)
    try:
        obs, _ = env.reset()
        while True:
            obs, r, term, trunc, _ = env.step(random_actions(obs, rng, env))
            if term[0] or trunc[0]:
                break
    finally:
        env.close()
    (replay,) = env.replays
    assert replay.endswith(".SC2Replay")
    episodes = pysc2_replay.observe_replay(
        replay, {"screen_size": SIZE, "minimap_size": SIZE, "players": [1]}
    )
    pysc2_replay.close_worker_games()
    (ep,) = episodes
    assert ep.num_steps > 10 and ep.observations["screen"].shape[1:] == (26, SIZE, SIZE)
    assert (ep.actions["function"] != 0).any()  # the random agent's actions come back


def test_melee_vs_very_easy_bot():
    _needs_melee()
    env = pysc2_env.PySC2VectorEnv(
        1, "Simple64", screen_size=SIZE, minimap_size=SIZE, bot_race="zerg",
        difficulty="very_easy", game_steps_per_episode=16 * 60,
    )  # fmt: skip
    rng = np.random.default_rng(2)
    try:
        obs, _ = env.reset()
        for _ in range(16 * 60 // 8 + 5):
            obs, r, term, trunc, info = env.step(random_actions(obs, rng, env))
            if term[0] or trunc[0]:
                break
        assert trunc[0] and not term[0]  # cut by the 1-minute limit, not a game end
        assert obs["player"][0, 1] >= 0 and obs["game_loop"][0, 0] >= 16 * 60
    finally:
        env.close()


def test_two_agents_in_one_game():
    _needs_melee()
    env = pysc2_env.PySC2VectorEnv(
        2, "Simple64", num_agents=2, screen_size=SIZE, minimap_size=SIZE,
        agent_race=["terran", "zerg"], game_steps_per_episode=8 * 20,
    )  # fmt: skip
    rng = np.random.default_rng(3)
    try:
        obs, _ = env.reset()
        assert obs["player"][:, 0].tolist() == [1, 2]
        for _ in range(25):
            obs, r, term, trunc, info = env.step(random_actions(obs, rng, env))
            if trunc.all():
                break
        assert trunc.all() and obs["game_loop"][0, 0] == obs["game_loop"][1, 0]
    finally:
        env.close()


def test_killed_game_process_is_replaced():
    env = pysc2_env.PySC2VectorEnv(1, "MoveToBeacon", screen_size=SIZE, minimap_size=SIZE)
    try:
        obs, _ = env.reset()
        obs, *_ = env.step({"function": np.zeros(1, np.int64), "args": -np.ones((1, 13), np.int64)})
        proc = env._games[0].env._sc2_procs[0]._proc  # the SC2_x64 subprocess
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        _, _, _, trunc, info = env.step(
            {"function": np.zeros(1, np.int64), "args": -np.ones((1, 13), np.int64)}
        )
        assert info["episode_failed"][0] and trunc[0]
        obs, *_ = env.step({"function": np.zeros(1, np.int64), "args": -np.ones((1, 13), np.int64)})
        assert obs["game_loop"][0, 0] == 0 and env.crashes == 1  # a fresh game, new episode
    finally:
        env.close()
