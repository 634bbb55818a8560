"""`Episode`: one trajectory in storage form, the unit every dataset source produces.

Sources (`replay_convert.convert_replay`, `sim_rollouts.rollout`, `pysc2_replay.observe_replay`)
return lists of `Episode`s and `sc2agents.data.dataset.DatasetWriter` stores them. An episode of
``T`` steps holds ``T + 1`` observations: ``observations[k][t]`` is the state in which
``actions[t]`` was taken and ``observations[k][T]`` is the final observation (after the last
action). Storing the final observation once, instead of a ``next_observations`` copy per step,
halves the observation bytes and still lets samplers bootstrap at a truncation.

Example:
    >>> import numpy as np
    >>> ep = Episode(
    ...     observations={"player": np.zeros((3, 11), np.float32)},
    ...     actions={"function": np.zeros(2, np.int16), "args": -np.ones((2, 13), np.int32)},
    ...     rewards=np.array([0.0, 1.0], np.float32),
    ...     terminated=True,
    ...     truncated=False,
    ... )
    >>> ep.num_steps
    2
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sc2agents.envs import features

__all__ = ["ACTION_DTYPES", "BandArray", "Episode", "stack_observations"]

ACTION_DTYPES: Mapping[str, np.dtype] = {
    "function": np.dtype(np.int16),
    "args": np.dtype(np.int32),
}
"""Storage dtypes of the two action entries (``encode_action`` layout)."""


class BandArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A ``[N, ...]`` array whose rows are zero outside one contiguous band of their elements.

    Holds only ``band [N, hi - lo]`` (each row's flattened elements ``lo:hi``); everything else is
    zero. Replay conversions use it for the minimap, whose layers that events cannot give
    (``height_map``, ``creep``, ...) are all zero: materialising them would cost 60% of the
    conversion's memory traffic for nothing, and `sc2agents.data.dataset.DatasetWriter` encodes
    the band directly (the stored bytes are those of the dense array).

    It behaves like the dense array it stands for (``shape``, ``dtype``, ``nbytes``, ``len``,
    indexing, numpy functions and operators, ``np.asarray``), materialising what is asked for:
    rows indexed by an int or a slice first are built alone, anything else builds the whole
    array. Any other ndarray attribute (``sum``, ``reshape``, ...) is taken from the dense array.

    Args:
        band: ``[N, hi - lo]`` (or ``[N, ...]`` with that many elements per row).
        shape: the dense shape ``[N, ...]``.
        lo: offset of the band in a flattened row.

    Raises:
        ValueError: the band does not fit the shape.
    """

    __slots__ = ("band", "shape", "lo")

    def __init__(self, band: np.ndarray, shape: Sequence[int], lo: int) -> None:
        shape = tuple(int(s) for s in shape)
        band = np.asarray(band)
        if not shape or band.shape[:1] != shape[:1]:
            raise ValueError(f"BandArray: band rows {band.shape[:1]} do not match shape {shape}")
        band = band.reshape(shape[0], -1)
        row = int(np.prod(shape[1:], dtype=np.int64))
        if lo < 0 or lo + band.shape[1] > row:
            raise ValueError(
                f"BandArray: band [{lo}, {lo + band.shape[1]}) outside a row of {row} elements"
            )
        self.band, self.shape, self.lo = band, shape, int(lo)

    @property
    def dtype(self) -> np.dtype:
        """The element dtype."""
        return self.band.dtype

    @property
    def ndim(self) -> int:
        """Number of dimensions of the dense array."""
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements of the dense array."""
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        """Bytes of the dense array (what it stands for, not what it holds)."""
        return self.size * self.band.dtype.itemsize

    @property
    def row_elems(self) -> int:
        """Elements per flattened row of the dense array."""
        return int(np.prod(self.shape[1:], dtype=np.int64))

    def __len__(self) -> int:
        return self.shape[0]

    def _rows(self, rows: int | slice) -> np.ndarray:
        b = self.band[rows]
        one = b.ndim == 1
        b = b.reshape(-1, self.band.shape[1])
        out = np.zeros((b.shape[0], self.row_elems), self.band.dtype)
        out[:, self.lo : self.lo + b.shape[1]] = b
        return out.reshape(self.shape[1:] if one else (b.shape[0], *self.shape[1:]))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = self._rows(slice(None))
        return out if dtype is None else out.astype(dtype, copy=False)

    def __getitem__(self, index: Any) -> Any:
        first, rest = (index[0], index[1:]) if isinstance(index, tuple) and index else (index, ())
        if isinstance(first, (int, np.integer, slice)) and not isinstance(first, bool):
            rows = self._rows(first)
            if not rest:
                return rows
            return rows[rest] if not isinstance(first, slice) else rows[(slice(None), *rest)]
        return np.asarray(self)[index]

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        conv = [np.asarray(x) if isinstance(x, BandArray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(x) if isinstance(x, BandArray) else x for x in kwargs["out"]
            )
        return getattr(ufunc, method)(*conv, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        def conv(x: Any) -> Any:
            if isinstance(x, BandArray):
                return np.asarray(x)
            if isinstance(x, (list, tuple)):
                return type(x)(conv(v) for v in x)
            return x

        return func(*conv(args), **{k: conv(v) for k, v in kwargs.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in BandArray.__slots__:
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __getstate__(self) -> tuple[np.ndarray, tuple[int, ...], int]:
        return self.band, self.shape, self.lo

    def __setstate__(self, state: tuple[np.ndarray, tuple[int, ...], int]) -> None:
        self.band, self.shape, self.lo = state

    def __repr__(self) -> str:
        return (
            f"BandArray(shape={self.shape}, dtype={self.dtype}, band=[{self.lo}, "
            f"{self.lo + self.band.shape[1]}))"
        )


def stack_observations(observations: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Stack a list of per-step storage-form observation dicts into ``[T+1, ...]`` arrays.

    Raises:
        ValueError: if the list is empty or the dicts do not all have the same keys.
    """
    if not observations:
        raise ValueError("stack_observations: no observations")
    keys = list(observations[0])
    for t, o in enumerate(observations):
        if set(o) != set(keys):
            raise ValueError(
                f"stack_observations: step {t} has keys {sorted(o)}, expected {sorted(keys)}"
            )
    return {k: np.stack([np.asarray(o[k]) for o in observations]) for k in keys}


