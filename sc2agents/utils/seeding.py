"""Seeding and RNG-state capture, so a resumed run continues with exactly the same random streams.

`seed_everything` seeds Python, NumPy's legacy global generator and torch (CPU and CUDA);
`get_rng_state` / `set_rng_state` snapshot and restore all of them as plain Python data (lists and
ints, no numpy objects) so a checkpoint holding them stays easy to inspect. `derive_seed` gives
independent, reproducible seeds for sub-streams (sampler, evaluation at step k, ...) from one run
seed with `numpy.random.SeedSequence`, not ad-hoc ``seed + 1`` arithmetic.

Example:
    >>> state = get_rng_state()
    >>> a = random.random()
    >>> set_rng_state(state)
    >>> a == random.random()
    True
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch

__all__ = ["derive_seed", "get_rng_state", "seed_everything", "set_rng_state"]


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global generator and torch (all devices)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # Seeds CUDA generators too when CUDA is initialised.


def derive_seed(seed: int, *keys: int | str) -> int:
    """A reproducible 63-bit seed for the sub-stream named by ``keys`` (ints or short strings)."""
    entropy: list[int] = [int(seed)]
    for key in keys:
        if isinstance(key, str):
            entropy.append(int.from_bytes(key.encode("utf-8")[:16].ljust(16, b"\0"), "little"))
        else:
            entropy.append(int(key))
    return int(np.random.SeedSequence(entropy).generate_state(2, np.uint32).view(np.uint64)[0] >> 1)


def get_rng_state() -> dict[str, Any]:
    """Snapshot every global RNG (Python, NumPy legacy, torch CPU and CUDA) as plain data."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": _to_plain(random.getstate()),
        "numpy": {
            "name": np_state[0],
            "keys": np_state[1].tolist(),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state().tolist(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by `get_rng_state`."""
    random.setstate(_to_tuple(state["python"]))
    n = state["numpy"]
    keys = np.asarray(n["keys"], np.uint32)
    np.random.set_state((n["name"], keys, n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _to_plain(x: Any) -> Any:
    if isinstance(x, tuple):
        return [_to_plain(v) for v in x]
    return x


def _to_tuple(x: Any) -> Any:
    if isinstance(x, list):
        return tuple(_to_tuple(v) for v in x)
    return x
