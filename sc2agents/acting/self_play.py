"""Self-play: match types, the match task the pool runs, and `SelfPlayRunner` (the league loop).

A *match type* is any picklable object with
``play(policy_a, policy_b, seed) -> MatchOutcome``; two ship here:

* `ScoreMatch` (for minigames, which have one player): both policies play the **same seeded
  single-player game** ``games`` times; the higher total score wins, equal scores are a draw. It
  ranks policies by minigame skill with paired seeds (common random numbers), not by head-to-head
  play, so there is no interaction between the two.
* `TwoAgentMatch`: one game, player A against player B, on a two-slot vector env
  (`env_loop.run_two_agent_episode`; PySC2's ``num_agents=2`` convention; the simulator's
  ``Simple64`` melee through `two_agent.SimTwoAgentEnv`). The melee reward is the result; a game
  cut by ``max_steps`` is a draw.

`SelfPlayRunner` schedules rounds of matches by matchmaking (`League.schedule`), broadcasts each
member's policy once per version (`Pool.broadcast`), runs the matches through the pool and records
each one the moment it finishes (`LeagueStore.record`: durable before the next one is looked at).
A match whose worker died is rerun by the pool; one that still fails is logged and dropped, never
recorded half-played. New snapshots join between rounds (`CheckpointWatcher`, `add_snapshot`).
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import numpy as np
from absl import logging

from sc2agents.acting import env_loop
from sc2agents.acting.evaluator import GameCrashed, make_env, map_name
from sc2agents.acting.league import League, LeagueStore, Matchmaking, MatchRecord, Member, Weighting
from sc2agents.acting.policy import load_policy
from sc2agents.utils.seeding import derive_seed

__all__ = [
    "CheckpointWatcher",
    "MatchOutcome",
    "MatchSpec",
    "MatchType",
    "ScoreMatch",
    "SelfPlayRunner",
    "TwoAgentMatch",
    "play_match",
]


@dataclasses.dataclass(frozen=True)
class MatchOutcome:
    """What a match type returns: ``outcome`` is +1 (A won), 0 (draw) or -1 (B won)."""

    outcome: int
    score_a: float
    score_b: float
    length: int


class MatchType(Protocol):
    """Plays one match between two policies (picklable: it travels to workers)."""

    kind: str

    def play(self, policy_a: Any, policy_b: Any, seed: int) -> MatchOutcome: ...


@dataclasses.dataclass(frozen=True)
class ScoreMatch:
    """Both policies play the same seeded single-player game(s); the higher total score wins.

    Attributes:
        env_id: a single-player Gymnasium id (``sc2agents/Sim-MoveToBeacon-v0``).
        env_kwargs: env constructor kwargs, as ``((key, value), ...)``.
        games: games per side (game i of both sides uses the same seed).
        max_steps: step cap per game.
    """

    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    games: int = 1
    max_steps: int | None = None
    kind: str = "score"

    def play(self, policy_a: Any, policy_b: Any, seed: int) -> MatchOutcome:
        env = make_env(self.env_id, dict(self.env_kwargs))
        totals, length = [0.0, 0.0], 0
        for g in range(self.games):
            game_seed = derive_seed(seed, g)
            for side, policy in enumerate((policy_a, policy_b)):
                stats = env_loop.run_episode(env, policy, seed=game_seed, max_steps=self.max_steps)
                if stats.info.get("episode_failed"):
                    raise GameCrashed(f"{self.env_id}: game crashed (seed {game_seed})")
                totals[side] += stats.score
                length += stats.length
        return MatchOutcome(int(np.sign(totals[0] - totals[1])), totals[0], totals[1], length)


@dataclasses.dataclass(frozen=True)
class TwoAgentMatch:
    """One two-player game, A as player 1 and B as player 2.

    Attributes:
        env_id: a Gymnasium id whose vector env takes ``num_agents=2`` (two slots, one game).
        env_kwargs: env constructor kwargs, as ``((key, value), ...)``.
        max_steps: step cap.
    """

    env_id: str
    env_kwargs: tuple[tuple[str, Any], ...] = ()
    max_steps: int | None = None
    kind: str = "two_agent"

    def play(self, policy_a: Any, policy_b: Any, seed: int) -> MatchOutcome:
        kwargs = {"num_agents": 2, **dict(self.env_kwargs)}
        env = make_env(self.env_id, kwargs, num_envs=2)
        stats = env_loop.run_two_agent_episode(
            env, policy_a, policy_b, seed=seed, max_steps=self.max_steps
        )
        if stats.info.get("episode_failed"):
            raise GameCrashed(f"{self.env_id}: game crashed (seed {seed})")
        outcome = int(stats.outcome or 0)
        return MatchOutcome(outcome, stats.score, -stats.score, stats.length)


@dataclasses.dataclass(frozen=True)
class MatchSpec:
    """One match to play (picklable).

    Attributes:
        match_id: unique id in the league.
        a: name of member A.
        b: name of member B.
        policy_a: A's policy, spec string or pool `Broadcast`.
        policy_b: B's policy.
        seed: the match seed.
        match_type: a `MatchType`.
    """

    match_id: int
    a: str
    b: str
    policy_a: Any
    policy_b: Any
    seed: int
    match_type: Any


def _resolve(obj: Any, map_name_: str) -> Any:
    if hasattr(obj, "get") and hasattr(obj, "key"):
        obj = obj.get()
    return load_policy(obj, map_name=map_name_) if isinstance(obj, str) else obj


def play_match(spec: MatchSpec) -> MatchRecord:
    """Play ``spec`` in this process (what pool workers run)."""
    t0 = time.perf_counter()
    mname = map_name(spec.match_type.env_id)
    pa, pb = _resolve(spec.policy_a, mname), _resolve(spec.policy_b, mname)
    out = spec.match_type.play(pa, pb, spec.seed)
    return MatchRecord(
        match_id=spec.match_id,
        a=spec.a,
        b=spec.b,
        outcome=out.outcome,
        score_a=float(out.score_a),
        score_b=float(out.score_b),
        length=int(out.length),
        seed=spec.seed,
        kind=spec.match_type.kind,
        wall_s=time.perf_counter() - t0,
    )


class CheckpointWatcher:
    """Turns new checkpoints of a training run into league members while it trains.

    Each new ``ckpt_<step>.pt`` under ``run_dir`` (or ``run_dir/checkpoints``) is copied into the
    league folder (training keeps only its newest few) and becomes member ``<prefix>@<step>``.

    Args:
        run_dir: the training run directory.
        league_dir: where copies go (``<league_dir>/members``).
        prefix: member name prefix.
        min_step_gap: skip checkpoints closer than this to the last one added.
    """

    def __init__(
        self,
        run_dir: str | pathlib.Path,
        league_dir: str | pathlib.Path,
        prefix: str = "learner",
        min_step_gap: int = 0,
    ) -> None:
        self.run_dir = pathlib.Path(run_dir)
        self.members_dir = pathlib.Path(league_dir) / "members"
        self.prefix = prefix
        self.min_step_gap = min_step_gap

    def poll(self, league: League) -> list[Member]:
        """New members for checkpoints the league does not have yet (not yet added)."""
        from sc2agents.utils import checkpoint as ckpt_lib

        found = ckpt_lib.list_checkpoints(self.run_dir) or ckpt_lib.list_checkpoints(
            self.run_dir / "checkpoints"
        )
        have = [
            int(m.meta["step"])
            for m in league.members.values()
            if m.meta.get("source") == str(self.run_dir)
        ]
        last = max(have, default=None)
        out = []
        for step, path in found:
            if step in have or (last is not None and step - last < self.min_step_gap):
                continue
            self.members_dir.mkdir(parents=True, exist_ok=True)
            dest = self.members_dir / f"{self.prefix}@{step}.pt"
            shutil.copy2(path, dest)
            out.append(
                Member(
                    name=f"{self.prefix}@{step}",
                    spec=f"ckpt:{dest}",
                    meta={"step": step, "source": str(self.run_dir)},
                )
            )
            last = step
        return out


class SelfPlayRunner:
    """Runs a league: matchmaking, matches through a pool, durable results, new snapshots.

    Args:
        store: the league's `LeagueStore` (the league is loaded from it, or started).
        match_type: how a match is played (`ScoreMatch`, `TwoAgentMatch`, ...).
        members: initial members, added when the store holds no league yet (or is missing them).
        pool: a `sc2agents.distributed.Pool` (None: in-process).
        seed: league seed (match seeds and pairings derive from it and the match id).
        matchmaking: ``pfsp`` or ``uniform``.
        weighting: PFSP weighting.
        matches_per_round: matches scheduled per round.
        watchers: `CheckpointWatcher`s polled between rounds.
        retries: reruns of a match whose worker died.
        on_round: called with the league after each round (reports, logging).
    """

    def __init__(
        self,
        store: LeagueStore,
        match_type: Any,
        *,
        members: list[Member] | None = None,
        pool: Any = None,
        seed: int = 0,
        matchmaking: Matchmaking = "pfsp",
        weighting: Weighting = "hard",
        matches_per_round: int = 16,
        watchers: list[CheckpointWatcher] | None = None,
        retries: int = 2,
        on_round: Callable[[League], None] | None = None,
    ) -> None:
        self.store = store
        self.league = store.load() or League()
        for m in members or []:
            if m.name not in self.league.members:
                self.store.add_member(self.league, m)
            elif self.league.members[m.name].spec != m.spec:
                logging.warning("member %s: stored spec kept over the config's", m.name)
        if pool is None:
            from sc2agents.distributed import LocalPool

            pool = LocalPool()
        self.pool = pool
        self.match_type = match_type
        self.seed = seed
        self.matchmaking: Matchmaking = matchmaking
        self.weighting: Weighting = weighting
        self.matches_per_round = max(1, matches_per_round)
        self.watchers = list(watchers or [])
        self.retries = retries
        self.on_round = on_round
        self.failed: list[tuple[int, str]] = []
        self._handles: dict[str, tuple[str, Any]] = {}

    def add_snapshot(self, name: str, spec: str, **meta: Any) -> Member:
        """Add a member now (e.g. from a training loop); it plays from the next round."""
        return self.store.add_member(self.league, Member(name=name, spec=spec, meta=meta))

    def _handle(self, name: str) -> Any:
        """The member's policy, broadcast once per (name, spec) version."""
        spec = self.league.members[name].spec
        cached = self._handles.get(name)
        if cached is None or cached[0] != spec:
            try:
                policy = load_policy(spec, map_name=map_name(self.match_type.env_id))
            except (ValueError, FileNotFoundError, RuntimeError) as e:
                raise ValueError(f"league member {name!r} (spec {spec!r}): {e}") from e
            cached = (spec, self.pool.broadcast(policy))
            self._handles[name] = cached
        return cached[1]

    def _poll_watchers(self) -> None:
        for w in self.watchers:
            for m in w.poll(self.league):
                self.store.add_member(self.league, m)
                logging.info("league: new member %s (%s)", m.name, m.spec)

    def run_round(self, n: int | None = None) -> list[MatchRecord]:
        """Schedule and play one round; returns the matches recorded."""
        self._poll_watchers()
        n = n or self.matches_per_round
        start_id = self.league.next_match_id
        rng = np.random.default_rng([self.seed, start_id])
        pairs = self.league.schedule(n, rng, mode=self.matchmaking, weighting=self.weighting)
        specs = [
            MatchSpec(
                match_id=start_id + i,
                a=a,
                b=b,
                policy_a=self._handle(a),
                policy_b=self._handle(b),
                seed=derive_seed(self.seed, start_id + i),
                match_type=self.match_type,
            )
            for i, (a, b) in enumerate(pairs)
        ]
        # Reserve the ids now: a match finishing after a later-id one must not reuse them.
        self.league.next_match_id = start_id + len(specs)
        recorded = []
        for spec, out in self.pool.map_unordered(
            play_match, specs, desc="league", retries=self.retries, retry_on=(GameCrashed,)
        ):
            if isinstance(out, BaseException):
                logging.warning(
                    "match %d (%s vs %s) failed: %r", spec.match_id, spec.a, spec.b, out
                )
                self.failed.append((spec.match_id, f"{type(out).__name__}: {out}"))
                continue
            self.store.record(self.league, out)  # durable before the next result is handled
            recorded.append(out)
        self.store.snapshot(self.league)
        if self.on_round is not None:
            self.on_round(self.league)
        return recorded

    def run(self, total_matches: int, *, max_rounds: int | None = None) -> League:
        """Play rounds until the league has ``total_matches`` recorded matches (resumable)."""
        rounds = 0
        while self.league.num_matches < total_matches:
            if max_rounds is not None and rounds >= max_rounds:
                break
            todo = min(self.matches_per_round, total_matches - self.league.num_matches)
            got = self.run_round(todo)
            rounds += 1
            if not got and todo:
                raise RuntimeError(
                    f"league round {rounds}: all {todo} matches failed; last: {self.failed[-1]}"
                )
        return self.league

    def summary(self) -> Mapping[str, Any]:
        return {
            "matches": self.league.num_matches,
            "members": len(self.league.members),
            "failed": len(self.failed),
        }
