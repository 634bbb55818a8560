"""Two agents in one simulator melee game (`SimTwoAgentEnv`), and bots on the simulator."""

from __future__ import annotations

import hashlib

import numpy as np

from sc2agents.acting import env_loop
from sc2agents.acting.evaluator import Evaluator, PolicyOpponent, make_env, parse_opponents
from sc2agents.acting.policy import load_policy
from sc2agents.acting.self_play import TwoAgentMatch
from sc2agents.acting.two_agent import SimTwoAgentEnv
from sc2agents.envs.sim.vector_env import storage_observation_space

KW = {"screen_size": 16, "minimap_size": 16}


def test_sim_two_agent_env_slots_and_determinism():
    env = make_env("sc2agents/Sim-Simple64-v0", {**KW, "num_agents": 2}, num_envs=2)
    assert isinstance(env, SimTwoAgentEnv)
    obs, _ = env.reset(seed=3)
    space = storage_observation_space(16, 16)
    assert set(obs) == set(space.spaces)
    for k, v in obs.items():
        assert v.shape == (2, *space[k].shape), k
    rnd = load_policy("random")

    def digest(e):
        # What play depends on (SimState.queued_pos is left stale by resets, so not a full digest).
        st = e.engine.state
        fields = ("pos", "alive", "health", "unit_type")
        data = b"".join(np.ascontiguousarray(getattr(st, f)).tobytes() for f in fields)
        return hashlib.sha256(data).hexdigest()

    def digests(seed):
        out = []
        stats = env_loop.run_two_agent_episode(
            env, rnd, rnd, seed=seed, max_steps=60,
            frame_fn=lambda e: out.append(digest(e)) or np.zeros(1),
        )  # fmt: skip
        assert stats.length == 60 and stats.outcome == 0 and stats.truncated
        return out

    assert digests(5) == digests(5)  # a game is a function of its seed
    assert digests(5) != digests(6)


def test_two_agent_match_and_bots_on_the_simulator(tmp_path):
    match = TwoAgentMatch("sc2agents/Sim-Simple64-v0", tuple(KW.items()), max_steps=10)
    out = match.play(load_policy("random"), load_policy("random"), seed=0)
    assert out.outcome == 0 and out.length == 10
    ev = Evaluator(
        "Simple64",
        opponents=[*parse_opponents("very_easy"), PolicyOpponent("rnd", "random")],
        games=2,
        env_kwargs=KW,
        max_steps=10,
        video_games=[0],
        out_dir=tmp_path,
    )
    report = ev.evaluate("random", desc=None)
    assert not report.errors
    assert all(g.video for g in report.games if g.game_index == 0)
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2
    for opp in ("very_easy", "rnd"):
        s = report.summary[opp]
        assert s["games"] == 2 and s["wins"] + s["ties"] + s["losses"] == 2


def test_pysc2_agent_class_against_a_simulator_bot():
    ev = Evaluator("Simple64", opponents=parse_opponents("easy"), games=1, env_kwargs=KW,
                   max_steps=10)  # fmt: skip
    report = ev.evaluate("pysc2:pysc2_evolved.agents.random_agent.RandomAgent", desc=None)
    assert not report.errors and report.summary["easy"]["games"] == 1
