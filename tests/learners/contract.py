"""The learner contract test (d3rlpy ``algo_tester`` style), shared by every ``test_<algo>.py``.

`run_contract(learner_cls, config)` checks, on tiny presets and 8x8 layers:

1. a finite update on a tiny random dataset (every metric finite, parameters change);
2. the loss falls on a tiny dataset the learner can fit;
3. the state round-trips exactly through ``state_dict`` (bytes, as a checkpoint would): same
   outputs, same next update, same policy actions;
4. the policy is CPU, frozen, picklable, independent of later updates, and acts with valid,
   AVAILABLE actions on storage-form observations (function in the mask, arguments in range for
   the function, -1 for unused); also in the simulator vector env when it exists;
5. the validation loss runs without gradients and without mutating the learner;
6. value learners (``learners.VALUE_LEARNERS``): ``values(observations, actions, goals)`` is
   ``[B]``, finite, gradient-free (also when called with gradients enabled), leaves the learner
   unchanged, equals the value the study's old read-out computed from the learner's internals
   (`reference_values`), takes numpy or torch input alike, and goal-conditioned learners raise
   ValueError without goals; ``bc`` has no ``values``.

Batches are built directly (`make_batch`), no sampler needed.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import io
import math
import pickle
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch

from sc2agents.data.batch import Batch
from sc2agents.envs import features
from sc2agents.learners import VALUE_LEARNERS, ValueLearner
from sc2agents.networks import heads, spatial
from sc2agents.utils import torch_utils as tu

SIZE = 8
ACTION_SPEC = {"screen_size": SIZE, "minimap_size": SIZE}


def obs_spec(screen: int | None = SIZE, minimap: int | None = SIZE) -> dict[str, Any]:
    return spatial.example_obs_spec(screen, minimap)


def random_actions(
    available: np.ndarray, action_spec: Mapping[str, int], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Valid actions: an available function, in-range values for its arguments, -1 elsewhere."""
    sizes = heads.arg_sizes(action_spec["screen_size"], action_spec["minimap_size"])
    b = available.shape[0]
    fn = np.array([rng.choice(np.flatnonzero(available[i])) for i in range(b)], dtype=np.int64)
    args = np.stack([rng.integers(0, n, b) for n in sizes], axis=1).astype(np.int64)
    args[~features.FUNCTION_ARG_MASK[fn]] = -1
    return fn, args


def make_batch(
    spec: Mapping[str, Any],
    batch_size: int,
    rng: np.random.Generator,
    *,
    action_spec: Mapping[str, int] = ACTION_SPEC,
    gamma: float = 0.9,
    max_n: int = 3,
    chunk: int = 3,
) -> Batch:
    """A numpy `Batch` with every key filled with valid random values."""
    obs = spatial.random_storage_obs(spec, batch_size, rng)
    nxt = spatial.random_storage_obs(spec, batch_size, rng)
    goals = spatial.random_storage_obs(spec, batch_size, rng)
    fn, args = random_actions(obs["available_actions"], action_spec, rng)
    cfn = np.stack([random_actions(obs["available_actions"], action_spec, rng)[0]] * chunk, 1)
    cfn[:, 0] = fn
    cargs = np.repeat(args[:, None], chunk, axis=1)
    k = rng.integers(1, max_n + 1, batch_size)
    terminals = (rng.random(batch_size) < 0.2).astype(np.float32)
    truncations = ((rng.random(batch_size) < 0.1) & (terminals == 0)).astype(np.float32)
    return Batch(
        observations=obs,
        actions={"function": fn, "args": args},
        rewards=rng.normal(size=batch_size).astype(np.float32),
        next_observations=nxt,
        terminals=terminals,
        truncations=truncations,
        masks=1.0 - terminals,
        discounts=(gamma**k).astype(np.float32),
        valids=np.ones((batch_size, chunk), np.float32),
        goals=goals,
        goal_distances=rng.integers(0, 10, batch_size).astype(np.float32),
        returns=rng.uniform(0, 1, batch_size).astype(np.float32),
        action_chunks={"function": cfn, "args": cargs},
    )


