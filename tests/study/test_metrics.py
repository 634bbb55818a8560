"""Study metrics on hand-made cases with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sc2agents.study import metrics


def test_discounted_returns_terminal_reward():
    g = metrics.discounted_returns(np.array([0, 0, 0, 1.0]), 0.5)
    np.testing.assert_allclose(g, [0.125, 0.25, 0.5, 1.0])


def test_value_error_by_distance_known_answer():
    # Episode of length 6 with reward 1 at the end, gamma = 0.5: true return 0.5^d.
    d = np.arange(6)[::-1]  # steps 0..5 -> distances 5..0
    true = 0.5**d
    # A learner that is exact near the end and under-estimates by 0.1 at d >= 2.
    pred = true - np.where(d >= 2, 0.1, 0.0)
    out = metrics.value_error_by_distance(pred, true, d, edges=(0, 2, 4, 8))
    b0, b1, b2 = out["bins"]
    assert (b0["count"], b1["count"], b2["count"]) == (2, 2, 2)
    assert b0["abs_error"] == 0.0 and b0["bias"] == 0.0
    assert b1["bias"] == pytest.approx(-0.1) and b1["abs_error"] == pytest.approx(0.1)
    # rel error of bin [2,4): 0.1 / mean(0.25, 0.125)
    assert b1["rel_abs_error"] == pytest.approx(0.1 / 0.1875)
    assert b2["true_mean"] == pytest.approx((0.0625 + 0.03125) / 2)
    assert out["overall"]["bias"] == pytest.approx(-0.4 / 6)


def test_value_error_empty_bin_and_bad_input():
    out = metrics.value_error_by_distance([1.0], [1.0], [0], edges=(0, 1, 5))
    assert out["bins"][1]["count"] == 0 and math.isnan(out["bins"][1]["bias"])
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.value_error_by_distance([1.0, 2.0], [1.0], [0])
    with pytest.raises(ValueError, match="increasing"):
        metrics.value_error_by_distance([1.0], [1.0], [0], edges=(0, 0))


def test_mean_ci_student_t():
    mean, hw, n = metrics.mean_ci([1.0, 2.0, 3.0])
    assert (mean, n) == (2.0, 3)
    assert hw == pytest.approx(4.303 * 1.0 / math.sqrt(3))
    mean, hw, n = metrics.mean_ci([5.0, float("nan")])
    assert mean == 5.0 and math.isnan(hw) and n == 1
    assert metrics.t_critical(100) == 1.96
    with pytest.raises(ValueError):
        metrics.t_critical(0)


def test_aggregate_cells_groups_and_ci():
    rows = [{"method": "a", "seed": s, "err": v} for s, v in enumerate([1.0, 3.0])] + [
        {"method": "b", "seed": 0, "err": 10.0},
        {"method": "b", "seed": 1, "err": None},
    ]
    agg = metrics.aggregate_cells(rows, ("method",), ("err",))
    assert [r["method"] for r in agg] == ["a", "b"]
    a, b = agg
    assert a["n"] == 2 and a["err"] == 2.0
    assert a["err_ci"] == pytest.approx(12.706 * math.sqrt(2.0) / math.sqrt(2))
    assert b["err"] == 10.0 and math.isnan(b["err_ci"])


def test_calibration_perfect_and_constant():
    z = np.array([1, 0, 1, 0], float)
    perfect = metrics.calibration(z, z)
    assert perfect["brier"] == 0.0 and perfect["ece"] == 0.0
    const = metrics.calibration(np.full(4, 0.5), z)
    assert const["brier"] == pytest.approx(0.25) and const["ece"] == pytest.approx(0.0)
    over = metrics.calibration(np.full(4, 0.9), z)
    assert over["ece"] == pytest.approx(0.4)
