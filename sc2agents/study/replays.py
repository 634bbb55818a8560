"""Experiment 5: learners on the human-replay dataset, tested on held-out games.

* ``bc``: next-macro-action accuracy. For each held-out step, the target is the next *macro*
  action the player issued at or after that step (a ``Build_*``, ``Train_*``, ``TrainWarp_*``,
  ``Research_*`` or ``Morph_*`` function); the prediction is the BC policy's most likely macro
  function among those available. Baseline: the most frequent macro function of the training games.
* ``mc``: win prediction. A Monte-Carlo learner with a BCE loss on ``1[win]`` (``gamma = 1``, so the
  return of every step of a won game is 1) gives ``P(win | s, a)``; held-out Brier score and
  expected calibration error against a constant predictor (the training win rate).

Games, not episodes, are split (both players' episodes of a replay stay on the same side), so the
outcome of a held-out game never leaks through the opponent's perspective.

The dataset is ``build_dataset --source=replays`` output (``Budget.replay_path``)::

    python -m sc2agents.bin.build_dataset --source=replays --replays=replays/ \
        --out=datasets/study/replays_16px --minimap_size=16 --screen_size=16
"""

from __future__ import annotations

import dataclasses
import pathlib
import time
from typing import Any

import numpy as np

from sc2agents.envs import features
from sc2agents.study import metrics

__all__ = ["MACRO_FUNCTIONS", "game_split", "next_macro_targets", "run_cell"]

_MACRO_PREFIXES = ("Build_", "Train_", "TrainWarp_", "Research_", "Morph_")
MACRO_FUNCTIONS: np.ndarray = np.array(
    [f.id for f in features.FUNCTIONS if str(f.name).startswith(_MACRO_PREFIXES)], np.int64
)
"""PySC2 function ids counted as macro actions."""


def next_macro_targets(functions: np.ndarray) -> np.ndarray:
    """Per step, the function id of the next macro action at or after it (-1: none left)."""
    fn = np.asarray(functions, np.int64)
    is_macro = np.isin(fn, MACRO_FUNCTIONS)
    out = np.full(len(fn), -1, np.int64)
    nxt = -1
    for t in range(len(fn) - 1, -1, -1):
        if is_macro[t]:
            nxt = int(fn[t])
        out[t] = nxt
    return out


