"""The real parts (dataset, samplers, learner registry, prefetcher) under the loop, no simulator."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from sc2agents.learners import LEARNERS
from sc2agents.training import config as tc
from sc2agents.training import loop, parts
from sc2agents.utils import checkpoint, loggers
from tests.training import synthetic


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    path = tmp_path_factory.mktemp("data") / "synthetic"
    synthetic.write_dataset(path)
    return path


def _exp(dataset: pathlib.Path, **sections: dict) -> tc.ExperimentConfig:
    cfg = {
        "learner": {"name": "bc", "encoder": "fullyconv_tiny", "lr": 1e-3},
        "env": {"screen_size": 16, "minimap_size": 16},
        "data": {"path": str(dataset), "batch_size": 8, "val_fraction": 0.34},
        "run": {"steps": 12, "log_every": 3, "val_every": 6, "val_batches": 2, "num_threads": 1,
                "checkpoint_every": 6, "device": "cpu", "progress": "none"},
        "eval": {"every": 0, "at_end": False},
    }  # fmt: skip
    for k, v in sections.items():
        cfg[k].update(v)
    return tc.resolve(cfg, name="parts")


def _components() -> loop.Components:
    return loop.Components(parts.make_data, parts.make_learner, None, parts.prefetch)


def test_split_is_by_episode_and_seed_independent() -> None:
    lengths = np.array([3, 4, 5, 6, 7])
    train, val = parts.split_episodes(lengths, 0.4)
    assert len(train) + len(val) == lengths.sum() and not set(train) & set(val)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    ep_of = np.searchsorted(starts, np.concatenate([train, val]), side="right") - 1
    val_eps = set(ep_of[len(train) :])
    assert len(val_eps) == 2 and not val_eps & set(ep_of[: len(train)])
    assert np.array_equal(parts.split_episodes(lengths, 0.4)[1], val)
    assert len(parts.split_episodes(lengths, 0.0)[1]) == 0
    assert len(parts.split_episodes(np.array([5, 5]), 0.01)[1]) == 5  # At least one episode.


def test_train_batches_are_indexed_and_validation_is_held_out(dataset: pathlib.Path) -> None:
    data = parts.make_data(_exp(dataset))
    a, b = data.train_batch(3), data.train_batch(3)
    assert np.array_equal(a.actions["args"], b.actions["args"])
    assert not np.array_equal(a.actions["args"], data.train_batch(4).actions["args"])
    assert a.observations["minimap"].dtype == np.uint8 and a.batch_size == 8
    assert data.val_batch is not None and data.info["val_steps"] > 0
    assert data.info["train_steps"] + data.info["val_steps"] == data.info["steps"]


def test_bc_trains_checkpoints_and_resumes_exactly(dataset: pathlib.Path, tmp_path) -> None:
    exp = _exp(dataset)
    loop.Trainer(exp, tmp_path / "a", _components()).run()
    loop.Trainer(exp, tmp_path / "b", _components(), stop_after=8).run()
    loop.Trainer(exp, tmp_path / "b", _components()).run()

    def rows(d: pathlib.Path) -> list[dict]:
        return [
            {k: v for k, v in r.items() if not k.startswith("time/")}
            for r in loggers.read_jsonl(d / loop.METRICS_FILE)
        ]

    ra = rows(tmp_path / "a")
    assert ra == rows(tmp_path / "b")
    assert any("val/loss" in r for r in ra) and any(k.startswith("train/") for k in ra[0])
    state = checkpoint.load_checkpoint(tmp_path / "a" / "checkpoints" / "ckpt_000000012.pt")
    assert state["learner_name"] == "bc" and state["obs_spec"]["minimap"][0] == [10, 16, 16]
    from sc2agents.acting.policy import policy_from_checkpoint

    policy = policy_from_checkpoint(tmp_path / "a")
    batch = parts.make_data(exp).val_batch(0)
    fn, args = policy.act(batch.observations, np.random.default_rng(0))
    assert fn.shape == (8,) and args.shape == (8, 13)
    assert batch.observations["available_actions"][np.arange(8), fn].all()


def test_shape_mismatch_fails_naming_the_env_key(dataset: pathlib.Path) -> None:
    with pytest.raises(tc.ConfigError, match=r"^config\.env\.screen_size: 32 does not match"):
        parts.make_data(_exp(dataset, env={"screen_size": 32}))


def test_missing_dataset_fails_naming_the_data_key(tmp_path: pathlib.Path) -> None:
    exp = _exp(tmp_path / "nothing", data={"build_if_missing": False})
    with pytest.raises(tc.ConfigError, match=r"^config\.data\.path: dataset .*nothing"):
        parts.make_data(exp)


def test_sampler_configs_per_learner(dataset: pathlib.Path) -> None:
    from sc2agents.data import samplers

    def cfg(name: str, **sections: dict) -> samplers.SamplerConfig:
        exp = _exp(dataset, learner={}, **sections)
        learner = {"name": name, "encoder": "fullyconv_tiny"}
        exp = tc.resolve({**tc.to_dict(exp), "learner": learner}, name="x")
        return parts.sampler_config_for(exp)

    assert cfg("bc").next_observations is False
    dqn = cfg("dqn", data={"n_step": 5, "gamma": 0.9})
    assert (dqn.n_step, dqn.gamma) == (5, 0.9)
    sharsa = cfg("sharsa")
    assert sharsa.chunk == sharsa.n_step == 25
    mc = cfg("mc", data={"gamma": 0.95})
    assert mc.n_step is None and mc.returns and mc.gamma == 0.95
    assert cfg("crl").goals is not None
    with pytest.raises(tc.ConfigError, match=r"^config\.data\.gamma: 0\.9 differs"):
        cfg("sharsa", data={"gamma": 0.9})

    class WithHook:
        @staticmethod
        def sampler_config(exp: tc.ExperimentConfig) -> samplers.SamplerConfig:
            return samplers.SamplerConfig(n_step=3)

    assert parts.sampler_config_for(_exp(dataset), WithHook).n_step == 3


# Learners with several networks per update are the slow ones on a shared 2-core CPU: their
# loop check runs in the slow CI step (make test-slow).
_HEAVY = {"crl", "qrl", "sharsa"}


@pytest.mark.parametrize(
    "learner",
    [pytest.param(n, marks=pytest.mark.slow) if n in _HEAVY else n for n in sorted(LEARNERS)],
)
def test_every_learner_trains_validates_and_resumes_exactly(
    dataset: pathlib.Path, tmp_path: pathlib.Path, learner: str
) -> None:
    """Each registered learner through the real loop: its sampler, val loss and exact resume."""
    exp = _exp(
        dataset,
        learner={},
        run={"steps": 4, "log_every": 1, "val_every": 2, "val_batches": 1, "checkpoint_every": 2},
    )
    exp = tc.resolve(
        {**tc.to_dict(exp), "learner": {"name": learner, "encoder": "fullyconv_tiny"}}, name="all"
    )
    loop.Trainer(exp, tmp_path / "a", _components()).run()
    loop.Trainer(exp, tmp_path / "b", _components(), stop_after=3).run()
    loop.Trainer(exp, tmp_path / "b", _components()).run()

    def rows(d: pathlib.Path) -> list[dict]:
        return [
            {k: v for k, v in r.items() if not k.startswith("time/")}
            for r in loggers.read_jsonl(d / loop.METRICS_FILE)
        ]

    ra = rows(tmp_path / "a")
    assert ra == rows(tmp_path / "b")
    assert any("val/loss" in r and np.isfinite(r["val/loss"]) for r in ra)
    assert all(np.isfinite(v) for r in ra for k, v in r.items() if k.startswith("train/"))
