from __future__ import annotations

import time

from sc2agents.utils.timing import Timer


def test_sections_report_mean_and_share_then_reset() -> None:
    timer = Timer()
    for _ in range(2):
        with timer.section("work"):
            time.sleep(0.02)
    time.sleep(0.02)
    m = timer.metrics()
    assert 0.015 < m["time/work_s"] < 0.2
    assert 0.3 < m["time/work_frac"] < 1.0
    assert timer.metrics() == {}
