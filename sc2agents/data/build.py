"""The dataset-building job runner shared by every source: resume, workers, progress, summary.

`build_dataset(cfg)` turns *tasks* into `Episode`s with a source function and stores them with
`sc2agents.data.dataset.DatasetWriter`:

* ``replays``: one ``.SC2Replay`` file per task ->
  `sc2agents.data.replay_convert.convert_replay` (no game binary);
* ``pysc2``: one ``.SC2Replay`` file per task -> ``sc2agents.envs.pysc2_replay.observe_replay``
  (needs the game at the replay's version);
* ``sim``: one `sim_rollouts.SimTask` (a batch of ``--episodes`` split by
  ``sim_rollouts.plan_tasks``) per task -> ``sc2agents.data.sim_rollouts.rollout(task, cfg)``
  with ``task`` a dict (``map``, ``policy``, ``index``, ``num_episodes``, ``seed``) and ``cfg`` a
  dict of `SimRolloutConfig` fields (``map``, ``policy``, ``episodes``, ``seed``, ``step_mul``,
  ``screen_size``, ``minimap_size``).

Every source function is imported lazily, with a clear error when it is unavailable.

Every task has a stable id (``replay:<path relative to --replays>``, ``sim:<map>:<policy>:<task>``),
stored as the episodes' ``info["source"]``.

**Resume after a kill.** The dataset writer commits whole shards atomically (a half-written shard
is a ``.tmp-*`` directory that the next run deletes), and both points of view of a replay are
added as one group, so a task is either entirely in a committed shard or not at all. The set of
committed task ids comes from the manifest; tasks that were *skipped* (bad replay, not 1v1, ...)
are recorded with their reason in a done-ledger, ``build_ledger.json``, rewritten atomically
(temporary file + ``os.replace``) after every task. A rerun converts only what is in neither.
In-process (``workers=0``) tasks run and are written in sorted order, so a resumed build gives the
same dataset as an uninterrupted one; with Ray workers episodes are written in completion order.

**Workers** go through `sc2agents.distributed.make_pool`: ``workers=0`` runs in this process;
``workers=N`` starts N Ray actors when Ray is installed, and falls back to in-process (with a
warning) when it is not. One bad task never stops the batch: its exception is recorded.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import json
import os
import pathlib
import time
from collections.abc import Callable
from typing import Any, Literal

from absl import logging

from sc2agents.data.replay_convert import ConvertConfig

__all__ = [
    "LEDGER",
    "BuildConfig",
    "BuildSummary",
    "SourceUnavailable",
    "build_dataset",
    "list_tasks",
]

LEDGER = "build_ledger.json"
Source = Literal["replays", "sim", "pysc2"]


class SourceUnavailable(ImportError):
    """The module implementing a dataset source is not available (not installed / not written)."""


@dataclasses.dataclass(frozen=True)
class BuildConfig:
    """What to build (picklable; the part workers need is ``convert`` / ``sim``)."""

    source: Source
    out: str
    replays: str | None = None  # directory (searched recursively) or one file, for replay sources
    workers: int = 0
    ray_address: str | None = None
    shard_size: int = 20_000  # steps per shard
    convert: ConvertConfig = dataclasses.field(default_factory=ConvertConfig)
    sim_map: str | None = None
    sim_policy: str = "expert"
    sim_episodes: int = 100
    seed: int = 0
    limit: int | None = None  # only the first N tasks (sorted)
    verify: bool = False
    progress: bool = True


@dataclasses.dataclass
class BuildSummary:
    """What a build did (also returned as a dict by `as_dict`)."""

    tasks: int = 0
    already_done: int = 0
    converted: int = 0
    skipped: int = 0
    skip_reasons: dict[str, int] = dataclasses.field(default_factory=dict)
    episodes: int = 0
    steps: int = 0
    dataset_episodes: int = 0
    dataset_steps: int = 0
    dataset_bytes: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def lines(self) -> list[str]:
        out = [
            f"tasks: {self.tasks} ({self.already_done} already done before this run)",
            f"converted: {self.converted} tasks -> {self.episodes} episodes, {self.steps} steps",
            f"skipped: {self.skipped}",
        ]
        out += [f"  {n:5d}  {r}" for r, n in sorted(self.skip_reasons.items(), key=lambda x: -x[1])]
        out.append(
            f"dataset: {self.dataset_episodes} episodes, {self.dataset_steps} steps, "
            f"{self.dataset_bytes / 1e6:.1f} MB on disk; {self.seconds:.1f} s"
        )
        return out


@dataclasses.dataclass(frozen=True)
class Task:
    """One unit of work: ``id`` is stored as the episodes' ``info["source"]``."""

    id: str
    payload: Any


