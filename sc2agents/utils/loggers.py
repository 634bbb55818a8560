"""Loggers (acme's `Logger`, ``write(values, step)``): TensorBoard, JSON lines, terminal, fan-out.

Metric names are hierarchical and prefixed by what produced them: ``train/…`` (gradient steps),
``val/…`` (held-out loss, no gradients), ``eval/<task>/…`` (policy in an environment), ``time/…``.

* `TensorBoardLogger` writes scalars with ``torch.utils.tensorboard`` and the hyperparameter table
  (`TensorBoardLogger.write_hparams`: a markdown table with ``add_text`` as CleanRL does, plus the
  HParams plugin summary, in the same event file rather than in the timestamped sub-folder
  ``SummaryWriter.add_hparams`` creates).
* `JsonlLogger` appends one JSON object per write to ``metrics.jsonl``; `truncate_after` drops the
  rows a killed run logged after its last checkpoint, so a resumed run's file equals an
  uninterrupted one.
* `TerminalLogger` reports through ``absl.logging``, at most every ``min_interval_s`` seconds.
* `MultiLogger` fans out to several.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.jsonl")
    >>> log = JsonlLogger(path)
    >>> log.write({"train/loss": 1.5}, step=1)
    >>> log.close()
    >>> read_jsonl(path)
    [{'step': 1, 'train/loss': 1.5}]
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from absl import logging

__all__ = [
    "JsonlLogger",
    "MultiLogger",
    "TensorBoardLogger",
    "TerminalLogger",
    "flatten_dict",
    "read_jsonl",
]


def _scalar(v: Any) -> float:
    """A Python float from a float, int, bool, numpy or torch scalar."""
    if hasattr(v, "item"):
        v = v.item()
    return float(v)


def flatten_dict(d: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out.update(flatten_dict(v, key, sep))
        else:
            out[key] = v
    return out


class TensorBoardLogger:
    """Scalars and the hyperparameter table to TensorBoard event files under ``logdir``."""

    def __init__(self, logdir: str | os.PathLike[str], purge_step: int | None = None) -> None:
        """Open a writer; ``purge_step`` hides events at or after it (used when resuming)."""
        from torch.utils.tensorboard import SummaryWriter  # Lazy: pulls in tensorboard.

        self._writer = SummaryWriter(log_dir=str(logdir), purge_step=purge_step)

    def write(self, values: Mapping[str, float], step: int) -> None:
        for k, v in values.items():
            self._writer.add_scalar(k, _scalar(v), global_step=step)

    def write_hparams(self, hparams: Mapping[str, Any], metrics: Mapping[str, float]) -> None:
        """Write ``hparams`` (nested dicts are flattened) as a text table and an HParams summary.

        Args:
            hparams: the resolved config.
            metrics: metric names (with initial values) the HParams dashboard should tabulate.
        """
        from torch.utils.tensorboard.summary import hparams as hparams_summary

        flat = flatten_dict(hparams)
        rows = "\n".join(f"|{k}|{v}|" for k, v in sorted(flat.items()))
        self._writer.add_text("hyperparameters", f"|param|value|\n|-|-|\n{rows}")
        clean = {
            k: (v if isinstance(v, (bool, int, float, str)) else str(v)) for k, v in flat.items()
        }
        exp, ssi, sei = hparams_summary(clean, {k: _scalar(v) for k, v in metrics.items()})
        fw = self._writer._get_file_writer()
        for s in (exp, ssi, sei):
            fw.add_summary(s)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class JsonlLogger:
    """One JSON object per `write` (``{"step": s, **values}``) appended to ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close().

    def write(self, values: Mapping[str, float], step: int) -> None:
        row: dict[str, Any] = {"step": int(step)}
        for k, v in values.items():
            x = _scalar(v)
            row[k] = x if math.isfinite(x) else str(x)  # JSON has no NaN/inf.
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    @staticmethod
    def truncate_after(path: str | os.PathLike[str], step: int) -> int:
        """Drop rows with ``step > step`` (and a torn last line); return how many were dropped."""
        p = pathlib.Path(path)
        if not p.exists():
            return 0
        kept, dropped = [], 0
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                dropped += 1  # A line cut by a kill.
                continue
            if row.get("step", 0) > step:
                dropped += 1
            else:
                kept.append(line)
        p.write_text("".join(k + "\n" for k in kept), encoding="utf-8")
        return dropped


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """All rows of a `JsonlLogger` file."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class TerminalLogger:
    """Logs values through ``absl.logging.info``, throttled to one line per ``min_interval_s``."""

    def __init__(self, min_interval_s: float = 10.0, prefixes: Sequence[str] = ()) -> None:
        """Args: min_interval_s: throttle; prefixes: only keys starting with one (all if empty)."""
        self._interval = min_interval_s
        self._prefixes = tuple(prefixes)
        self._last = -math.inf

    def write(self, values: Mapping[str, float], step: int) -> None:
        now = time.monotonic()
        if now - self._last < self._interval:
            return
        self._last = now
        items = [
            f"{k}={_scalar(v):.4g}"
            for k, v in sorted(values.items())
            if not self._prefixes or k.startswith(self._prefixes)
        ]
        if items:
            logging.info("step %d: %s", step, " ".join(items))

    def close(self) -> None:
        pass


class MultiLogger:
    """Writes every call to each of ``loggers``."""

    def __init__(self, loggers: Sequence[Any]) -> None:
        self.loggers = list(loggers)

    def write(self, values: Mapping[str, float], step: int) -> None:
        for lg in self.loggers:
            lg.write(values, step)

    def close(self) -> None:
        for lg in self.loggers:
            lg.close()
