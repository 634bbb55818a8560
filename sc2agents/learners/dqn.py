r"""DQN: double DQN with n-step targets on the factored PySC2 action space.

Papers: Mnih et al. 2015, "Human-level control through deep RL" (Nature); van Hasselt et al. 2016,
"Deep RL with Double Q-learning" (AAAI, arXiv 1509.06461); n-step returns as in Rainbow (Hessel et
al. 2018, arXiv 1710.02298). Factored Q head: ALGORITHMS.md §A.7 (`networks.heads.FactoredQ`).

.. math::

    a^* = \arg\max_{a \in \mathcal{A}(s')} Q_\theta(s', a) \quad(\text{double; } Q_{\bar\theta}
        \text{ when } \texttt{double=False})

    y = R^{(n)} + \gamma^{k}\, m\, Q_{\bar\theta}(s', a^*)

    L_Q = \mathbb{E}_D\big[\ell\big(Q_\theta(s, a) - y\big)\big]

``R^{(n)}`` = ``batch.rewards`` (the sampler's discounted n-step sum), ``gamma^k`` =
``batch.discounts`` and ``m`` = ``batch.masks`` (1 - terminals): a truncation (time limit) is never
a terminal, its target bootstraps. ``ell`` is Huber (default) or squared error; the target network
is Polyak-averaged. The argmax over the ~10^5-10^6 full actions is exact and cheap thanks to the
factoring ``Q(s, f, u) = Q_F(s, f) + sum_t A_t(s, f, u_t)``.

Policy extraction (``actor_loss``): ``greedy`` (the argmax policy, DQN's own), or an actor trained
on the frozen critic by discrete DDPG+BC (exact ``E_pi Q`` normalised by ``sg(mean|Q|)`` plus
``-alpha log pi(a_data)``, ALGORITHMS.md §A.7 rule 1) or AWR (``exp(beta (Q(s,a) - E_pi Q))``
weighted BC, clipped at ``awr_max_weight``).
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
class DQNConfig:
    """Hyperparameters of `DQNLearner`."""

    learner_name: str = "dqn"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    q_embed_dim: int = 16  # C: width of the factored Q head's argument features.
    lr: float = 3e-4  # Adam learning rate of the critic.
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    tau: float = 0.005  # Polyak rate of the target network (1.0 = hard copy).
    target_update_period: int = 1  # Update the target every this many steps.
    double: bool = True  # Double DQN: online argmax, target evaluation.
    td_loss: Literal["huber", "mse"] = "huber"  # TD error penalty.
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
        if self.target_update_period < 1:
            raise ValueError(f"target_update_period must be >= 1, got {self.target_update_period}")


class DQNLearner:
    """Double n-step DQN with optional DDPG+BC / AWR actor (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = DQNConfig

    def __init__(
        self,
        config: DQNConfig,
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
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        groups = [{"params": list(self.q.parameters()), "lr": config.lr}]
        self.actor: heads.ActorNetwork | None = None
        if config.actor_loss != "greedy":
            self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap).to(self._device)
            groups.append({"params": list(self.actor.parameters()), "lr": config.actor_lr})
        self.optimizer = optimizers.adam(groups)
        self.step = 0

    # ------------------------------------------------------------------------------- losses
    @torch.no_grad()
    def td_target(self, batch: Batch) -> torch.Tensor:
        """``y = R + discounts * masks * Q_target(s', a*)`` ``[B]`` (no gradient)."""
        nobs = batch.next_observations
        assert nobs is not None, "dqn needs batch.next_observations"
        fq_t = self.q_target(nobs)
        chooser = self.q(nobs) if self.config.double else fq_t
        fn, args, _ = chooser.greedy(nobs.get("available_actions"))
        q_next = fq_t.action_values(fn, args)
        return batch.rewards + batch.discounts * batch.masks * q_next

    def critic_loss(
        self, batch: Batch, fq: heads.FactoredQ | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """TD loss of the data action against the double-DQN n-step target."""
        act = batch.actions
        fq = self.q(batch.observations) if fq is None else fq
        q = fq.action_values(act["function"], act["args"])
        y = self.td_target(batch)
        if self.config.td_loss == "huber":
            loss = F.smooth_l1_loss(q, y)
        else:
            loss = F.mse_loss(q, y)
        return loss, {"loss": loss, "q_mean": q.mean(), "target_mean": y.mean()}

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
        tu.require_fields(batch, ("rewards", "next_observations", "masks", "discounts"), "dqn")
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
        """Learned ``Q(s, a)`` of the online critic, on the scale of the n-step discounted return.

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: ``{"function": [B], "args": [B, 13]}`` (`features.encode_action` layout).
            goals: ignored (dqn is not goal-conditioned).

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing or malformed actions (the message names the key).
        """
        obs, fn, args, _ = readout.value_inputs(
            observations, actions, goals, self._device, learner="dqn"
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
            state["config"], dataclasses.asdict(self.config), "DQNLearner", strict_config
        )
        self.q.load_state_dict(state["q"])
        self.q_target.load_state_dict(state["q_target"])
        if self.actor is not None:
            self.actor.load_state_dict(state["actor"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
