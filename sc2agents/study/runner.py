"""Resumable execution of an experiment's cells: one JSON result file per finished cell.

``reports/<experiment>/<budget>/cells/<cell_id>.json`` is written atomically (temp file + rename)
when a cell finishes, so a killed run loses at most the cells in flight; the next run skips every
cell whose file exists. Datasets are built first, in this process (several cells share one), then
the cells run in-process (``workers=0``), in ``processes`` local worker processes (the
standard library's `concurrent.futures.ProcessPoolExecutor`, no Ray: the cheap way to use both
cores of a small machine), or on Ray workers through `sc2agents.distributed.make_pool` (the only
package that imports Ray).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import tempfile
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from absl import logging

from sc2agents.study import experiments as ex

__all__ = ["cell_path", "check_budget", "load_results", "pending", "run_cells"]


def cell_path(out_dir: str | pathlib.Path, cell: ex.Cell) -> pathlib.Path:
    """Result file of a cell."""
    return pathlib.Path(out_dir) / "cells" / f"{cell.cell_id}.json"


def pending(out_dir: str | pathlib.Path, cells: Iterable[ex.Cell]) -> list[ex.Cell]:
    """The cells without a result file (what a resumed run still has to do)."""
    return [c for c in cells if not cell_path(out_dir, c).exists()]


# A cell's id names its method, task and seed, so a folder may grow along these lists (more seeds,
# another task) without mixing results; every other field changes what a cell computes.
GROWABLE_KEYS = ("tasks", "methods", "seeds")


def check_budget(out_dir: str | pathlib.Path, budget: ex.Budget) -> None:
    """Record the budget in ``<out_dir>/budget.json``; refuse to resume under a different one.

    Cell ids do not encode every budget field (steps, batch size...), so mixing cells of two
    budgets in one folder would silently mix results. The lists named in `GROWABLE_KEYS` may
    differ (a study grows by a seed, a task or a method): the record keeps their union.

    Raises:
        ValueError: the folder holds cells of another budget (names the differing keys).
    """
    path = pathlib.Path(out_dir) / "budget.json"
    now = json.loads(json.dumps(budget.to_dict()))
    if path.exists():
        old = json.loads(path.read_text())
        diff = sorted(
            k for k in set(old) | set(now) if k not in GROWABLE_KEYS and old.get(k) != now.get(k)
        )
        if diff:
            raise ValueError(
                f"{path}: the finished cells were run with another budget (differs in {diff}); "
                "use another --out or delete the folder"
            )
        merged = {k: list(dict.fromkeys([*old.get(k, []), *now[k]])) for k in GROWABLE_KEYS}
        if any(merged[k] != old.get(k) for k in GROWABLE_KEYS):
            _write_json(path, {**old, **merged})
        return
    _write_json(path, now)


def _write_json(path: pathlib.Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=1, default=float)
    os.replace(tmp, path)


def load_results(out_dir: str | pathlib.Path, cells: Iterable[ex.Cell]) -> list[dict[str, Any]]:
    """Results of the given cells that have finished (in cell order)."""
    out = []
    for c in cells:
        p = cell_path(out_dir, c)
        if p.exists():
            out.append(json.loads(p.read_text()))
    return out


@dataclasses.dataclass(frozen=True)
class _Job:
    """Picklable unit sent to a worker."""

    cell: ex.Cell
    budget: ex.Budget

    def __call__(self) -> dict[str, Any]:
        return ex.run_cell(self.cell, self.budget)


def _run_job(job: _Job) -> dict[str, Any]:
    return job()


def _run_cell_quiet(cell: ex.Cell, budget: ex.Budget) -> dict[str, Any]:
    """A cell in a worker process (no per-step bar: the parent shows the cells bar)."""
    return ex.run_cell(cell, budget)


def run_cells(
    cells: list[ex.Cell],
    budget: ex.Budget,
    out_dir: str | pathlib.Path,
    *,
    workers: int = 0,
    run_fn: Callable[[ex.Cell, ex.Budget], dict[str, Any]] | None = None,
    prepare: bool = True,
    processes: int = 0,
) -> dict[str, int]:
    """Run the cells that have no result yet; returns ``{"done", "skipped", "failed"}``.

    Args:
        cells: the experiment's cells.
        budget: compute settings.
        out_dir: ``reports/<experiment>/<budget>``.
        workers: 0 runs in-process with progress bars; N > 0 uses N Ray workers.
        run_fn: replaces `experiments.run_cell` (tests).
        prepare: build the datasets before running the cells (in-process, with progress).
        processes: N > 1 runs the cells in N local processes (spawned; each cell's torch
            threads are ``budget.threads``); 0 or 1 runs them in this process. Ignored when
            ``workers`` > 0.

    Raises:
        ValueError: negative ``workers`` or ``processes``.
    """
    if workers < 0 or processes < 0:
        raise ValueError(f"workers and processes must be >= 0, got {workers} and {processes}")
    from tqdm.auto import tqdm

    check_budget(out_dir, budget)
    todo = pending(out_dir, cells)
    stats = {"done": 0, "skipped": len(cells) - len(todo), "failed": 0}
    if not todo:
        return stats
    if prepare and run_fn is None:
        seen = set()
        for c in todo:
            key = (c.task, c.data_mult)
            if c.experiment != "replays" and key not in seen:
                seen.add(key)
                ex.dataset_for(c, budget, progress=True)
    bar = tqdm(total=len(cells), initial=stats["skipped"], desc="cells", unit="cell")

    def record(cell: ex.Cell, res: Any) -> None:
        if isinstance(res, BaseException):
            stats["failed"] += 1
            logging.error(
                "cell %s failed: %s",
                cell.cell_id,
                "".join(traceback.format_exception(type(res), res, res.__traceback__))[-2000:],
            )
            _write_json(
                pathlib.Path(out_dir) / "failed" / f"{cell.cell_id}.json",
                {"cell": dataclasses.asdict(cell), "error": repr(res)},
            )
        else:
            _write_json(cell_path(out_dir, cell), res)
            stats["done"] += 1
        bar.update(1)
        bar.set_postfix(done=stats["done"], failed=stats["failed"])

    if workers > 0 and run_fn is None:
        from sc2agents.distributed import make_pool

        pool = make_pool(workers)
        try:
            for job, res in pool.map_unordered(
                _run_job, [_Job(c, budget) for c in todo], desc="cells"
            ):
                record(job.cell, res)
        finally:
            pool.close()
    elif processes > 1:
        import concurrent.futures as cf
        import multiprocessing

        job_fn = run_fn or _run_cell_quiet
        ctx = multiprocessing.get_context("spawn")  # no fork of torch / numba state
        with cf.ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
            futures = {pool.submit(job_fn, c, budget): c for c in todo}
            for fut in cf.as_completed(futures):
                exc = fut.exception()
                record(futures[fut], exc if exc is not None else fut.result())
    else:
        fn = run_fn or (lambda c, b: ex.run_cell(c, b, progress=True))
        for c in todo:
            try:
                res = fn(c, budget)
            except Exception as e:  # noqa: BLE001 - a failed cell is reported, the rest go on
                res = e
            record(c, res)
    bar.close()
    return stats
