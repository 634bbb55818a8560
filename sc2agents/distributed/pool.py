"""The pool API shared by both back ends, and `LocalPool`, the in-process one (no Ray).

A *pool* runs a picklable ``fn(item)`` for every item of a batch job and yields ``(item, result)``
pairs as they finish, with an exception in place of the result when ``fn`` raised: the caller
(dataset conversion, evaluation, the league) skips and reports, it is never interrupted by one bad
item (`docs/internal_api.md` §7).

Large read-only objects (policies, parameters) are *broadcast* once per version: `Pool.broadcast`
returns a `Broadcast` handle that items carry instead of the object; ``handle.get()`` inside ``fn``
gives the object back. In-process the handle holds the object itself; on Ray it holds an object
reference put once into the object store and fetched at most once per worker process per version
(acme's VariableSource/VariableClient idea, with Ray's store as the transport).

`LocalPool` is the serial mode of sample-factory (`--serial_mode`): the same code path as the Ray
pool, minus the processes, so that tests and single-process runs never import Ray.
"""

from __future__ import annotations

import abc
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, TypeVar

from absl import logging

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Broadcast", "LocalBroadcast", "LocalPool", "Pool", "WorkerLost"]


class WorkerLost(RuntimeError):
    """A worker process died while running an item and the item's retries are spent."""


class Broadcast(abc.ABC, Generic[T]):
    """Handle on a read-only object shared with every worker; cheap to pickle.

    Attributes:
        key: unique id of this broadcast (one per object version).
    """

    key: str

    @abc.abstractmethod
    def get(self) -> T:
        """Return the broadcast object (fetched once per process and cached)."""


class LocalBroadcast(Broadcast[T]):
    """In-process broadcast: holds the object itself."""

    def __init__(self, value: T, key: str | None = None) -> None:
        self.key = key or uuid.uuid4().hex
        self._value = value

    def get(self) -> T:
        return self._value

    def __repr__(self) -> str:
        return f"LocalBroadcast({self.key[:8]})"


class Pool(abc.ABC):
    """Runs batch jobs on workers; `LocalPool` (in-process) and `RayPool` share this API.

    Attributes:
        num_workers: number of worker processes; 0 for the in-process pool.
    """

    num_workers: int

    @abc.abstractmethod
    def map_unordered(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        desc: str | None = None,
        retries: int = 1,
        retry_on: tuple[type[BaseException], ...] = (),
    ) -> Iterator[tuple[T, R | BaseException]]:
        """Run ``fn(item)`` for every item; yield ``(item, result_or_exception)`` as each finishes.

        Args:
            fn: a picklable function (module-level, or a picklable callable object).
            items: the work items (picklable). Consumed lazily, a few per worker ahead.
            desc: when given, show a progress bar with this label.
            retries: how many times an item is rerun after its worker *process* died under it
                (or ``fn`` raised one of ``retry_on``); the worker is replaced first. When they
                are spent the item is yielded with a `WorkerLost` (or the last exception).
            retry_on: exception types raised by ``fn`` that mean "the game/process broke, run
                it again on a fresh worker" (e.g. a lost connection to the SC2 binary).

        Yields:
            ``(item, result)`` or ``(item, exception)``; every item exactly once.
        """

    @abc.abstractmethod
    def broadcast(self, value: T) -> Broadcast[T]:
        """Share ``value`` with the workers once; items carry the returned handle."""

    # -- evaluation and self-play (ARCHITECTURE.md §2.4: the pool's two verbs) ---------------

    def evaluate(self, policy: Any, env: str, **evaluator_kwargs: Any) -> Any:
        """`sc2agents.acting.evaluator.Evaluator` ``(env, pool=self, ...)`` ``.evaluate(policy)``.

        The policy is broadcast once; every game is one task. Returns the `EvalReport`.
        """
        from sc2agents.acting.evaluator import Evaluator

        return Evaluator(env, pool=self, **evaluator_kwargs).evaluate(policy)

    def play(self, matches: Iterable[Any], *, retries: int = 2) -> Iterator[tuple[Any, Any]]:
        """Play `sc2agents.acting.self_play.MatchSpec`s; yield ``(spec, MatchRecord | error)``.

        A match whose game or worker died is rerun (``retries`` times) on a fresh worker.
        """
        from sc2agents.acting.evaluator import GameCrashed
        from sc2agents.acting.self_play import play_match

        return self.map_unordered(
            play_match, matches, desc="matches", retries=retries, retry_on=(GameCrashed,)
        )

    def close(self) -> None:  # noqa: B027 - optional hook: nothing to release in-process
        """Release workers (and the local Ray instance if this pool started it)."""

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _progress(total: int | None, desc: str | None) -> Any:
    """A tqdm bar when ``desc`` is given, else a no-op with the same methods."""
    if desc is None:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, dynamic_ncols=True, leave=False)


class _NoBar:
    def update(self, n: int = 1) -> None:
        del n

    def close(self) -> None:
        pass


def _len_or_none(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


class LocalPool(Pool):
    """Runs every item in this process, in order; never imports Ray."""

    def __init__(self) -> None:
        self.num_workers = 0

    def map_unordered(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        desc: str | None = None,
        retries: int = 1,
        retry_on: tuple[type[BaseException], ...] = (),
    ) -> Iterator[tuple[T, R | BaseException]]:
        bar = _progress(_len_or_none(items), desc)
        try:
            for item in items:
                result: R | BaseException
                for attempt in itertools.count():
                    try:
                        result = fn(item)
                    except retry_on as e:  # noqa: PERF203 - a retry loop, not a hot path
                        if attempt < retries:
                            logging.warning("item failed with %r; rerunning (%d)", e, attempt + 1)
                            continue
                        result = e
                    except Exception as e:  # noqa: BLE001 - yielded to the caller by contract
                        result = e
                    break
                bar.update(1)
                yield item, result
        finally:
            bar.close()

    def broadcast(self, value: T) -> Broadcast[T]:
        return LocalBroadcast(value)

    def __repr__(self) -> str:
        return "LocalPool()"