# --------------------------------------------------------------------------------------------
# Tasks and source functions
# --------------------------------------------------------------------------------------------
def _replay_files(root: str) -> list[pathlib.Path]:
    p = pathlib.Path(root)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise FileNotFoundError(f"--replays={root}: no such file or directory")
    return sorted(f for f in p.rglob("*") if f.suffix.lower() == ".sc2replay" and f.is_file())


def list_tasks(cfg: BuildConfig) -> list[Task]:
    """The sorted task list of a build (before removing those already done)."""
    if cfg.source in ("replays", "pysc2"):
        if not cfg.replays:
            raise ValueError(f"--source={cfg.source} needs --replays=DIR")
        root = pathlib.Path(cfg.replays)
        base = root if root.is_dir() else root.parent
        tasks = [
            Task(f"replay:{f.relative_to(base).as_posix()}", str(f))
            for f in _replay_files(cfg.replays)
        ]
    elif cfg.source == "sim":
        if not cfg.sim_map:
            raise ValueError("--source=sim needs --map")
        sim = _source_module("sim")
        plan = sim.plan_tasks(sim.as_config(_sim_config(cfg)))
        tasks = [
            Task(
                f"sim:{cfg.sim_map}:{cfg.sim_policy}:{t.index}",
                {
                    "map": cfg.sim_map,
                    "policy": cfg.sim_policy,
                    "index": t.index,
                    "num_episodes": t.num_episodes,
                    "seed": t.seed,
                },
            )  # fmt: skip
            for t in plan
        ]
    else:
        raise ValueError(f"unknown source {cfg.source!r} (replays, sim, pysc2)")
    return tasks[: cfg.limit] if cfg.limit is not None else tasks


_SOURCES = {
    "replays": ("sc2agents.data.replay_convert", "convert_replay"),
    "pysc2": ("sc2agents.envs.pysc2_replay", "observe_replay"),
    "sim": ("sc2agents.data.sim_rollouts", "rollout"),
}


def _source_module(source: Source) -> Any:
    """Import the source's module lazily, with a clear error when it is unavailable."""
    import importlib

    if source not in _SOURCES:
        raise ValueError(f"unknown source {source!r} (replays, sim, pysc2)")
    name, fn = _SOURCES[source]
    try:
        mod = importlib.import_module(name)
    except ImportError as e:
        raise SourceUnavailable(
            f"--source={source} needs {name}.{fn}, which cannot be imported: {e}"
        ) from e
    if getattr(mod, fn, None) is None:
        raise SourceUnavailable(f"--source={source}: {name} has no {fn}()")
    return mod


def _source_fn(source: Source) -> Callable[[Any, Any], list[Any]]:
    return getattr(_source_module(source), _SOURCES[source][1])  # type: ignore[no-any-return]


def _sim_config(cfg: BuildConfig) -> dict[str, Any]:
    """The `sim_rollouts.SimRolloutConfig` fields the shared flags set."""
    return {
        "map": cfg.sim_map, "policy": cfg.sim_policy, "episodes": cfg.sim_episodes,
        "seed": cfg.seed, "step_mul": cfg.convert.step_mul,
        "screen_size": cfg.convert.screen_size, "minimap_size": cfg.convert.minimap_size,
    }  # fmt: skip


def run_task(
    task: Task, *, source: Source, convert: ConvertConfig, sim_cfg: dict[str, Any]
) -> list[Any]:
    """Run one task in a worker: the episodes, with ``info["source"]`` set to the task id."""
    fn = _source_fn(source)
    episodes = fn(task.payload, sim_cfg if source == "sim" else convert)
    for ep in episodes:
        ep.info["source"] = task.id
    return list(episodes)


# --------------------------------------------------------------------------------------------
# Ledger
# --------------------------------------------------------------------------------------------
class _Ledger:
    """Per-task done-ledger (``{id: {"status": "converted"|"skipped", ...}}``), atomic rewrites."""

    def __init__(self, out: pathlib.Path, source: str) -> None:
        self.path = out / LEDGER
        self.data: dict[str, Any] = {"version": 1, "source": source, "tasks": {}}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text())
                if loaded.get("source", source) != source:
                    raise ValueError(
                        f"{self.path}: this directory was built from "
                        f"--source={loaded.get('source')}, not {source}"
                    )
                self.data = loaded
            except json.JSONDecodeError as e:  # a torn write is impossible (os.replace), but
                raise ValueError(f"{self.path}: damaged ledger ({e}); delete it to rebuild") from e

    @property
    def tasks(self) -> dict[str, Any]:
        return self.data["tasks"]  # type: ignore[no-any-return]

    def skipped(self) -> set[str]:
        return {k for k, v in self.tasks.items() if v.get("status") == "skipped"}

    def save(self) -> None:
        tmp = self.path.with_name(self.path.name + f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)


