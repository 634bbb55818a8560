"""Resumable runner: finished cells are skipped, failed cells are reported and retried."""

from __future__ import annotations

import json

from sc2agents.study import experiments as ex
from sc2agents.study import runner


def _cells():
    b = ex.Budget(tasks=("BeaconChain-H100",), methods=("dqn", "mc"), seeds=(0, 1))
    return b, ex.make_cells("value_bias", b)


def test_make_cells_order_and_ids():
    b, cells = _cells()
    assert len(cells) == 4 and len({c.cell_id for c in cells}) == 4
    assert [c.seed for c in cells] == [0, 0, 1, 1]  # seeds outermost
    ext = ex.make_cells("extraction", ex.Budget(methods=("mc",), seeds=(0,)))
    assert {c.variant for c in ext} == {"ddpgbc", "awr"}
    scal = ex.make_cells(
        "data_scaling", ex.Budget(methods=("mc",), seeds=(0,), data_multipliers=(1, 4))
    )
    assert [c.data_mult for c in scal] == [1, 4]


def test_resume_skips_finished_cells(tmp_path):
    b, cells = _cells()
    calls = []

    def fake(cell, budget):
        calls.append(cell.cell_id)
        if cell.method == "mc" and cell.seed == 1 and len(calls) < 5:
            raise RuntimeError("boom")
        return {"cell_id": cell.cell_id, "method": cell.method}

    stats = runner.run_cells(cells, b, tmp_path, run_fn=fake)
    assert stats == {"done": 3, "skipped": 0, "failed": 1}
    assert (tmp_path / "failed" / "mc__BeaconChain-H100__x1__s1.json").exists()
    assert len(runner.pending(tmp_path, cells)) == 1
    # Second run ("after a kill"): only the failed cell runs again.
    stats = runner.run_cells(cells, b, tmp_path, run_fn=fake)
    assert stats == {"done": 1, "skipped": 3, "failed": 0}
    assert calls[4:] == ["mc__BeaconChain-H100__x1__s1"]
    res = runner.load_results(tmp_path, cells)
    assert [r["cell_id"] for r in res] == [c.cell_id for c in cells]
    assert json.loads(runner.cell_path(tmp_path, cells[0]).read_text())["method"] == "dqn"
    # Third run: nothing left.
    assert runner.run_cells(cells, b, tmp_path, run_fn=fake)["skipped"] == 4


def test_budget_from_rejects_unknown_keys():
    import pytest

    with pytest.raises(ValueError, match="f.py: budgets.small: unknown budget key"):
        ex.budget_from({"stepz": 3}, "f.py: budgets.small")
    assert ex.budget_from({"seeds": [0, 1]}, "x").seeds == (0, 1)


def test_resume_refuses_a_changed_budget(tmp_path):
    import pytest

    b, cells = _cells()
    runner.run_cells(cells[:1], b, tmp_path, run_fn=lambda c, bb: {"cell_id": c.cell_id})
    changed = ex.Budget(tasks=b.tasks, methods=b.methods, seeds=b.seeds, steps=b.steps + 1)
    with pytest.raises(ValueError, match=r"another budget \(differs in \['steps'\]\)"):
        runner.run_cells(cells, changed, tmp_path, run_fn=lambda c, bb: {})


def test_resume_accepts_more_seeds_and_tasks_and_records_their_union(tmp_path):
    import json

    b, cells = _cells()
    runner.run_cells(cells[:1], b, tmp_path, run_fn=lambda c, bb: {"cell_id": c.cell_id})
    grown = ex.Budget(
        tasks=(*b.tasks, "BeaconChain-H1k"), methods=b.methods, seeds=(*b.seeds, 7), steps=b.steps
    )
    runner.check_budget(tmp_path, grown)  # no error: cells are named by method, task and seed
    rec = json.loads((tmp_path / "budget.json").read_text())
    assert rec["tasks"] == [*b.tasks, "BeaconChain-H1k"]
    assert rec["seeds"] == [*b.seeds, 7]
    assert rec["steps"] == b.steps
