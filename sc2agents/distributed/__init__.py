"""Distribution: the ONLY package that imports Ray (behind `_has_ray`, and only on demand).

`make_pool(num_workers)` returns a `Pool` (`docs/internal_api.md` §7): `LocalPool` runs everything
in this process when ``num_workers == 0`` and never imports Ray; otherwise `RayPool` runs tasks on
``num_workers`` Ray actors. Both have the same API:

* ``pool.map_unordered(fn, items, desc=...)`` yields ``(item, result | exception)`` as items finish;
* ``pool.broadcast(obj)`` shares a read-only object (policy, parameters) once per version; items
  carry the handle and ``fn`` calls ``handle.get()``;
* ``pool.evaluate(policy, env, **evaluator_kwargs)`` and ``pool.play(match_specs)``: the two verbs
  of ARCHITECTURE.md §2.4, thin calls into `sc2agents.acting` (`Evaluator`, `play_match`);
* ``pool.close()`` (or use the pool as a context manager).

Failures: an exception raised by ``fn`` is yielded in place of the result. A worker process that
dies mid-task (crash, OOM kill) is replaced by a fresh actor and the task rerun (``retries``), then
reported as `WorkerLost`; ``retry_on`` exception types (a lost game) get the same treatment. A
result is yielded once, when it is complete, so callers that record what they receive (the league)
never record half a match and never lose a finished one.

Evaluation and the league (`sc2agents.acting`) are built on these two calls, and so is dataset
conversion (`sc2agents.data.build`). The pattern is TorchRL's optional Ray
(`torchrl/collectors/distributed/ray.py`): a launch-time choice over the same plain classes.
"""

from __future__ import annotations

import importlib.util

from sc2agents.distributed.pool import Broadcast, LocalBroadcast, LocalPool, Pool, WorkerLost

_has_ray = importlib.util.find_spec("ray") is not None

__all__ = [
    "Broadcast",
    "LocalBroadcast",
    "LocalPool",
    "Pool",
    "WorkerLost",
    "_has_ray",
    "make_pool",
]


def make_pool(num_workers: int, *, ray_address: str | None = None, **ray_kwargs: object) -> Pool:
    """Make the pool for ``num_workers`` workers.

    Args:
        num_workers: 0 runs in-process (Ray is not imported); N > 0 starts N Ray actors.
        ray_address: join an existing Ray cluster (``"auto"``, ``"ray://host:10001"``) instead of
            starting a local instance; ignored when Ray is already initialised in this process
            and when ``num_workers == 0``.
        **ray_kwargs: passed to `RayPool` (``in_flight_per_worker``, ``object_store_mb``).

    Returns:
        A `LocalPool` or a `RayPool`.

    Raises:
        ValueError: ``num_workers`` is negative.
        ImportError: workers were asked for and Ray is not installed.
    """
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    if num_workers == 0:
        if ray_address:
            from absl import logging

            logging.warning(
                "num_workers=0 runs in-process; ray_address=%s is not used", ray_address
            )
        return LocalPool()
    if not _has_ray:
        raise ImportError(
            f"num_workers={num_workers} needs Ray: pip install 'sc2agents[ray]' "
            "(or pass num_workers=0 to run in-process)"
        )
    from sc2agents.distributed.ray_pool import RayPool

    return RayPool(num_workers, ray_address=ray_address, **ray_kwargs)  # type: ignore[arg-type]
