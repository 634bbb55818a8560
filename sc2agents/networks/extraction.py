"""Policy-extraction losses shared by every value learner: discrete DDPG+BC and AWR.

One implementation, so that the study's "same value function, different extraction" comparison
(ALGORITHMS.md §A.6-A.7) really differs only in the extraction rule.

* DDPG+BC (TD3+BC normalisation, exact expectation over the factored action):
  ``L = -E[Q_pi] / sg(E|Q_pi|) - alpha * E[log pi(a_data)]``.
* AWR: ``L = -E[min(exp(beta * adv), w_max) * log pi(a_data)]``, ``adv`` without gradients.
"""

from __future__ import annotations

import torch


def ddpgbc_loss(
    q_pi: torch.Tensor, logp: torch.Tensor, alpha: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Discrete DDPG+BC: ``q_pi`` ``[B]`` = E_pi[Q]; ``logp`` ``[B]`` = log pi(a_data)."""
    scale = q_pi.detach().abs().mean().clamp(min=1e-6)
    loss = -(q_pi / scale).mean() - alpha * logp.mean()
    return loss, {"q_pi": q_pi.mean(), "q_scale": scale}


def awr_loss(
    adv: torch.Tensor, logp: torch.Tensor, temperature: float, max_weight: float
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Advantage-weighted regression: ``adv`` ``[B]`` (no gradients), ``logp`` ``[B]``."""
    w = torch.exp(temperature * adv.detach()).clamp(max=max_weight)
    loss = -(w * logp).mean()
    return loss, {"adv": adv.mean(), "weight": w.mean()}
