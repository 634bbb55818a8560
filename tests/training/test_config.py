from __future__ import annotations

import json
import pathlib

import pytest
from absl import flags
from ml_collections import config_flags

from sc2agents.bin import train as train_bin
from sc2agents.training import config as tc
from tests.training import fakes

_CONFIG_FILE = """
from sc2agents.training import config as tc
from tests.training import fakes

def get_config():
    return tc.experiment("fake", registry=fakes.REGISTRY, run={"steps": 7})
"""


@pytest.fixture
def config_file(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "exp.py"
    path.write_text(_CONFIG_FILE)
    return path


def _parse(config_file: pathlib.Path, *overrides: str) -> tc.ExperimentConfig:
    argv = ["prog", f"--config={config_file}", *overrides]
    fv = flags.FlagValues()
    # ml_collections discovers the override flags in argv when the flag is defined.
    holder = config_flags.DEFINE_config_file(
        "config", str(config_file), flag_values=fv, sys_argv=argv
    )
    fv(argv)
    return tc.resolve(holder.value, name="exp", registry=fakes.REGISTRY)


def test_command_line_overrides_apply_to_every_section(config_file: pathlib.Path) -> None:
    exp = _parse(
        config_file,
        "--config.learner.lr=0.125",
        "--config.learner.hidden=7",
        "--config.run.seed=9",
        "--config.env.task=DefeatRoaches",
        "--config.data.val_fraction=0.25",
        "--config.eval.every=3",
    )
    assert exp.learner == fakes.FakeConfig(lr=0.125, hidden=7)
    assert (exp.run.seed, exp.run.steps) == (9, 7)
    assert exp.env.task == "DefeatRoaches" and exp.data.val_fraction == 0.25 and exp.eval.every == 3
    default = _parse(config_file)
    assert default.learner == fakes.FakeConfig() and default.run.seed == 0


def test_unknown_override_key_is_explained_by_name(config_file: pathlib.Path) -> None:
    argv = ["prog", f"--config={config_file}", "--config.learner.hiden=3"]
    with pytest.raises(Exception) as info:
        _parse(config_file, "--config.learner.hiden=3")
    msg = train_bin._explain_override_error(argv, info.value)
    assert msg.startswith("config.learner.hiden: unknown key")
    assert "hidden" in msg and "lr" in msg  # Lists what exists.


def test_wrong_type_override_fails_at_parse_time(config_file: pathlib.Path) -> None:
    with pytest.raises(flags.IllegalFlagValueError, match="learner.lr"):
        _parse(config_file, "--config.learner.lr=fast")


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"learner": {"name": "nope"}}, "config.learner.name: unknown learner 'nope'"),
        ({"learner": {"lr": -1e-3}}, "config.learner.lr: must be > 0"),
        ({"learner": {"lr": 0.0}}, "config.learner.lr: must be > 0"),
        ({"learner": {"lrr": 1e-3}}, "config.learner.lrr: unknown key"),
        ({"learner": {"hidden": "big"}}, "config.learner.hidden: expected int"),
        ({"run": {"steps": 0}}, "config.run.steps: must be > 0"),
        ({"run": {"stepz": 3}}, "config.run.stepz: unknown key"),
        ({"run": {"device": "tpu"}}, "config.run.device"),
        ({"run": {"progress": "fancy"}}, "config.run.progress"),
        ({"data": {"val_fraction": 1.0}}, "config.data.val_fraction"),
        ({"data": {"batch_size": -4}}, "config.data.batch_size: must be > 0"),
        ({"env": {"screen_size": 0}}, "config.env.screen_size: must be > 0"),
        ({"env": {"backend": "real"}}, "config.env.backend"),
        ({"eval": {"episodes": 0}}, "config.eval.episodes: must be > 0"),
        ({"evaluation": {}}, "config.evaluation: unknown section"),
    ],
)
def test_bad_values_fail_naming_the_key(change: dict, key: str) -> None:
    cfg = tc.to_dict(fakes.experiment())
    for section, values in change.items():
        cfg.setdefault(section, {}).update(values)
    with pytest.raises(tc.ConfigError) as info:
        tc.resolve(cfg, registry=fakes.REGISTRY)
    assert str(info.value).startswith(key)


def test_learner_post_init_errors_name_the_field() -> None:
    import dataclasses
    import sys
    import types

    @dataclasses.dataclass(frozen=True)
    class StrictConfig:
        learner_name: str = "strict"
        tau: float = 0.005
        expectile: float = 0.7

        def __post_init__(self) -> None:
            if not 0.5 <= self.expectile < 1:
                raise ValueError(f"expectile must be in [0.5, 1), got {self.expectile}")

    module = types.ModuleType("strict_mod")
    module.StrictConfig = StrictConfig
    learner = type("StrictLearner", (), {"__module__": "strict_mod"})
    sys.modules["strict_mod"] = module
    try:
        reg = {"strict": learner}
        with pytest.raises(tc.ConfigError, match=r"^config\.learner\.expectile: expectile must"):
            tc.resolve({"learner": {"name": "strict", "expectile": 0.2}}, registry=reg)
        with pytest.raises(tc.ConfigError, match=r"^config\.learner\.tau: must be in \[0, 1\]"):
            tc.resolve({"learner": {"name": "strict", "tau": 2.0}}, registry=reg)
    finally:
        del sys.modules["strict_mod"]


def test_config_json_round_trip() -> None:
    exp = fakes.experiment(learner={"lr": 0.5}, run={"seed": 3})
    again = tc.resolve(json.loads(json.dumps(tc.to_dict(exp))), registry=fakes.REGISTRY)
    assert again == exp


def test_none_defaults_stay_overridable() -> None:
    """A learner field defaulting to None gets a typed placeholder that flags can set."""
    import dataclasses
    import sys
    import types

    @dataclasses.dataclass(frozen=True)
    class OptConfig:
        learner_name: str = "opt"
        n_step: int | None = None
        widths: tuple[int, ...] = (8, 8)

    module = types.ModuleType("opt_mod")
    module.OptConfig = OptConfig
    sys.modules["opt_mod"] = module
    try:
        reg = {"opt": type("OptLearner", (), {"__module__": "opt_mod"})}
        cfg = tc.experiment("opt", registry=reg)
        cfg.learner.n_step = 5
        cfg.learner.widths = (4, 4, 4)
        exp = tc.resolve(cfg, registry=reg)
        assert exp.learner == OptConfig(n_step=5, widths=(4, 4, 4))
        with pytest.raises(TypeError):
            cfg.learner.n_step = "five"  # ConfigDict's own type check.
    finally:
        del sys.modules["opt_mod"]


def test_run_dir_name(tmp_path: pathlib.Path) -> None:
    import datetime

    exp = fakes.experiment(run={"out_dir": str(tmp_path), "seed": 4})
    now = datetime.datetime(2026, 1, 2, 3, 4, 5)
    path = train_bin.run_dir_for(exp, now)
    assert path == tmp_path / "fake" / "fake__4__20260102-030405"
    path.mkdir(parents=True)
    assert train_bin.run_dir_for(exp, now).name == "fake__4__20260102-030405_1"