def _finite(metrics: Mapping[str, float], where: str) -> None:
    for k, v in metrics.items():
        assert isinstance(v, float), f"{where}: metric {k} is {type(v)}, not float"
        assert math.isfinite(v), f"{where}: metric {k} = {v}"


def _params(learner: Any) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            out[prefix] = obj.detach().clone()
        elif isinstance(obj, Mapping):
            for k, v in obj.items():
                walk(f"{prefix}/{k}", v)

    walk("", {k: v for k, v in learner.state_dict().items() if k != "optimizer"})
    return out


def _to_bytes(state: Mapping[str, Any]) -> dict[str, Any]:
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)


def check_update_finite(make: Callable[[], Any], spec: Mapping[str, Any]) -> None:
    torch.manual_seed(0)
    learner = make()
    before = _params(learner)
    batch = make_batch(spec, 8, np.random.default_rng(0))
    metrics = learner.update(batch)
    assert metrics, "update returned no metrics"
    _finite(metrics, "update")
    after = _params(learner)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed, "update changed no parameter"


def check_loss_falls(
    make: Callable[[], Any], spec: Mapping[str, Any], steps: int, key: str | None
) -> None:
    torch.manual_seed(0)
    learner = make()
    batch = make_batch(spec, 16, np.random.default_rng(1))

    def measure() -> float:
        with torch.no_grad():
            loss, info = learner.loss(batch)
        return float(info[key] if key else loss)

    start = measure()
    for _ in range(steps):
        learner.update(batch)
    end = measure()
    assert end < start, f"loss did not fall on a tiny dataset: {key or 'loss'} {start} -> {end}"


def check_state_roundtrip(
    make: Callable[[], Any], spec: Mapping[str, Any], policy_kwargs: Mapping[str, Any]
) -> None:
    torch.manual_seed(0)
    a = make()
    b1 = make_batch(spec, 8, np.random.default_rng(2))
    b2 = make_batch(spec, 8, np.random.default_rng(3))
    a.update(b1)
    a.update(b1)
    state = _to_bytes(a.state_dict())
    torch.manual_seed(123)  # A different init: everything must come from the state.
    b = make()
    b.load_state_dict(state)
    with torch.no_grad():
        la, ia = a.loss(b2)
        lb, ib = b.loss(b2)
    assert torch.equal(la, lb), f"loss differs after load: {la} vs {lb}"
    for k in ia:
        assert torch.equal(torch.as_tensor(ia[k]), torch.as_tensor(ib[k])), f"info {k} differs"
    ma, mb = a.update(b2), b.update(b2)
    assert ma == mb, f"next update differs: {ma} vs {mb}"
    pa, pb = _params(a), _params(b)
    for k in pa:
        assert torch.equal(pa[k], pb[k]), f"parameter {k} differs after the same update"
    obs = spatial.random_storage_obs(spec, 4, np.random.default_rng(4))
    fa = a.policy(**policy_kwargs).act(obs, np.random.default_rng(5))
    fb = b.policy(**policy_kwargs).act(obs, np.random.default_rng(5))
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb, strict=True)), "policies differ"


def check_actions_valid(
    fn: np.ndarray, args: np.ndarray, available: np.ndarray, action_spec: Mapping[str, int]
) -> None:
    b = available.shape[0]
    assert fn.shape == (b,) and fn.dtype == np.int64, (fn.shape, fn.dtype)
    assert args.shape == (b, features.NUM_ARG_TYPES) and args.dtype == np.int64
    sizes = np.array(heads.arg_sizes(action_spec["screen_size"], action_spec["minimap_size"]))
    assert available[np.arange(b), fn].all(), f"unavailable function chosen: {fn}"
    used = features.FUNCTION_ARG_MASK[fn]
    assert (args[~used] == -1).all(), "unused argument slot is not -1"
    assert ((args >= 0) & (args < sizes[None, :]))[used].all(), f"argument out of range: {args}"
    for i in range(b):  # The env layer must be able to decode it.
        features.decode_action(
            int(fn[i]), args[i], action_spec["screen_size"], action_spec["minimap_size"]
        )


