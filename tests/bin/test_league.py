"""bin/league: runs from a config, writes the report, resumes after SIGKILL with nothing lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

FAKE_MEMBERS = (
    ("oracle", "py:tests.acting.fakes:OraclePolicy", True),
    ("half", "py:tests.acting.fakes:SlowHalfOraclePolicy", False),
    ("random", "random", True),
)


def _config(tmp_path, matches, workers=0):
    path = tmp_path / "league_cfg.py"
    base = str(REPO / "configs" / "league_smoke.py")
    lines = [
        "import importlib.util",
        "from ml_collections import ConfigDict",
        f"spec = importlib.util.spec_from_file_location('base', {base!r})",
        "base = importlib.util.module_from_spec(spec)",
        "spec.loader.exec_module(base)",
        "def get_config():",
        "    c = base.get_config()",
        "    c.env = 'tests.acting.fakes:FakeBeacon-v0'",
        "    c.env_kwargs = ConfigDict()",
        "    c.games_per_match = 2",
        f"    c.members = {FAKE_MEMBERS}",
        f"    c.matches = {matches}",
        "    c.matches_per_round = 6",
        f"    c.workers = {workers}",
        f"    c.league_dir = {str(tmp_path / 'league')!r}",
        "    return c",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _cmd(cfg):
    return [sys.executable, "-m", "sc2agents.bin.league", f"--config={cfg}"]


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def _match_ids(league_dir):
    path = league_dir / "events.jsonl"
    if not path.exists():
        return []
    ids = []
    text = path.read_text()
    complete = text[: text.rfind("\n") + 1]  # the writer may be mid-line while we read
    for line in complete.splitlines():
        if line.strip():
            ev = json.loads(line)
            if ev["type"] == "match":
                ids.append(ev["match"]["match_id"])
    return ids


def test_league_smoke_config_runs_on_the_simulator(tmp_path):
    cmd = [
        sys.executable, "-m", "sc2agents.bin.league", "--config=configs/league_smoke.py",
        f"--config.league_dir={tmp_path / 'lg'}", "--config.matches=6",
        "--config.matches_per_round=3", "--config.max_steps=20",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ordinal" in proc.stdout and "scripted" in proc.stdout
    data = json.loads((tmp_path / "lg" / "ratings.json").read_text())
    assert data["num_matches"] == 6 and len(data["members"]) == 4
    for png in ("payoff.png", "ratings.png"):
        assert (tmp_path / "lg" / png).stat().st_size > 1000


def _kill_and_resume(tmp_path, workers, total):
    cfg = _config(tmp_path, total, workers)
    league_dir = tmp_path / "league"
    proc = subprocess.Popen(
        _cmd(cfg), cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 120
    while len(_match_ids(league_dir)) < 8 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the league finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _match_ids(league_dir)
    assert 8 <= len(before) < total
    done = subprocess.run(_cmd(cfg), cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    after = _match_ids(league_dir)
    assert after[: len(before)] == before  # nothing finished before the kill was lost
    assert len(after) == total and len(set(after)) == total  # no duplicate, no half match
    data = json.loads((league_dir / "ratings.json").read_text())
    assert data["num_matches"] == total
    assert sum(r["games"] for r in data["table"]) == 2 * total


def test_league_resumes_after_sigkill(tmp_path):
    _kill_and_resume(tmp_path, workers=0, total=30)


@pytest.mark.ray
@pytest.mark.slow  # two local Ray start-ups in subprocesses: ~45 s on 2 shared cores
def test_league_on_ray_resumes_after_sigkill(tmp_path):
    _kill_and_resume(tmp_path, workers=2, total=30)


def test_two_agent_league_on_the_simulator_melee(tmp_path):
    """``match=two_agent`` on Simple64: members play each other in one game (in-process)."""
    import importlib.util

    from sc2agents.bin import league as league_bin

    spec = importlib.util.spec_from_file_location("cfg", REPO / "configs" / "league_smoke.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    cfg = mod.get_config()
    cfg.env, cfg.match, cfg.max_steps = "Simple64", "two_agent", 8
    cfg.members = (("random", "random", True), ("random_b", "random@eps=1.0", False))
    cfg.matches, cfg.matches_per_round = 3, 3
    cfg.league_dir = str(tmp_path / "lg")
    result = league_bin.run(cfg)
    assert result["matches"] == 3 and result["failed"] == 0
    kinds = {json.loads(line)["match"]["kind"] for line in
             (tmp_path / "lg" / "events.jsonl").read_text().splitlines()
             if '"match"' in line}  # fmt: skip
    assert kinds == {"two_agent"}
