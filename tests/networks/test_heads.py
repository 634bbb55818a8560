"""Factored heads against brute-force enumeration of every full action on a tiny action space."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from sc2agents.envs import features
from sc2agents.networks import heads, presets, spatial
from sc2agents.utils.torch_utils import obs_to_torch

SIZE = 2  # 2x2 layers: 4 points per spatial argument, every action enumerable.


def _all_actions(available: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    sizes = heads.arg_sizes(SIZE, SIZE)
    fns, args = [], []
    for f in np.flatnonzero(available):
        used = np.flatnonzero(features.FUNCTION_ARG_MASK[f])
        for combo in itertools.product(*[range(sizes[t]) for t in used]):
            a = np.full(features.NUM_ARG_TYPES, -1)
            a[used] = combo
            fns.append(f)
            args.append(a)
    return torch.as_tensor(np.array(fns)), torch.as_tensor(np.array(args))


@pytest.fixture(scope="module")
def setup() -> dict:
    torch.manual_seed(0)
    spec = spatial.example_obs_spec(SIZE, SIZE)
    rng = np.random.default_rng(0)
    obs_np = spatial.random_storage_obs(spec, 1, rng)
    avail = np.zeros(features.NUM_FUNCTIONS, bool)
    # no_op, Move_screen (screen+queued), Move_minimap, select_unit (act + id 500), control group.
    for name in ("no_op", "Move_screen", "Move_minimap", "select_unit", "select_control_group",
                 "select_rect", "Attack_screen"):  # fmt: skip
        avail[features.FUNCTION_IDS[name]] = True
    obs_np["available_actions"][0] = avail
    obs = obs_to_torch(obs_np, "cpu")
    qnet = heads.QNetwork(presets.get("fullyconv_tiny"), spec, SIZE, SIZE)
    actor = heads.ActorNetwork(presets.get("fullyconv_tiny"), spec, SIZE, SIZE)
    fns, args = _all_actions(avail)
    with torch.no_grad():
        fq = qnet(obs).detach()
        pol = actor(obs)
    n = fns.shape[0]
    big = heads.FactoredQ(fq.q_fn.expand(n, -1), [m.expand(n, -1, -1) for m in fq.feats], fq.emb)
    q_all = big.action_values(fns, args)
    big_pol = heads.PolicyOutput(
        pol.fn_logits.expand(n, -1), [x.expand(n, -1) for x in pol.arg_logits]
    )
    logp_all, _ = heads.log_prob(big_pol, fns, args)
    return dict(obs=obs, fq=fq, pol=pol, fns=fns, args=args, q_all=q_all, logp_all=logp_all)


def test_policy_is_normalised_over_full_actions(setup: dict) -> None:
    assert float(setup["logp_all"].exp().sum()) == pytest.approx(1.0, abs=1e-4)


def test_entropy_matches_enumeration(setup: dict) -> None:
    p = setup["logp_all"].exp()
    brute = -(p * setup["logp_all"]).sum()
    assert float(heads.entropy(setup["pol"])[0]) == pytest.approx(float(brute), rel=1e-4)


def test_greedy_is_exact_argmax(setup: dict) -> None:
    fq, q_all = setup["fq"], setup["q_all"]
    fn, args, q = fq.greedy(setup["obs"]["available_actions"])
    i = int(q_all.argmax())
    assert int(fn[0]) == int(setup["fns"][i])
    assert torch.equal(args[0], setup["args"][i])
    assert float(q[0]) == pytest.approx(float(q_all.max()), abs=1e-5)
    assert float(fq.action_values(fn, args)[0]) == pytest.approx(float(q[0]), abs=1e-5)


def test_logsumexp_matches_enumeration(setup: dict) -> None:
    got = setup["fq"].logsumexp(setup["obs"]["available_actions"])
    assert float(got[0]) == pytest.approx(float(torch.logsumexp(setup["q_all"], 0)), abs=1e-4)


def test_expectation_under_policy_matches_enumeration(setup: dict) -> None:
    got = setup["fq"].expectation(setup["pol"])
    brute = (setup["logp_all"].exp() * setup["q_all"]).sum()
    assert float(got[0]) == pytest.approx(float(brute), abs=1e-4)


def test_vector_head_contract_matches_enumeration() -> None:
    torch.manual_seed(1)
    spec = spatial.example_obs_spec(None, SIZE)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 1, np.random.default_rng(1)), "cpu")
    avail = obs["available_actions"][0].numpy()
    net = heads.QNetwork(presets.get("fullyconv_tiny"), spec, SIZE, SIZE, out_dim=5)
    psi = torch.randn(1, 5)
    with torch.no_grad():
        phi = net(obs).detach()
        fq = phi.contract(psi)
    fns, args = _all_actions(avail)
    n = fns.shape[0]
    big = heads.FactoredQ(
        phi.q_fn.expand(n, -1, -1), [m.expand(n, -1, -1) for m in phi.feats], phi.emb
    )
    brute = big.action_values(fns, args) @ psi[0]  # phi(s, a) . psi for every action
    fn, args_star, q = fq.greedy(obs["available_actions"])
    assert float(q[0]) == pytest.approx(float(brute.max()), abs=1e-4)
    lse = fq.logsumexp(obs["available_actions"])
    assert float(lse[0]) == pytest.approx(float(torch.logsumexp(brute, 0)), abs=1e-4)


def test_sample_respects_mask_and_arg_slots() -> None:
    logits = torch.zeros(64, features.NUM_FUNCTIONS)
    avail = torch.zeros(64, features.NUM_FUNCTIONS, dtype=torch.bool)
    avail[:, [0, 331, 2]] = True
    avail[:5] = False  # no available function at all -> no_op
    sizes = heads.arg_sizes(4, 4)
    out = heads.PolicyOutput(
        heads.mask_functions(logits, avail), [torch.zeros(64, n) for n in sizes]
    )
    fn, args = heads.sample(out, torch.Generator().manual_seed(0))
    assert set(fn[5:].tolist()) <= {0, 331, 2} and (fn[:5] == 0).all()
    used = torch.as_tensor(features.FUNCTION_ARG_MASK)[fn]
    assert (args[~used] == -1).all() and (args[used] >= 0).all()


def test_atari_net_spatial_policy_is_independent_x_and_y() -> None:
    """SC2LE Atari-net: p(x, y) = p(x) p(y), i.e. logit[y, x] = a[y] + b[x] (rank-1 interaction)."""
    spec = spatial.example_obs_spec(8, 8)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 2, np.random.default_rng(0)), "cpu")
    actor = heads.ActorNetwork(presets.get("atari_tiny"), spec, 6, 6)  # 8x8 layers, 6x6 actions
    with torch.no_grad():
        logits = actor(obs).arg_logits[features.ARG_TYPES.index("screen")].view(2, 6, 6)
    inter = logits - logits[:, :, :1] - logits[:, :1, :] + logits[:, :1, :1]
    assert torch.allclose(inter, torch.zeros_like(inter), atol=1e-5)
    with pytest.raises(ValueError, match="at least 8x8"):
        heads.ActorNetwork(presets.get("atari_tiny"), spatial.example_obs_spec(6, 6), 6, 6)
    fc = heads.ActorNetwork(presets.get("fullyconv_tiny"), spec, 6, 6)  # FullyConv is not rank-1
    with torch.no_grad():
        logits = fc(obs).arg_logits[features.ARG_TYPES.index("screen")].view(2, 6, 6)
    inter = logits - logits[:, :, :1] - logits[:, :1, :] + logits[:, :1, :1]
    assert inter.abs().max() > 1e-4


@pytest.mark.parametrize("per_sample", [False, True])
@pytest.mark.parametrize("block", [7, 1 << 18])
def test_blocked_reductions_match_whole_tensor(
    per_sample: bool, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """max / logsumexp over argument values, block by block: same values and gradients as the
    whole ``[B, F, n]`` score tensor (block 7 forces many blocks and an online logsumexp)."""
    monkeypatch.setattr(heads, "_BLOCK_ELEMS", block)
    g = torch.Generator().manual_seed(3)
    b, n, c, nf = 3, 37, 5, 11
    feats = torch.randn(b, n, c, generator=g, requires_grad=True)
    shape = (b, nf, c) if per_sample else (nf, c)
    emb = (torch.randn(*shape, generator=g) * 3).requires_grad_(True)
    q = torch.zeros(b, nf)
    fq = heads.FactoredQ(q, [feats], [emb])
    fns = torch.tensor([0, 2, 3, 5, 9])
    e = emb[:, fns] if per_sample else emb[fns]
    scores = torch.einsum("bnc,bfc->bfn" if per_sample else "bnc,fc->bfn", feats, e)
    for reduce, ref in (("max", scores.amax(-1)), ("logsumexp", torch.logsumexp(scores, -1))):
        got = fq._reduce_args(0, fns, reduce)  # noqa: SLF001 - the blocked kernel itself
        torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
        w = torch.randn(ref.shape, generator=g)
        g_got = torch.autograd.grad((got * w).sum(), (feats, emb))
        g_ref = torch.autograd.grad((ref * w).sum(), (feats, emb), retain_graph=True)
        for x, y in zip(g_got, g_ref, strict=True):
            torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)
