r"""MC: Monte-Carlo return regression of the behaviour Q-function, with DDPG+BC or AWR extraction.

The no-bootstrap reference of the value-horizon study (ALGORITHMS.md §A.12, the ``n = inf`` end
of §A.1): Park et al. 2025, "Horizon Reduction Makes RL Scalable" (arXiv 2506.04168) for the
setting; Park et al. 2024, "Is Value Learning Really the Main Bottleneck in Offline RL?" (arXiv
2406.09329) for DDPG+BC vs AWR extraction.

.. math::

    y_t = \sum_{j=0}^{T-t-1} \gamma^j r_{t+j} \;(+\; \gamma^{T-t} V(s_T) \text{ if truncated})

    L_Q = \mathbb{E}_D\big[(Q_\theta(s, a) - y)^2\big] \quad\text{or}\quad
          \mathbb{E}_D\big[\mathrm{BCE}(Q_\theta(s, a), y)\big] \text{ for } y \in [0, 1]

``y`` is ``batch.returns``, computed by the sampler (which handles the truncated tail). The critic
estimates ``Q^{pi_beta}``: no TD bias, high variance, no stitching. With ``value_loss="bce"``
(win/loss or goal-reached returns in [0, 1], as SHARSA's BCE parametrisation) ``Q`` is a logit.

Policy extraction (``actor_loss``), on the frozen critic ``Q`` (logits for BCE):

* ``ddpgbc`` (default): ``-E_s[E_{a~pi} Q(s, a)] / sg(E|E_pi Q|) - alpha E_D[log pi(a|s)]`` with the
  exact expectation over the factored action (ALGORITHMS.md §A.7 rule 1);
* ``awr``: ``-E_D[min(exp(beta (Q(s,a) - E_pi Q(s, .))), w_max) log pi(a|s)]``.
"""

from __future__ import annotations

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
class MCConfig:
    """Hyperparameters of `MCLearner`."""

    learner_name: str = "mc"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    q_embed_dim: int = 16  # C: width of the factored Q head's argument features.
    lr: float = 3e-4  # Adam learning rate of the critic.
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    value_loss: Literal["mse", "bce"] = "mse"  # bce: returns in [0, 1], Q is a logit.
    actor_loss: Literal["ddpgbc", "awr"] = "ddpgbc"  # Policy extraction.
    alpha: float = 1.0  # DDPG+BC: weight of -log pi(a_data).
    awr_temperature: float = 1.0  # AWR: inverse temperature beta.
    awr_max_weight: float = 100.0  # AWR: clip of exp(beta * adv).
    actor_lr: float = 3e-4  # Adam learning rate of the actor.
    greedy_policy: bool = True  # Actor policy: mode instead of sampling.

    def __post_init__(self) -> None:
        presets.get(self.encoder)
        if self.actor_loss not in ("ddpgbc", "awr"):
            raise ValueError(f"actor_loss must be ddpgbc or awr, got {self.actor_loss!r}")
        if self.value_loss not in ("mse", "bce"):
            raise ValueError(f"value_loss must be mse or bce, got {self.value_loss!r}")


class MCLearner:
    """Monte-Carlo Q regression plus an extracted actor (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = MCConfig

    def __init__(
        self,
        config: MCConfig,
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config
        self._device = tu.resolve_device(device)
        screen, minimap = tu.parse_action_spec(action_spec)
        enc = presets.get(config.encoder)
        self.q = heads.QNetwork(enc, obs_spec, screen, minimap, embed_dim=config.q_embed_dim).to(
            self._device
        )
        self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap).to(self._device)
        self.optimizer = optimizers.adam(
            [
                {"params": list(self.q.parameters()), "lr": config.lr},
                {"params": list(self.actor.parameters()), "lr": config.actor_lr},
            ]
        )
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    def value_loss(
        self, batch: Batch, fq: heads.FactoredQ | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Regression of ``Q(s, a_data)`` onto the Monte-Carlo return."""
        if batch.returns is None:
            raise ValueError("mc needs batch.returns (use a Monte-Carlo return sampler)")
        act = batch.actions
        fq = self.q(batch.observations) if fq is None else fq
        q = fq.action_values(act["function"], act["args"])
        y = batch.returns.float()
        if self.config.value_loss == "bce":
            loss = F.binary_cross_entropy_with_logits(q, y.clamp(0, 1))
            pred = torch.sigmoid(q)
        else:
            loss = F.mse_loss(q, y)
            pred = q
        return loss, {
            "loss": loss,
            "q_mean": pred.mean(),
            "return_mean": y.mean(),
            "abs_error": (pred - y).abs().mean(),
        }

    def actor_loss(
        self, batch: Batch, fq: heads.FactoredQ | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Discrete DDPG+BC or AWR on the frozen critic."""
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
        """Total loss, ``value/...`` and ``actor/...`` info; the validation loss under no_grad."""
        tu.require_fields(batch, ("returns",), "mc")
        batch = batch.to(self._device)
        fq = self.q(batch.observations)  # One critic forward on s serves both losses.
        lv, iv = self.value_loss(batch, fq)
        la, ia = self.actor_loss(batch, fq)
        info = {f"value/{k}": v for k, v in iv.items()}
        info.update({f"actor/{k}": v for k, v in ia.items()})
        return lv + la, info

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on critic and actor."""
        loss, info = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = {"value/grad_norm": self._clip(self.q), "actor/grad_norm": self._clip(self.actor)}
        self.optimizer.step()
        self.step += 1
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
        """Learned ``Q(s, a)`` on the return scale (``sigmoid`` of the logit for ``bce``).

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: ``{"function": [B], "args": [B, 13]}`` (`features.encode_action` layout).
            goals: ignored (mc is not goal-conditioned).

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing or malformed actions (the message names the key).
        """
        obs, fn, args, _ = readout.value_inputs(
            observations, actions, goals, self._device, learner="mc"
        )
        with readout.eval_mode(self.q):
            q = self.q(obs).action_values(fn, args)
            return torch.sigmoid(q) if self.config.value_loss == "bce" else q

    # ------------------------------------------------------------------------------- acting
    def policy(self) -> heads.ActorPolicy:
        """A CPU, frozen, picklable `core.Policy` (the extracted actor)."""
        return heads.ActorPolicy(tu.frozen_copy(self.actor), greedy=self.config.greedy_policy)

    # ------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "q": self.q.state_dict(),
            "actor": self.actor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "MCLearner", strict_config
        )
        self.q.load_state_dict(state["q"])
        self.actor.load_state_dict(state["actor"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
