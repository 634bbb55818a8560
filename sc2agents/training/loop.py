"""The offline training loop: train, validate, evaluate, log, checkpoint and resume exactly.

`Trainer` runs one resolved `ExperimentConfig` in one run directory::

    <run_dir>/config.json        the resolved config (resume reads it back)
    <run_dir>/metrics.jsonl      every logged scalar, one JSON row per write
    <run_dir>/events.out.tfevents.*   TensorBoard: train/, val/, eval/, time/ and the hparams table
    <run_dir>/checkpoints/ckpt_<step>.pt

Per step ``s`` (1-based) it draws batch ``s`` of the training stream, calls ``learner.update`` and,
on the configured cadences, logs the mean ``train/`` metrics of the interval, computes ``val/``
metrics on held-out episodes (``learner.loss`` under ``torch.no_grad``), evaluates
``learner.policy()`` in the environment (``eval/``) and writes a checkpoint, in that order.

**Exact resume.** Batch ``s`` is a pure function of ``(seed, s)`` (the data source is indexed by
step, see `DataSource`), so the background prefetcher's run-ahead does not matter and the "sampler
position" is just the step. A checkpoint holds the learner's state (networks, optimisers, target
networks, its own counters), every global RNG state (`sc2agents.utils.seeding`), the step and the
partial metric sums of the current logging interval. On resume the rows of ``metrics.jsonl`` and the
TensorBoard events after the checkpoint's step are dropped, so a killed-and-resumed run writes the
same metrics as an uninterrupted one with the same seed (``tests/training/test_loop.py`` and
``tests/bin/test_train.py`` check this).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import torch
from absl import logging

from sc2agents.core import Learner, Policy
from sc2agents.data.batch import Batch
from sc2agents.training import config as tc
from sc2agents.utils import checkpoint as ckpt_lib
from sc2agents.utils import loggers as loggers_lib
from sc2agents.utils import seeding
from sc2agents.utils.timing import Timer

__all__ = ["Components", "DataSource", "Trainer", "resolve_device"]

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
CHECKPOINT_DIR = "checkpoints"


@dataclasses.dataclass
class DataSource:
    """What the loop needs from a dataset.

    Attributes:
        obs_spec: ``{key: (shape, dtype)}`` of the observations (the learner's ``obs_spec``).
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        train_batch: ``index -> Batch`` (numpy): batch ``index`` of the training stream, a pure
            function of the run seed and ``index`` (this is what makes resume exact).
        val_batch: ``index -> Batch`` over held-out episodes, or None without a split.
        info: dataset facts for the log (path, episodes, steps, ...).
    """

    obs_spec: dict[str, tuple[tuple[int, ...], Any]]
    action_spec: dict[str, int]
    train_batch: Callable[[int], Batch]
    val_batch: Callable[[int], Batch] | None = None
    info: dict[str, Any] = dataclasses.field(default_factory=dict)


Evaluate = Callable[[Policy, int], dict[str, float]]
"""``(policy, step) -> {"eval/<task>/score": ...}``."""


@dataclasses.dataclass
class Components:
    """Factories the loop builds its parts with (the real ones: `parts.default_components`).

    Attributes:
        make_data: ``(exp) -> DataSource``.
        make_learner: ``(exp, obs_spec, action_spec, device) -> Learner``.
        make_evaluator: ``(exp, run_dir) -> Evaluate``, or None to skip evaluation.
        prefetch: ``(batches, device, depth) -> iterator of device Batches``; None uses
            `thread_prefetch`.
    """

    make_data: Callable[[tc.ExperimentConfig], DataSource]
    make_learner: Callable[[tc.ExperimentConfig, Any, Any, torch.device], Learner]
    make_evaluator: Callable[[tc.ExperimentConfig, pathlib.Path], Evaluate] | None = None
    prefetch: Callable[[Iterator[Batch], torch.device, int], Iterator[Batch]] | None = None


def resolve_device(name: str) -> torch.device:
    """``"auto"`` -> cuda when available else cpu; anything else as given (checked)."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise tc.ConfigError(f"config.run.device: {name!r} but CUDA is not available")
    return dev


def thread_prefetch(batches: Iterator[Batch], device: torch.device, depth: int) -> Iterator[Batch]:
    """Minimal prefetcher: a daemon thread converts batches and moves them to ``device``.

    Used when `Components.prefetch` is None (tests, custom components); the real runs use
    `sc2agents.data.prefetch.Prefetcher` (pinned memory, CUDA side stream). Batches stay uint8
    until they are on the device (`Batch.to` keeps dtypes).
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=max(depth, 1))
    stop = threading.Event()
    pin = device.type == "cuda"

    def work() -> None:
        try:
            for b in batches:
                t = b.to("cpu")
                t = t.pin_memory().to(device, non_blocking=True) if pin else t.to(device)
                while not stop.is_set():
                    try:
                        q.put(t, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as e:  # Surface errors in the consumer thread.
            q.put(e)

    threading.Thread(target=work, daemon=True, name="prefetch").start()
    try:
        while True:
            item = q.get()
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()


def _to_float(v: Any) -> float:
    return float(v.item() if hasattr(v, "item") else v)


class _Means:
    """Running sums of metric dicts (state is plain data so it can go into a checkpoint)."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: Mapping[str, Any]) -> None:
        for k, v in values.items():
            x = _to_float(v)
            self.sums[k] = self.sums.get(k, 0.0) + x
            self.counts[k] = self.counts.get(k, 0) + 1

    def pop(self) -> dict[str, float]:
        out = {k: s / self.counts[k] for k, s in self.sums.items()}
        self.sums, self.counts = {}, {}
        return out

    def state(self) -> dict[str, Any]:
        return {"sums": dict(self.sums), "counts": dict(self.counts)}

    def load(self, state: Mapping[str, Any]) -> None:
        self.sums, self.counts = dict(state["sums"]), dict(state["counts"])


class _Progress:
    """A progress bar (rich or tqdm) or nothing; ``auto`` picks tqdm on a terminal, else none."""

    def __init__(self, kind: str, total: int, initial: int, desc: str) -> None:
        if kind == "auto":
            kind = "tqdm" if sys.stderr.isatty() else "none"
        self._kind = kind
        self._bar: Any = None
        if kind == "tqdm":
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True
            )
        elif kind == "rich":
            from rich.progress import Progress

            self._bar = Progress(*Progress.get_default_columns(), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(desc, total=total, completed=initial)

    def update(self, n: int = 1, postfix: Mapping[str, float] | None = None) -> None:
        if self._kind == "tqdm":
            self._bar.update(n)
            if postfix:
                self._bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in postfix.items()})
        elif self._kind == "rich":
            self._bar.update(self._task, advance=n)

    def close(self) -> None:
        if self._kind == "tqdm":
            self._bar.close()
        elif self._kind == "rich":
            self._bar.stop()


