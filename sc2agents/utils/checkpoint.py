"""Checkpoints and resolved-config files of a run directory.

A checkpoint is one ``torch.save`` file, ``<dir>/ckpt_<step:09d>.pt``, holding whatever state dict
the caller hands in (learner + optimiser state, RNG states, sampler position, step). Writes are
atomic (temporary file, ``fsync``, ``os.replace``), so a run killed mid-write leaves the previous
checkpoint intact and never a truncated one under the final name; `latest_checkpoint` therefore
always points at a complete file.

The resolved config is stored next to it as ``config.json`` (sample-factory's ``cfg.json``): resume
reads it back instead of re-parsing flags.

Example:
    >>> import tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = save_checkpoint(d, 10, {"step": 10})
    >>> load_checkpoint(latest_checkpoint(d))["step"]
    10
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import tempfile
from collections.abc import Mapping
from typing import Any

import torch

__all__ = [
    "checkpoint_path",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "load_json",
    "save_checkpoint",
    "save_json",
]

_CKPT_RE = re.compile(r"^ckpt_(\d{9})\.pt$")


def checkpoint_path(directory: str | os.PathLike[str], step: int) -> pathlib.Path:
    """The file name a checkpoint of ``step`` gets in ``directory``."""
    return pathlib.Path(directory) / f"ckpt_{step:09d}.pt"


def list_checkpoints(directory: str | os.PathLike[str]) -> list[tuple[int, pathlib.Path]]:
    """``(step, path)`` of every complete checkpoint in ``directory``, oldest first."""
    d = pathlib.Path(directory)
    if not d.is_dir():
        return []
    found = []
    for p in d.iterdir():
        m = _CKPT_RE.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def latest_checkpoint(directory: str | os.PathLike[str]) -> pathlib.Path | None:
    """The newest checkpoint in ``directory``, or None."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def save_checkpoint(
    directory: str | os.PathLike[str], step: int, state: Mapping[str, Any], keep: int | None = None
) -> pathlib.Path:
    """Atomically write ``state`` as the checkpoint of ``step``; keep only the newest ``keep``.

    Args:
        directory: checkpoint folder (created if missing).
        step: training step the state belongs to (part of the file name).
        state: anything `torch.save` can pickle.
        keep: number of checkpoints to keep (None or 0: keep all).

    Returns:
        The path written.
    """
    d = pathlib.Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    path = checkpoint_path(d, step)
    _atomic_write(path, lambda f: torch.save(dict(state), f))
    if keep:
        for _, old in list_checkpoints(d)[:-keep]:
            old.unlink(missing_ok=True)
    return path


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`.

    Checkpoints hold learner configs and RNG states besides tensors, so they are loaded with
    ``weights_only=False``: like any pickle, only load checkpoints you (or this program) wrote.
    """
    p = pathlib.Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    try:
        return torch.load(p, map_location=map_location, weights_only=False)
    except Exception as e:  # A clear message beats a pickle traceback.
        raise RuntimeError(f"cannot read checkpoint {p}: {e}") from e


def save_json(path: str | os.PathLike[str], data: Any) -> None:
    """Atomically write ``data`` as indented, key-sorted JSON."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    _atomic_write(pathlib.Path(path), lambda f: f.write(text.encode("utf-8")))


def load_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file, naming the file in any error."""
    p = pathlib.Path(path)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{p} does not exist") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{p} is not valid JSON: {e}") from e


def _atomic_write(path: pathlib.Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        pathlib.Path(tmp).unlink(missing_ok=True)
        raise
