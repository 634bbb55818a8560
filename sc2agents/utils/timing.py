"""Wall-clock accounting for training loops: named sections, reported as ``time/`` metrics.

Example:
    >>> timer = Timer()
    >>> with timer.section("update"):
    ...     pass
    >>> sorted(timer.metrics())
    ['time/update_frac', 'time/update_s']
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator

__all__ = ["Timer"]


class Timer:
    """Accumulates time per named section since the last `metrics()` call.

    ``metrics()`` returns, for each section, the mean seconds per entry (``time/<name>_s``) and the
    share of the wall time since the last report spent in it (``time/<name>_frac``), then resets.
    """

    def __init__(self) -> None:
        self._totals: dict[str, float] = defaultdict(float)
        self._counts: dict[str, int] = defaultdict(int)
        self._since = time.perf_counter()

    @contextlib.contextmanager
    def section(self, name: str) -> Iterator[None]:
        """Time the body of the ``with`` block under ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        """Record ``seconds`` spent in section ``name``."""
        self._totals[name] += seconds
        self._counts[name] += 1

    def total(self, name: str) -> float:
        """Seconds accumulated in ``name`` since the last report."""
        return self._totals.get(name, 0.0)

    def metrics(self, reset: bool = True) -> dict[str, float]:
        """``time/<name>_s`` (mean per entry) and ``time/<name>_frac`` (share of wall time)."""
        now = time.perf_counter()
        wall = max(now - self._since, 1e-9)
        out: dict[str, float] = {}
        for name, total in self._totals.items():
            out[f"time/{name}_s"] = total / max(self._counts[name], 1)
            out[f"time/{name}_frac"] = total / wall
        if reset:
            self._totals.clear()
            self._counts.clear()
            self._since = now
        return out
