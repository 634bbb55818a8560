"""Heads for PySC2's factored action space, the networks built on them, and CPU policies.

An action is ``(f, u)``: a function id ``f`` (573, masked by ``available_actions``) and one value
``u_t`` per argument type ``t`` the function takes (`features.FUNCTION_ARG_MASK`; -1 elsewhere).
Spatial types index a ``size x size`` grid flattened as ``y * size + x`` (`features.encode_action`).

**Policy** (`PolicyHead`, SC2LE): ``pi(f, u | s) = pi_F(f | s) * prod_{t used by f} pi_t(u_t | s)``,
function logits from the flat state, spatial arguments from a 1x1 conv over the spatial map (screen
args on the screen map, minimap args on the minimap map), other arguments from small linear heads.
Log-probabilities, entropies and expectations over the full action are exact and cheap.

**Factored Q** (`FactoredQHead`, ALGORITHMS.md §A.7, action branching of Tavakoli et al. 2018)::

    Q(s, f, u) = Q_F(s, f) + sum_{t used by f} A_t(s, f, u_t),     A_t(s, f, u) = e_t(f) . m_t(s, u)

with per-argument feature maps ``m_t(s, u) in R^C`` (a 1x1 conv for spatial types, a linear head
otherwise) and a learned function embedding ``e_t(f) in R^C`` that conditions the argument values on
the function (a FiLM-like bilinear coupling). Because the argument terms are independent given
``f``, every reduction over the full action is exact:

* ``max_a Q = max_f [Q_F(f) + sum_t mask[f,t] max_u A_t(f, u)]`` (greedy action, double DQN);
* ``logsumexp_a Q = logsumexp_f [Q_F(f) + sum_t mask[f,t] logsumexp_u A_t(f, u)]`` (CQL);
* ``E_pi Q = sum_f pi(f) [Q_F(f) + sum_t mask[f,t] e_t(f) . E_{pi_t} m_t(s, u)]`` (DDPG+BC).

The max / logsumexp cost ``O(B * |F_t| * n_t * C)`` per argument type (only the functions that take
the argument are scored, in cache-sized blocks of values); the expectation costs
``O(B * (n_t + 573) * C)``.
With ``out_dim=d`` the head returns a vector ``phi(s, a) in R^d`` with the same factoring (CRL), and
`FactoredQ.contract` turns it into a scalar factored Q for a goal embedding ``psi``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sc2agents.envs import features
from sc2agents.networks.mlp import MLP
from sc2agents.networks.spatial import EncoderConfig, EncoderOutput, SpatialEncoder
from sc2agents.utils.torch_utils import obs_to_torch

__all__ = [
    "ActorNetwork",
    "ActorPolicy",
    "FactoredQ",
    "FactoredQHead",
    "GreedyQPolicy",
    "PolicyHead",
    "PolicyOutput",
    "QNetwork",
    "ValueNetwork",
    "arg_sizes",
    "entropy",
    "log_prob",
    "mask_functions",
    "sample",
]

NF = features.NUM_FUNCTIONS
NA = features.NUM_ARG_TYPES
_NEG = -1e9  # Logit of an unavailable function: exp() is exactly 0 in fp32, and 0 * _NEG is finite.
_ARG_MASK_NP = features.FUNCTION_ARG_MASK
_BLOCK_ELEMS = 1 << 18  # Score elements per block of max/logsumexp (fits in L2; see _reduce_args).


def arg_sizes(screen_size: int, minimap_size: int) -> tuple[int, ...]:
    """Number of values of each of the 13 argument types (spatial ones: ``size**2`` points)."""
    out = []
    for t in features.ARG_TYPES:
        if t in features.SPATIAL_ARG_TYPES:
            out.append(features.spatial_size(t, screen_size, minimap_size) ** 2)
        else:
            out.append(int(features.ARG_TYPE_SIZES[t]))
    return tuple(out)


def _map_source(arg_type: str) -> str:
    return "minimap" if arg_type == "minimap" else "screen"


def mask_functions(
    logits: torch.Tensor, available: torch.Tensor | None, include: torch.Tensor | None = None
) -> torch.Tensor:
    """Mask function logits ``[B, 573]`` to the available functions.

    Args:
        logits: unmasked logits (or Q values).
        available: bool ``[B, 573]`` or None (everything available).
        include: int ``[B]`` functions to force available (the data action: a replay's action can
            disagree with the mask by a frame, and ``log pi(a_data)`` must stay finite).

    A row without any available function gets ``no_op`` (id 0), without a host sync.
    """
    if available is None:
        return logits
    avail = available.bool()
    if include is not None:
        avail = avail | F.one_hot(include.long(), NF).bool()
    none = ~avail.any(dim=1, keepdim=True)
    noop = torch.zeros_like(avail)
    noop[:, 0] = True
    avail = avail | (none & noop)
    return logits.masked_fill(~avail, _NEG)


_CACHE: dict[str, Any] = {}


def _arg_mask(device: torch.device) -> torch.Tensor:
    key = f"mask:{device}"
    if key not in _CACHE:
        _CACHE[key] = torch.as_tensor(_ARG_MASK_NP, device=device)
    return _CACHE[key]


def _fn_index(device: torch.device) -> list[torch.Tensor]:
    """Per argument type, the function ids that take it (cached: no host sync per forward)."""
    key = f"index:{device}"
    if key not in _CACHE:
        _CACHE[key] = [
            torch.as_tensor(np.nonzero(_ARG_MASK_NP[:, t])[0], device=device) for t in range(NA)
        ]
    return _CACHE[key]


def used_args(fn: torch.Tensor, args: torch.Tensor) -> torch.Tensor:
    """Bool ``[B, 13]``: argument slots that the function takes and that carry a value (>= 0)."""
    return _arg_mask(fn.device)[fn.long()] & (args >= 0)


# ----------------------------------------------------------------------------------- policy head
@dataclasses.dataclass
class PolicyOutput:
    """Factored logits: ``fn_logits`` ``[B, 573]`` (masked), ``arg_logits[t]`` ``[B, n_t]``."""

    fn_logits: torch.Tensor
    arg_logits: list[torch.Tensor]


class PolicyHead(nn.Module):
    """SC2LE policy head: masked function softmax, 1x1-conv spatial args, linear other args."""

    def __init__(self, vector_dim: int, map_channels: int, screen_size: int, minimap_size: int):
        super().__init__()
        self.sizes = arg_sizes(screen_size, minimap_size)
        self.fn = nn.Linear(vector_dim, NF)
        self.args = nn.ModuleList()
        for t, n in zip(features.ARG_TYPES, self.sizes, strict=True):
            if t in features.SPATIAL_ARG_TYPES:
                self.args.append(nn.Conv2d(map_channels, 1, 1))
            else:
                self.args.append(nn.Linear(vector_dim, n))

    def forward(
        self,
        enc: EncoderOutput,
        available: torch.Tensor | None,
        include: torch.Tensor | None = None,
    ) -> PolicyOutput:
        """Logits masked by ``available`` plus the ``include`` functions (`mask_functions`)."""
        fn = mask_functions(self.fn(enc.vector), available, include)
        args = []
        for t, head in zip(features.ARG_TYPES, self.args, strict=True):
            if t in features.SPATIAL_ARG_TYPES:
                args.append(head(enc.maps[_map_source(t)]).flatten(1))
            else:
                args.append(head(enc.vector))
        return PolicyOutput(fn, args)


def log_prob(
    out: PolicyOutput, fn: torch.Tensor, args: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``log pi(f, u | s)`` ``[B]`` of given actions; unused argument slots are ignored.

    Returns:
        The total log-probability and ``{"function": [B], "args": [B]}`` components.
    """
    fn = fn.long()
    lp_f = F.log_softmax(out.fn_logits, dim=-1).gather(1, fn[:, None]).squeeze(1)
    used = used_args(fn, args)
    lp_a = torch.zeros_like(lp_f)
    for t, logits in enumerate(out.arg_logits):
        idx = args[:, t].long().clamp(0, logits.shape[1] - 1)
        lp = F.log_softmax(logits, dim=-1).gather(1, idx[:, None]).squeeze(1)
        lp_a = lp_a + torch.where(used[:, t], lp, torch.zeros_like(lp))
    return lp_f + lp_a, {"function": lp_f, "args": lp_a}


