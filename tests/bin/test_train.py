"""Subprocess runs of ``python -m sc2agents.bin.train`` with configs/smoke.py (CleanRL-style).

One small simulator dataset is built (by the program itself, through ``data.build_if_missing``) and
shared by the tests of this module.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from sc2agents.utils import checkpoint, loggers

REPO = pathlib.Path(__file__).resolve().parents[2]
SMOKE = REPO / "configs" / "smoke.py"


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "sc2agents.bin.train", f"--config={SMOKE}", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
    return env


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        _cmd(*args), cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"train failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("train")


# The baseline run: configs/smoke.py with command-line overrides (60 steps so that the resume test
# can kill a copy of it between checkpoints).
_COMMON = ("--config.run.steps=60", "--config.run.val_every=20", "--config.learner.lr=0.00123")


@pytest.fixture(scope="module")
def baseline(work: pathlib.Path) -> pathlib.Path:
    proc = _run(
        f"--config.data.path={work / 'data'}",
        f"--config.run.out_dir={work / 'runs'}",
        "--config.run.seed=7",
        *_COMMON,
    )
    return pathlib.Path(proc.stdout.strip().splitlines()[-1])


def _metrics(run_dir: pathlib.Path) -> list[dict]:
    rows = loggers.read_jsonl(run_dir / "metrics.jsonl")
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]


def test_smoke_run_writes_run_dir_and_applies_overrides(
    work: pathlib.Path, baseline: pathlib.Path
) -> None:
    assert baseline.parent == work / "runs" / "smoke" and baseline.name.startswith("bc__7__")
    config = json.loads((baseline / "config.json").read_text())
    assert config["learner"]["lr"] == 0.00123 and config["run"]["seed"] == 7
    assert config["run"]["steps"] == 60
    assert config["learner"]["encoder"] == "fullyconv_tiny"  # Untouched file value.
    assert (work / "data" / "manifest.json").exists()  # Built on first use.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(baseline), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    prefixes = {t.split("/")[0] for t in tags["scalars"]}
    assert {"train", "val", "eval", "time"} <= prefixes
    assert "hyperparameters/text_summary" in tags["tensors"]
    assert any(m.plugin_data.plugin_name == "hparams" for m in events.summary_metadata.values())
    steps = [s for s, _ in checkpoint.list_checkpoints(baseline / "checkpoints")]
    assert steps == [10, 20, 30, 40, 50, 60]
    keys = set().union(*loggers.read_jsonl(baseline / "metrics.jsonl"))
    assert any(k.startswith("train/") for k in keys) and any(k.startswith("val/") for k in keys)
    assert "eval/MoveToBeacon/minigame/score_mean" in keys and "time/wait_batch_frac" in keys
    assert not [k for k in keys if k.startswith("eval/") and k.endswith("_s_mean")]  # Timing.


def test_resume_after_kill_matches_an_uninterrupted_run(
    work: pathlib.Path, baseline: pathlib.Path
) -> None:
    killed = work / "killed"
    args = [f"--config.data.path={work / 'data'}", "--config.run.seed=7", *_COMMON]
    proc = subprocess.Popen(
        _cmd(*args, f"--config.run.run_dir={killed}"),
        cwd=REPO, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while checkpoint.latest_checkpoint(killed / "checkpoints") is None:
        assert proc.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 240 s"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    interrupted_at = checkpoint.list_checkpoints(killed / "checkpoints")[-1][0]
    assert interrupted_at < 60, "the run finished before it was killed"
    _run(f"--resume={killed}")
    assert _metrics(killed) == _metrics(baseline)
    a = checkpoint.load_checkpoint(baseline / "checkpoints" / "ckpt_000000060.pt")
    b = checkpoint.load_checkpoint(killed / "checkpoints" / "ckpt_000000060.pt")
    assert a["rng"] == b["rng"]
    for k, v in a["learner"]["actor"].items():
        assert (v == b["learner"]["actor"][k]).all(), k


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("--config.learner.lr=-1.0", "config.learner.lr: must be > 0"),
        ("--config.learner.lrate=0.1", "config.learner.lrate: unknown key"),
    ],
)
def test_bad_config_fails_before_training_naming_the_key(
    work: pathlib.Path, override: str, message: str
) -> None:
    """(The other validation errors are checked in-process in tests/training.)"""
    out = work / f"bad_{override.split('=')[0].rsplit('.', 1)[-1]}"
    proc = _run(
        f"--config.data.path={work / 'data'}", f"--config.run.out_dir={out}", override, check=False
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert message in proc.stderr
    assert not out.exists()  # Nothing was written.
