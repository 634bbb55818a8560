"""bin/play: subprocess smoke run writing a video, in-process runs, and flag errors."""

from __future__ import annotations

import os
import subprocess
import sys

import imageio.v2 as iio
import pytest
from absl import flags

from sc2agents.bin import play

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(*flags, env=None):
    e = dict(os.environ, PYTHONPATH=ROOT, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "sc2agents.bin.play", *flags],
        capture_output=True, text=True, cwd=ROOT, env=e, timeout=300,
    )  # fmt: skip


def test_play_subprocess_writes_gif_with_one_frame_per_step(tmp_path):
    video = tmp_path / "out" / "beacon.gif"
    res = _run("--map=MoveToBeacon", "--agent=scripted", "--episodes=2", f"--video={video}",
               "--game_steps_per_episode=64", "--render_size=96", "--seed=1")  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("episode")]
    assert len(lines) == 2 and "in 8 steps" in lines[0]
    assert "mean score over 2 episode(s)" in res.stdout
    frames = iio.mimread(video)
    # 8 steps per episode: 9 frames each (the first observation and one after every step).
    assert len(frames) == 18 and frames[0].shape == (96, 96, 3)


def test_play_sim_in_process_mp4_and_scores(tmp_path):
    video = tmp_path / "roaches.mp4"
    lines = []
    result = play.play_sim("DefeatRoaches", "scripted", episodes=1, video=str(video),
                           game_steps_per_episode=160, render_size=128, seed=0,
                           log=lines.append)  # fmt: skip
    assert result.steps == [20] and result.frames == 21
    assert result.scores[0] > 0 and result.mean_score == result.scores[0]
    assert len(iio.mimread(video, memtest=False)) == 21
    assert any("mean score" in ln for ln in lines)


def test_play_pysc2_agent_class_path_and_max_steps():
    result = play.play_sim("CollectMineralShards", "pysc2_evolved.agents.random_agent.RandomAgent",
                           episodes=1, max_steps=5, seed=0, log=lambda s: None)  # fmt: skip
    assert result.steps == [5]


def _main(*argv):
    """Run play.main in-process with these flags (own FlagValues); returns the exit message."""
    fv = flags.FlagValues()
    play.define_flags(fv)
    fv(["play", *argv])
    saved = play.FLAGS
    play.FLAGS = fv
    try:
        play.main(["play"])
    except SystemExit as e:
        return str(e.code)
    finally:
        play.FLAGS = saved
    return None


def test_importing_play_defines_no_flags():
    code = (
        "from absl import flags; import sc2agents.bin.play as p; "
        "assert 'backend' not in flags.FLAGS; p.define_flags(); p.define_flags(); "
        "assert flags.FLAGS['backend'].default == 'sim'"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT), timeout=120)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]


def test_play_errors_are_clear():
    assert "some.SC2Replay does not exist" in _main("--replay=some.SC2Replay")
    assert "cannot import module 'no_such'" in _main("--agent=no_such.Agent")
    assert "NoSuchMap" in _main("--map=NoSuchMap", "--agent=random")
    assert "no policy for map 'NoSuchMap'" in _main("--map=NoSuchMap", "--agent=scripted")
    assert "--backend=pysc2" in _main("--save_replay=/tmp/x")


def test_visualize_without_display_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    msg = _main("--map=MoveToBeacon", "--visualize", "--game_steps_per_episode=16")
    assert "DISPLAY" in msg and "--video" in msg


def test_pysc2_backend_flag_translation():
    assert play._pysc2_agent_spec("scripted", "DefeatRoaches") == "scripted:DefeatRoaches"
    assert play._pysc2_agent_spec("random", "Simple64") == "random"
    assert play._pysc2_agent_spec("a.b.Agent", "x") == "pysc2:a.b.Agent"
    assert play._pysc2_agent_spec("ckpt:run/ckpt.pt", "x") == "ckpt:run/ckpt.pt"


def test_pysc2_backend_without_game_fails_clearly(monkeypatch):
    monkeypatch.setenv("SC2PATH", "/nonexistent")
    msg = _main("--backend=pysc2", "--map=MoveToBeacon", "--agent=random")
    assert msg.startswith("play (pysc2 backend):") and "/nonexistent" in msg


def test_sim_melee_plays_the_requested_bot_and_rejects_other_races():
    env = play._sim_env("Simple64", 8, 32, 32, 0, None, "hard")
    try:
        assert [p.name for p in play._engine_of(env).bots.params] == ["hard"]
    finally:
        env.close()
    with pytest.raises(ValueError, match="bots are Terran"):
        play._sim_env("Simple64", 8, 32, 32, 0, None, "hard", "zerg")
    with pytest.raises(ValueError, match="unknown; one of very_easy"):
        play._sim_env("Simple64", 8, 32, 32, 0, None, "superhard")
