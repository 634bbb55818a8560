from __future__ import annotations

import pathlib

import pytest

from sc2agents.training import config as tc
from sc2agents.training import loop
from sc2agents.utils import checkpoint, loggers
from tests.training import fakes


def _metrics(run_dir: pathlib.Path) -> list[dict]:
    rows = loggers.read_jsonl(run_dir / loop.METRICS_FILE)
    return [{k: v for k, v in r.items() if not k.startswith("time/")} for r in rows]


def test_run_writes_config_metrics_events_and_checkpoints(tmp_path: pathlib.Path) -> None:
    exp = fakes.experiment()
    last = loop.Trainer(exp, tmp_path, fakes.components()).run()
    assert checkpoint.load_json(tmp_path / "config.json") == tc.to_dict(exp)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path / "checkpoints")] == [10, 20, 30, 40]
    assert list(tmp_path.glob("events.out.tfevents.*"))
    rows = _metrics(tmp_path)
    keys = set().union(*rows)
    assert {"train/bc/loss", "val/loss", "val/bc/accuracy", "eval/MoveToBeacon/score"} <= keys
    train = [r["train/bc/loss"] for r in rows if "train/bc/loss" in r]
    assert len(train) == 8 and train[-1] < train[0]  # It learns.
    assert last["val/bc/accuracy"] > 0.5
    # Evaluations at 20 and 40 (the end), validations every 10.
    assert [r["step"] for r in rows if "eval/MoveToBeacon/score" in r] == [20, 40]
    assert [r["step"] for r in rows if "val/loss" in r] == [10, 20, 30, 40]


def test_resume_after_interruption_gives_identical_metrics(tmp_path: pathlib.Path) -> None:
    exp = fakes.experiment()
    loop.Trainer(exp, tmp_path / "a", fakes.components()).run()
    # Interrupted at step 27 (checkpoint at 20, so 21..27 are redone), then resumed twice.
    loop.Trainer(exp, tmp_path / "b", fakes.components(), stop_after=27).run()
    assert checkpoint.latest_checkpoint(tmp_path / "b" / "checkpoints").name == "ckpt_000000020.pt"
    loop.Trainer(exp, tmp_path / "b", fakes.components(), stop_after=13).run()
    loop.Trainer(exp, tmp_path / "b", fakes.components()).run()
    assert _metrics(tmp_path / "a") == _metrics(tmp_path / "b")
    a = checkpoint.load_checkpoint(tmp_path / "a" / "checkpoints" / "ckpt_000000040.pt")
    b = checkpoint.load_checkpoint(tmp_path / "b" / "checkpoints" / "ckpt_000000040.pt")
    for k, v in a["learner"]["net"].items():
        assert (v == b["learner"]["net"][k]).all(), k


def test_different_seed_gives_different_metrics(tmp_path: pathlib.Path) -> None:
    loop.Trainer(fakes.experiment(), tmp_path / "a", fakes.components()).run()
    loop.Trainer(fakes.experiment(run={"seed": 1}), tmp_path / "b", fakes.components()).run()
    assert _metrics(tmp_path / "a") != _metrics(tmp_path / "b")


def test_resume_with_a_different_config_is_refused(tmp_path: pathlib.Path) -> None:
    loop.Trainer(fakes.experiment(), tmp_path, fakes.components(), stop_after=10).run()
    other = fakes.experiment(learner={"lr": 0.5})
    with pytest.raises(tc.ConfigError, match=r"config\.learner\.lr"):
        loop.Trainer(other, tmp_path, fakes.components()).run()
