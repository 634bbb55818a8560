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

__all__ = ["ACTION_DTYPES", "CodedArray", "Episode", "stack_observations"]

ACTION_DTYPES: Mapping[str, np.dtype] = {
    "function": np.dtype(np.int16),
    "args": np.dtype(np.int32),
}
"""Storage dtypes of the two action entries (``encode_action`` layout)."""


class CodedArray(np.lib.mixins.NDArrayOperatorsMixin):
    """A ``[N, C, ...]`` (or ``[N, ...]``, one channel) array given by lookup tables of one code.

    Holds ``code [N, ...]`` (small unsigned integers) and ``luts [C, K]``: channel ``c`` of row
    ``n`` is ``luts[c, code[n]]``. Replay conversions use it for the minimap: one uint8 code per
    cell (owner, camera, selected) stands for the 10 storage channels (the layers events cannot
    give have all-zero tables), a quarter of even the drawn channels' bytes, and
    `sc2agents.data.dataset.DatasetWriter` encodes it from the code directly (the stored bytes are
    those of the dense array).

    It behaves like the dense array it stands for (``shape``, ``dtype``, ``nbytes``, ``len``,
    indexing, numpy functions and operators, ``np.asarray``), materialising what is asked for:
    rows indexed by an int or a slice first are built alone, anything else builds the whole
    array. Any other ndarray attribute (``sum``, ``reshape``, ...) is taken from the dense array.

    Args:
        code: ``[N, ...]`` unsigned integer codes.
        luts: ``[C, K]`` tables (their dtype is the array's), ``K > code.max()``.
        channel_axis: the dense array is ``[N, C, ...]``; else ``[N, ...]`` and ``C`` must be 1.

    Raises:
        ValueError: bad code dtype, table shape or channel count.
    """

    __slots__ = ("code", "luts", "channel_axis")

    def __init__(self, code: np.ndarray, luts: np.ndarray, channel_axis: bool = True) -> None:
        code, luts = np.asarray(code), np.asarray(luts)
        if code.ndim < 1 or code.dtype.kind != "u":
            raise ValueError(f"CodedArray: code must be [N, ...] unsigned ints, got {code.dtype}")
        if luts.ndim != 2 or (not channel_axis and luts.shape[0] != 1):
            raise ValueError(f"CodedArray: luts must be [C, K] (C = 1 without a channel axis), "
                             f"got {luts.shape}")  # fmt: skip
        if code.size and int(code.max()) >= luts.shape[1]:
            raise ValueError(
                f"CodedArray: code {int(code.max())} outside tables of {luts.shape[1]} entries"
            )
        self.code, self.luts, self.channel_axis = code, luts, bool(channel_axis)

    @property
    def shape(self) -> tuple[int, ...]:
        """The dense shape."""
        c = self.code.shape
        return (c[0], self.luts.shape[0], *c[1:]) if self.channel_axis else c

    @property
    def dtype(self) -> np.dtype:
        """The element dtype."""
        return self.luts.dtype

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
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def _rows(self, rows: int | slice) -> np.ndarray:
        c = self.code[rows]
        out = self.luts[:, c]  # [C, n, ...] or [C, ...]
        if not self.channel_axis:
            return out[0]
        return out if c.ndim == self.code.ndim - 1 else np.moveaxis(out, 0, 1)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = np.ascontiguousarray(self._rows(slice(None)))
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
        conv = [np.asarray(x) if isinstance(x, CodedArray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(
                np.asarray(x) if isinstance(x, CodedArray) else x for x in kwargs["out"]
            )
        return getattr(ufunc, method)(*conv, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        def conv(x: Any) -> Any:
            if isinstance(x, CodedArray):
                return np.asarray(x)
            if isinstance(x, (list, tuple)):
                return type(x)(conv(v) for v in x)
            return x

        return func(*conv(args), **{k: conv(v) for k, v in kwargs.items()})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in CodedArray.__slots__:
            raise AttributeError(name)
        return getattr(np.asarray(self), name)

    def __getstate__(self) -> tuple[np.ndarray, np.ndarray, bool]:
        return self.code, self.luts, self.channel_axis

    def __setstate__(self, state: tuple[np.ndarray, np.ndarray, bool]) -> None:
        self.code, self.luts, self.channel_axis = state

    def __repr__(self) -> str:
        return f"CodedArray(shape={self.shape}, dtype={self.dtype}, code={self.code.dtype})"


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
            An entry may be a `CodedArray` (channels given by lookup tables of one code), which
            behaves like the dense array; ``np.asarray`` gives the dense array.
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
            k: v if isinstance(v, CodedArray) else np.asarray(v)
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
