r"""CQL: discrete conservative Q-learning, with the C51 (distributional) option of Scaled QL.

Papers: Kumar et al. 2020, "Conservative Q-Learning for Offline RL" (NeurIPS, arXiv 2006.04779),
discrete CQL(H) as in the official ``atari/`` code; Kumar et al. 2023, "Offline Q-Learning on
Diverse Multi-Task Data Both Scales and Generalizes" (Scaled QL, ICLR, arXiv 2211.15144) for the
C51 cross-entropy backup; Bellemare et al. 2017 (C51, arXiv 1707.06887). ALGORITHMS.md §A.11.

.. math::

    L = L_{TD} + \alpha_{cql}\, \mathbb{E}_{s \sim D}\Big[\log \sum_{a \in \mathcal{A}(s)}
        \exp Q_\theta(s, a) - Q_\theta(s, a_{data})\Big]

The logsumexp runs over every *available full action* (function and arguments) and is exact: with
``Q(s, f, u) = Q_F(s, f) + sum_t A_t(s, f, u_t)`` it factorises as
``logsumexp_f [Q_F(f) + sum_t mask[f,t] logsumexp_u A_t(f, u)]`` (`FactoredQ.logsumexp`).

``L_TD`` (``distributional=False``): double n-step DQN (see ``dqn.py``), Huber or MSE, target
``y = R + discounts * masks * Q_target(s', a*)``; truncations bootstrap.

``L_TD`` (``distributional=True``, C51 / Scaled QL): the function-level value is a categorical
return distribution ``p_F(. | s, f)`` on ``K`` atoms ``z``; the arguments shift it by the scalar
``c(s, a) = sum_t A_t(s, f, u_t)`` (a location family), so ``Q(s, a) = E[z] + c(s, a)`` keeps the
factored form and the max / logsumexp / expectation stay exact::

    target  = Proj_z[ p_F_target(. | s', f*) at atoms R + gamma^k m (z + c_target(s', a*)) ]
    framed  = Proj_z[ target at atoms z - sg(c(s, a)) ]           (the target in f's frame)
    L_TD    = - sum_k framed_k log p_F(k | s, f)  +  Huber(sg(E p_F) + c(s, a), E[target])

The cross-entropy trains the function-level distribution; the argument shift ``c`` learns by
regression of the mean (differentiating the projection in the atom positions gives gradients that
are local to one atom spacing and poor minima; measured).

Deviation: Scaled QL applies C51 to flat discrete actions (Atari); with no argument slots used our
form reduces to it exactly. CQL's official code uses QR-DQN; we use plain/C51 targets.
Policy extraction: ``greedy`` (default), ``ddpgbc`` or ``awr``, as in ``dqn.py``.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from sc2agents.data.batch import Batch
from sc2agents.networks import extraction, heads, optimizers, presets, readout, spatial
from sc2agents.utils import torch_utils as tu


@dataclasses.dataclass(frozen=True)
class CQLConfig:
    """Hyperparameters of `CQLLearner`."""

    learner_name: str = "cql"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    q_embed_dim: int = 16  # C: width of the factored Q head's argument features.
    lr: float = 3e-4  # Adam learning rate of the critic.
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    tau: float = 0.005  # Polyak rate of the target network (1.0 = hard copy).
    target_update_period: int = 1  # Update the target every this many steps.
    double: bool = True  # Double DQN target action selection.
    td_loss: Literal["huber", "mse"] = "huber"  # TD penalty when not distributional.
    cql_alpha: float = 1.0  # Weight of the conservative logsumexp term (official Atari: 1-10).
    distributional: bool = False  # C51 cross-entropy backup (Scaled QL).
    num_atoms: int = 51  # C51: number of atoms.
    v_min: float = -10.0  # C51: lowest atom.
    v_max: float = 10.0  # C51: highest atom.
    actor_loss: Literal["greedy", "ddpgbc", "awr"] = "greedy"  # Policy extraction.
    alpha: float = 1.0  # DDPG+BC: weight of -log pi(a_data).
    awr_temperature: float = 1.0  # AWR: inverse temperature beta.
    awr_max_weight: float = 100.0  # AWR: clip of exp(beta * adv).
    actor_lr: float = 3e-4  # Adam learning rate of the actor (ddpgbc / awr).
    greedy_policy: bool = True  # Actor policy: mode instead of sampling.
    eval_epsilon: float = 0.0  # Greedy policy: probability of a uniform random available action.

    def __post_init__(self) -> None:
        presets.get(self.encoder)
        if self.actor_loss not in ("greedy", "ddpgbc", "awr"):
            raise ValueError(f"actor_loss must be greedy, ddpgbc or awr, got {self.actor_loss!r}")
        if self.td_loss not in ("huber", "mse"):
            raise ValueError(f"td_loss must be huber or mse, got {self.td_loss!r}")
        if self.cql_alpha < 0:
            raise ValueError(f"cql_alpha must be >= 0, got {self.cql_alpha}")
        if self.distributional and (self.num_atoms < 2 or self.v_max <= self.v_min):
            raise ValueError("num_atoms must be >= 2 and v_max > v_min for the C51 option")
        if self.target_update_period < 1:
            raise ValueError(f"target_update_period must be >= 1, got {self.target_update_period}")


def categorical_projection(
    probs: torch.Tensor, atoms: torch.Tensor, support: torch.Tensor
) -> torch.Tensor:
    """Project a distribution with ``probs`` at ``atoms`` (``[B, K]``) onto a fixed ``support``.

    The C51 projection written with the triangular kernel ``max(0, 1 - |b - j|)`` so that it is
    differentiable in the atom positions (needed for the argument shift ``c(s, a)``).
    """
    v_min, v_max = support[0], support[-1]
    dz = (v_max - v_min) / (support.numel() - 1)
    b = (atoms.clamp(v_min, v_max) - v_min) / dz  # [B, K] fractional index
    j = torch.arange(support.numel(), device=support.device, dtype=b.dtype)
    kernel = (1 - (b[:, :, None] - j[None, None, :]).abs()).clamp(min=0)  # [B, K_in, K_out]
    return torch.einsum("bi,bij->bj", probs, kernel)


class CQLLearner:
    """Discrete CQL(H) (optionally C51) on the factored action (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = CQLConfig

    def __init__(
        self,
        config: CQLConfig,
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config
        self._device = tu.resolve_device(device)
        screen, minimap = tu.parse_action_spec(action_spec)
        enc = presets.get(config.encoder)
        dist = (
            {"num_atoms": config.num_atoms, "v_min": config.v_min, "v_max": config.v_max}
            if config.distributional
            else {}
        )
        self.q = heads.QNetwork(
            enc, obs_spec, screen, minimap, embed_dim=config.q_embed_dim, **dist
        ).to(self._device)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        groups = [{"params": list(self.q.parameters()), "lr": config.lr}]
        self.actor: heads.ActorNetwork | None = None
        if config.actor_loss != "greedy":
            self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap).to(self._device)
            groups.append({"params": list(self.actor.parameters()), "lr": config.actor_lr})
        self.optimizer = optimizers.adam(groups)
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    def conservative_term(
        self, fq: heads.FactoredQ, batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``E[logsumexp_a Q(s, a) - Q(s, a_data)]`` and the mean logsumexp."""
        act = batch.actions
        avail = batch.observations.get("available_actions")
        if avail is not None:  # The data function always counts as available.
            avail = avail.bool() | F.one_hot(act["function"].long(), avail.shape[1]).bool()
        lse = fq.logsumexp(avail)
        q_data = fq.action_values(act["function"], act["args"])
        return (lse - q_data).mean(), lse.mean()

    @torch.no_grad()
    def _next_action(self, nobs: Mapping[str, torch.Tensor]) -> tuple[Any, ...]:
        fq_t = self.q_target(nobs)
        chooser = self.q(nobs) if self.config.double else fq_t
        fn, args, _ = chooser.greedy(nobs.get("available_actions"))
        return fq_t, fn, args

    def critic_loss(
        self, batch: Batch, fq: heads.FactoredQ | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """TD (or C51 cross-entropy) loss plus the conservative term."""
        c = self.config
        act = batch.actions
        fn, args = act["function"], act["args"]
        assert batch.next_observations is not None, "cql needs batch.next_observations"
        fq = self.q(batch.observations) if fq is None else fq
        fq_t, fn2, args2 = self._next_action(batch.next_observations)
        bootstrap = batch.discounts * batch.masks
        if c.distributional:
            support = fq.support
            assert support is not None and fq.dist_logits is not None
            b = torch.arange(fn.shape[0], device=fn.device)
            with torch.no_grad():
                assert fq_t.dist_logits is not None
                p_next = F.softmax(fq_t.dist_logits[b, fn2.long()], -1)
                atoms = batch.rewards[:, None] + bootstrap[:, None] * (
                    support[None] + fq_t.arg_values(fn2, args2)[:, None]
                )
                target = categorical_projection(p_next, atoms, support)
            shift = fq.arg_values(fn, args)
            with torch.no_grad():  # The target in the function's frame: moved by -c(s, a).
                framed = categorical_projection(target, support[None] - shift[:, None], support)
            logits = fq.dist_logits[b, fn.long()]
            ce = -(framed * F.log_softmax(logits, -1)).sum(-1).mean()
            # The argument shift learns by regression of the mean (the projection's gradient in
            # an atom position is local to one atom spacing and has poor minima).
            q_data = (F.softmax(logits, -1).detach() * support).sum(-1) + shift
            shift_loss = F.smooth_l1_loss(q_data, (target * support).sum(-1))
            td = ce + shift_loss
        else:
            q_data = fq.action_values(fn, args)
            with torch.no_grad():
                y = batch.rewards + bootstrap * fq_t.action_values(fn2, args2)
            td = F.smooth_l1_loss(q_data, y) if c.td_loss == "huber" else F.mse_loss(q_data, y)
        gap, lse = self.conservative_term(fq, batch)
        loss = td + c.cql_alpha * gap
        return loss, {
            "loss": loss,
            "td_loss": td,
            "cql_gap": gap,
            "logsumexp": lse,
            "q_mean": q_data.mean(),
        }

    def actor_loss(
        self, batch: Batch, fq: heads.FactoredQ | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Discrete DDPG+BC or AWR on the frozen critic (zero for the greedy policy)."""
        if self.actor is None:
            return torch.zeros((), device=self._device), {}
        obs, act = batch.observations, batch.actions
        fn, args = act["function"], act["args"]
        if fq is None:
            with torch.no_grad():
                fq = self.q(obs)
        fq = fq.detach()  # The critic's forward on s, shared with the critic loss.
        pol = self.actor(obs, include=fn)
        logp, _ = heads.log_prob(pol, fn, args)
        q_pi = fq.expectation(pol)
        if self.config.actor_loss == "ddpgbc":
            loss, info = extraction.ddpgbc_loss(q_pi, logp, self.config.alpha)
        else:
            adv = fq.action_values(fn, args) - q_pi.detach()
            loss, info = extraction.awr_loss(
                adv, logp, self.config.awr_temperature, self.config.awr_max_weight
            )
        return loss, {"loss": loss, "bc_log_prob": logp.mean(), **info}

    @spatial.with_shared_preprocessing
    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss, ``critic/...`` and ``actor/...`` info; the validation loss under no_grad."""
        tu.require_fields(batch, ("rewards", "next_observations", "masks", "discounts"), "cql")
        batch = batch.to(self._device)
        fq = self.q(batch.observations)  # One critic forward on s serves both losses.
        lc, ic = self.critic_loss(batch, fq)
        la, ia = self.actor_loss(batch, fq)
        info = {f"critic/{k}": v for k, v in ic.items()}
        info.update({f"actor/{k}": v for k, v in ia.items()})
        return lc + la, info

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on critic (and actor), then the target update."""
        loss, info = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = {"critic/grad_norm": self._clip(self.q)}
        if self.actor is not None:
            norms["actor/grad_norm"] = self._clip(self.actor)
        self.optimizer.step()
        self.step += 1
        if self.step % self.config.target_update_period == 0:
            tu.soft_update(self.q_target, self.q, self.config.tau)
        return optimizers.metrics_to_floats({**info, **norms})  # One host sync per update.

    def _clip(self, module: nn.Module) -> torch.Tensor:
        return optimizers.clip_grad_norm(module.parameters(), self.config.max_grad_norm)

    # ------------------------------------------------------------------------------- values
    goal_conditioned = False  # values() takes no goals.

    @torch.no_grad()
    @spatial.with_shared_preprocessing
    def values(
        self,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any],
        goals: Mapping[str, Any] | None = None,
    ) -> torch.Tensor:
        """Learned ``Q(s, a)`` of the online critic (C51: ``E[z] + c(s, a)``), return scale.

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: ``{"function": [B], "args": [B, 13]}`` (`features.encode_action` layout).
            goals: ignored (cql is not goal-conditioned).

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing or malformed actions (the message names the key).
        """
        obs, fn, args, _ = readout.value_inputs(
            observations, actions, goals, self._device, learner="cql"
        )
        with readout.eval_mode(self.q):
            return self.q(obs).action_values(fn, args)

    # ------------------------------------------------------------------------------- acting
    def policy(self) -> heads.ActorPolicy | heads.GreedyQPolicy:
        """A CPU, frozen, picklable `core.Policy` (greedy on Q, or the extracted actor)."""
        if self.actor is not None:
            return heads.ActorPolicy(tu.frozen_copy(self.actor), greedy=self.config.greedy_policy)
        return heads.GreedyQPolicy(tu.frozen_copy(self.q), epsilon=self.config.eval_epsilon)

    # ------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "q": self.q.state_dict(),
            "q_target": self.q_target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        if self.actor is not None:
            state["actor"] = self.actor.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "CQLLearner", strict_config
        )
        self.q.load_state_dict(state["q"])
        self.q_target.load_state_dict(state["q_target"])
        if self.actor is not None:
            self.actor.load_state_dict(state["actor"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
