"""Small fakes of a learner, a data source and an evaluator for the training-loop tests.

They follow docs/internal_api.md (a frozen ``<Name>Config`` with ``learner_name``, a learner with
``update``/``loss``/``policy``/``state_dict``) but need no dataset, network or simulator, so the
loop's own logic (logging, checkpoints, exact resume) is tested in a fraction of a second.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from sc2agents.data.batch import Batch
from sc2agents.training import config as tc
from sc2agents.training import loop


@dataclasses.dataclass(frozen=True)
class FakeConfig:
    learner_name: str = "fake"
    lr: float = 1e-2
    hidden: int = 16
    dropout: float = 0.1  # Consumes the torch RNG, so a resume must restore it.


class FakePolicy:
    def __init__(self, net: torch.nn.Module) -> None:
        self.net = net

    def act(self, observations: Mapping[str, np.ndarray], rng: Any = None) -> tuple[Any, Any]:
        with torch.no_grad():
            logits = self.net(torch.as_tensor(observations["player"]))
        fn = logits.argmax(-1).numpy().astype(np.int64)
        return fn, -np.ones((len(fn), 13), np.int64)


class FakeLearner:
    def __init__(self, config: FakeConfig, obs_spec: Any, action_spec: Any) -> None:
        self.config = config
        self.net = torch.nn.Sequential(
            torch.nn.Linear(obs_spec["player"][0][0], config.hidden),
            torch.nn.ReLU(),
            torch.nn.Dropout(config.dropout),
            torch.nn.Linear(config.hidden, 4),
        )
        self.opt = torch.optim.Adam(self.net.parameters(), lr=config.lr)
        self.steps = 0

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, Any]]:
        logits = self.net(batch.observations["player"].float())
        loss = torch.nn.functional.cross_entropy(logits, batch.actions["function"].long())
        acc = (logits.argmax(-1) == batch.actions["function"]).float().mean()
        return loss, {"bc/loss": loss.detach(), "bc/accuracy": acc}

    def update(self, batch: Batch) -> dict[str, float]:
        loss, info = self.loss(batch)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.steps += 1
        return {k: float(v) for k, v in info.items()}

    def policy(self) -> FakePolicy:
        import copy

        return FakePolicy(copy.deepcopy(self.net).eval())

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "opt": self.opt.state_dict(), "steps": self.steps}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.opt.load_state_dict(state["opt"])
        self.steps = int(state["steps"])


FakeLearner.__module__ = __name__
REGISTRY = {"fake": FakeLearner}


def _batch(rng: np.random.Generator, n: int) -> Batch:
    player = rng.normal(size=(n, 11)).astype(np.float32)
    fn = (player[:, 0] > 0).astype(np.int64) + 2 * (player[:, 1] > 0)
    return Batch(
        observations={"player": player, "available_actions": np.ones((n, 573), bool)},
        actions={"function": fn, "args": -np.ones((n, 13), np.int64)},
        rewards=np.zeros(n, np.float32),
    )


def make_data(exp: tc.ExperimentConfig) -> loop.DataSource:
    seed, bs = exp.run.seed, exp.data.batch_size
    return loop.DataSource(
        obs_spec={"player": ((11,), np.dtype(np.float32))},
        action_spec={"screen_size": exp.env.screen_size, "minimap_size": exp.env.minimap_size},
        train_batch=lambda i: _batch(loop.batch_seed(seed, "train", i), bs),
        val_batch=lambda i: _batch(loop.batch_seed(seed, "val", i), bs),
        info={"fake": True},
    )


def make_learner(exp: tc.ExperimentConfig, obs_spec: Any, action_spec: Any, device: Any) -> Any:
    return FakeLearner(exp.learner, obs_spec, action_spec)


def make_evaluator(exp: tc.ExperimentConfig, run_dir: Any = None) -> loop.Evaluate:
    def evaluate(policy: Any, step: int) -> dict[str, float]:
        b = _batch(loop.batch_seed(exp.run.seed, "eval", step), 64)
        fn, _ = policy.act(b.observations)
        return {f"eval/{exp.env.task}/score": float((fn == b.actions["function"]).mean())}

    return evaluate


def components() -> loop.Components:
    return loop.Components(make_data, make_learner, make_evaluator)


def experiment(**sections: Any) -> tc.ExperimentConfig:
    """A resolved fake experiment; ``sections`` are dicts of overrides per section."""
    base = {
        "learner": {"name": "fake"},
        "run": {"steps": 40, "log_every": 5, "val_every": 10, "checkpoint_every": 10,
                "keep_checkpoints": 0, "progress": "none"},
        "eval": {"every": 20},
        "data": {"batch_size": 16},
    }  # fmt: skip
    for k, v in sections.items():
        base.setdefault(k, {}).update(v)
    return tc.resolve(base, name="fake", registry=REGISTRY)
