r"""BC: behaviour cloning of the factored PySC2 action (SC2LE heads; AlphaStar Unplugged).

Paper: Vinyals et al. 2017, "StarCraft II: A New Challenge for RL" (arXiv 1708.04782) for the policy
parametrisation; Mathieu et al. 2023, "AlphaStar Unplugged" (arXiv 2308.03526) for BC as the
offline baseline.

.. math::

    L(\theta) = -\mathbb{E}_{(s, f, u) \sim D}\Big[\log \pi_\theta(f \mid s)
        + \sum_{t:\,\mathrm{mask}[f, t]} \log \pi_\theta(u_t \mid s)\Big]
        - \beta\, \mathbb{E}_s\, H(\pi_\theta(\cdot \mid s))

``pi(f | s)`` is renormalised over the available functions (SC2LE); argument slots the function does
not take (``-1``) are ignored via `features.FUNCTION_ARG_MASK`. The data function is always treated
as available, so that a replay whose action disagrees with the mask by a frame keeps a finite loss.
Deviation from AlphaStar: no per-head loss weights (all 1) and no autoregressive argument heads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from sc2agents.data.batch import Batch
from sc2agents.networks import heads, optimizers, presets
from sc2agents.utils import torch_utils as tu


@dataclasses.dataclass(frozen=True)
class BCConfig:
    """Hyperparameters of `BCLearner`."""

    learner_name: str = "bc"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset name (sc2agents.networks.presets).
    lr: float = 3e-4  # Adam learning rate.
    weight_decay: float = 0.0  # AdamW weight decay.
    max_grad_norm: float = 10.0  # Global gradient-norm clip; 0 disables.
    entropy_coef: float = 0.0  # beta: entropy bonus weight.
    greedy_policy: bool = False  # policy(): take the mode instead of sampling.

    def __post_init__(self) -> None:
        presets.get(self.encoder)  # Raises naming the preset when unknown.
        if self.entropy_coef < 0:
            raise ValueError(f"entropy_coef must be >= 0, got {self.entropy_coef}")


class BCLearner:
    """Behaviour cloning learner (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = BCConfig

    def __init__(
        self,
        config: BCConfig,
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config
        self._device = tu.resolve_device(device)
        screen, minimap = tu.parse_action_spec(action_spec)
        enc = presets.get(config.encoder)
        self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap).to(self._device)
        self.optimizer = optimizers.adam(
            self.actor.parameters(), lr=config.lr, weight_decay=config.weight_decay, decoupled=True
        )
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    def actor_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Negative log-likelihood of the data action, minus the entropy bonus."""
        obs, act = batch.observations, batch.actions
        out = self.actor(obs, include=act["function"])
        logp, parts = heads.log_prob(out, act["function"], act["args"])
        ent = heads.entropy(out)
        loss = -logp.mean() - self.config.entropy_coef * ent.mean()
        acc = (out.fn_logits.argmax(-1) == act["function"].long()).float().mean()
        return loss, {
            "loss": loss,
            "log_prob": logp.mean(),
            "function_log_prob": parts["function"].mean(),
            "args_log_prob": parts["args"].mean(),
            "entropy": ent.mean(),
            "function_accuracy": acc,
        }

    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and ``actor/...`` info; also the validation loss under ``torch.no_grad()``."""
        batch = batch.to(self._device)
        loss, info = self.actor_loss(batch)
        return loss, {f"actor/{k}": v for k, v in info.items()}

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step; returns float metrics."""
        self.actor.train()
        loss, info = self.loss(batch)
        gn = tu.optimizer_step(
            self.optimizer, loss, self.actor.parameters(), self.config.max_grad_norm
        )
        self.step += 1
        out = {k: float(v.detach()) for k, v in info.items()}
        out["actor/grad_norm"] = gn
        return out

    # ------------------------------------------------------------------------------- acting
    def policy(self) -> heads.ActorPolicy:
        """A CPU, frozen, picklable `core.Policy`."""
        return heads.ActorPolicy(tu.frozen_copy(self.actor), greedy=self.config.greedy_policy)

    # ------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "actor": self.actor.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "BCLearner", strict_config
        )
        self.actor.load_state_dict(state["actor"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