def arg_probs(out: PolicyOutput) -> list[torch.Tensor]:
    """Softmax of every argument head."""
    return [F.softmax(x, dim=-1) for x in out.arg_logits]


def entropy(out: PolicyOutput) -> torch.Tensor:
    """Exact entropy ``[B]`` of the full factored action: ``H(f) + sum_t P(f uses t) H(u_t)``."""
    logp = F.log_softmax(out.fn_logits, dim=-1)
    p = logp.exp()
    h = -(p * logp).sum(-1)
    p_use = p @ _arg_mask(p.device).to(p.dtype)  # [B, 13]
    for t, logits in enumerate(out.arg_logits):
        la = F.log_softmax(logits, dim=-1)
        h = h + p_use[:, t] * -(la.exp() * la).sum(-1)
    return h


def sample(
    out: PolicyOutput, generator: torch.Generator | None = None, greedy: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample (or take the mode of) full actions: ``fn`` ``[B]``, ``args`` ``[B, 13]`` (int64)."""

    def draw(logits: torch.Tensor) -> torch.Tensor:
        if greedy:
            return logits.argmax(-1)
        return torch.multinomial(F.softmax(logits.float(), -1), 1, generator=generator).squeeze(1)

    fn = draw(out.fn_logits)
    args = torch.stack([draw(x) for x in out.arg_logits], dim=1)
    args = torch.where(_arg_mask(fn.device)[fn], args, torch.full_like(args, -1))
    return fn, args


# -------------------------------------------------------------------------------------- factored Q
def _blocked_max(feats: torch.Tensor, emb_t: torch.Tensor, step: int) -> torch.Tensor:
    """``max_u (feats @ emb_t)[:, u, :]`` ``[B, F]``, ``step`` values ``u`` at a time."""
    feats, emb_t = feats.contiguous(), emb_t.contiguous()  # See _BlockedLogSumExp.forward.
    best: torch.Tensor | None = None
    for j in range(0, feats.shape[1], step):
        blk = (feats[:, j : j + step] @ emb_t).amax(1)
        best = blk if best is None else torch.maximum(best, blk)
    assert best is not None
    return best


class _BlockedLogSumExp(torch.autograd.Function):
    """``logsumexp_u (feats @ emb_t)[:, u, :]`` ``[B, F]`` without the ``[B, n, F]`` scores.

    ``feats`` ``[B, n, C]``, ``emb_t`` ``[C, F]`` (shared) or ``[B, C, F]`` (per sample). Forward:
    an online logsumexp over blocks of ``step`` values (running max and rescaled sum). Backward
    recomputes each block's scores and softmax ``p = exp(x - lse)`` in place and returns
    ``dfeats = (g p) @ emb_t^T`` and ``demb = feats^T @ (g p)``: three matmuls and three
    elementwise passes per block, against ~8 passes and saved blocks for autograd through the
    same loop (CQL's conservative term; measured 1.6x faster, tested equal to autograd through
    ``torch.logsumexp`` of the whole score tensor).
    """

    @staticmethod
    def forward(ctx: Any, feats: torch.Tensor, emb_t: torch.Tensor, step: int) -> torch.Tensor:
        # Spatial features arrive as a transposed view [B, n, C]; matmul and reshape of its blocks
        # would copy them block by block (measured: a quarter of the time), so copy once.
        feats, emb_t = feats.contiguous(), emb_t.contiguous()
        best: torch.Tensor | None = None
        total: torch.Tensor | None = None
        for j in range(0, feats.shape[1], step):
            x = feats[:, j : j + step] @ emb_t  # [B, step, F]
            blk = x.amax(1)
            if best is None:
                best, total = blk, x.sub_(blk[:, None]).exp_().sum(1)
            else:
                assert total is not None
                new = torch.maximum(best, blk)
                total = total.mul_((best - new).exp_()).add_(x.sub_(new[:, None]).exp_().sum(1))
                best = new
        assert best is not None and total is not None
        out = total.log_().add_(best)
        ctx.save_for_backward(feats, emb_t, out)
        ctx.step = step
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        feats, emb_t, out = ctx.saved_tensors
        need_f, need_e = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        d_feats = torch.empty_like(feats) if need_f else None
        d_emb = torch.zeros_like(emb_t) if need_e else None
        c, f = emb_t.shape[-2], emb_t.shape[-1]
        for j in range(0, feats.shape[1], ctx.step):
            fb = feats[:, j : j + ctx.step]
            p = (fb @ emb_t).sub_(out[:, None]).exp_().mul_(grad[:, None])  # g * softmax
            if d_feats is not None:
                d_feats[:, j : j + ctx.step] = p @ emb_t.transpose(-1, -2)
            if d_emb is not None:
                if emb_t.dim() == 2:
                    d_emb += fb.reshape(-1, c).T @ p.reshape(-1, f)
                else:
                    d_emb += fb.transpose(1, 2) @ p
        return d_feats, d_emb, None


class FactoredQ:
    """Factored action values for a batch of states (see module docstring).

    Attributes:
        q_fn: ``Q_F`` ``[B, 573]`` (scalar) or ``[B, 573, d]`` (vector, CRL's ``phi``).
        feats: per argument type, ``m_t`` ``[B, n_t, C]``.
        emb: per argument type, ``e_t``: ``[573, C]`` / ``[573, C, d]`` shared, or ``[B, 573, C]``
            per sample (after `contract`).
        dist_logits: C51 option: function-level return logits ``[B, 573, K]``; ``q_fn`` is
            their mean.
        support: the K atoms (C51 option).
    """

    def __init__(
        self,
        q_fn: torch.Tensor,
        feats: list[torch.Tensor],
        emb: list[torch.Tensor],
        dist_logits: torch.Tensor | None = None,
        support: torch.Tensor | None = None,
    ) -> None:
        self.q_fn, self.feats, self.emb = q_fn, feats, emb
        self.dist_logits, self.support = dist_logits, support
        self.mask = _arg_mask(q_fn.device)
        self.fn_index = _fn_index(q_fn.device)

    @property
    def per_sample(self) -> bool:
        return self.emb[0].dim() == 3 and self.q_fn.dim() == 2

    def _emb_at(self, t: int, fn: torch.Tensor) -> torch.Tensor:
        """``e_t(f_b)`` for each sample: ``[B, C]`` (or ``[B, C, d]``)."""
        e = self.emb[t]
        if self.per_sample:
            return e[torch.arange(fn.shape[0], device=fn.device), fn]
        return e[fn]

    def arg_values(self, fn: torch.Tensor, args: torch.Tensor) -> torch.Tensor:
        """``sum_t used A_t(s, f, u_t)`` ``[B]`` (or ``[B, d]``) for given actions."""
        fn = fn.long()
        used = used_args(fn, args)
        total: torch.Tensor | None = None
        for t in range(NA):
            m = self.feats[t]
            idx = args[:, t].long().clamp(0, m.shape[1] - 1)
            feat = m[torch.arange(m.shape[0], device=m.device), idx]  # [B, C]
            e = self._emb_at(t, fn)
            v = (feat * e).sum(1) if e.dim() == 2 else torch.einsum("bc,bcd->bd", feat, e)
            u = used[:, t].to(v.dtype)
            v = v * (u if v.dim() == 1 else u[:, None])
            total = v if total is None else total + v
        assert total is not None
        return total

    def action_values(self, fn: torch.Tensor, args: torch.Tensor) -> torch.Tensor:
        """``Q(s, f, u)`` ``[B]`` (``phi(s, a)`` ``[B, d]`` for a vector head) of given actions."""
        fn = fn.long()
        b = torch.arange(fn.shape[0], device=fn.device)
        return self.q_fn[b, fn] + self.arg_values(fn, args)

    def action_values_multi(self, fn: torch.Tensor, args: torch.Tensor) -> torch.Tensor:
        """``Q(s_b, a_bn)`` ``[B, N]`` of N candidate actions per state (best-of-N selection).

        ``fn`` is ``[B, N]``, ``args`` ``[B, N, 13]``; the state features are not repeated.
        """
        if self.q_fn.dim() != 2 or self.per_sample:
            raise ValueError("action_values_multi needs a scalar, shared-embedding FactoredQ")
        fn = fn.long()
        out = self.q_fn.gather(1, fn)
        used = _arg_mask(fn.device)[fn] & (args >= 0)  # [B, N, 13]
        for t in range(NA):
            m = self.feats[t]  # [B, n_t, C]
            idx = args[..., t].long().clamp(0, m.shape[1] - 1)  # [B, N]
            feat = m.gather(1, idx[..., None].expand(-1, -1, m.shape[2]))  # [B, N, C]
            v = (feat * self.emb[t][fn]).sum(-1)
            out = out + v * used[..., t].to(v.dtype)
        return out

    def _reduce_args(
        self, t: int, fns: torch.Tensor, reduce: Literal["max", "logsumexp"]
    ) -> torch.Tensor:
        """``R_t(f) = max_u`` / ``logsumexp_u A_t(s, f, u)`` ``[B, |fns|]`` for the ids ``fns``.

        The scores ``A_t = m_t(s, u) . e_t(f)`` are one matmul ``[B, n, C] @ [C, F]`` per block of
        values ``u``, reduced block by block (see `_blocked_max` / `_BlockedLogSumExp`), so the
        ``[B, n_t, F]`` score tensor is never materialised.
        """
        feats = self.feats[t]  # [B, n, C]
        if self.per_sample:
            emb_t = self.emb[t][:, fns].transpose(1, 2)  # [B, C, F]
        else:
            emb_t = self.emb[t][fns].T  # [C, F]
        step = max(1, _BLOCK_ELEMS // max(1, feats.shape[0] * fns.numel()))
        if reduce == "max":
            return _blocked_max(feats, emb_t, step)
        return _BlockedLogSumExp.apply(feats, emb_t, step)

    def function_values(
        self, reduce: Literal["max", "logsumexp", "expect"], probs: list[torch.Tensor] | None = None
    ) -> torch.Tensor:
        """``Q_F(f) + sum_t mask[f,t] R_t(f)`` ``[B, 573]`` with ``R_t`` a reduction over ``u_t``.

        Args:
            reduce: ``max`` / ``logsumexp`` over values, or ``expect`` under ``probs[t]``
                ``[B, n_t]``.
            probs: argument distributions for ``expect``.
        """
        if self.q_fn.dim() != 2:
            raise ValueError("function_values needs a scalar FactoredQ; call contract(psi) first")
        out = self.q_fn
        for t in range(NA):
            fns = self.fn_index[t]
            if fns.numel() == 0:
                continue
            if reduce == "expect":
                assert probs is not None
                mean_feat = torch.einsum(
                    "bn,bnc->bc", probs[t].to(self.feats[t].dtype), self.feats[t]
                )
                if self.per_sample:
                    r = torch.einsum("bc,bfc->bf", mean_feat, self.emb[t])
                else:
                    r = mean_feat @ self.emb[t].T
                out = out + r * self.mask[:, t].to(r.dtype)
                continue
            out = out.index_add(1, fns, self._reduce_args(t, fns, reduce))
        return out

    def greedy(
        self, available: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Exact ``argmax_a Q(s, a)`` over available actions: ``(fn [B], args [B, 13], q [B])``."""
        qf = mask_functions(self.function_values("max"), available)
        q, fn = qf.max(dim=1)
        return fn, self.best_args(fn), q

    def best_args(self, fn: torch.Tensor) -> torch.Tensor:
        """``argmax_u A_t(s, f, u)`` for the given functions; -1 for unused slots. ``[B, 13]``."""
        cols = []
        for t in range(NA):
            e = self._emb_at(t, fn)
            cols.append(torch.einsum("bnc,bc->bn", self.feats[t], e).argmax(-1))
        args = torch.stack(cols, dim=1)
        return torch.where(self.mask[fn], args, torch.full_like(args, -1))

    def logsumexp(self, available: torch.Tensor | None) -> torch.Tensor:
        """Exact ``log sum_{a available} exp Q(s, a)`` ``[B]``."""
        return torch.logsumexp(mask_functions(self.function_values("logsumexp"), available), dim=1)

    def expectation(self, policy: PolicyOutput) -> torch.Tensor:
        """Exact ``E_{a ~ pi} Q(s, a)`` ``[B]`` under a factored policy (grads flow into ``pi``)."""
        vals = self.function_values("expect", arg_probs(policy))
        return (F.softmax(policy.fn_logits, dim=-1) * vals).sum(-1)

    def expected_vector(self, policy: PolicyOutput) -> torch.Tensor:
        """Exact ``E_{a ~ pi} phi(s, a)`` ``[B, d]`` of a vector head (QRL's latent dynamics)."""
        if self.q_fn.dim() != 3:
            raise ValueError("expected_vector needs a vector FactoredQ (built with out_dim)")
        pf = F.softmax(policy.fn_logits, dim=-1)
        out = torch.einsum("bf,bfd->bd", pf, self.q_fn)
        for t, probs in enumerate(arg_probs(policy)):
            mean_feat = torch.einsum("bn,bnc->bc", probs.to(self.feats[t].dtype), self.feats[t])
            w = pf * self.mask[:, t].to(pf.dtype)  # P(f) for the functions that take t
            out = out + torch.einsum(
                "bc,bcd->bd", mean_feat, torch.einsum("bf,fcd->bcd", w, self.emb[t])
            )
        return out

    def contract(self, psi: torch.Tensor) -> FactoredQ:
        """Vector ``phi(s, a) in R^d`` -> scalar ``phi(s, a) . psi_b`` for ``psi`` ``[B, d]``."""
        if self.q_fn.dim() != 3:
            raise ValueError("contract needs a vector FactoredQ (built with out_dim)")
        q = torch.einsum("bfd,bd->bf", self.q_fn, psi)
        emb = []
        for t, e in enumerate(self.emb):
            # Only the functions that take argument t have a used embedding e_t(f); the other
            # rows are masked everywhere, so they stay 0 (queued: 540 of 573, others <= 171).
            fns = self.fn_index[t]
            rows = torch.einsum("fcd,bd->bfc", e[fns], psi)
            full = rows.new_zeros(psi.shape[0], e.shape[0], e.shape[1])
            emb.append(full.index_copy(1, fns, rows))
        return FactoredQ(q, self.feats, emb)

    def detach(self) -> FactoredQ:
        """A copy cut from the graph."""
        return FactoredQ(
            self.q_fn.detach(), [m.detach() for m in self.feats], [e.detach() for e in self.emb],
            None if self.dist_logits is None else self.dist_logits.detach(), self.support,
        )  # fmt: skip


class FactoredQHead(nn.Module):
    """Produces a `FactoredQ` from an `EncoderOutput`.

    Args:
        vector_dim, map_channels: encoder widths.
        screen_size, minimap_size: action resolutions.
        embed_dim: ``C``, width of the argument features and function embeddings.
        out_dim: None for scalar Q; ``d`` for a vector ``phi(s, a)`` (CRL).
        num_atoms, v_min, v_max: C51 option: the function-level value is a categorical return
            distribution over ``num_atoms`` atoms in ``[v_min, v_max]``.
    """

    def __init__(
        self,
        vector_dim: int,
        map_channels: int,
        screen_size: int,
        minimap_size: int,
        embed_dim: int = 16,
        out_dim: int | None = None,
        num_atoms: int | None = None,
        v_min: float = -10.0,
        v_max: float = 10.0,
    ) -> None:
        super().__init__()
        if out_dim is not None and num_atoms is not None:
            raise ValueError("FactoredQHead: out_dim and num_atoms are exclusive")
        self.sizes = arg_sizes(screen_size, minimap_size)
        self.out_dim, self.num_atoms, self.embed_dim = out_dim, num_atoms, embed_dim
        self.fn = nn.Linear(vector_dim, NF * (out_dim or num_atoms or 1))
        self.args = nn.ModuleList()
        # Non-spatial values: m_t(s, u) = v_t(u) * p_t(s) (elementwise), a learned value embedding
        # gated by the state; a Linear(vector, n_t * C) would cost 2M weights for the 500-way ids.
        self.values = nn.ParameterDict()
        for t, n in zip(features.ARG_TYPES, self.sizes, strict=True):
            if t in features.SPATIAL_ARG_TYPES:
                self.args.append(nn.Conv2d(map_channels, embed_dim, 1))
            else:
                self.args.append(nn.Linear(vector_dim, embed_dim))
                self.values[t] = nn.Parameter(torch.randn(n, embed_dim))
        shape = (NF, embed_dim) if out_dim is None else (NF, embed_dim, out_dim)
        scale = 1.0 / math.sqrt(embed_dim)
        self.emb = nn.ParameterList([nn.Parameter(torch.randn(*shape) * scale) for _ in range(NA)])
        if num_atoms is not None:
            self.register_buffer("support", torch.linspace(v_min, v_max, num_atoms))
        else:
            self.support = None

    def forward(self, enc: EncoderOutput) -> FactoredQ:
        b = enc.vector.shape[0]
        raw = self.fn(enc.vector)
        feats = []
        for t, head in zip(features.ARG_TYPES, self.args, strict=True):
            if t in features.SPATIAL_ARG_TYPES:
                feats.append(head(enc.maps[_map_source(t)]).flatten(2).transpose(1, 2))
            else:
                feats.append(self.values[t][None] * head(enc.vector)[:, None, :])
        emb = list(self.emb)
        if self.num_atoms is not None:
            logits = raw.view(b, NF, self.num_atoms)
            q = (F.softmax(logits, -1) * self.support).sum(-1)
            return FactoredQ(q, feats, emb, logits, self.support)
        q = raw.view(b, NF) if self.out_dim is None else raw.view(b, NF, self.out_dim)
        return FactoredQ(q, feats, emb)


# ------------------------------------------------------------------------------------- networks
def _available(obs: Mapping[str, torch.Tensor]) -> torch.Tensor | None:
    return obs.get("available_actions")


class ActorNetwork(nn.Module):
    """Encoder + `PolicyHead`: ``forward(obs, goal=None) -> PolicyOutput`` masked by the obs."""

    def __init__(
        self,
        encoder: EncoderConfig,
        obs_spec: Mapping[str, Any],
        screen_size: int,
        minimap_size: int,
        goal_conditioned: bool = False,
    ) -> None:
        super().__init__()
        self.encoder = SpatialEncoder(
            encoder, obs_spec, screen_size, minimap_size, goal_conditioned
        )
        self.head = PolicyHead(
            self.encoder.vector_dim, self.encoder.map_channels, screen_size, minimap_size
        )
        self.goal_conditioned = goal_conditioned

    def forward(
        self,
        obs: Mapping[str, torch.Tensor],
        goal: Mapping[str, torch.Tensor] | None = None,
        include: torch.Tensor | None = None,
    ) -> PolicyOutput:
        """Policy logits masked by ``obs["available_actions"]`` plus ``include`` (data actions)."""
        return self.head(self.encoder(obs, goal), _available(obs), include)


class QNetwork(nn.Module):
    """Encoder + `FactoredQHead`: ``forward(obs, goal=None) -> FactoredQ``."""

    def __init__(
        self,
        encoder: EncoderConfig,
        obs_spec: Mapping[str, Any],
        screen_size: int,
        minimap_size: int,
        goal_conditioned: bool = False,
        **head_kwargs: Any,
    ) -> None:
        super().__init__()
        self.encoder = SpatialEncoder(
            encoder, obs_spec, screen_size, minimap_size, goal_conditioned
        )
        self.head = FactoredQHead(
            self.encoder.vector_dim, self.encoder.map_channels, screen_size, minimap_size,
            **head_kwargs,
        )  # fmt: skip

    def forward(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None = None
    ) -> FactoredQ:
        return self.head(self.encoder(obs, goal))


class ValueNetwork(nn.Module):
    """Encoder + MLP: ``V(s[, g])`` ``[B]`` (``out_dim=1``) or an embedding ``[B, out_dim]``.

    ``hidden`` are the MLP's hidden widths (GELU + LayerNorm); empty = one linear layer.
    """

    def __init__(
        self,
        encoder: EncoderConfig,
        obs_spec: Mapping[str, Any],
        screen_size: int,
        minimap_size: int,
        goal_conditioned: bool = False,
        out_dim: int = 1,
        hidden: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.encoder = SpatialEncoder(
            encoder, obs_spec, screen_size, minimap_size, goal_conditioned
        )
        self.out = MLP(self.encoder.vector_dim, tuple(hidden), out_dim)
        self.out_dim = out_dim

    def forward(
        self, obs: Mapping[str, torch.Tensor], goal: Mapping[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        v = self.out(self.encoder(obs, goal).vector)
        return v.squeeze(-1) if self.out_dim == 1 else v


# ------------------------------------------------------------------------------------- policies
def torch_generator(rng: np.random.Generator | None) -> torch.Generator | None:
    if rng is None:
        return None
    return torch.Generator().manual_seed(int(rng.integers(0, 2**62)))


def split_goal(
    observations: Mapping[str, Any], goal: Mapping[str, Any] | None, batch: int
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """Separate ``goal/<key>`` entries from observations, or broadcast a fixed single ``goal``."""
    obs = {k: v for k, v in observations.items() if not k.startswith("goal/")}
    g = {k[5:]: v for k, v in observations.items() if k.startswith("goal/")}
    t_obs = obs_to_torch(obs, "cpu")
    if g:
        return t_obs, obs_to_torch(g, "cpu")
    if goal is None:
        return t_obs, None
    t_goal = obs_to_torch(goal, "cpu")
    return t_obs, {k: v.unsqueeze(0).expand(batch, *v.shape) for k, v in t_goal.items()}


def batch_size_of(observations: Mapping[str, Any]) -> int:
    for k in ("available_actions", "player", "minimap", "screen"):
        if k in observations:
            return int(np.asarray(observations[k]).shape[0])
    raise ValueError("observations: no batched key found")


class ActorPolicy:
    """CPU, frozen, picklable `core.Policy` over an `ActorNetwork`.

    Args:
        actor: the network (already a CPU frozen copy, see `torch_utils.frozen_copy`).
        greedy: take the mode instead of sampling.
        goal: fixed goal observation (one example, storage form) for goal-conditioned actors; a
            ``goal/<key>`` entry in the observations overrides it.
    """

    def __init__(
        self, actor: nn.Module, greedy: bool = False, goal: Mapping[str, Any] | None = None
    ) -> None:
        self.actor, self.greedy, self.goal = actor, greedy, goal

    @torch.no_grad()
    def act(
        self, observations: Mapping[str, Any], rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        obs, goal = split_goal(observations, self.goal, batch_size_of(observations))
        if getattr(self.actor, "goal_conditioned", False) and goal is None:
            raise ValueError("goal-conditioned policy: pass goal= or 'goal/<key>' observations")
        fn, args = sample(self.actor(obs, goal), torch_generator(rng), self.greedy)
        return fn.numpy().astype(np.int64), args.numpy().astype(np.int64)


class GreedyQPolicy:
    """CPU, frozen, picklable `core.Policy`: exact ``argmax_a Q`` over available actions.

    With ``epsilon > 0`` a random available function with uniform arguments is taken with that
    probability (evaluation noise as in DQN's Atari protocol).
    """

    def __init__(self, qnet: nn.Module, epsilon: float = 0.0) -> None:
        self.qnet, self.epsilon = qnet, epsilon

    @torch.no_grad()
    def act(
        self, observations: Mapping[str, Any], rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        obs, _ = split_goal(observations, None, batch_size_of(observations))
        fq = self.qnet(obs)
        fn, args, _ = fq.greedy(_available(obs))
        if self.epsilon > 0:
            rng = rng if rng is not None else np.random.default_rng()
            gen = torch_generator(rng)
            b = fn.shape[0]
            zero = PolicyOutput(
                mask_functions(torch.zeros(b, NF), _available(obs)),
                [torch.zeros(b, x.shape[1]) for x in fq.feats],
            )
            rfn, rargs = sample(zero, gen)
            pick = torch.from_numpy(rng.random(b) < self.epsilon)
            fn = torch.where(pick, rfn, fn)
            args = torch.where(pick[:, None], rargs, args)
        return fn.numpy().astype(np.int64), args.numpy().astype(np.int64)
