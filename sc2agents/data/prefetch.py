"""`Prefetcher`: samples and moves batches to the learner's device in a background thread.

The sampler's work (numpy gathers and decoding, which release the GIL for the large copies) and the
host-to-device copy overlap with the learner's update. Observations stay uint8 until they are on
the device (uint16 layers travel as 2 bytes and become int32, which torch can index, there), so
the copy moves the compact bytes; on CUDA the batch is page-locked and copied with
``non_blocking=True`` on a side stream, and the consumer's stream waits on an event instead of the
whole device synchronising.

`wait_fraction` is the share of wall time, since the first `next`, that the consumer spent
waiting for a batch: near 0 means the learner never stalls on data.

Example:
    >>> with Prefetcher(sampler, batch_size=256, device="cuda") as batches:  # doctest: +SKIP
    ...     for step, batch in zip(range(1000), batches):
    ...         learner.update(batch)
    ...     print(batches.wait_fraction)
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np
import torch
from absl import logging

from sc2agents.data.batch import Batch

__all__ = ["Prefetcher"]


class _BatchSource(Protocol):
    def sample(self, batch_size: int) -> Batch: ...


def _widen_u16(t: torch.Tensor) -> torch.Tensor:
    """The int32 values of a uint16 array carried as its int16 bit pattern."""
    return t.to(torch.int32) & 0xFFFF


def _record_stream(x: Any, stream: Any) -> None:
    if isinstance(x, torch.Tensor):
        x.record_stream(stream)
    elif isinstance(x, Batch):
        for f in dataclasses.fields(x):
            _record_stream(getattr(x, f.name), stream)
    elif isinstance(x, Mapping):
        for v in x.values():
            _record_stream(v, stream)


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Prefetcher:
    """Iterator of torch `Batch`es produced ``num_batches_ahead`` ahead by a daemon thread.

    Args:
        sampler: anything with ``sample(batch_size) -> Batch`` (numpy), e.g. a `Sampler`. It is
            only called from the background thread.
        batch_size: rows per batch.
        device: torch device of the produced tensors.
        num_batches_ahead: queue depth (bounded memory: at most this many batches wait, plus one
            being built).
        pin_memory: page-lock host tensors before the copy (default: True when ``device`` is CUDA).

    An exception raised by the sampler is re-raised by the consumer's next `next` call; `close`
    (or leaving the ``with`` block) stops the thread and waits for it.
    """

    def __init__(
        self,
        sampler: _BatchSource,
        batch_size: int,
        device: torch.device | str = "cpu",
        num_batches_ahead: int = 2,
        pin_memory: bool | None = None,
    ) -> None:
        if batch_size < 1 or num_batches_ahead < 1:
            raise ValueError("batch_size and num_batches_ahead must be >= 1")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.pin = self.cuda if pin_memory is None else bool(pin_memory)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=num_batches_ahead)
        self._stop = threading.Event()
        self._waited = 0.0
        self._start: float | None = None
        self._done = False
        self.batches_produced = 0
        self._thread = threading.Thread(target=self._run, name="sc2agents-prefetch", daemon=True)
        self._thread.start()

    # -- producer --
    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _convert(self, x: Any) -> Any:
        """One leaf (or dict) of a numpy batch -> a tensor on the device.

        uint16 layers travel as their int16 bit pattern (half the bytes of the int32 that
        `Batch.to` makes on the host) and are widened to int32 on the device, losslessly.
        """
        if x is None:
            return None
        if isinstance(x, Mapping):
            return {k: self._convert(v) for k, v in x.items()}
        if isinstance(x, torch.Tensor):
            host = x
            u16 = False
        else:
            a = np.ascontiguousarray(x)
            u16 = a.dtype == np.uint16
            if u16 and self.device.type == "cpu":
                return torch.from_numpy(a.astype(np.int32))
            host = torch.from_numpy(a.view(np.int16) if u16 else a)
        if self.device.type == "cpu":
            return host
        if self.pin:
            host = host.pin_memory()
        dev = host.to(self.device, non_blocking=self.pin)
        return _widen_u16(dev) if u16 else dev

    def _to_device(self, batch: Batch) -> Batch:
        return Batch(
            **{f.name: self._convert(getattr(batch, f.name)) for f in dataclasses.fields(batch)}
        )

    def _run(self) -> None:
        stream = torch.cuda.Stream(self.device) if self.cuda else None
        try:
            while not self._stop.is_set():
                batch = self.sampler.sample(self.batch_size)
                event = None
                if stream is not None:
                    with torch.cuda.stream(stream):
                        batch = self._to_device(batch)
                        event = torch.cuda.Event()
                        event.record(stream)
                else:
                    batch = self._to_device(batch)
                self.batches_produced += 1
                if not self._put((batch, event)):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer
            logging.debug("prefetcher: sampler failed: %r", e)
            self._put(_Failure(e))

    # -- consumer --
    def __iter__(self) -> Prefetcher:
        return self

    def __next__(self) -> Batch:
        if self._done:
            raise StopIteration
        now = time.perf_counter()
        if self._start is None:
            self._start = now
        item = self._queue.get()
        self._waited += time.perf_counter() - now
        if isinstance(item, _Failure):
            self._done = True
            self.close()
            raise item.exc
        batch, event = item
        if event is not None:
            stream = torch.cuda.current_stream(self.device)
            stream.wait_event(event)
            # The tensors were allocated on the side stream: tell the caching allocator they are
            # used on the consumer's stream, so their memory is not reused while kernels run.
            _record_stream(batch, stream)
        return batch

    @property
    def wait_fraction(self) -> float:
        """Share of the time since the first `next` that the consumer spent waiting."""
        if self._start is None:
            return 0.0
        total = time.perf_counter() - self._start
        return float(self._waited / total) if total > 0 else 0.0

    def close(self) -> None:
        """Stop the background thread (idempotent)."""
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                logging.warning("prefetcher thread did not stop within 30 s (sampler call stuck?)")

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self._stop.set()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass
