r"""SHARSA: n-step / chunked SARSA values with best-of-N action selection (and the double variant).

Paper: Park, Frans, Mann, Eysenbach, Kumar, Levine 2025, "Horizon Reduction Makes RL Scalable"
(arXiv 2506.04168), reference code ``seohongpark/horizon-reduction`` ``agents/sharsa.py`` and
``agents/dsharsa.py`` (ALGORITHMS.md §A.2-A.3). SHARSA is not an actor-critic: it fits SARSA values
of the *behaviour* policy with horizon-reduced targets and a BC policy, and improves only at
inference by rejection sampling.

.. math::

    y_V = \mathrm{agg}_j\, \sigma(Q^{target}_j(s, a_{data}))  \qquad
    L_V = \mathrm{BCE}(V(s), y_V)

    y_Q = R^{(n)} + \gamma^k\, m\, \sigma(V(s_{t+k}))  \qquad
    L_Q = \sum_j \mathrm{BCE}(Q_j(s, a_{data}), y_Q)

    L_{BC} = -\log \pi(a_{data} \mid s), \qquad
    \pi_{eval}(s) = \arg\max_{a_i \sim \pi(\cdot|s),\, i \le N}\; \mathrm{agg}_j Q_j(s, a_i)

``R^{(n)}``, ``gamma^k`` and ``m`` are the batch's ``rewards``, ``discounts`` and ``masks``: the
sampler's n-step or chunk-end transition (``k <= n``). Truncations bootstrap (``m = 1``), which
fixes the reference code's quirk of scoring a trajectory end as a success (§A.0).
``value_loss="bce"`` (the paper's default, values in [0, 1] for goal / win rewards; targets are
clipped to [0, 1]) or ``"mse"`` (our default: minigame scores are unbounded; values are raw).
``agg`` is min or mean over the ``num_qs`` critic heads.

**Adaptation to PySC2.** The paper's high-level "action" is a subgoal produced by a flow-matching
BC; here the rejection sampling runs over N full factored actions ``(f, u)`` sampled from the
BC policy, scored by the factored critic (one encoder pass, N cheap gathers).

**Double variant** (``double=True``, ``dsharsa.py``): a second SARSA critic ``Q^l``/``V^l`` with the
short horizon ``gamma_l = 1 - 1/n`` (discount ``gamma_l^k``, ``k = log(discounts) / log(gamma)``).
At inference the long-horizon critic keeps the best ``low_keep`` of the N candidates and the
short-horizon critic picks among them. Deviation: the paper's low level is goal-conditioned on the
chosen subgoal; without subgoals the short-horizon critic scores the same reward stream.

``actor_loss`` switches extraction: ``bestofn`` (the paper's: BC actor + rejection sampling),
``ddpgbc`` (exact discrete DDPG+BC on ``agg_j Q_j``) or ``awr`` (``adv = agg_j Q_j(s, a) - V(s)``).
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sc2agents.data.batch import Batch
from sc2agents.networks import extraction, heads, optimizers, presets, readout, spatial
from sc2agents.utils import torch_utils as tu


@dataclasses.dataclass(frozen=True)
class SHARSAConfig:
    """Hyperparameters of `SHARSALearner`."""

    learner_name: str = "sharsa"  # Registry key; equals the file stem.
    encoder: str = presets.DEFAULT  # Encoder preset (sc2agents.networks.presets).
    q_embed_dim: int = 16  # C: width of the factored Q head's argument features.
    lr: float = 3e-4  # Adam learning rate (critics, values, actor).
    max_grad_norm: float = 10.0  # Per-network global gradient-norm clip; 0 disables.
    gamma: float = 0.99  # Per-step discount the sampler used (for k and gamma_l).
    horizon: int = 25  # n: the sampler's chunk length (sets gamma_l = 1 - 1/n).
    num_qs: int = 2  # Critic heads (separate networks).
    q_agg: Literal["min", "mean"] = "min"  # Aggregation over critic heads.
    value_loss: Literal["bce", "mse"] = "mse"  # mse: any reward; bce (paper): {0,1} goal rewards.
    tau: float = 0.005  # Polyak rate of the target critics.
    num_samples: int = 32  # N: candidate actions for best-of-N at inference.
    double: bool = False  # Double SHARSA: add the short-horizon critic.
    low_keep: int = 8  # Double: candidates the long-horizon critic passes to the short one.
    actor_loss: Literal["bestofn", "ddpgbc", "awr"] = "bestofn"  # Policy extraction.
    alpha: float = 1.0  # DDPG+BC: weight of -log pi(a_data).
    awr_temperature: float = 1.0  # AWR: inverse temperature beta.
    awr_max_weight: float = 100.0  # AWR: clip of exp(beta * adv).
    greedy_policy: bool = False  # ddpgbc/awr: take the actor's mode instead of sampling.

    def __post_init__(self) -> None:
        presets.get(self.encoder)
        if self.actor_loss not in ("bestofn", "ddpgbc", "awr"):
            raise ValueError(f"actor_loss must be bestofn, ddpgbc or awr, got {self.actor_loss!r}")
        if self.q_agg not in ("min", "mean"):
            raise ValueError(f"q_agg must be min or mean, got {self.q_agg!r}")
        if self.value_loss not in ("bce", "mse"):
            raise ValueError(f"value_loss must be bce or mse, got {self.value_loss!r}")
        if self.num_qs < 1 or self.num_samples < 1 or self.horizon < 1:
            raise ValueError("num_qs, num_samples and horizon must be >= 1")
        if not 1 <= self.low_keep <= self.num_samples:
            raise ValueError(f"low_keep must be in [1, num_samples], got {self.low_keep}")


_NORM_KEYS = {
    "q": "value/q_grad_norm",
    "v": "value/v_grad_norm",
    "actor": "actor/grad_norm",
    "q_low": "low_value/q_grad_norm",
    "v_low": "low_value/v_grad_norm",
}


def _agg(values: torch.Tensor, how: str) -> torch.Tensor:
    """Aggregate over the leading critic-head axis."""
    return values.min(0).values if how == "min" else values.mean(0)


class BestOfNPolicy:
    """CPU, frozen, picklable `core.Policy`: sample N actions from BC, execute the best by Q.

    Args:
        actor: BC `ActorNetwork` (frozen CPU copy).
        critics: long-horizon critic heads (`QNetwork`s).
        num_samples: N.
        q_agg: ``min`` or ``mean`` over heads.
        value_loss: ``bce`` scores ``sigmoid(Q)`` (monotone: same choice as logits).
        low_critics: double variant's short-horizon heads, or None.
        low_keep: double variant: candidates kept by the long-horizon critic.
    """

    def __init__(
        self,
        actor: nn.Module,
        critics: nn.ModuleList,
        num_samples: int,
        q_agg: str,
        low_critics: nn.ModuleList | None = None,
        low_keep: int = 8,
    ) -> None:
        self.actor, self.critics, self.low_critics = actor, critics, low_critics
        self.num_samples, self.q_agg, self.low_keep = num_samples, q_agg, low_keep

    @staticmethod
    def _score(critics: nn.ModuleList, obs: Any, fn: torch.Tensor, args: torch.Tensor, agg: str):
        return _agg(torch.stack([c(obs).action_values_multi(fn, args) for c in critics]), agg)

    @torch.no_grad()
    def act(
        self, observations: Mapping[str, Any], rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        obs, _ = heads.split_goal(observations, None, heads.batch_size_of(observations))
        gen = heads.torch_generator(rng)
        out = self.actor(obs)
        b, n = out.fn_logits.shape[0], self.num_samples
        rep = heads.PolicyOutput(
            out.fn_logits.repeat_interleave(n, 0),
            [x.repeat_interleave(n, 0) for x in out.arg_logits],
        )
        fn, args = heads.sample(rep, gen)
        fn, args = fn.view(b, n), args.view(b, n, -1)
        score = self._score(self.critics, obs, fn, args, self.q_agg)  # [B, N]
        if self.low_critics is not None:
            keep = score.topk(min(self.low_keep, n), dim=1).indices  # [B, K]
            fn = fn.gather(1, keep)
            args = args.gather(1, keep[..., None].expand(-1, -1, args.shape[-1]))
            score = self._score(self.low_critics, obs, fn, args, self.q_agg)
        best = score.argmax(1)
        rows = torch.arange(b)
        return fn[rows, best].numpy().astype(np.int64), args[rows, best].numpy().astype(np.int64)


class SHARSALearner:
    """SHARSA / double SHARSA on the factored action (see module docstring).

    Args:
        config: hyperparameters.
        obs_spec: ``{key: (shape, dtype)}`` of the storage-form observation keys in the data.
        action_spec: ``{"screen_size": int, "minimap_size": int}``.
        device: where the networks live and the updates run.
    """

    config_cls = SHARSAConfig

    def __init__(
        self,
        config: SHARSAConfig,
        obs_spec: Mapping[str, Any],
        action_spec: Mapping[str, Any],
        *,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config
        self._device = tu.resolve_device(device)
        screen, minimap = tu.parse_action_spec(action_spec)
        enc = presets.get(config.encoder)

        def critics() -> nn.ModuleList:
            return nn.ModuleList(
                heads.QNetwork(enc, obs_spec, screen, minimap, embed_dim=config.q_embed_dim)
                for _ in range(config.num_qs)
            ).to(self._device)

        self.q = critics()
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        self.v = heads.ValueNetwork(enc, obs_spec, screen, minimap).to(self._device)
        self.actor = heads.ActorNetwork(enc, obs_spec, screen, minimap).to(self._device)
        self.q_low: nn.ModuleList | None = None
        self.v_low: heads.ValueNetwork | None = None
        if config.double:
            self.q_low = critics()
            self.q_low_target = copy.deepcopy(self.q_low).requires_grad_(False)
            self.v_low = heads.ValueNetwork(enc, obs_spec, screen, minimap).to(self._device)
        self.optimizer = optimizers.adam(self._modules().parameters(), lr=config.lr)
        self.step = 0

    def _modules(self) -> nn.ModuleDict:
        mods = nn.ModuleDict({"q": self.q, "v": self.v, "actor": self.actor})
        if self.q_low is not None:
            mods["q_low"], mods["v_low"] = self.q_low, self.v_low
        return mods

    # ------------------------------------------------------------------------------- losses
    def _value_of(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(x) if self.config.value_loss == "bce" else x

    def _regress(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.config.value_loss == "bce":
            return F.binary_cross_entropy_with_logits(pred, target.clamp(0, 1))
        return F.mse_loss(pred, target)

    def _sarsa_losses(
        self,
        batch: Batch,
        q: nn.ModuleList,
        q_target: nn.ModuleList,
        v: nn.Module,
        discount: torch.Tensor,
        cache: dict[str, Any] | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``L_V + L_Q`` of one SARSA level with the given per-sample bootstrap discount.

        ``cache`` (optional) receives the critics' and the value's forwards on ``s`` (``fqs``,
        ``v_pred``) so that the actor loss reuses them instead of encoding ``s`` again.
        """
        obs, act = batch.observations, batch.actions
        fn, args = act["function"], act["args"]
        assert batch.next_observations is not None, "sharsa needs batch.next_observations"
        with torch.no_grad():
            qt = torch.stack([self._value_of(c(obs).action_values(fn, args)) for c in q_target])
            y_v = _agg(qt, self.config.q_agg)
            y_q = batch.rewards + discount * batch.masks * self._value_of(
                v(batch.next_observations)
            )
        v_pred = v(obs)
        loss_v = self._regress(v_pred, y_v)
        fqs = [c(obs) for c in q]
        qs = [fq.action_values(fn, args) for fq in fqs]
        if cache is not None:
            cache.update(fqs=fqs, v_pred=v_pred)
        loss_q = sum(self._regress(x, y_q) for x in qs)
        assert isinstance(loss_q, torch.Tensor)
        return loss_v + loss_q, {
            "v_loss": loss_v,
            "q_loss": loss_q,
            "v_mean": self._value_of(v_pred).mean(),
            "q_mean": self._value_of(qs[0]).mean(),
            "target_mean": y_q.mean(),
        }

    def value_loss(
        self, batch: Batch, cache: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Long-horizon SARSA: ``L_V + L_Q`` with the n-step / chunk discount ``gamma^k``."""
        return self._sarsa_losses(batch, self.q, self.q_target, self.v, batch.discounts, cache)

    def low_value_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Double variant: the same SARSA losses at the short horizon ``gamma_l = 1 - 1/n``."""
        if self.q_low is None:
            return torch.zeros((), device=self._device), {}
        c = self.config
        k = torch.log(batch.discounts.clamp(min=1e-30)) / math.log(c.gamma) if c.gamma < 1 else 1.0
        gamma_low = 1.0 - 1.0 / c.horizon
        discount = torch.as_tensor(gamma_low, device=self._device) ** k
        assert self.v_low is not None
        return self._sarsa_losses(batch, self.q_low, self.q_low_target, self.v_low, discount)

    def actor_loss(
        self, batch: Batch, cache: dict[str, Any] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """BC (bestofn), or discrete DDPG+BC / AWR on the frozen aggregated critic.

        ``cache``: `value_loss`'s forwards on ``s`` (detached here), else they are recomputed.
        """
        obs, act = batch.observations, batch.actions
        fn, args = act["function"], act["args"]
        pol = self.actor(obs, include=fn)
        logp, _ = heads.log_prob(pol, fn, args)
        if self.config.actor_loss == "bestofn":
            loss = -logp.mean()
            return loss, {"loss": loss, "bc_log_prob": logp.mean()}
        if cache:
            fqs = [fq.detach() for fq in cache["fqs"]]
        else:
            with torch.no_grad():
                fqs = [c(obs).detach() for c in self.q]
        if self.config.actor_loss == "ddpgbc":
            q_pi = _agg(torch.stack([fq.expectation(pol) for fq in fqs]), self.config.q_agg)
            loss, info = extraction.ddpgbc_loss(q_pi, logp, self.config.alpha)
        else:
            with torch.no_grad():
                q = _agg(torch.stack([fq.action_values(fn, args) for fq in fqs]), self.config.q_agg)
                v = cache["v_pred"].detach() if cache else self.v(obs)
                adv = self._value_of(q) - self._value_of(v)
            loss, info = extraction.awr_loss(
                adv, logp, self.config.awr_temperature, self.config.awr_max_weight
            )
        return loss, {"loss": loss, "bc_log_prob": logp.mean(), **info}

    @spatial.with_shared_preprocessing
    def loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Total loss and ``value/``, ``low_value/``, ``actor/`` info; validation under no_grad."""
        tu.require_fields(batch, ("rewards", "next_observations", "masks", "discounts"), "sharsa")
        batch = batch.to(self._device)
        total = torch.zeros((), device=self._device)
        info: dict[str, torch.Tensor] = {}
        cache: dict[str, Any] = {}  # value_loss's forwards on s, reused by actor_loss.
        for prefix, fn in (
            ("value", lambda b: self.value_loss(b, cache)),
            ("low_value", self.low_value_loss),
            ("actor", lambda b: self.actor_loss(b, cache)),
        ):
            term, ti = fn(batch)
            total = total + term
            info.update({f"{prefix}/{k}": v for k, v in ti.items()})
        return total, info

    # ------------------------------------------------------------------------------- update
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on every network, then the target updates."""
        loss, info = self.loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norms = {_NORM_KEYS[k]: self._clip(m) for k, m in self._modules().items()}
        self.optimizer.step()
        self.step += 1
        tu.soft_update(self.q_target, self.q, self.config.tau)
        if self.q_low is not None:
            tu.soft_update(self.q_low_target, self.q_low, self.config.tau)
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
        """``agg_j value(Q_j(s, a))`` of the online long-horizon critics, on the return scale.

        ``agg`` is ``q_agg`` (min or mean over the ``num_qs`` heads); ``value`` is ``sigmoid`` for
        ``value_loss='bce'`` (a logit) and the identity for ``mse``.

        Args:
            observations: storage-form observations ``[B, ...]`` (numpy or torch, any device).
            actions: ``{"function": [B], "args": [B, 13]}`` (`features.encode_action` layout).
            goals: ignored (sharsa is not goal-conditioned).

        Returns:
            ``[B]`` float tensor on the learner's device, without gradients (eval mode).

        Raises:
            ValueError: missing or malformed actions (the message names the key).
        """
        obs, fn, args, _ = readout.value_inputs(
            observations, actions, goals, self._device, learner="sharsa"
        )
        with readout.eval_mode(self.q):
            qs = [self._value_of(c(obs).action_values(fn, args)) for c in self.q]
            return _agg(torch.stack(qs), self.config.q_agg)

    # ------------------------------------------------------------------------------- acting
    def policy(self) -> BestOfNPolicy | heads.ActorPolicy:
        """A CPU, frozen, picklable `core.Policy` (best-of-N, or the extracted actor)."""
        c = self.config
        if c.actor_loss != "bestofn":
            return heads.ActorPolicy(tu.frozen_copy(self.actor), greedy=c.greedy_policy)
        low = tu.frozen_copy(self.q_low) if self.q_low is not None else None
        return BestOfNPolicy(
            tu.frozen_copy(self.actor), tu.frozen_copy(self.q), c.num_samples, c.q_agg,
            low, c.low_keep,
        )  # fmt: skip

    # ------------------------------------------------------------------------------- state
    def state_dict(self) -> dict[str, Any]:
        state = {
            "config": dataclasses.asdict(self.config),
            "step": self.step,
            "networks": self._modules().state_dict(),
            "q_target": self.q_target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
        }
        if self.q_low is not None:
            state["q_low_target"] = self.q_low_target.state_dict()
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict_config: bool = True) -> None:
        """Restore networks, optimiser and step (``strict_config=False``: other hyperparameters)."""
        tu.check_config_match(
            state["config"], dataclasses.asdict(self.config), "SHARSALearner", strict_config
        )
        self._modules().load_state_dict(state["networks"])
        self.q_target.load_state_dict(state["q_target"])
        if self.q_low is not None:
            self.q_low_target.load_state_dict(state["q_low_target"])
        tu.load_optimizer_state(self.optimizer, state["optimizer"], self._device)
        self.step = int(state["step"])