def game_split(
    game_ids: list[str], val_fraction: float, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Episode indices ``(train, held_out)``, splitting by game (at least one game each side)."""
    games = sorted(set(game_ids))
    if len(games) < 2:
        raise ValueError(f"need >= 2 games to hold some out, got {len(games)}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(games))
    n_val = min(max(1, int(round(val_fraction * len(games)))), len(games) - 1)
    val_games = {games[i] for i in perm[:n_val]}
    is_val = np.array([g in val_games for g in game_ids])
    return np.flatnonzero(~is_val), np.flatnonzero(is_val)


def _game_id(info: dict[str, Any], e: int) -> str:
    for k in ("replay", "replay_path", "path", "source"):
        if info.get(k):
            return str(info[k]).split("/player")[0].split("#")[0]
    return f"episode-{e}"


def run_cell(cell: Any, budget: Any, progress: bool = False) -> dict[str, Any]:
    """Train ``cell.method`` (``bc`` or ``mc``) on the replay dataset; held-out metrics."""
    import torch

    from sc2agents.data import samplers
    from sc2agents.data.dataset import open_dataset
    from sc2agents.learners import LEARNERS

    t0 = time.perf_counter()
    if not budget.replay_path or not (pathlib.Path(budget.replay_path) / "manifest.json").exists():
        raise ValueError(
            f"budget.replay_path {budget.replay_path!r} is not a dataset; build it with "
            "python -m sc2agents.bin.build_dataset --source=replays (see sc2agents.study.replays)"
        )
    if cell.method not in ("bc", "mc"):
        raise ValueError(f"replays experiment methods are bc and mc, got {cell.method!r}")
    torch.manual_seed(cell.seed)
    torch.set_num_threads(max(1, budget.threads))
    ds = open_dataset(budget.replay_path)
    infos = [i for s in ds.shards for i in s.infos()]
    lengths = np.concatenate([s.lengths for s in ds.shards]).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    terminated = np.concatenate([np.asarray(s.terminated, bool) for s in ds.shards])
    games = [_game_id(i, e) for e, i in enumerate(infos)]
    tr_eps, va_eps = game_split(games, budget.val_fraction, seed=0)

    def steps_of(eps: np.ndarray) -> np.ndarray:
        if not len(eps):
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(starts[e], starts[e] + lengths[e]) for e in eps])

    size = int(ds.observation_spec["minimap"][0][-1])
    obs_spec = ds.observation_spec
    action_spec = {"screen_size": size, "minimap_size": size}
    if "screen" in obs_spec:
        action_spec["screen_size"] = int(obs_spec["screen"][0][-1])
    key = cell.method
    cls = LEARNERS[key]
    kw: dict[str, Any] = {"encoder": budget.encoder}
    if key == "mc":
        kw["value_loss"] = "bce"
    names = {f.name for f in dataclasses.fields(cls.config_cls)}
    if "lr" in names:
        kw["lr"] = budget.lr
    learner = cls(cls.config_cls(**kw), obs_spec, action_spec, device="cpu")
    if key == "mc":
        scfg = samplers.SamplerConfig(gamma=1.0, n_step=None, returns=True)
        tr_eps = tr_eps[terminated[tr_eps]]
        va_eps = va_eps[terminated[va_eps]]
    else:
        scfg = samplers.SamplerConfig(gamma=1.0, n_step=1, next_observations=False)
    train_steps, val_steps = steps_of(tr_eps), steps_of(va_eps)
    if not len(train_steps) or not len(val_steps):
        raise ValueError(f"{budget.replay_path}: no usable train/held-out games for {key}")
    sampler = samplers.Sampler(ds, scfg, seed=cell.seed)
    it = range(1, budget.steps + 1)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=cell.cell_id, unit="step", leave=False)
    for i in it:
        sampler.rng = np.random.default_rng((cell.seed, i))
        learner.update(
            sampler.batch_at(
                train_steps[sampler.rng.integers(0, len(train_steps), budget.batch_size)]
            )
        )
    rng = np.random.default_rng(12345)
    pick = np.sort(rng.choice(len(val_steps), min(budget.eval_points, len(val_steps)), False))
    rows = val_steps[pick]
    out: dict[str, Any] = {
        "experiment": cell.experiment,
        "method": key,
        "task": "replays",
        "seed": cell.seed,
        "data_mult": 1,
        "variant": "",
        "cell_id": cell.cell_id,
        "dataset_episodes": int(ds.num_episodes),
    }
    rep: dict[str, Any] = {"held_out_games": float(len(set(games[e] for e in va_eps)))}
    if key == "bc":
        fn_all = np.concatenate([np.asarray(s.function) for s in ds.shards]).astype(np.int64)
        targets = np.full(len(fn_all), -1, np.int64)
        for e in range(len(lengths)):
            sl = slice(starts[e], starts[e] + lengths[e])
            targets[sl] = next_macro_targets(fn_all[sl])
        train_t = targets[train_steps]
        train_t = train_t[train_t >= 0]
        majority = int(np.bincount(train_t).argmax()) if len(train_t) else -1
        tgt = targets[rows]
        keep = tgt >= 0
        rows, tgt = rows[keep], tgt[keep]
        preds = []
        with torch.no_grad():
            for lo in range(0, len(rows), 256):
                b = sampler.batch_at(rows[lo : lo + 256]).to("cpu")
                # Unmasked function logits: the next macro action need not be available now.
                raw = learner.actor.head.fn(learner.actor.encoder(b.observations).vector)
                mask = torch.full_like(raw, float("-inf"))
                mask[:, torch.as_tensor(MACRO_FUNCTIONS)] = 0.0
                preds.append((raw + mask).argmax(-1).numpy())
        pred = np.concatenate(preds) if preds else np.zeros(0, np.int64)
        rep["macro_accuracy"] = float((pred == tgt).mean()) if len(tgt) else float("nan")
        rep["macro_accuracy_majority"] = (
            float((tgt == majority).mean()) if len(tgt) else float("nan")
        )
        rep["macro_eval_steps"] = float(len(tgt))
    else:
        probs, zs = [], []
        with torch.no_grad():
            for lo in range(0, len(rows), 256):
                b = sampler.batch_at(rows[lo : lo + 256])
                tb = b.to("cpu")
                q = learner.q(tb.observations).action_values(
                    tb.actions["function"], tb.actions["args"]
                )
                probs.append(torch.sigmoid(q).numpy())
                zs.append((np.asarray(b.returns) > 0).astype(np.float64))
        p, z = np.concatenate(probs), np.concatenate(zs)
        cal = metrics.calibration(p, z)
        tr_rate = float(
            np.mean([infos[e].get("result") == "Win" for e in tr_eps]) if len(tr_eps) else 0.5
        )
        rep.update(
            {
                "brier": cal["brier"],
                "ece": cal["ece"],
                "brier_constant": float(((tr_rate - z) ** 2).mean()),
                "reliability": cal["reliability"],
            }
        )
    out["replay"] = rep
    out["seconds"] = time.perf_counter() - t0
    return out
