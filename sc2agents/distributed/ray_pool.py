"""`RayPool`: the `Pool` API on Ray actors (imported only when ``num_workers > 0``).

Each worker is one Ray actor (one process) that lives as long as the pool, so whatever a task
caches at module level in the worker (environments, decoded policies, the SC2 binary) is reused by
the next task: actors hold environments and policies, tasks carry whole episodes/matches/replays,
never single steps, so the per-call overhead (a few hundred microseconds) is paid once per game.

Fault tolerance: a worker whose process dies mid-task (segfault, OOM kill, `os._exit`, a lost node)
is killed for good and replaced by a fresh actor, and the task is rerun up to ``retries`` times,
after which it is yielded with a `WorkerLost`. A task is only ever yielded once, when it finished,
so a consumer that records what it receives never records a half-played match and never loses a
finished one (results are handed over the moment they arrive; nothing is buffered in the pool).

The Ray setup follows TorchRL's optional-Ray pattern (`torchrl/collectors/distributed/ray.py`:
`_has_ray` guard, ``ray.remote`` over plain classes); a local Ray instance is started with bounded
CPUs, no dashboard and warning-level logs when none is running, or an existing cluster is joined
with ``ray_address`` (e.g. ``"auto"`` or ``"ray://head:10001"``).
"""

from __future__ import annotations

import collections
import logging as std_logging
import os
import pathlib
import pickle
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import ray
from absl import logging
from ray import exceptions as ray_exceptions

from sc2agents.distributed.pool import Broadcast, Pool, WorkerLost, _len_or_none, _progress

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["RayBroadcast", "RayPool"]

_REPO_ROOT = str(pathlib.Path(__file__).resolve().parents[2])
_CACHE_SIZE = 16  # broadcast versions kept decoded per process (a league holds a few dozen members)
_cache: collections.OrderedDict[str, Any] = collections.OrderedDict()
_RETRYING = object()  # marker: the item went back in the queue, nothing to yield yet

# Errors that mean "the worker process (or its node) is gone", not "the task raised".
_WORKER_DEATH = (
    ray_exceptions.RayActorError,
    ray_exceptions.WorkerCrashedError,
    ray_exceptions.ObjectLostError,
    ray_exceptions.NodeDiedError,
)


def _short(item: Any, limit: int = 160) -> str:
    """A log-sized repr of a work item."""
    text = repr(item)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RayBroadcast(Broadcast[T]):
    """Handle on an object put once in Ray's object store; decoded once per process."""

    def __init__(self, ref: ray.ObjectRef, key: str) -> None:
        self.key = key
        # Kept inside a list so Ray never resolves it eagerly when the handle is a task argument:
        # the worker fetches it on first `get()` only, and never again for this key.
        self._refs = [ref]

    def get(self) -> T:
        if self.key in _cache:
            _cache.move_to_end(self.key)
            return _cache[self.key]
        value = ray.get(self._refs[0])
        _cache[self.key] = value
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return value

    def __repr__(self) -> str:
        return f"RayBroadcast({self.key[:8]})"


class _TaskFailed:
    """What a worker returns when ``fn`` raised (returned, not raised: no Ray traceback spam)."""

    def __init__(self, error: BaseException, tb: str) -> None:
        try:
            pickle.dumps(error)
        except Exception:  # noqa: BLE001 - an unpicklable exception still has to reach the driver
            error = RuntimeError(f"{type(error).__name__}: {error}")
        self.error = error
        self.traceback = tb


class _Worker:
    """The actor body: runs one task at a time; state lives in the process (module caches)."""

    def __init__(self) -> None:
        try:  # One core per worker: torch's intra-op threads would fight the other workers.
            import torch

            torch.set_num_threads(1)
        except ImportError:  # pragma: no cover - torch is a core dependency
            pass

    def run(self, fn: Callable[[Any], Any], item: Any) -> Any:
        try:
            return fn(item)
        except Exception as e:  # noqa: BLE001 - handed back to the driver by contract
            return _TaskFailed(e, traceback.format_exc())

    def pid(self) -> int:
        return os.getpid()

    def echo(self, x: Any) -> Any:
        """Round trip without work: what `benchmarks/eval_scaling.py` calls overhead."""
        return x


def _ensure_ray(num_workers: int, ray_address: str | None, object_store_mb: int) -> bool:
    """Connect to Ray; returns True when this call started a local instance (so close stops it)."""
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray_address:
        logging.info("joining Ray cluster at %s", ray_address)
        ray.init(address=ray_address, logging_level=std_logging.WARNING, include_dashboard=False)
        return False
    num_cpus = max(1, min(num_workers, os.cpu_count() or 1))
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        logging_level=std_logging.WARNING,
        object_store_memory=object_store_mb * 1024 * 1024,
        configure_logging=True,
    )
    logging.info("started a local Ray instance with %d CPUs", num_cpus)
    return True