def _reason(exc: BaseException) -> str:
    from sc2agents.data.replay_decode import ReplayError

    if isinstance(exc, ReplayError):
        return exc.reason
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def _reason_group(reason: str) -> str:
    """Collapse per-file details ("too short (19 < 1344 game loops)") into a countable group."""
    return reason.split(" (", 1)[0]


def _dir_bytes(path: pathlib.Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------
def build_dataset(
    cfg: BuildConfig, *, _after_task: Callable[[int], None] | None = None
) -> BuildSummary:
    """Build (or resume) a dataset; see the module docstring.

    Args:
        cfg: the build configuration.
        _after_task: testing hook called with the number of tasks handled in this run (a test
            raises from it to simulate a kill).

    Returns:
        The `BuildSummary` (also logged).

    Raises:
        SourceUnavailable: the source's module cannot be imported.
        ValueError: bad configuration (missing --replays/--map, a ledger from another source).
    """
    from sc2agents.data.dataset import DatasetWriter, open_dataset
    from sc2agents.distributed import _has_ray, make_pool

    t0 = time.perf_counter()
    _source_fn(cfg.source)  # fail fast, in the main process, if the source is unavailable
    out = pathlib.Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    ledger = _Ledger(out, cfg.source)
    tasks = list_tasks(cfg)
    summary = BuildSummary(tasks=len(tasks))
    writer = DatasetWriter(
        out,
        shard_size=cfg.shard_size,
        metadata={
            "source": cfg.source,
            "convert": dataclasses.asdict(cfg.convert),
            "sim": {"map": cfg.sim_map, "policy": cfg.sim_policy} if cfg.source == "sim" else None,
        },
    )
    committed = writer.existing_sources
    done = committed | ledger.skipped()
    # A task the ledger calls converted but whose shard was lost is redone.
    todo = [t for t in tasks if t.id not in done]
    summary.already_done = len(tasks) - len(todo)
    reasons: collections.Counter[str] = collections.Counter()
    for t in tasks:
        if t.id in ledger.skipped():
            reasons[_reason_group(ledger.tasks[t.id].get("reason", "?"))] += 1
    workers = cfg.workers
    if workers > 0 and not _has_ray and not cfg.ray_address:
        logging.warning(
            "--workers=%d needs Ray (pip install 'sc2agents[ray]'); running in-process", workers
        )
        workers = 0
    sim_cfg = _sim_config(cfg)
    fn = functools.partial(run_task, source=cfg.source, convert=cfg.convert, sim_cfg=sim_cfg)
    pool = make_pool(workers, ray_address=cfg.ray_address)
    handled = 0
    pending_ids: list[str] = []
    try:
        for task, result in pool.map_unordered(
            fn, todo, desc=f"build_dataset[{cfg.source}]" if cfg.progress else None
        ):
            if isinstance(result, BaseException):
                reason = _reason(result)
                logging.info("skipped %s: %s", task.id, reason)
                ledger.tasks[task.id] = {"status": "skipped", "reason": reason}
                reasons[_reason_group(reason)] += 1
                summary.skipped += 1
            elif not result:
                ledger.tasks[task.id] = {"status": "skipped", "reason": "no episodes produced"}
                reasons["no episodes produced"] += 1
                summary.skipped += 1
            else:
                writer.add_episodes(result)  # both points of view land in the same shard
                pending_ids.append(task.id)
                ledger.tasks[task.id] = {
                    "status": "written", "episodes": len(result),
                    "steps": int(sum(ep.num_steps for ep in result)),
                }  # fmt: skip
                summary.converted += 1
                summary.episodes += len(result)
                summary.steps += int(sum(ep.num_steps for ep in result))
            committed = writer.existing_sources
            for tid in [t for t in pending_ids if t in committed]:
                ledger.tasks[tid]["status"] = "converted"
                pending_ids.remove(tid)
            ledger.save()
            handled += 1
            if _after_task is not None:
                _after_task(handled)
        writer.close()
    except BaseException:
        writer.abort()  # the open shard is dropped; its tasks are redone on resume
        raise
    finally:
        pool.close()
    committed = writer.existing_sources
    for tid in pending_ids:
        if tid in committed:
            ledger.tasks[tid]["status"] = "converted"
    ledger.save()
    summary.skip_reasons = dict(reasons)
    summary.skipped = sum(reasons.values())
    summary.dataset_bytes = _dir_bytes(out)
    if writer.manifest.get("keys") is not None:  # at least one episode was ever written
        ds = open_dataset(out)
        summary.dataset_episodes, summary.dataset_steps = ds.num_episodes, ds.num_steps
        if cfg.verify:
            ds.verify(progress=cfg.progress)
    summary.seconds = time.perf_counter() - t0
    for line in summary.lines():
        logging.info("%s", line)
    return summary