@dataclasses.dataclass
class Episode:
    """One trajectory in storage form.

    Attributes:
        observations: storage-form arrays (`features.observation_to_storage` keys, plus optional
            ``unit_counts`` and others), each ``[T+1, ...]``; entry ``T`` is the final observation.
            An entry may be a `BandArray` (mostly-zero rows held compactly), which behaves like
            the dense array; ``np.asarray`` gives the dense array.
        actions: ``function`` int16 ``[T]`` and ``args`` int32 ``[T, 13]``
            (`features.encode_action` layout).
        rewards: float32 ``[T]``; ``rewards[t]`` follows ``actions[t]``.
        terminated: the last step ended the MDP (win/loss/task end): no bootstrap after it.
        truncated: the episode was cut (time limit, leaver, end of recording): bootstrap from the
            final observation. At most one of ``terminated`` / ``truncated`` is True; when neither
            is, samplers treat the end like a truncation (the final observation is a real state).
        info: JSON-serialisable metadata: ``source``, ``build``, ``map``, ``player``, ``policy``.
    """

    observations: dict[str, np.ndarray]
    actions: dict[str, np.ndarray]
    rewards: np.ndarray
    terminated: bool
    truncated: bool
    info: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self.observations = {
            k: v if isinstance(v, BandArray) else np.asarray(v)
            for k, v in self.observations.items()
        }
        self.actions = {k: np.asarray(v) for k, v in self.actions.items()}
        for k, dt in ACTION_DTYPES.items():
            if k in self.actions and self.actions[k].dtype != dt:
                a = self.actions[k]
                if not np.issubdtype(a.dtype, np.integer):
                    raise ValueError(f"Episode: actions[{k!r}] must be integers, got {a.dtype}")
                self.actions[k] = a.astype(dt)
        self.rewards = np.asarray(self.rewards, dtype=np.float32)
        self.terminated = bool(self.terminated)
        self.truncated = bool(self.truncated)
        self.validate()

    @property
    def num_steps(self) -> int:
        """Number of transitions ``T``."""
        return int(self.rewards.shape[0])

    def validate(self) -> None:
        """Check shapes, dtypes and flags.

        Raises:
            ValueError: naming the offending key and the problem.
        """
        src = self.info.get("source", "?") if isinstance(self.info, Mapping) else "?"
        where = f"Episode (source={src})"
        if self.rewards.ndim != 1:
            raise ValueError(f"{where}: rewards must be [T], got shape {self.rewards.shape}")
        T = self.num_steps
        if T < 1:
            raise ValueError(f"{where}: an episode needs at least one step")
        if set(self.actions) != set(ACTION_DTYPES):
            raise ValueError(
                f"{where}: actions must have keys function/args, got {sorted(self.actions)}"
            )
        if self.actions["function"].shape != (T,):
            raise ValueError(
                f"{where}: actions['function'] must be [{T}], got {self.actions['function'].shape}"
            )
        if self.actions["args"].shape != (T, features.NUM_ARG_TYPES):
            raise ValueError(
                f"{where}: actions['args'] must be [{T}, {features.NUM_ARG_TYPES}], "
                f"got {self.actions['args'].shape}"
            )
        fn = self.actions["function"]
        if fn.size and (fn.min() < 0 or fn.max() >= features.NUM_FUNCTIONS):
            raise ValueError(f"{where}: actions['function'] outside [0, {features.NUM_FUNCTIONS})")
        if not self.observations:
            raise ValueError(f"{where}: no observations")
        for k, v in self.observations.items():
            if "/" in k or k.startswith("."):
                raise ValueError(
                    f"{where}: observation key {k!r} may not contain '/' or start with '.'"
                )
            if v.ndim < 1 or v.shape[0] != T + 1:
                raise ValueError(
                    f"{where}: observations[{k!r}] must have T+1 = {T + 1} entries "
                    f"(the last is the final observation), got shape {v.shape}"
                )
            if v.dtype == object:
                raise ValueError(f"{where}: observations[{k!r}] has dtype object")
        if self.terminated and self.truncated:
            raise ValueError(f"{where}: terminated and truncated are both set")
        if not np.all(np.isfinite(self.rewards)):
            raise ValueError(f"{where}: rewards contain NaN or inf")
