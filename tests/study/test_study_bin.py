"""``bin/study`` end to end on the tiny budget (seconds), and its flag/config errors."""

from __future__ import annotations

import json

import pytest

from sc2agents.bin import study


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # datasets/ and reports/ go to the temporary dir
    return tmp_path


def test_value_bias_tiny_end_to_end_and_resume(in_tmp):
    rep = study.run("value_bias", "tiny", out=str(in_tmp / "reports"))
    text = rep.read_text()
    assert "cells finished: 6 / 6" in text
    assert "| dqn | BeaconChain-H100 | 3 |" in text and "| mc | BeaconChain-H100 | 3 |" in text
    assert (rep.parent / "value_bias_error_by_distance.png").stat().st_size > 1000
    cells = sorted((rep.parent / "cells").glob("*.json"))
    assert len(cells) == 6
    mtimes = [p.stat().st_mtime_ns for p in cells]
    study.run("value_bias", "tiny", out=str(in_tmp / "reports"))  # resume: nothing redone
    assert [p.stat().st_mtime_ns for p in cells] == mtimes
    # The same cells in two local processes give the same numbers (cells are seeded).
    rep2 = study.run("value_bias", "tiny", out=str(in_tmp / "reports2"), processes=2)
    assert "cells finished: 6 / 6" in rep2.read_text()
    for p in cells:
        a = json.loads(p.read_text())
        b = json.loads((rep2.parent / "cells" / p.name).read_text())
        assert a["value"]["overall"] == b["value"]["overall"], p.name


@pytest.mark.slow
def test_extraction_tiny_runs_policies(in_tmp):
    rep = study.run("extraction", "tiny", out=str(in_tmp / "reports"))
    text = rep.read_text()
    assert "ddpgbc" in text and "awr" in text and "policy_success" in text


def test_bad_budget_and_config(in_tmp):
    with pytest.raises(ValueError, match="workers and processes must be >= 0"):
        study.run("value_bias", "tiny", out=str(in_tmp / "reports"), processes=-1)
    with pytest.raises(ValueError, match="no budget 'huge'"):
        study.run("value_bias", "huge", out=str(in_tmp / "reports"))
    with pytest.raises(ValueError, match="does not exist"):
        study.run("value_bias", "tiny", config=str(in_tmp / "nope.py"))
    bad = in_tmp / "bad.py"
    bad.write_text("def get_config():\n    return {'experiment': 'value_bias'}\n")
    with pytest.raises(ValueError, match="needs 'experiment' and 'budgets'"):
        study.run("value_bias", "tiny", config=str(bad))


@pytest.mark.slow
@pytest.mark.ray
def test_value_bias_tiny_on_ray_workers(in_tmp):
    rep = study.run("value_bias", "tiny", out=str(in_tmp / "reports"), workers=1)
    assert "cells finished: 6 / 6" in rep.read_text()
