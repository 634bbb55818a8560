r"""CRL: contrastive RL (Monte-Carlo occupancy critic, no TD), goal-conditioned or win/reward-goal.

Paper: Eysenbach, Zhang, Levine, Salakhutdinov 2022, "Contrastive Learning as Goal-Conditioned RL"
(NeurIPS, arXiv 2206.07568); reference code ``google-research/contrastive_rl`` and OGBench
``impls/agents/crl.py`` (ALGORITHMS.md §A.8). Extraction: Park et al. 2024 (arXiv 2406.09329).

Critic, per ensemble member ``e``, with in-batch negatives (row i's positive goal is ``g_i``, a
future state of the same trajectory drawn by the sampler, ``batch.goals``):

.. math::

    \ell_{ij} = \phi_e(s_i, a_i)^\top \psi_e(g_j) / \sqrt{d}

    L_{binary} = \tfrac{1}{B^2} \sum_{ij} \mathrm{BCE}(\ell_{ij}, \mathbb{1}[i = j])
    \qquad
    L_{InfoNCE} = \tfrac{1}{B} \sum_i \Big[-\ell_{ii} + \log\sum_j e^{\ell_{ij}}
        + c\,\big(\log\sum_j e^{\ell_{ij}}\big)^2\Big]

At the optimum ``exp(l) ~ p^{pi_beta}(g | s, a) / p(g)``, the discounted occupancy of the behaviour
policy (Monte-Carlo, hence no TD bias). ``phi(s, a) in R^d`` uses the factored vector head
(`FactoredQHead(out_dim=d)`), so for a goal the critic is a scalar factored Q
``Q(s, a, g) = phi(s, a) . psi(g) / sqrt(d)`` and the exact DDPG+BC expectation applies.

**Reward / win-goal variant** (``goal_mode="reward"``): the goal is the single event "win" (or
"reward reached") with a learned embedding ``w``; with one goal the in-batch contrast degenerates,
so the critic is trained as the binary classifier it is at the optimum,
``BCE(phi(s, a) . w / sqrt(d), y)`` with ``y = clip(batch.returns, 0, 1)`` (the discounted win
indicator ``gamma^{T-t} 1[win]``, a Monte-Carlo occupancy of the win event).

Policy extraction on the frozen critic, ``Q = min_e Q_e`` (actor goals = ``batch.goals``):
``ddpgbc`` (default; ``-E_pi Q / sg(E|E_pi Q|) - alpha log pi(a_data | s, g)``, exact over the
factored action; min of the per-member expectations) or ``awr`` (``adv = Q(s, a, g) - E_pi Q``).
OGBench's discrete CRL trains an extra contrastive ``V(s, g)`` for AWR; the exact ``E_pi Q``
replaces it.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sc2agents.data.batch import Batch
from sc2agents.networks import extraction, heads, optimizers, presets, readout, spatial
from sc2agents.utils import torch_utils as tu


@dataclasses.dataclass(frozen=True)
class CRLConfig:
    """Hyperparameters of `CRLLearner`."""

    learner_name: str = "crl"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    q_embed_dim: int = 16  # C: width of the factored head's argument features.
    latent_dim: int = 64  # d: representation size of phi and psi.
    num_critics: int = 2  # Ensemble members (OGBench: 2).
    lr: float = 3e-4  # Adam learning rate of the critic.
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    contrastive_loss: Literal["binary", "infonce"] = "binary"  # Binary NCE (default) or InfoNCE.
    logsumexp_coef: float = 0.01  # InfoNCE: weight of the logsumexp^2 regulariser (orig. CRL).
    goal_mode: Literal["state", "reward"] = "state"  # Future-state goals, or the win/reward event.
    actor_loss: Literal["ddpgbc", "awr"] = "ddpgbc"  # Policy extraction.
    alpha: float = 0.1  # DDPG+BC: weight of -log pi(a_data) (OGBench default 0.1).
    awr_temperature: float = 1.0  # AWR: inverse temperature beta.
    awr_max_weight: float = 100.0  # AWR: clip of exp(beta * adv).
    actor_lr: float = 3e-4  # Adam learning rate of the actor.
    greedy_policy: bool = True  # Actor policy: mode instead of sampling.

    def __post_init__(self) -> None:
        presets.get(self.encoder)
        if self.contrastive_loss not in ("binary", "infonce"):
            raise ValueError(
                f"contrastive_loss must be binary or infonce: {self.contrastive_loss!r}"
            )
        if self.goal_mode not in ("state", "reward"):
            raise ValueError(f"goal_mode must be state or reward, got {self.goal_mode!r}")
        if self.actor_loss not in ("ddpgbc", "awr"):
            raise ValueError(f"actor_loss must be ddpgbc or awr, got {self.actor_loss!r}")
        if self.num_critics < 1 or self.latent_dim < 1:
            raise ValueError("num_critics and latent_dim must be >= 1")


def binary_nce(logits: torch.Tensor) -> torch.Tensor:
    """Binary NCE over a ``[B, B]`` logit matrix whose diagonal holds the positives."""
    labels = torch.eye(logits.shape[0], device=logits.device, dtype=logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, labels)


def info_nce(logits: torch.Tensor, logsumexp_coef: float = 0.0) -> torch.Tensor:
    """InfoNCE (row-wise softmax CE to the diagonal) plus ``coef * logsumexp^2`` (CRL's cpc)."""
    lse = torch.logsumexp(logits, dim=1)
    return (lse - logits.diagonal()).mean() + logsumexp_coef * (lse**2).mean()


class CRLLearner:
    """Contrastive RL with a factored action representation (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = CRLConfig

    def __init__(
        self,
        config: CRLConfig,
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config
        self._device = tu.resolve_device(device)
        screen, minimap = tu.parse_action_spec(action_spec)
        enc = presets.get(config.encoder)
        d = config.latent_dim
        self.phi = nn.ModuleList(
            heads.QNetwork(enc, obs_spec, screen, minimap, embed_dim=config.q_embed_dim, out_dim=d)
            for _ in range(config.num_critics)
        ).to(self._device)
        self.goal_conditioned = config.goal_mode == "state"
        self.psi: nn.Module
        if self.goal_conditioned:
            self.psi = nn.ModuleList(
                heads.ValueNetwork(enc, obs_spec, screen, minimap, out_dim=d)
                for _ in range(config.num_critics)
            ).to(self._device)
        else:
            self.psi = nn.ParameterList(
                nn.Parameter(torch.randn(d, device=self._device)) for _ in range(config.num_critics)
            )
        self.actor = heads.ActorNetwork(
            enc, obs_spec, screen, minimap, goal_conditioned=self.goal_conditioned
        ).to(self._device)
        self.critic = nn.ModuleDict({"phi": self.phi, "psi": self.psi})
        self.optimizer = optimizers.adam(
            [
                {"params": list(self.critic.parameters()), "lr": config.lr},
                {"params": list(self.actor.parameters()), "lr": config.actor_lr},
            ]
        )
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    def _goal_embeddings(
        self, goals: Mapping[str, torch.Tensor] | None, b: int
    ) -> list[torch.Tensor]:
        """``psi_e(g) / sqrt(d)`` ``[B, d]`` per ensemble member."""
        scale = 1.0 / math.sqrt(self.config.latent_dim)
        if self.goal_conditioned:
            if goals is None:
                raise ValueError("crl (goal_mode='state') needs batch.goals")
            return [p(goals) * scale for p in self.psi]
        return [w.expand(b, -1) * scale for w in self.psi]

    def critic_loss(
        self, batch: Batch, cache: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Binary NCE / InfoNCE over in-batch goals (or the win classifier).

        ``cache`` (optional) receives ``phi_e(s)`` and ``psi_e(g)`` for the actor loss.
        """
        c = self.config
        obs, act = batch.observations, batch.actions
        b = batch.batch_size
        psis = self._goal_embeddings(batch.goals, b)
        phis = [phi_net(obs) for phi_net in self.phi]
        if cache is not None:
            cache.update(phis=phis, psis=psis)
        total = torch.zeros((), device=self._device)
        pos, neg, acc = [], [], []
        for phi_fq, psi in zip(phis, psis, strict=True):
            phi = phi_fq.action_values(act["function"], act["args"])  # [B, d]
            if self.goal_conditioned:
                logits = phi @ psi.T  # [B, B]
                if c.contrastive_loss == "binary":
                    total = total + binary_nce(logits)
                else:
                    total = total + info_nce(logits, c.logsumexp_coef)
                eye = torch.eye(b, device=logits.device, dtype=torch.bool)
                pos.append(logits.diagonal().mean())
                neg.append(logits.masked_select(~eye).mean() if b > 1 else logits.new_zeros(()))
                acc.append(
                    (logits.argmax(1) == torch.arange(b, device=logits.device)).float().mean()
                )
            else:
                if batch.returns is None:
                    raise ValueError("crl (goal_mode='reward') needs batch.returns")
                logit = (phi * psi).sum(-1)
                y = batch.returns.float().clamp(0, 1)
                total = total + F.binary_cross_entropy_with_logits(logit, y)
                pos.append(logit.mean())
        info = {"loss": total, "logits_pos": torch.stack(pos).mean()}
        if neg:
            info["logits_neg"] = torch.stack(neg).mean()
            info["accuracy"] = torch.stack(acc).mean()
        return total, info

    def actor_loss(
        self, batch: Batch, cache: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Discrete DDPG+BC or AWR on ``min_e phi_e(s, a) . psi_e(g)`` (frozen critic).

        ``cache``: `critic_loss`'s ``phi``/``psi`` forwards (detached here), else recomputed.
        """
        obs, act = batch.observations, batch.actions
        fn, args = act["function"], act["args"]
        goals = batch.goals if self.goal_conditioned else None
        with torch.no_grad():
            if cache:
                phis = [p.detach() for p in cache["phis"]]
                psis = [g.detach() for g in cache["psis"]]
            else:
                psis = self._goal_embeddings(goals, batch.batch_size)
                phis = [p(obs).detach() for p in self.phi]
            fqs = [p.contract(g) for p, g in zip(phis, psis, strict=True)]
        pol = self.actor(obs, goals, include=fn)
        logp, _ = heads.log_prob(pol, fn, args)
        q_pi = torch.stack([fq.expectation(pol) for fq in fqs]).min(0).values
        if self.config.actor_loss == "ddpgbc":
            loss, info = extraction.ddpgbc_loss(q_pi, logp, self.config.alpha)
        else:
            q = torch.stack([fq.action_values(fn, args) for fq in fqs]).min(0).values
            adv = q - q_pi.detach()
            loss, info = extraction.awr_loss(
                adv, logp, self.config.awr_temperature, self.config.awr_max_weight
            )
        return loss, {"loss": loss, "bc_log_prob": logp.mean(), **info}

    @spatial.with_shared_preprocessing
    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss, ``critic/...`` and ``actor/...`` info; the validation loss under no_grad."""
        batch = batch.to(self._device)
        cache: dict[str, Any] = {}  # The critic's forwards, reused (detached) by the actor loss.
        lc, ic = self.critic_loss(batch, cache)
        la, ia = self.actor_loss(batch, cache)
        info = {f"critic/{k}": v for k, v in ic.items()}
        info.update({f"actor/{k}": v for k, v in ia.items()})
        return lc + la, info

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on critic and actor."""
        loss, info = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = {
            "critic/grad_norm": self._clip(self.critic),
            "actor/grad_norm": self._clip(self.actor),
        }
        self.optimizer.step()
        self.step += 1
        return optimizers.metrics_to_floats({**info, **norms})  # One host sync per update.

    def _clip(self, module: nn.Module) -> torch.Tensor:
        return optimizers.clip_grad_norm(module.parameters(), self.config.max_grad_norm)

    # ------------------------------------------------------------------------------- values
    @torch.no_grad()
    @spatial.with_shared_preprocessing
    def values(
        self,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any],
        goals: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        """``min_e sigmoid(phi_e(s, a) . psi_e(g) / sqrt(d))`` ``[B]``, in [0, 1].

        ``goal_mode="reward"``: ``psi_e`` is the win / reward-event embedding and the value is the
        classifier's estimate of the discounted win indicator ``E[gamma^{T-t} 1[win]]``, the scale
        of ``clip(returns, 0, 1)``. ``goal_mode="state"``: the binary-NCE probability that ``g``
        is a future state of ``(s, a)`` (with ``contrastive_loss="infonce"`` only a monotone
        score, not a probability or a return).

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: ``{"function": [B], "args": [B, 13]}`` (`features.encode_action` layout).
            goals: storage-form goal observations ``[B, ...]``; required when
                ``goal_conditioned`` (``goal_mode="state"``), ignored otherwise.

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing goals (state goals), missing or malformed actions.
        """
        obs, fn, args, g = readout.value_inputs(
            observations, actions, goals if self.goal_conditioned else None, self._device,
            learner="crl", needs_goals=self.goal_conditioned,
        )  # fmt: skip
        with readout.eval_mode(self.critic):
            b = int(fn.shape[0])
            psis = self._goal_embeddings(g, b)
            vals = [
                torch.sigmoid((p(obs).action_values(fn, args) * w).sum(-1))
                for p, w in zip(self.phi, psis, strict=True)
            ]
            return torch.stack(vals).min(0).values

    # ------------------------------------------------------------------------------- acting
    def policy(self, goal: Mapping[str, Any] | None = None) -> heads.ActorPolicy:
        """A CPU, frozen, picklable `core.Policy`.

        Args:
            goal: goal-conditioned mode: a fixed goal observation (one example, storage form);
                ``goal/<key>`` entries in the observations override it at act time.
        """
        return heads.ActorPolicy(
            tu.frozen_copy(self.actor), greedy=self.config.greedy_policy, goal=goal
        )

    # ------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "critic": self.critic.state_dict(),
            "actor": self.actor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "CRLLearner", strict_config
        )
        self.critic.load_state_dict(state["critic"])
        self.actor.load_state_dict(state["actor"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
