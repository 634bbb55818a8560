"""Study metrics: value error by distance to the episode end, CIs over seeds, calibration.

All functions are numpy-only and pure, so the tests can check them on hand-made cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_EDGES",
    "aggregate_cells",
    "calibration",
    "discounted_returns",
    "mean_ci",
    "t_critical",
    "value_error_by_distance",
]

DEFAULT_EDGES: tuple[int, ...] = (0, 4, 16, 64, 256, 1024, 4096, 16384)
"""Distance-to-end bins ``[e_i, e_{i+1})`` in agent steps (log-spaced)."""

# Two-sided 95% Student-t critical values t_{0.975, df}, df = 1..30. scipy is not a dependency of
# the project (and is not installed); these are the standard table values.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def t_critical(df: int) -> float:
    """Two-sided 95% Student-t critical value for ``df`` degrees of freedom (1.96 above 30)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    return _T975[df - 1] if df <= len(_T975) else 1.96


def mean_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, int]:
    """Mean and 95% Student-t half-width over seeds: ``(mean, half_width, n)``.

    NaNs are dropped; the half-width is NaN with fewer than two values.
    """
    x = np.asarray(values, np.float64).ravel()
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return math.nan, math.nan, 0
    if n == 1:
        return float(x[0]), math.nan, 1
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    return float(x.mean()), t_critical(n - 1) * sem, n


def discounted_returns(rewards: np.ndarray, gamma: float) -> np.ndarray:
    """``G_t = sum_{j >= t} gamma^(j - t) r_j`` of one episode (no bootstrap)."""
    r = np.asarray(rewards, np.float64)
    out = np.zeros_like(r)
    acc = 0.0
    for t in range(len(r) - 1, -1, -1):
        acc = r[t] + gamma * acc
        out[t] = acc
    return out


def value_error_by_distance(
    predicted: np.ndarray,
    true: np.ndarray,
    distance: np.ndarray,
    edges: Sequence[int] = DEFAULT_EDGES,
) -> dict[str, Any]:
    """Error of value estimates against the true return, binned by distance to the episode end.

    Args:
        predicted: ``[M]`` learned values ``Q(s_t, a_t)`` (or ``V(s_t)``).
        true: ``[M]`` true discounted returns of the same steps.
        distance: ``[M]`` steps to the episode end (``T - t - 1``: 0 at the last action).
        edges: bin edges (increasing); a step falls in ``[edges[i], edges[i+1])``.

    Returns:
        ``{"edges": [...], "bins": [{"lo", "hi", "count", "bias", "abs_error", "rel_abs_error",
        "true_mean"}...], "overall": {"bias", "abs_error", "count"}}`` where ``bias`` is the mean
        of ``predicted - true`` and ``rel_abs_error`` is ``abs_error / mean|true|``; empty bins
        have ``count = 0`` and NaN statistics.
    """
    p = np.asarray(predicted, np.float64).ravel()
    y = np.asarray(true, np.float64).ravel()
    d = np.asarray(distance, np.int64).ravel()
    if not (p.shape == y.shape == d.shape):
        raise ValueError(f"shapes differ: predicted {p.shape}, true {y.shape}, distance {d.shape}")
    e = list(edges)
    if any(b <= a for a, b in zip(e, e[1:], strict=False)) or len(e) < 2:
        raise ValueError(f"edges must be increasing with >= 2 entries, got {e}")
    err = p - y
    bins = []
    for lo, hi in zip(e, e[1:], strict=False):
        m = (d >= lo) & (d < hi)
        n = int(m.sum())
        if n:
            mean_true = float(np.abs(y[m]).mean())
            abs_err = float(np.abs(err[m]).mean())
            bins.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "count": n,
                    "bias": float(err[m].mean()),
                    "abs_error": abs_err,
                    "rel_abs_error": abs_err / mean_true if mean_true > 0 else math.nan,
                    "true_mean": float(y[m].mean()),
                }
            )
        else:
            nan = math.nan
            bins.append(
                {
                    "lo": lo,
                    "hi": hi,
                    "count": 0,
                    "bias": nan,
                    "abs_error": nan,
                    "rel_abs_error": nan,
                    "true_mean": nan,
                }
            )
    overall = {
        "count": int(p.size),
        "bias": float(err.mean()) if p.size else math.nan,
        "abs_error": float(np.abs(err).mean()) if p.size else math.nan,
    }
    return {"edges": e, "bins": bins, "overall": overall}


def calibration(prob: np.ndarray, outcome: np.ndarray, num_bins: int = 10) -> dict[str, Any]:
    """Calibration of win probabilities: Brier score, expected calibration error, reliability.

    Args:
        prob: ``[M]`` predicted win probabilities in [0, 1].
        outcome: ``[M]`` 1 for a win, 0 otherwise.
        num_bins: equal-width probability bins of the reliability table.
    """
    p = np.clip(np.asarray(prob, np.float64).ravel(), 0.0, 1.0)
    z = np.asarray(outcome, np.float64).ravel()
    if p.shape != z.shape:
        raise ValueError(f"shapes differ: prob {p.shape}, outcome {z.shape}")
    idx = np.minimum((p * num_bins).astype(np.int64), num_bins - 1)
    rows, ece = [], 0.0
    for b in range(num_bins):
        m = idx == b
        n = int(m.sum())
        if n:
            conf, acc = float(p[m].mean()), float(z[m].mean())
            ece += n / max(p.size, 1) * abs(conf - acc)
            rows.append({"bin": b, "count": n, "confidence": conf, "frequency": acc})
    brier = float(((p - z) ** 2).mean()) if p.size else math.nan
    return {"brier": brier, "ece": ece if p.size else math.nan, "reliability": rows}


def aggregate_cells(
    results: Sequence[Mapping[str, Any]], group_keys: Sequence[str], metric_keys: Sequence[str]
) -> list[dict[str, Any]]:
    """Group cell results by ``group_keys`` and give mean and 95% CI of each metric over seeds.

    Args:
        results: one mapping per finished cell (with the group keys and flat metric keys).
        group_keys: e.g. ``("method", "task")``; rows keep the first-seen order of groups.
        metric_keys: metrics to aggregate; missing values count as NaN (dropped).

    Returns:
        One row per group: the group keys, ``n`` (cells), and ``<metric>``, ``<metric>_ci``.
    """
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in results:
        groups.setdefault(tuple(r.get(k) for k in group_keys), []).append(r)
    rows = []
    for key, rs in groups.items():
        row: dict[str, Any] = dict(zip(group_keys, key, strict=True))
        row["n"] = len(rs)
        for m in metric_keys:
            vals = [float(r[m]) if r.get(m) is not None else math.nan for r in rs]
            mean, hw, _ = mean_ci(vals)
            row[m], row[f"{m}_ci"] = mean, hw
        rows.append(row)
    return rows
