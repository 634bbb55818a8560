"""bin/evaluate: the program end to end on the simulator, and its argument checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from absl import app

from sc2agents.bin import evaluate
from tests.conftest import REPO

SMALL = {"screen_size": 16, "minimap_size": 16}


def test_evaluate_subprocess_writes_table_json_and_png(tmp_path):
    out = tmp_path / "ev"
    cmd = [
        sys.executable, "-m", "sc2agents.bin.evaluate", "--policy=scripted", "--map=MoveToBeacon",
        "--games=3", "--screen_size=16", "--minimap_size=16", "--max_steps=40",
        f"--out={out}", "--replays=1",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "minigame" in proc.stdout and "norm (human)" in proc.stdout
    data = json.loads((out / "eval.json").read_text())
    s = data["summary"]["minigame"]
    assert s["games"] == 3 and len(data["games"]) == 3
    assert "normalized_human" in s and s["length_mean"] <= 40
    assert (out / "win_rates.png").stat().st_size > 1000
    assert len(list((out / "replays").glob("*.simreplay"))) == 1


def test_evaluate_scripted_beats_random_in_process(tmp_path):
    kw = dict(games=3, env_kwargs=SMALL, max_steps=60)
    scripted = evaluate.run("scripted", out=tmp_path / "s", **kw)["report"].summary["minigame"]
    rand = evaluate.run("random", out=tmp_path / "r", **kw)["report"].summary["minigame"]
    assert scripted["score_mean"] > rand["score_mean"]
    assert scripted["normalized_human"] > rand["normalized_human"]


def test_evaluate_rejects_bots_on_a_minigame(tmp_path):
    with pytest.raises(app.UsageError, match="melee map"):
        evaluate.run("random", map_="MoveToBeacon", opponents="easy", out=tmp_path)
    with pytest.raises(ValueError, match="unknown difficulty"):
        evaluate.run("random", map_="Simple64", opponents="godlike", out=tmp_path)
