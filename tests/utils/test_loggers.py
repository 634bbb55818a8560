from __future__ import annotations

import math
import pathlib

import numpy as np
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from sc2agents.utils import loggers


def test_tensorboard_scalars_text_and_hparams(tmp_path: pathlib.Path) -> None:
    tb = loggers.TensorBoardLogger(tmp_path)
    tb.write_hparams(
        {"learner": {"lr": 1e-3, "widths": (8, 8)}, "run": {"seed": 0}}, {"val/loss": 0}
    )
    for step in (1, 2):
        tb.write({"train/loss": torch.tensor(1.0 / step), "val/loss": np.float32(step)}, step)
    tb.close()
    acc = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0, "scalars": 0})
    acc.Reload()
    assert [e.value for e in acc.Scalars("train/loss")] == [1.0, 0.5]
    assert "hyperparameters/text_summary" in acc.Tags()["tensors"]
    plugin_tags = acc.summary_metadata
    assert any(m.plugin_data.plugin_name == "hparams" for m in plugin_tags.values())


def test_jsonl_truncate_after_drops_later_and_torn_rows(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.jsonl"
    log = loggers.JsonlLogger(path)
    for step in (5, 10, 15):
        log.write({"train/loss": float(step), "x": math.nan}, step)
    log.close()
    with open(path, "a") as f:
        f.write('{"step": 20, "train/lo')  # Killed mid-write.
    assert loggers.JsonlLogger.truncate_after(path, 10) == 2
    rows = loggers.read_jsonl(path)
    assert [r["step"] for r in rows] == [5, 10] and rows[0]["x"] == "nan"


def test_multi_and_terminal_logger(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "m.jsonl"
    multi = loggers.MultiLogger([loggers.JsonlLogger(path), loggers.TerminalLogger(0.0)])
    multi.write({"a": 1}, 3)
    multi.close()
    assert loggers.read_jsonl(path) == [{"step": 3, "a": 1.0}]
    assert loggers.flatten_dict({"a": {"b": 1, "c": {"d": 2}}}) == {"a.b": 1, "a.c.d": 2}