def check_policy(
    make: Callable[[], Any], spec: Mapping[str, Any], policy_kwargs: Mapping[str, Any]
) -> None:
    torch.manual_seed(0)
    learner = make()
    learner.update(make_batch(spec, 8, np.random.default_rng(6)))
    policy = pickle.loads(pickle.dumps(learner.policy(**policy_kwargs)))
    for m in vars(policy).values():
        if isinstance(m, torch.nn.Module):
            for p in m.parameters():
                assert p.device.type == "cpu" and not p.requires_grad
    rng = np.random.default_rng(7)
    for _ in range(3):
        obs = spatial.random_storage_obs(spec, 6, rng)
        obs["available_actions"][:2] = False  # Sparse masks, one with only no_op.
        obs["available_actions"][0, [0, 1, 331]] = True
        obs["available_actions"][1, 0] = True
        fn, args = policy.act(obs, rng)
        check_actions_valid(fn, args, obs["available_actions"], ACTION_SPEC)
    # The policy is a frozen copy: later updates do not change it.
    obs = spatial.random_storage_obs(spec, 6, np.random.default_rng(8))
    before = policy.act(obs, np.random.default_rng(9))
    learner.update(make_batch(spec, 8, np.random.default_rng(10)))
    after = policy.act(obs, np.random.default_rng(9))
    assert all(np.array_equal(x, y) for x, y in zip(before, after, strict=True))
    _act_in_simulator(policy)


def _act_in_simulator(policy: Any) -> None:
    """A few steps in `SimVectorEnv` (when it exists); it rejects unavailable actions."""
    if importlib.util.find_spec("sc2agents.envs.sim.vector_env") is None:
        return
    from sc2agents.envs.sim.vector_env import SimVectorEnv

    env = SimVectorEnv(
        2, "MoveToBeacon", screen_size=SIZE, minimap_size=SIZE, seed=0, action_error="raise"
    )
    try:
        obs, _ = env.reset(seed=0)
        rng = np.random.default_rng(0)
        for _ in range(3):
            fn, args = policy.act(obs, rng)
            check_actions_valid(fn, args, np.asarray(obs["available_actions"]), ACTION_SPEC)
            obs, *_ = env.step({"function": fn, "args": args})
    finally:
        env.close()


def check_validation_no_grad(make: Callable[[], Any], spec: Mapping[str, Any]) -> None:
    torch.manual_seed(0)
    learner = make()
    batch = make_batch(spec, 8, np.random.default_rng(11))
    before = _params(learner)
    step = copy.deepcopy(getattr(learner, "step", None))
    with torch.no_grad():
        loss, info = learner.loss(batch)
    assert not loss.requires_grad
    assert math.isfinite(float(loss))
    assert all(math.isfinite(float(v)) for v in info.values())
    assert all(k.count("/") >= 1 for k in info), f"info keys need a prefix: {sorted(info)}"
    after = _params(learner)
    assert all(torch.equal(before[k], after[k]) for k in before), "loss() mutated the learner"
    assert getattr(learner, "step", None) == step


def reference_values(learner: Any, batch: Batch, gamma: float) -> torch.Tensor:
    """The value read-out as ``study.experiments.value_readout`` computed it from internals.

    An independent reference for ``values()`` (written against the learners' attributes, not
    their ``values`` code); ``batch`` is a torch batch on the learner's device.
    """
    import torch.nn.functional as F  # noqa: N812

    obs, act, goals = batch.observations, batch.actions, batch.goals
    fn, args = act["function"], act["args"]
    key = learner.config.learner_name
    with torch.no_grad():
        if key in ("dqn", "cql"):
            return learner.q(obs).action_values(fn, args)
        if key == "mc":
            q = learner.q(obs).action_values(fn, args)
            return torch.sigmoid(q) if learner.config.value_loss == "bce" else q
        if key == "sharsa":
            qs = torch.stack([c(obs).action_values(fn, args) for c in learner.q])
            if learner.config.value_loss == "bce":
                qs = torch.sigmoid(qs)
            return qs.min(0).values if learner.config.q_agg == "min" else qs.mean(0)
        if key == "crl":
            scale = 1.0 / math.sqrt(learner.config.latent_dim)
            vals = []
            for e, phi_net in enumerate(learner.phi):
                phi = phi_net(obs).action_values(fn, args)
                w = learner.psi[e](goals) if learner.config.goal_mode == "state" else learner.psi[e]
                vals.append(torch.sigmoid((phi * w * scale).sum(-1)))
            return torch.stack(vals).min(0).values
        if key == "qrl":
            d = learner.distance(learner.z(obs), learner.z(goals))
            return F.relu(d).mul(math.log(gamma)).exp()
    raise AssertionError(f"no reference read-out for {key!r}")


