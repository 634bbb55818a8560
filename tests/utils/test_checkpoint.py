from __future__ import annotations

import pathlib

import pytest
import torch

from sc2agents.utils import checkpoint


def test_save_load_latest_and_keep(tmp_path: pathlib.Path) -> None:
    for step in (5, 10, 15, 20):
        checkpoint.save_checkpoint(
            tmp_path, step, {"step": step, "w": torch.full((2,), step)}, keep=2
        )
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [15, 20]
    state = checkpoint.load_checkpoint(checkpoint.latest_checkpoint(tmp_path))
    assert state["step"] == 20 and state["w"].tolist() == [20, 20]
    assert not list(tmp_path.glob("*.tmp"))


def test_failed_write_leaves_previous_checkpoint_intact(tmp_path: pathlib.Path) -> None:
    checkpoint.save_checkpoint(tmp_path, 1, {"ok": True})

    class Unpicklable:
        def __reduce__(self):  # noqa: D105
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        checkpoint.save_checkpoint(tmp_path, 2, {"bad": Unpicklable()})
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [1]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_errors_name_the_file(tmp_path: pathlib.Path) -> None:
    assert checkpoint.latest_checkpoint(tmp_path / "none") is None
    with pytest.raises(FileNotFoundError, match="ckpt_000000003.pt"):
        checkpoint.load_checkpoint(tmp_path / "ckpt_000000003.pt")
    bad = tmp_path / "ckpt_000000004.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="ckpt_000000004.pt"):
        checkpoint.load_checkpoint(bad)
    (tmp_path / "c.json").write_text("{oops")
    with pytest.raises(ValueError, match="c.json"):
        checkpoint.load_json(tmp_path / "c.json")


def test_json_round_trip(tmp_path: pathlib.Path) -> None:
    checkpoint.save_json(tmp_path / "c.json", {"b": [1, 2], "a": {"x": 0.5}})
    assert checkpoint.load_json(tmp_path / "c.json") == {"a": {"x": 0.5}, "b": [1, 2]}
