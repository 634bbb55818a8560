"""The melee member of the horizon family: task registration, the bot demonstrator, datasets."""

from __future__ import annotations

import numpy as np
import pytest

from sc2agents.agents.state_demonstrator import StateDemonstrator
from sc2agents.data import sim_rollouts
from sc2agents.envs.sim import bots, scenarios, units
from sc2agents.envs.sim.vector_env import SimVectorEnv
from sc2agents.study import experiments as ex
from sc2agents.study import tasks

MELEE = ("Melee-H850", "Melee-H3k", "Melee-H7k")


def test_melee_tasks_registered_with_a_demonstrator():
    tasks.register_horizon_tasks()
    tasks.register_horizon_tasks()  # idempotent
    steps = []
    for name in MELEE:
        t = tasks.get_task(name)
        assert isinstance(t, tasks.MeleeTask)
        sc = scenarios.get_scenario(name)
        assert isinstance(sc, tasks.MeleeVsBot) and sc.default_bots == ("very_easy",)
        assert name in sim_rollouts.DEMONSTRATORS
        steps.append(t.step_mul)
    assert steps == [8, 2, 1]  # the same game, more agent steps
    assert ex.gamma_of("Melee-H850") == pytest.approx(1 - 1 / 850)


def test_melee_dataset_needs_32px(tmp_path):
    with pytest.raises(ValueError, match=r"Melee-H850: its demonstrator needs >= 32 px"):
        tasks.build_task_dataset("Melee-H850", quality="expert", episodes=1, root=tmp_path, size=16)


def test_loss_pays_zero_and_a_win_pays_one():
    """The scenario's melee reward is clipped at 0: +1 win, 0 loss (all read-outs in [0, 1])."""
    tasks.register_horizon_tasks()
    env = SimVectorEnv(2, "Melee-H850", screen_size=32, minimap_size=32, step_mul=8, seed=0)
    try:
        env.reset(seed=0)
        st = env.engine.state
        struct = st.alive & units.TABLE.structure[st.type_idx]
        st.alive[0] &= ~(struct[0] & (st.owner[0] == 1))  # game 0: the agent loses its CC
        st.alive[1] &= ~(struct[1] & (st.owner[1] == 2))  # game 1: the bot loses its CC
        noop = {"function": np.zeros(2, np.int64), "args": np.full((2, 13), -1, np.int64)}
        _, rew, term, trunc, _ = env.step(noop)
    finally:
        env.close()
    assert term.tolist() == [True, True] and not trunc.any()
    assert rew.tolist() == [0.0, 1.0]


def test_state_demonstrator_is_the_bot_and_resets_with_the_game():
    tasks.register_horizon_tasks()
    kw = dict(screen_size=32, minimap_size=32, step_mul=8, seed=1)
    env_a = SimVectorEnv(3, "Melee-H850", **kw)
    env_b = SimVectorEnv(3, "Melee-H850", **kw)
    try:
        demo = StateDemonstrator(env_a, "hard", seed=0)
        ref = bots.StatePolicy(env_b.engine, "hard")
        obs_a, _ = env_a.reset(seed=1)
        env_b.reset(seed=1)
        ref.reset()
        issued = 0
        for t in range(40):
            rows = np.array([0, 2]) if t % 2 else np.arange(3)
            sub = {k: v[rows] for k, v in obs_a.items()}
            fa, aa = demo.act_rows(sub, rows)
            fb, ab = ref.act(env_b.engine)
            np.testing.assert_array_equal(fa, fb[rows])
            np.testing.assert_array_equal(aa, ab[rows])
            issued += int((fb != 0).sum())
            obs_a, *_ = env_a.step({"function": fb, "args": ab})
            env_b.step({"function": fb, "args": ab})
        assert issued > 10  # the bot acted (selections, SCVs), not only no_ops
        # A new game (game_loop back to 0) resets the bot's memory of that game only.
        env_a.reset(seed=2, options={"reset_mask": np.array([False, True, False])})
        obs_a = env_a._observe()
        before = demo._policy._bots.step_count.copy()
        demo.act(obs_a)
        after = demo._policy._bots.step_count
        assert after[1] == 1 and after[0] == before[0] + 1
    finally:
        env_a.close()
        env_b.close()


def test_state_demonstrator_noise_and_errors():
    tasks.register_horizon_tasks()
    env = SimVectorEnv(4, "Melee-H850", screen_size=32, minimap_size=32, step_mul=8, seed=0)
    try:
        obs, _ = env.reset(seed=0)
        noisy = StateDemonstrator(env, "hard", epsilon=1.0, seed=3)
        fn, args = noisy.act(obs)
        assert obs["available_actions"][np.arange(4), fn].all()  # random but available
        with pytest.raises(ValueError, match="epsilon must be in"):
            StateDemonstrator(env, "hard", epsilon=1.5)
        with pytest.raises(ValueError, match="unknown bot difficulty"):
            StateDemonstrator(env, "godlike")
        with pytest.raises(KeyError, match="game_loop"):
            noisy.act({k: v for k, v in obs.items() if k != "game_loop"})
    finally:
        env.close()
    with pytest.raises(ValueError, match="needs a simulator env"):
        StateDemonstrator(object(), "hard")


@pytest.mark.slow
def test_expert_melee_dataset_wins_near_the_target_horizon(tmp_path):
    """Expert (hard bot vs very_easy): every game won, +1 only at the end, ~850 agent steps."""
    path = tasks.build_task_dataset(
        "Melee-H850", quality="expert", episodes=2, root=tmp_path, size=32, progress=False
    )
    from sc2agents.data.dataset import open_dataset

    ds = open_dataset(path)
    _, lengths, terminated = ex._episode_table(ds)
    assert terminated.all()
    assert np.all((lengths > 0.6 * 850) & (lengths < 1.5 * 850)), lengths
    rewards = np.concatenate([np.asarray(s.rewards) for s in ds.shards])
    ends = np.cumsum(lengths) - 1
    assert rewards[ends].tolist() == [1.0, 1.0] and rewards.sum() == 2.0