def check_values(make: Callable[[], Any], spec: Mapping[str, Any]) -> None:
    torch.manual_seed(0)
    learner = make()
    name = learner.config.learner_name
    if name not in VALUE_LEARNERS:
        assert not isinstance(learner, ValueLearner), f"{name} is not listed in VALUE_LEARNERS"
        assert not hasattr(learner, "values")
        return
    assert isinstance(learner, ValueLearner), f"{name} lacks the values() read-out"
    train = make_batch(spec, 8, np.random.default_rng(12))
    learner.update(train)
    learner.update(train)
    batch = make_batch(spec, 5, np.random.default_rng(13))
    tb = batch.to("cpu")
    gamma = 0.9
    kw = {"gamma": gamma} if name == "qrl" else {}
    before = _params(learner)
    got = learner.values(batch.observations, batch.actions, batch.goals, **kw)
    assert isinstance(got, torch.Tensor) and got.shape == (5,), (
        type(got),
        getattr(got, "shape", 0),
    )
    assert got.dtype == torch.float32 and torch.isfinite(got).all(), got
    assert not got.requires_grad, "values() must not build a graph"
    want = reference_values(learner, tb, gamma)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    # Rows differ (the read-out is per sample, not a broadcast constant).
    assert got.unique().numel() > 1, got
    # numpy and torch inputs give the same values; the learner is unchanged.
    t_obs = tu.obs_to_torch(batch.observations, "cpu")
    t_goals = tu.obs_to_torch(batch.goals, "cpu")
    t_act = {k: torch.as_tensor(v) for k, v in batch.actions.items()}
    torch.testing.assert_close(learner.values(t_obs, t_act, t_goals, **kw), got)
    after = _params(learner)
    assert all(torch.equal(before[k], after[k]) for k in before), "values() mutated the learner"
    if learner.goal_conditioned:
        try:
            learner.values(batch.observations, batch.actions)
        except ValueError as e:
            assert "goal" in str(e), e
        else:
            raise AssertionError(f"{name}.values without goals did not raise")
    else:  # goals are ignored when not goal-conditioned
        torch.testing.assert_close(learner.values(batch.observations, batch.actions), got)
    if name != "qrl":  # qrl's value does not depend on the action
        bad = {"function": batch.actions["function"]}
        try:
            learner.values(batch.observations, bad, batch.goals)
        except ValueError as e:
            assert "args" in str(e), e
        else:
            raise AssertionError(f"{name}.values accepted actions without 'args'")


def run_contract(
    learner_cls: type,
    config: Any,
    *,
    spec: Mapping[str, Any] | None = None,
    fit_steps: int = 20,
    fit_key: str | None = None,
    policy_kwargs: Mapping[str, Any] | None = None,
) -> None:
    """Run every contract check on ``learner_cls(config, spec, ACTION_SPEC)``."""
    spec = dict(spec or obs_spec())
    pk = dict(policy_kwargs or {})
    assert dataclasses.is_dataclass(config) and config.__dataclass_params__.frozen
    assert config.learner_name == learner_cls.__module__.rsplit(".", 1)[-1]

    def make() -> Any:
        return learner_cls(config, spec, ACTION_SPEC)

    check_update_finite(make, spec)
    check_validation_no_grad(make, spec)
    check_policy(make, spec, pk)
    check_state_roundtrip(make, spec, pk)
    check_loss_falls(make, spec, fit_steps, fit_key)
    check_values(make, spec)
