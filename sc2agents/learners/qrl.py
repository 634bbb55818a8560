r"""QRL: quasimetric RL (cost-to-go as a learned quasimetric: local constraint + global push).

Paper: Wang, Torralba, Isola, Zhang 2023, "Optimal Goal-Reaching RL via Quasimetric Learning"
(ICML, arXiv 2304.01203); IQE head: Wang & Isola 2022 (arXiv 2206.15478). Reference code
``quasimetric-learning/quasimetric-rl`` and OGBench ``impls/agents/qrl.py`` (ALGORITHMS.md §A.9),
whose loss shaping we follow.

.. math::

    \max_\theta\; \mathbb{E}_{s, g}\, d_\theta(s, g) \quad \text{s.t.}\quad
        \mathbb{E}_{(s, s')}\, \mathrm{relu}(d_\theta(s, s') - c)^2 \le \epsilon

    L = \mathbb{E}\big[\kappa\, \mathrm{softplus}(m - d(s, g_{rand}) / \kappa)\big]
        + \mathrm{sg}(\lambda)\, C + \lambda\, (\epsilon - \mathrm{sg}(C)),
    \qquad C = \mathbb{E}\big[\mathrm{relu}(d(s, s') - c)^2\big]

``d(s, g) = IQE(z(s), z(g))`` (or MRN) is a quasimetric by construction; ``z`` is the spatial
encoder plus an MLP projector (``projector_hidden``). ``c`` is the transition's step count ``k``
(``log(discounts) / log(gamma)``, 1 for one-step data). Random goals ``g_rand`` are ``batch.goals``
rolled by one row (OGBench: value goals uniformly random). ``lambda = exp(log_lambda)`` is the
Lagrange multiplier; minimising ``lambda (eps - sg(C))`` raises it while the constraint is violated.
Defaults ``kappa = 100, m = 5, eps = 0.05`` are OGBench's (``= softplus_{beta=0.01}(500 - d)``).

Policy extraction (goal-conditioned actor, actor goals = ``batch.goals``):

* ``awr`` (default; OGBench's discrete choice): ``adv = d(s, g) - d(s', g)``, the progress the data
  action made, weight ``min(exp(beta adv), w_max)``;
* ``ddpgbc``: a latent dynamics ``z' = z(s) + phi(s, a)`` with a factored vector head, trained by
  ``(d(z', z_hat') + d(z_hat', z')) / 2``; the actor maximises ``-d(z(s) + E_pi phi(s, a), z(g))``
  normalised by ``sg(mean|.|)``, minus ``alpha log pi(a_data)``. **Approximation**: QRL's value of
  an action is non-linear in the latent, so the exact factored expectation is taken of the latent
  step (``E_pi phi``), not of the distance (Jensen gap); QRL and OGBench offer no discrete DDPG+BC.
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
from sc2agents.networks import IQE, MRN, extraction, heads, optimizers, presets, readout, spatial
from sc2agents.utils import torch_utils as tu


@dataclasses.dataclass(frozen=True)
class QRLConfig:
    """Hyperparameters of `QRLLearner`."""

    learner_name: str = "qrl"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    latent_dim: int = 64  # Size of z(s).
    projector_hidden: tuple[int, ...] = (256,)  # MLP between encoder and latent (QRL projector).
    quasimetric: Literal["iqe", "mrn"] = "iqe"  # Distance head.
    iqe_components: int = 8  # IQE: number of components (latent_dim / components dims each).
    lr: float = 3e-4  # Adam learning rate (encoder, lambda, dynamics).
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    gamma: float = 0.99  # Per-step discount the sampler used (step cost k from discounts).
    push_scale: float = 100.0  # kappa of the global push.
    push_margin: float = 5.0  # m of the global push.
    eps: float = 0.05  # Constraint slack epsilon.
    actor_loss: Literal["awr", "ddpgbc"] = "awr"  # Policy extraction.
    alpha: float = 0.003  # DDPG+BC: weight of -log pi(a_data) (OGBench default).
    awr_temperature: float = 1.0  # AWR: inverse temperature beta.
    awr_max_weight: float = 100.0  # AWR: clip of exp(beta * adv).
    q_embed_dim: int = 16  # ddpgbc: C of the factored latent-dynamics head.
    actor_lr: float = 3e-4  # Adam learning rate of the actor.
    greedy_policy: bool = True  # Actor policy: mode instead of sampling.

    def __post_init__(self) -> None:
        presets.get(self.encoder)
        if self.quasimetric not in ("iqe", "mrn"):
            raise ValueError(f"quasimetric must be iqe or mrn, got {self.quasimetric!r}")
        if self.actor_loss not in ("awr", "ddpgbc"):
            raise ValueError(f"actor_loss must be awr or ddpgbc, got {self.actor_loss!r}")
        if self.quasimetric == "iqe" and self.latent_dim % self.iqe_components:
            raise ValueError(
                f"latent_dim {self.latent_dim} not divisible by "
                f"iqe_components {self.iqe_components}"
            )


class QRLLearner:
    """Quasimetric RL (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = QRLConfig

    def __init__(
        self,
        config: QRLConfig,
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
        self.z = heads.ValueNetwork(
            enc, obs_spec, screen, minimap, out_dim=d, hidden=config.projector_hidden
        )
        self.metric: nn.Module = (
            IQE(d, config.iqe_components) if config.quasimetric == "iqe" else MRN(d)
        )
        self.log_lam = nn.Parameter(torch.zeros((), device=self._device))
        self.critic = nn.ModuleDict({"z": self.z, "metric": self.metric}).to(self._device)
        self.dynamics: heads.QNetwork | None = None
        if config.actor_loss == "ddpgbc":
            self.dynamics = heads.QNetwork(
                enc, obs_spec, screen, minimap, embed_dim=config.q_embed_dim, out_dim=d
            ).to(self._device)
        self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap, goal_conditioned=True).to(
            self._device
        )
        groups = [{"params": [*self.critic.parameters(), self.log_lam], "lr": config.lr}]
        if self.dynamics is not None:
            groups.append({"params": list(self.dynamics.parameters()), "lr": config.lr})
        groups.append({"params": list(self.actor.parameters()), "lr": config.actor_lr})
        self.optimizer = optimizers.adam(groups)
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    def distance(self, za: torch.Tensor, zb: torch.Tensor) -> torch.Tensor:
        """Quasimetric ``d(a, b)`` between latents."""
        return self.metric(za, zb)

    def _step_cost(self, batch: Batch) -> torch.Tensor:
        if batch.discounts is None or self.config.gamma >= 1:
            return torch.ones(batch.batch_size, device=self._device)
        k = torch.log(batch.discounts.clamp(min=1e-30)) / math.log(self.config.gamma)
        return k.round().clamp(min=1)

    def latents(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``z(s), z(s'), z(g)`` ``[B, d]`` in one encoder pass over the stacked observations."""
        if batch.next_observations is None or batch.goals is None:
            raise ValueError("qrl needs batch.next_observations and batch.goals")
        parts = (batch.observations, batch.next_observations, batch.goals)
        stacked = {k: torch.cat([p[k] for p in parts]) for k in batch.observations}
        z = self.z(stacked)
        return (
            z[: batch.batch_size],
            z[batch.batch_size : -batch.batch_size],
            z[-batch.batch_size :],
        )

    def value_loss(
        self, batch: Batch, latents: tuple[torch.Tensor, ...] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Global push on random goals + Lagrangian local constraint on transitions."""
        c = self.config
        z_s, z_n, z_g = latents if latents is not None else self.latents(batch)
        z_g = torch.roll(z_g, 1, dims=0)  # Random goals: another row's goal.
        d_neg = self.distance(z_s, z_g)
        d_pos = self.distance(z_s, z_n)
        push = (c.push_scale * F.softplus(c.push_margin - d_neg / c.push_scale)).mean()
        violation = (F.relu(d_pos - self._step_cost(batch)) ** 2).mean()
        lam = self.log_lam.exp()
        loss = push + lam.detach() * violation + lam * (c.eps - violation.detach())
        return loss, {
            "loss": loss,
            "push_loss": push,
            "constraint": violation,
            "lambda": lam,
            "d_pos": d_pos.mean(),
            "d_neg": d_neg.mean(),
        }

    def dynamics_loss(
        self, batch: Batch, latents: tuple[torch.Tensor, ...] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``ddpgbc`` only: symmetrised distance between predicted and encoded next latents."""
        if self.dynamics is None:
            return torch.zeros((), device=self._device), {}
        act = batch.actions
        with torch.no_grad():
            z_s, z_n, _ = latents if latents is not None else self.latents(batch)
            z_s, z_n = z_s.detach(), z_n.detach()
        step = self.dynamics(batch.observations).action_values(act["function"], act["args"])
        z_hat = z_s + step
        loss = 0.5 * (self.distance(z_n, z_hat) + self.distance(z_hat, z_n)).mean()
        return loss, {"loss": loss}

    def actor_loss(
        self, batch: Batch, latents: tuple[torch.Tensor, ...] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """AWR on the distance progress, or (approximate) discrete DDPG+BC through the dynamics."""
        obs, act = batch.observations, batch.actions
        fn, args = act["function"], act["args"]
        pol = self.actor(obs, batch.goals, include=fn)
        logp, _ = heads.log_prob(pol, fn, args)
        with torch.no_grad():
            z_s, z_n, z_g = (z.detach() for z in (latents or self.latents(batch)))
        if self.config.actor_loss == "awr":
            with torch.no_grad():
                adv = self.distance(z_s, z_g) - self.distance(z_n, z_g)
            loss, info = extraction.awr_loss(
                adv, logp, self.config.awr_temperature, self.config.awr_max_weight
            )
        else:
            assert self.dynamics is not None
            with torch.no_grad():
                phi = self.dynamics(obs).detach()
            q = -self.distance(z_s + phi.expected_vector(pol), z_g)
            loss, info = extraction.ddpgbc_loss(q, logp, self.config.alpha)
        return loss, {"loss": loss, "bc_log_prob": logp.mean(), **info}

    @spatial.with_shared_preprocessing
    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and ``value/``, ``dynamics/``, ``actor/`` info; validation under no_grad."""
        tu.require_fields(batch, ("next_observations", "goals"), "qrl")
        batch = batch.to(self._device)
        total = torch.zeros((), device=self._device)
        info: dict[str, torch.Tensor] = {}
        latents = self.latents(batch)  # Shared by the three terms (detached outside value_loss).
        for prefix, fn in (
            ("value", self.value_loss),
            ("dynamics", self.dynamics_loss),
            ("actor", self.actor_loss),
        ):
            term, ti = fn(batch, latents)
            total = total + term
            info.update({f"{prefix}/{k}": v for k, v in ti.items()})
        return total, info

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on every network (lambda by its Lagrangian term)."""
        loss, info = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = {
            "value/grad_norm": self._clip(self.critic),
            "actor/grad_norm": self._clip(self.actor),
        }
        if self.dynamics is not None:
            norms["dynamics/grad_norm"] = self._clip(self.dynamics)
        self.optimizer.step()
        self.step += 1
        return optimizers.metrics_to_floats({**info, **norms})  # One host sync per update.

    def _clip(self, module: nn.Module) -> torch.Tensor:
        return optimizers.clip_grad_norm(module.parameters(), self.config.max_grad_norm)

    # ------------------------------------------------------------------------------- values
    goal_conditioned = True  # values() needs goals.

    @torch.no_grad()
    @spatial.with_shared_preprocessing
    def values(
        self,
        observations: Mapping[str, Any],
        actions: Mapping[str, Any] | None = None,
        goals: Mapping[str, Any] | None = None,
        *,
        gamma: float | None = None,
    ) -> torch.Tensor:
        """``gamma ** d(z(s), z(g))`` ``[B]``: the discounted value of reaching ``g``, in (0, 1].

        With ``d`` the learned cost-to-go (steps), ``gamma^d`` is the return of a reward 1 on
        reaching the goal; negative distances (not produced by IQE/MRN) are clamped to 0. QRL
        learns ``V(s, g)``, so the value does not depend on the action.

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: accepted for a uniform signature (checked when given) and ignored.
            goals: storage-form goal observations ``[B, ...]`` (required).
            gamma: discount of the task; default ``config.gamma``.

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing goals, malformed actions, or ``gamma`` outside (0, 1].
        """
        gamma = self.config.gamma if gamma is None else float(gamma)
        if not 0 < gamma <= 1:
            raise ValueError(f"qrl.values: gamma must be in (0, 1], got {gamma}")
        obs, _, _, g = readout.value_inputs(
            observations, actions, goals, self._device, learner="qrl", needs_actions=False,
            needs_goals=True,
        )  # fmt: skip
        assert g is not None
        with readout.eval_mode(self.critic):
            d = self.distance(self.z(obs), self.z(g))
            return torch.as_tensor(gamma, device=d.device, dtype=d.dtype) ** d.clamp(min=0)

    # ------------------------------------------------------------------------------- acting
    def policy(self, goal: Mapping[str, Any] | None = None) -> heads.ActorPolicy:
        """A CPU, frozen, picklable `core.Policy`.

        Args:
            goal: a fixed goal observation (one example, storage form); ``goal/<key>`` entries in
                the observations override it at act time.
        """
        return heads.ActorPolicy(
            tu.frozen_copy(self.actor), greedy=self.config.greedy_policy, goal=goal
        )

    # ------------------------------------------------------------------------------- state
    def _networks(self) -> nn.ModuleDict:
        mods = nn.ModuleDict({"critic": self.critic, "actor": self.actor})
        if self.dynamics is not None:
            mods["dynamics"] = self.dynamics
        return mods

    def state_dict(self) -> dict[str, Any]:
        return {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "networks": self._networks().state_dict(),
            "log_lambda": self.log_lam.detach().clone(),
            "optimizer": self.optimizer.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "QRLLearner", strict_config
        )
        self._networks().load_state_dict(state["networks"])
        with torch.no_grad():
            self.log_lam.copy_(state["log_lambda"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
