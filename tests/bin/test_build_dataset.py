"""build_dataset: batch skipping with reasons, resume after a simulated kill, CLI smoke."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from sc2agents.data import build
from sc2agents.data.dataset import open_dataset
from sc2agents.data.replay_convert import ConvertConfig

ROOT = pathlib.Path(__file__).resolve().parents[2]
REPLAYS = ROOT / "replays"
GOOD = [
    "lotv_5_0_14_TvP_torches_kokr_21.SC2Replay",
    "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay",
    "lotv_4_9_2_TvP_acropolis_38.SC2Replay",
]
BAD = {
    "lotv_5_0_11_ZvT_neohumanity_instantleave_26.SC2Replay": "too short",
    "lotv_5_0_13_ZvP_fieldsofdeath_vsai_23.SC2Replay": "game vs the built-in AI",
}
# Small, fast conversions: a coarse minimap keeps the test quick without changing the logic.
CONVERT = ConvertConfig(minimap_size=32, screen_size=32)


@pytest.fixture
def replay_dir(tmp_path):
    d = tmp_path / "in"
    (d / "sub").mkdir(parents=True)
    for name in GOOD[:2] + list(BAD):
        shutil.copy(REPLAYS / name, d / name)
    shutil.copy(REPLAYS / GOOD[2], d / "sub" / GOOD[2])  # found recursively
    (d / "corrupt.SC2Replay").write_bytes(b"MPQ\x1a" + b"\x00" * 500)
    (d / "notes.txt").write_text("not a replay")
    return d


def _cfg(replays, out, **kw):
    return build.BuildConfig(
        source="replays", replays=str(replays), out=str(out), convert=CONVERT, progress=False, **kw
    )


def _dataset_arrays(path):
    ds = open_dataset(path)
    out = []
    for ep in ds.episodes():
        out.append((ep.info["source"], ep.info["player"], ep))
    return out


def test_batch_skips_bad_files_with_reasons_and_keeps_good_ones(replay_dir, tmp_path):
    s = build.build_dataset(_cfg(replay_dir, tmp_path / "ds", verify=True))
    assert s.tasks == 6 and s.converted == 3 and s.skipped == 3
    assert s.skip_reasons == {
        "too short": 1,
        "game vs the built-in AI": 1,
        "corrupt or unreadable": 1,
    }
    assert s.dataset_episodes == 6 and s.dataset_bytes > 0
    ds = open_dataset(tmp_path / "ds")
    sources = {ep.info["source"] for ep in ds.episodes()}
    assert sources == {
        f"replay:{GOOD[0]}",
        f"replay:{GOOD[1]}",
        f"replay:sub/{GOOD[2]}",
    }
    ledger = json.loads((tmp_path / "ds" / build.LEDGER).read_text())["tasks"]
    assert ledger["replay:corrupt.SC2Replay"]["status"] == "skipped"
    assert ledger["replay:corrupt.SC2Replay"]["reason"].startswith("corrupt or unreadable")
    assert all(v["status"] == "converted" for k, v in ledger.items() if "sub/" in k)
    # A second run has nothing left to do.
    again = build.build_dataset(_cfg(replay_dir, tmp_path / "ds"))
    assert again.already_done == 6 and again.converted == 0 and again.dataset_episodes == 6


class _Kill(BaseException):
    pass


def test_resume_after_simulated_kill_gives_identical_dataset(replay_dir, tmp_path):
    clean = tmp_path / "clean"
    build.build_dataset(_cfg(replay_dir, clean, shard_size=1))
    killed = tmp_path / "killed"

    def kill_after(n):
        if n == 4:
            raise _Kill

    with pytest.raises(_Kill):
        build.build_dataset(_cfg(replay_dir, killed, shard_size=600), _after_task=kill_after)
    # What a real kill leaves behind: a half-written shard directory.
    half = killed / ".tmp-shard_00009-12345"
    half.mkdir()
    (half / "obs.minimap.npy").write_bytes(b"garbage")
    before = json.loads((killed / "manifest.json").read_text())["num_episodes"]
    assert 0 < before < 6
    calls = []
    real = build.run_task

    def counting(task, **kw):
        calls.append(task.id)
        return real(task, **kw)

    mp = pytest.MonkeyPatch()
    mp.setattr(build, "run_task", counting)
    try:
        s = build.build_dataset(_cfg(replay_dir, killed, shard_size=600))
    finally:
        mp.undo()
    assert not half.exists()
    assert s.already_done > 0 and len(calls) == 6 - s.already_done
    a, b = _dataset_arrays(clean), _dataset_arrays(killed)
    assert [(x[0], x[1]) for x in a] == [(x[0], x[1]) for x in b]
    for (_, _, x), (_, _, y) in zip(a, b, strict=True):
        assert x.terminated == y.terminated and x.truncated == y.truncated
        assert np.array_equal(x.rewards, y.rewards)
        for k in x.actions:
            assert np.array_equal(x.actions[k], y.actions[k])
        for k in x.observations:
            assert np.array_equal(x.observations[k], y.observations[k]), k
    open_dataset(killed).verify(progress=False)


def test_unknown_or_missing_sources_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="--replays"):
        build.build_dataset(build.BuildConfig(source="replays", out=str(tmp_path / "x")))
    with pytest.raises(FileNotFoundError, match="nope"):
        build.build_dataset(
            build.BuildConfig(source="replays", replays=str(tmp_path / "nope"), out=str(tmp_path))
        )
    with pytest.raises(ValueError, match="--map"):
        build.list_tasks(build.BuildConfig(source="sim", out=str(tmp_path)))


@pytest.mark.skipif(
    importlib.util.find_spec("sc2agents.data.sim_rollouts") is None, reason="no sim_rollouts"
)
def test_sim_source_through_the_same_runner(tmp_path):
    cfg = build.BuildConfig(
        source="sim", sim_map="MoveToBeacon", sim_policy="expert", sim_episodes=2,
        out=str(tmp_path / "sim"), convert=CONVERT, progress=False,
    )  # fmt: skip
    tasks = build.list_tasks(cfg)
    assert [t.id for t in tasks] == ["sim:MoveToBeacon:expert:0"]
    s = build.build_dataset(cfg)
    assert s.converted == 1 and s.dataset_episodes == 2
    ds = open_dataset(tmp_path / "sim")
    assert {ep.info["source"] for ep in ds.episodes()} == {"sim:MoveToBeacon:expert:0"}
    assert build.build_dataset(cfg).already_done == 1  # resume: nothing redone
    with pytest.raises(ValueError, match="built from --source=sim"):
        build.build_dataset(_cfg(REPLAYS, tmp_path / "sim"))


def test_cli_smoke(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    shutil.copy(REPLAYS / GOOD[1], d / GOOD[1])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "sc2agents.bin.build_dataset", "--source=replays",
           f"--replays={d}", f"--out={out}", "--minimap_size=32", "--screen_size=32",
           "--fog=none", "--verify"]  # fmt: skip
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "converted: 1 tasks -> 2 episodes" in r.stdout
    ds = open_dataset(out)
    assert ds.num_episodes == 2
    assert ds.observation_spec["minimap"][0] == (10, 32, 32)
    info = next(iter(ds.episodes())).info
    assert info["fog"] == "none" and info["step_mul"] == 8
    bad = subprocess.run(
        [sys.executable, "-m", "sc2agents.bin.build_dataset", "--source=replays",
         f"--out={tmp_path / 'o2'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "--replays" in bad.stderr


@pytest.mark.slow
def test_resume_after_a_real_sigkill(replay_dir, tmp_path):
    """SIGKILL the CLI once a shard is committed; the rerun completes to the clean dataset."""
    import os
    import signal
    import time

    clean = tmp_path / "clean"
    build.build_dataset(_cfg(replay_dir, clean, shard_size=1))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sc2agents.bin.build_dataset", "--source=replays",
           f"--replays={replay_dir}", f"--out={out}", "--minimap_size=32", "--screen_size=32",
           "--shard_size=1"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        m = out / "manifest.json"
        if m.exists() and json.loads(m.read_text())["num_episodes"] >= 2:
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(timeout=60)
    if proc.returncode == -signal.SIGKILL:  # killed mid-build (not when it finished first)
        partial = json.loads((out / "manifest.json").read_text())["num_episodes"]
        print(f"killed with {partial} episodes committed")
    r = subprocess.run(cmd + ["--verify"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    a, b = _dataset_arrays(clean), _dataset_arrays(out)
    assert [(x[0], x[1]) for x in a] == [(x[0], x[1]) for x in b]
    for (_, _, x), (_, _, y) in zip(a, b, strict=True):
        for k in x.observations:
            assert np.array_equal(x.observations[k], y.observations[k]), k
        assert np.array_equal(x.actions["function"], y.actions["function"])
    assert not list(out.glob(".tmp-*"))