class Trainer:
    """Trains one experiment in ``run_dir`` (a fresh dir, or one with a checkpoint to resume).

    Args:
        exp: the resolved config.
        run_dir: the run directory (created).
        components: factories for data, learner, evaluator (`sc2agents.training.parts.default`).
        stop_after: stop (without the end-of-run evaluation) after this many steps of *this*
            process (tests; None: run to ``exp.run.steps``).
    """

    def __init__(
        self,
        exp: tc.ExperimentConfig,
        run_dir: str | os.PathLike[str],
        components: Components,
        stop_after: int | None = None,
    ) -> None:
        self.exp = exp
        self.run_dir = pathlib.Path(run_dir)
        self.components = components
        self.stop_after = stop_after
        self.step = 0
        self.obs_spec: dict[str, Any] = {}
        self.action_spec: dict[str, int] = {}

    # -- set-up ---------------------------------------------------------------------------------

    def _check_config_file(self) -> dict[str, Any] | None:
        """Check that a resumed run's stored config equals ours; return ours if none is stored."""
        path = self.run_dir / CONFIG_FILE
        ours = tc.to_dict(self.exp)
        if path.exists():
            stored = ckpt_lib.load_json(path)
            # Compare through JSON so tuples and lists compare equal.
            ours_json = json.loads(json.dumps(ours, default=str))
            diff = [k for k in tc.SECTIONS if stored.get(k) != ours_json.get(k)]
            if diff:
                keys = _diff_keys(stored, ours_json)
                raise tc.ConfigError(
                    f"{path}: the run dir holds a different config ({', '.join(keys[:5])}); "
                    "resume it with --resume (its own config) or use a new run dir"
                )
            return None
        return ours

    def _setup_torch(self) -> torch.device:
        r = self.exp.run
        if r.num_threads:
            torch.set_num_threads(r.num_threads)
        if r.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
        return resolve_device(r.device)

    # -- the loop -------------------------------------------------------------------------------

    def run(self) -> dict[str, float]:
        """Train to the end (or `stop_after`); return the last logged value of every metric.

        torch's global settings (threads, deterministic algorithms) are restored afterwards, so
        an in-process run (tests, notebooks) leaves the interpreter as it found it.
        """
        saved = (
            torch.get_num_threads(),
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        )
        try:
            return self._run()
        finally:
            torch.set_num_threads(saved[0])
            torch.use_deterministic_algorithms(saved[1], warn_only=saved[2])

    def _run(self) -> dict[str, float]:
        exp, r = self.exp, self.exp.run
        to_write = self._check_config_file()
        device = self._setup_torch()

        # Everything that can reject the config (dataset shapes, learner construction) runs before
        # the run dir is created, so a bad config leaves nothing behind.
        make_eval = self.components.make_evaluator  # First: cheap checks (opponent names).
        evaluate = make_eval(exp, self.run_dir) if make_eval is not None else None
        data = self.components.make_data(exp)
        self.obs_spec, self.action_spec = data.obs_spec, data.action_spec
        # Seeded here, after data and evaluator: building a dataset (first run only) must not
        # change the learner's initialisation.
        seeding.seed_everything(r.seed)
        learner = self.components.make_learner(exp, data.obs_spec, data.action_spec, device)
        if to_write is not None:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            ckpt_lib.save_json(self.run_dir / CONFIG_FILE, to_write)

        ckpt_dir = self.run_dir / CHECKPOINT_DIR
        means = _Means()
        latest = ckpt_lib.latest_checkpoint(ckpt_dir)
        start = 0
        if latest is not None:
            state = ckpt_lib.load_checkpoint(latest, map_location=device)
            learner.load_state_dict(state["learner"])
            seeding.set_rng_state(state["rng"])
            means.load(state["means"])
            start = int(state["step"])
            logging.info("resuming %s from step %d (%s)", self.run_dir, start, latest.name)
        dropped = loggers_lib.JsonlLogger.truncate_after(self.run_dir / METRICS_FILE, start)
        if dropped:
            logging.info("dropped %d metric rows logged after step %d", dropped, start)
        jsonl = loggers_lib.JsonlLogger(self.run_dir / METRICS_FILE)
        tb = loggers_lib.TensorBoardLogger(self.run_dir, purge_step=start + 1 if start else None)
        logger = loggers_lib.MultiLogger([jsonl, tb, loggers_lib.TerminalLogger(30.0)])
        if start == 0:
            headline = ["val/loss", *getattr(evaluate, "headline", [])]
            tb.write_hparams(tc.to_dict(exp), dict.fromkeys(headline, math.nan))
            logging.info("run dir %s; data %s", self.run_dir, data.info)

        self.step = start
        last: dict[str, float] = {}
        end = r.steps if self.stop_after is None else min(r.steps, start + self.stop_after)
        timer = Timer()
        last_log_step, last_log_t = start, time.perf_counter()
        prefetch = self.components.prefetch or thread_prefetch
        batches = prefetch(
            (data.train_batch(i) for i in range(start + 1, r.steps + 1)), device, exp.data.prefetch
        )
        progress = _Progress(r.progress, r.steps, start, f"{exp.name}/{exp.learner_name}")
        try:
            while self.step < end:
                with timer.section("wait_batch"):
                    batch = next(batches)
                with timer.section("update"):
                    info = learner.update(batch)
                self.step += 1
                step = self.step
                means.add(info)
                if step % r.log_every == 0 or step == r.steps:
                    values = {f"train/{k}": v for k, v in means.pop().items()}
                    values.update(timer.metrics())
                    now = time.perf_counter()
                    values["time/steps_per_s"] = (step - last_log_step) / max(
                        now - last_log_t, 1e-9
                    )
                    last_log_step, last_log_t = step, now
                    logger.write(values, step)
                    last.update(values)
                    progress.update(0, {k: v for k, v in values.items() if k.endswith("loss")})
                if r.val_every and data.val_batch is not None and step % r.val_every == 0:
                    with timer.section("validate"):
                        values = self._validate(learner, data, device)
                    logger.write(values, step)
                    last.update(values)
                want_eval = exp.eval.every and step % exp.eval.every == 0
                if evaluate is not None and (want_eval or (step == r.steps and exp.eval.at_end)):
                    with timer.section("evaluate"):
                        values = evaluate(learner.policy(), step)
                    logger.write(values, step)
                    last.update(values)
                if step % r.checkpoint_every == 0 or step == r.steps:
                    with timer.section("checkpoint"):
                        self._save(ckpt_dir, learner, means)
                progress.update(1)
        finally:
            progress.close()
            logger.close()
            close = getattr(batches, "close", None)
            if close is not None:
                close()
        return last

    def _validate(
        self, learner: Learner, data: DataSource, device: torch.device
    ) -> dict[str, float]:
        """Mean ``learner.loss`` info over ``run.val_batches`` fixed held-out batches (no grads)."""
        assert data.val_batch is not None
        means = _Means()
        modules = [m for m in vars(learner).values() if isinstance(m, torch.nn.Module)]
        was_training = [m.training for m in modules]
        for m in modules:
            m.eval()
        try:
            with torch.no_grad():
                for i in range(self.exp.run.val_batches):
                    loss, info = learner.loss(data.val_batch(i).to(device))
                    means.add({"loss": loss, **info})
        finally:
            for m, t in zip(modules, was_training, strict=True):
                m.train(t)
        return {f"val/{k}": v for k, v in means.pop().items()}

    def _save(self, ckpt_dir: pathlib.Path, learner: Learner, means: _Means) -> None:
        state = {
            "step": self.step,
            "learner": learner.state_dict(),
            "rng": seeding.get_rng_state(),
            "means": means.state(),
            # What `sc2agents.acting.policy.policy_from_checkpoint` rebuilds the learner from.
            "config": tc.to_dict(self.exp),
            "learner_name": self.exp.learner_name,
            "obs_spec": {k: (list(v[0]), str(np.dtype(v[1]))) for k, v in self.obs_spec.items()},
            "action_spec": dict(self.action_spec),
        }
        ckpt_lib.save_checkpoint(ckpt_dir, self.step, state, keep=self.exp.run.keep_checkpoints)


def _diff_keys(a: Mapping[str, Any], b: Mapping[str, Any], prefix: str = "config") -> list[str]:
    out = []
    for k in sorted(set(a) | set(b)):
        x, y = a.get(k), b.get(k)
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            out += _diff_keys(x, y, f"{prefix}.{k}")
        elif x != y:
            out.append(f"{prefix}.{k}: {x!r} != {y!r}")
    return out


def batch_seed(seed: int, stream: str, index: int) -> np.random.Generator:
    """The generator that draws batch ``index`` of ``stream`` ("train"/"val") for run ``seed``."""
    return np.random.default_rng(seeding.derive_seed(seed, stream, index))
