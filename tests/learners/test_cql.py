from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from sc2agents.data.batch import Batch
from sc2agents.envs import features
from sc2agents.learners import LEARNERS
from sc2agents.learners.cql import CQLConfig, CQLLearner, categorical_projection
from sc2agents.networks import heads, spatial
from tests.learners import contract


@pytest.mark.parametrize(
    ("distributional", "actor_loss"), [(False, "greedy"), (True, "greedy"), (True, "ddpgbc")]
)
def test_contract(distributional: bool, actor_loss: str) -> None:
    cfg = CQLConfig(
        encoder="fullyconv_tiny", lr=3e-3, actor_lr=3e-3, distributional=distributional,
        num_atoms=11, v_min=-3.0, v_max=3.0, actor_loss=actor_loss,
    )  # fmt: skip
    contract.run_contract(CQLLearner, cfg, fit_key="critic/loss")


def test_registry() -> None:
    assert LEARNERS["cql"] is CQLLearner


def test_logsumexp_term_against_direct_enumeration() -> None:
    """CQL's regulariser = logsumexp over every available full action - Q(data), enumerated."""
    size = 2
    spec = spatial.example_obs_spec(size, size)
    action_spec = {"screen_size": size, "minimap_size": size}
    torch.manual_seed(0)
    learner = CQLLearner(CQLConfig(encoder="fullyconv_tiny"), spec, action_spec)
    rng = np.random.default_rng(0)
    obs = spatial.random_storage_obs(spec, 2, rng)
    avail = np.zeros((2, features.NUM_FUNCTIONS), bool)
    for name in ("no_op", "Move_screen", "Move_minimap", "select_army", "select_unit"):
        avail[:, features.FUNCTION_IDS[name]] = True
    obs["available_actions"] = avail
    fn, args = contract.random_actions(avail, action_spec, rng)
    batch = Batch(observations=obs, actions={"function": fn, "args": args}).to("cpu")
    with torch.no_grad():
        fq = learner.q(batch.observations).detach()
        gap, _ = learner.conservative_term(fq, batch)
    sizes = heads.arg_sizes(size, size)
    direct = []
    for i in range(2):
        qs = []
        for f in np.flatnonzero(avail[i]):
            used = np.flatnonzero(features.FUNCTION_ARG_MASK[f])
            for combo in itertools.product(*[range(sizes[t]) for t in used]):
                a = np.full(features.NUM_ARG_TYPES, -1)
                a[used] = combo
                one = heads.FactoredQ(fq.q_fn[i : i + 1], [m[i : i + 1] for m in fq.feats], fq.emb)
                qs.append(float(one.action_values(torch.tensor([f]), torch.from_numpy(a[None]))[0]))
        q_data = float(fq.action_values(batch.actions["function"], batch.actions["args"])[i])
        direct.append(float(torch.logsumexp(torch.tensor(qs), 0)) - q_data)
    assert float(gap) == pytest.approx(float(np.mean(direct)), abs=1e-4)


def test_categorical_projection_keeps_mass_and_mean() -> None:
    support = torch.linspace(-2, 2, 9)
    probs = torch.softmax(torch.randn(4, 9), -1)
    atoms = 0.9 * support[None] + torch.tensor([[0.1], [-0.15], [0.0], [0.05]])
    proj = categorical_projection(probs, atoms, support)
    torch.testing.assert_close(proj.sum(-1), torch.ones(4))
    torch.testing.assert_close(proj @ support, (probs * atoms).sum(-1))  # inside range: exact mean
    same = categorical_projection(probs, support.expand(4, -1), support)
    torch.testing.assert_close(same, probs)


def test_conservative_term_lowers_unseen_actions() -> None:
    """With a large alpha, Q of the data action rises relative to logsumexp over all actions."""
    spec = contract.obs_spec()
    cfg = CQLConfig(encoder="fullyconv_tiny", lr=3e-3, cql_alpha=5.0)
    learner = CQLLearner(cfg, spec, contract.ACTION_SPEC)
    batch = contract.make_batch(spec, 8, np.random.default_rng(0))
    first = learner.update(batch)["critic/cql_gap"]
    for _ in range(15):
        last = learner.update(batch)["critic/cql_gap"]
    assert last < first


def test_c51_argument_shift_and_distribution_fit_a_fixed_target() -> None:
    """With the target fixed (no bootstrap, masks 0), the C51 critic's mean Q of the data action
    converges to the reward: the function distribution and the argument shift both learn."""
    spec = contract.obs_spec()
    cfg = CQLConfig(
        encoder="fullyconv_tiny", lr=1e-2, distributional=True, num_atoms=21, v_min=-2.0,
        v_max=2.0, cql_alpha=0.0,
    )  # fmt: skip
    learner = CQLLearner(cfg, spec, contract.ACTION_SPEC)
    b = contract.make_batch(spec, 8, np.random.default_rng(0))
    rewards = np.clip(b.rewards, -1.5, 1.5).astype(np.float32)
    b = Batch(**{**b.__dict__, "rewards": rewards, "masks": np.zeros(8, np.float32)})
    for _ in range(60):
        learner.update(b)
    with torch.no_grad():
        t = b.to("cpu")
        q = learner.q(t.observations).action_values(t.actions["function"], t.actions["args"])
    assert float((q - t.rewards).abs().mean()) < 0.25
