"""`make quickstart`'s program end to end, with tiny budgets (slow: it runs five programs)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import imageio.v2 as iio
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_quickstart_runs_every_step_and_writes_its_outputs(tmp_path):
    out = tmp_path / "qs"
    env = dict(os.environ, PYTHONPATH=str(ROOT), SDL_VIDEODRIVER="dummy")
    res = subprocess.run(
        [sys.executable, "-m", "sc2agents.bin.quickstart", f"--out={out}", "--episodes=1",
         "--data_episodes=4", "--train_steps=20", "--eval_games=1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    for agent in ("scripted", "random"):
        frames = iio.mimread(out / f"{agent}_MoveToBeacon.mp4", memtest=False)
        assert len(frames) > 100  # a whole episode, one frame per step
    assert (out / "dataset" / "manifest.json").is_file()
    run = out / "runs" / "bc"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["run"]["steps"] == 20
    assert list(run.rglob("events.out.tfevents.*")), "no TensorBoard events"
    summary = json.loads((out / "eval" / "eval.json").read_text())
    assert summary  # the evaluator's summary of the trained policy
    assert list((out / "eval").rglob("*.mp4")), "no video of the trained policy"