class RayPool(Pool):
    """`Pool` on ``num_workers`` Ray actors, each holding its environments and policies.

    Args:
        num_workers: actors to start (>= 1).
        ray_address: join this cluster instead of starting a local instance.
        in_flight_per_worker: tasks queued per actor (2 hides the round trip between tasks).
        object_store_mb: object store size when a local instance is started.
        start_timeout_s: give up (RuntimeError) when the workers are not up by then.
    """

    def __init__(
        self,
        num_workers: int,
        *,
        ray_address: str | None = None,
        in_flight_per_worker: int = 2,
        object_store_mb: int = 256,
        start_timeout_s: float = 120.0,
    ) -> None:
        if num_workers < 1:
            raise ValueError(f"RayPool needs num_workers >= 1, got {num_workers}")
        self.num_workers = num_workers
        self._in_flight = max(1, in_flight_per_worker)
        self._owns_ray = _ensure_ray(num_workers, ray_address, object_store_mb)
        # Fractional CPUs when asked for more workers than free cores, so every actor gets
        # scheduled (actors hold their CPUs for life: another pool in this process may hold some).
        free_cpus = float(ray.available_resources().get("CPU", 0.0))
        self._cpus_per_actor = max(0.01, min(1.0, free_cpus / num_workers))
        env_vars = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        # Workers import sc2agents from this checkout, installed or not (on other nodes of a
        # cluster a missing path is ignored and the installed package is used).
        env_vars["PYTHONPATH"] = os.pathsep.join(
            p for p in [_REPO_ROOT, os.environ.get("PYTHONPATH", "")] if p
        )
        self._actor_cls = ray.remote(_Worker).options(
            num_cpus=self._cpus_per_actor,
            max_restarts=0,
            max_concurrency=1,
            runtime_env={"env_vars": env_vars},
        )
        self._actors = [self._actor_cls.remote() for _ in range(num_workers)]
        self._generation = [0] * num_workers
        self.replacements = 0  # how many dead workers were replaced (for reports and tests)
        self._closed = False
        try:  # fail loudly instead of waiting forever on actors the cluster cannot place
            ray.get([a.pid.remote() for a in self._actors], timeout=start_timeout_s)
        except ray_exceptions.GetTimeoutError as e:
            self.close()
            raise RuntimeError(
                f"RayPool: {num_workers} workers did not start within {start_timeout_s:.0f} s "
                f"(cluster CPUs: {ray.cluster_resources().get('CPU', 0)}, free: {free_cpus}); "
                "fewer workers, or a cluster with more CPUs"
            ) from e

    # -- workers ---------------------------------------------------------------------------

    def _replace(self, slot: int) -> None:
        try:
            ray.kill(self._actors[slot], no_restart=True)
        except Exception:  # noqa: BLE001 - it is dead already, most often
            pass
        self._actors[slot] = self._actor_cls.remote()
        self._generation[slot] += 1
        self.replacements += 1
        logging.warning("worker %d died; replaced it (replacement #%d)", slot, self.replacements)

    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (blocks until they are up)."""
        return ray.get([a.pid.remote() for a in self._actors])

    def echo_round_trip(self, payload: Any = None, n: int = 50) -> float:
        """Mean seconds of one empty actor call through this pool's workers."""
        actor = self._actors[0]
        ray.get(actor.echo.remote(payload))
        t0 = time.perf_counter()
        for _ in range(n):
            ray.get(actor.echo.remote(payload))
        return (time.perf_counter() - t0) / n

    # -- the Pool API ----------------------------------------------------------------------

    def broadcast(self, value: T) -> Broadcast[T]:
        return RayBroadcast(ray.put(value), uuid.uuid4().hex)

    def map_unordered(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        desc: str | None = None,
        retries: int = 1,
        retry_on: tuple[type[BaseException], ...] = (),
    ) -> Iterator[tuple[T, R | BaseException]]:
        if self._closed:
            raise RuntimeError("RayPool is closed")
        bar = _progress(_len_or_none(items), desc)
        source = iter(items)
        redo: collections.deque[tuple[T, int]] = collections.deque()
        load = [0] * self.num_workers
        # ref -> (slot, generation, item, attempts)
        pending: dict[ray.ObjectRef, tuple[int, int, T, int]] = {}
        exhausted = False

        def fill() -> None:
            """Top up the least-loaded worker first, so work spreads evenly from the start."""
            nonlocal exhausted
            while True:
                slot = min(range(self.num_workers), key=lambda s: load[s])
                if load[slot] >= self._in_flight:
                    return
                if redo:
                    item, attempts = redo.popleft()
                elif not exhausted:
                    try:
                        item, attempts = next(source), 0
                    except StopIteration:
                        exhausted = True
                        return
                else:
                    return
                ref = self._actors[slot].run.remote(fn, item)
                pending[ref] = (slot, self._generation[slot], item, attempts)
                load[slot] += 1

        def lost(slot: int, generation: int, item: T, attempts: int, why: BaseException) -> Any:
            """Replace a dead worker once; rerun its item or give it up. Returns what to yield."""
            if generation != self._generation[slot]:
                # Queued on a worker already replaced because of another task: not its fault.
                redo.append((item, attempts))
                return _RETRYING
            self._replace(slot)
            load[slot] = 0  # tasks still queued on the dead worker come back as errors, requeued
            if attempts < retries:
                redo.append((item, attempts + 1))
                return _RETRYING
            return WorkerLost(f"worker died running {_short(item)} {attempts + 1} time(s): {why}")

        try:
            fill()
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                ref = ready[0]
                slot, generation, item, attempts = pending.pop(ref)
                if generation == self._generation[slot]:
                    load[slot] -= 1
                out: Any
                try:
                    out = ray.get(ref)
                except _WORKER_DEATH as e:
                    out = lost(slot, generation, item, attempts, e)
                else:
                    if isinstance(out, _TaskFailed):
                        if retry_on and isinstance(out.error, retry_on) and attempts < retries:
                            logging.warning("%s failed with %r; rerunning", _short(item), out.error)
                            out = lost(slot, generation, item, attempts, out.error)
                        else:
                            logging.debug("%s raised:\n%s", _short(item), out.traceback)
                            out = out.error
                if out is not _RETRYING:
                    bar.update(1)
                    yield item, out
                fill()
        finally:
            for ref in pending:
                try:
                    ray.cancel(ref)
                except Exception:  # noqa: BLE001 - best effort when the consumer stops early
                    pass
            bar.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for actor in self._actors:
            try:
                ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - already gone
                pass
        self._actors = []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()

    def __repr__(self) -> str:
        return f"RayPool(num_workers={self.num_workers})"
