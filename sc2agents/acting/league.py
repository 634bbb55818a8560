"""The league: members, payoff matrix, openskill ratings, matchmaking, and crash-safe persistence.

Pure Python (no env, no Ray): `self_play.SelfPlayRunner` plays the matches this module schedules
and hands every finished `MatchRecord` to `League.record`.

* **Members** are frozen policies named by a policy spec (`acting.policy.load_policy`): learner
  snapshots (``ckpt:...``), scripted bots and the random policy (``fixed=True`` anchors). New
  snapshots join while training runs (`League.add_member`).
* **Payoff**: per ordered pair, wins/draws/losses; ``win_rate(a, b) = (W + D/2) / N``.
* **Ratings**: openskill's Plackett-Luce model (Weng & Lin 2011; `openskill` 6.2), one 1v1 update
  per match (ties are ties). The ordinal ``mu - 3 sigma`` orders the table.
* **Matchmaking**: ``uniform`` (fictitious self-play: every opponent equally often) or ``pfsp``
  (prioritized fictitious self-play, AlphaStar, Vinyals et al. 2019): opponent ``B`` of player
  ``A`` is drawn with probability proportional to ``f(P[A beats B])`` with ``f(x) = (1 - x)^p``
  ("hard", default p=2), ``x (1 - x)`` ("variance") or ``1 - x`` ("linear").

Persistence (`LeagueStore`): every event (member added, match finished) is appended to
``events.jsonl`` (flushed and fsync'd before `record` returns), and ``snapshot.json`` (the whole
state plus the number of events it covers) is rewritten atomically now and then. `LeagueStore.load`
reads the snapshot and replays the events after it, so a league killed at any moment resumes with
every finished match and nothing half-recorded (a torn last line is dropped and trimmed).
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from absl import logging
from openskill.models import PlackettLuce

__all__ = [
    "League",
    "LeagueStore",
    "MatchRecord",
    "Member",
    "Payoff",
    "pfsp_weights",
]

Matchmaking = Literal["uniform", "pfsp"]
Weighting = Literal["hard", "variance", "linear"]


@dataclasses.dataclass(frozen=True)
class Member:
    """A league member: a frozen policy.

    Attributes:
        name: unique name (``learner@5000``, ``scripted``, ``random``).
        spec: policy spec for `load_policy` (``ckpt:<path>``, ``scripted``, ``random``, ...).
        fixed: an anchor that is never a "learner" (scripted bots, random).
        added_at: number of matches recorded when it joined.
        meta: free-form plain data (training step, source run, ...).
    """

    name: str
    spec: str
    fixed: bool = False
    added_at: int = 0
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class MatchRecord:
    """A finished match between ``a`` and ``b`` (plain data; one JSONL line).

    Attributes:
        match_id: unique id (also seeds the match).
        a: first member's name.
        b: second member's name.
        outcome: +1 ``a`` won, 0 draw, -1 ``b`` won.
        score_a: ``a``'s score (minigame score, or game reward).
        score_b: ``b``'s score.
        length: agent steps played (both games for score matches).
        seed: the match seed.
        kind: the match type (``score``, ``two_agent``).
        wall_s: seconds the match took on its worker.
    """

    match_id: int
    a: str
    b: str
    outcome: int
    score_a: float
    score_b: float
    length: int
    seed: int
    kind: str = "score"
    wall_s: float = 0.0

    def __post_init__(self) -> None:
        if self.outcome not in (-1, 0, 1):
            raise ValueError(f"match {self.match_id}: outcome must be -1, 0 or 1")
        if self.a == self.b:
            raise ValueError(f"match {self.match_id}: a member cannot play itself ({self.a})")


class Payoff:
    """Win/draw/loss counts per ordered pair (stored both ways)."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], list[int]] = {}

    def record(self, a: str, b: str, outcome: int) -> None:
        """Count one game of ``a`` vs ``b`` (+1 a won, 0 draw, -1 b won)."""
        ab = self._counts.setdefault((a, b), [0, 0, 0])
        ba = self._counts.setdefault((b, a), [0, 0, 0])
        idx = {1: 0, 0: 1, -1: 2}[outcome]
        ab[idx] += 1
        ba[2 - idx] += 1

    def counts(self, a: str, b: str) -> tuple[int, int, int]:
        """``(wins, draws, losses)`` of ``a`` against ``b``."""
        w, d, l = self._counts.get((a, b), (0, 0, 0))
        return w, d, l

    def games(self, a: str, b: str) -> int:
        return sum(self.counts(a, b))

    def win_rate(self, a: str, b: str, prior: float = 0.5) -> float:
        """``(W + D/2) / N`` of ``a`` vs ``b``; ``prior`` when they never met."""
        w, d, l = self.counts(a, b)
        n = w + d + l
        return (w + 0.5 * d) / n if n else prior

    def matrix(self, names: Sequence[str]) -> np.ndarray:
        """``[n, n]`` win rates of row vs column (NaN where they never met, and the diagonal)."""
        out = np.full((len(names), len(names)), np.nan)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                if i != j and self.games(a, b):
                    out[i, j] = self.win_rate(a, b)
        return out

    def games_matrix(self, names: Sequence[str]) -> np.ndarray:
        return np.array([[self.games(a, b) for b in names] for a in names], dtype=np.int64)

    def state(self) -> list[list[Any]]:
        return [[a, b, *c] for (a, b), c in sorted(self._counts.items())]

    @classmethod
    def from_state(cls, rows: Iterable[Sequence[Any]]) -> Payoff:
        p = cls()
        for a, b, w, d, l in rows:
            p._counts[(a, b)] = [int(w), int(d), int(l)]
        return p


def pfsp_weights(
    win_rates: np.ndarray, weighting: Weighting = "hard", p: float = 2.0
) -> np.ndarray:
    """AlphaStar's PFSP weighting of opponents from the player's win rates against them.

    Args:
        win_rates: ``[K]`` probabilities that the player beats each candidate.
        weighting: ``hard`` ``(1-x)^p`` (focus on opponents it loses to), ``variance``
            ``x(1-x)`` (opponents of its own level), ``linear`` ``1-x``.
        p: exponent of ``hard``.

    Returns:
        ``[K]`` probabilities (uniform when every weight is 0).
    """
    x = np.clip(np.asarray(win_rates, dtype=np.float64), 0.0, 1.0)
    if weighting == "hard":
        w = (1.0 - x) ** p
    elif weighting == "variance":
        w = x * (1.0 - x)
    elif weighting == "linear":
        w = 1.0 - x
    else:
        raise ValueError(f"unknown PFSP weighting {weighting!r} (hard, variance, linear)")
    total = w.sum()
    return w / total if total > 0 else np.full(len(x), 1.0 / max(len(x), 1))


class League:
    """Members, payoff, ratings and the rating history of a league.

    Args:
        members: initial members.
        beta: openskill's performance noise (default: the model's, 25/6).
    """

    def __init__(self, members: Iterable[Member] = (), *, beta: float | None = None) -> None:
        self.model = PlackettLuce() if beta is None else PlackettLuce(beta=beta)
        self.members: dict[str, Member] = {}
        self.ratings: dict[str, Any] = {}
        self.payoff = Payoff()
        self.num_matches = 0
        self.next_match_id = 0
        self.history: list[tuple[int, str, float, float]] = []
        """``(matches recorded, member, mu, sigma)`` after each change of a member's rating."""
        for m in members:
            self.add_member(m)

    # -- members ---------------------------------------------------------------------------

    def add_member(self, member: Member) -> Member:
        """Add a member; its ``added_at`` is set to the current match count."""
        if member.name in self.members:
            raise ValueError(f"league already has a member named {member.name!r}")
        member = dataclasses.replace(member, added_at=self.num_matches)
        self.members[member.name] = member
        self.ratings[member.name] = self.model.rating(name=member.name)
        r = self.ratings[member.name]
        self.history.append((self.num_matches, member.name, float(r.mu), float(r.sigma)))
        return member

    @property
    def names(self) -> list[str]:
        return list(self.members)

    # -- results ---------------------------------------------------------------------------

    def record(self, match: MatchRecord) -> None:
        """Apply one finished match: payoff, ratings, history."""
        for n in (match.a, match.b):
            if n not in self.members:
                raise KeyError(f"match {match.match_id}: {n!r} is not a league member")
        self.payoff.record(match.a, match.b, match.outcome)
        ranks = {1: [0, 1], 0: [0, 0], -1: [1, 0]}[match.outcome]
        [[ra], [rb]] = self.model.rate(
            [[self.ratings[match.a]], [self.ratings[match.b]]], ranks=ranks
        )
        self.ratings[match.a], self.ratings[match.b] = ra, rb
        self.num_matches += 1
        self.next_match_id = max(self.next_match_id, match.match_id + 1)
        for n, r in ((match.a, ra), (match.b, rb)):
            self.history.append((self.num_matches, n, float(r.mu), float(r.sigma)))

    def rating(self, name: str) -> tuple[float, float, float]:
        """``(mu, sigma, ordinal)`` of a member."""
        r = self.ratings[name]
        return float(r.mu), float(r.sigma), float(r.ordinal())

    def predict_win(self, a: str, b: str) -> float:
        """Openskill's probability that ``a`` beats ``b``."""
        return float(self.model.predict_win([[self.ratings[a]], [self.ratings[b]]])[0])

    def table(self) -> list[dict[str, Any]]:
        """Members sorted by ordinal (best first) with rating, games and overall win rate."""
        rows = []
        for name, m in self.members.items():
            mu, sigma, ordinal = self.rating(name)
            w = d = l = 0
            for other in self.members:
                if other != name:
                    cw, cd, cl = self.payoff.counts(name, other)
                    w, d, l = w + cw, d + cd, l + cl
            n = w + d + l
            rows.append(
                {
                    "name": name,
                    "spec": m.spec,
                    "fixed": m.fixed,
                    "mu": mu,
                    "sigma": sigma,
                    "ordinal": ordinal,
                    "games": n,
                    "wins": w,
                    "draws": d,
                    "losses": l,
                    "win_rate": (w + 0.5 * d) / n if n else None,
                }
            )
        return sorted(rows, key=lambda r: -r["ordinal"])

    # -- matchmaking -----------------------------------------------------------------------

    def choose_opponent(
        self,
        player: str,
        rng: np.random.Generator,
        *,
        mode: Matchmaking = "pfsp",
        weighting: Weighting = "hard",
        candidates: Sequence[str] | None = None,
    ) -> str:
        """Draw an opponent for ``player`` (uniform FSP or PFSP on the payoff win rates)."""
        pool = [c for c in (candidates or self.names) if c != player]
        if not pool:
            raise ValueError(f"no opponent for {player!r}: the league needs two members")
        if mode == "uniform":
            return pool[int(rng.integers(len(pool)))]
        if mode != "pfsp":
            raise ValueError(f"unknown matchmaking {mode!r} (uniform, pfsp)")
        probs = pfsp_weights(np.array([self.payoff.win_rate(player, c) for c in pool]), weighting)
        return pool[int(rng.choice(len(pool), p=probs))]

    def schedule(
        self,
        n: int,
        rng: np.random.Generator,
        *,
        mode: Matchmaking = "pfsp",
        weighting: Weighting = "hard",
        players: Sequence[str] | None = None,
    ) -> list[tuple[str, str]]:
        """``n`` pairings ``(player, opponent)``.

        The player is uniform over ``players`` (default: the non-fixed members, or all members
        when every one is fixed); the opponent comes from `choose_opponent`.
        """
        pool = list(players or [m.name for m in self.members.values() if not m.fixed])
        pool = pool or self.names
        out = []
        for _ in range(n):
            a = pool[int(rng.integers(len(pool)))]
            out.append((a, self.choose_opponent(a, rng, mode=mode, weighting=weighting)))
        return out

    # -- state -----------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Plain-data state (JSON): floats round-trip exactly, so a reload is bit-identical."""
        return {
            "members": [dataclasses.asdict(m) for m in self.members.values()],
            "ratings": {n: [float(r.mu), float(r.sigma)] for n, r in self.ratings.items()},
            "payoff": self.payoff.state(),
            "num_matches": self.num_matches,
            "next_match_id": self.next_match_id,
            "history": [list(h) for h in self.history],
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], *, beta: float | None = None) -> League:
        league = cls(beta=beta)
        for m in state["members"]:
            member = Member(**m)
            league.members[member.name] = member
        for name, (mu, sigma) in state["ratings"].items():
            league.ratings[name] = league.model.create_rating([mu, sigma], name=name)
        league.payoff = Payoff.from_state(state["payoff"])
        league.num_matches = int(state["num_matches"])
        league.next_match_id = int(state["next_match_id"])
        league.history = [
            (int(h[0]), str(h[1]), float(h[2]), float(h[3])) for h in state["history"]
        ]
        return league


class LeagueStore:
    """Append-only event log + atomic snapshot of a `League` in ``directory``.

    Args:
        directory: the league's folder (created).
        snapshot_every: rewrite ``snapshot.json`` after this many appended events.
    """

    EVENTS = "events.jsonl"
    SNAPSHOT = "snapshot.json"

    def __init__(self, directory: str | os.PathLike[str], *, snapshot_every: int = 50) -> None:
        self.dir = pathlib.Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.snapshot_every = max(1, snapshot_every)
        self._events_path = self.dir / self.EVENTS
        self._num_events = 0
        self._since_snapshot = 0
        self._file: Any = None

    # -- reading ---------------------------------------------------------------------------

    def _read_events(self) -> list[dict[str, Any]]:
        """Complete events in file order; a torn last line (killed mid-write) is trimmed."""
        if not self._events_path.exists():
            return []
        data = self._events_path.read_bytes()
        events: list[dict[str, Any]] = []
        good = start = 0
        while (nl := data.find(b"\n", start)) >= 0:
            line = data[start:nl]
            if line.strip():
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(
                        f"{self._events_path}: event {len(events) + 1} is not JSON ({e}); "
                        "only a torn last line is repaired automatically"
                    ) from e
            start = good = nl + 1
        if good < len(data):  # a line without its newline: the write was cut off
            logging.warning(
                "%s: dropping %d bytes of a torn last event", self._events_path, len(data) - good
            )
            with open(self._events_path, "r+b") as f:
                f.truncate(good)
        return events

    def load(self, *, beta: float | None = None) -> League | None:
        """The stored league (snapshot + later events), or None when the folder is empty."""
        events = self._read_events()
        snap_path = self.dir / self.SNAPSHOT
        league: League | None = None
        applied = 0
        if snap_path.exists():
            snap = json.loads(snap_path.read_text())
            league = League.from_state(snap["league"], beta=beta)
            applied = int(snap["events"])
            if applied > len(events):
                raise ValueError(
                    f"{snap_path} covers {applied} events but {self._events_path} has only "
                    f"{len(events)}: the event log was truncated or replaced"
                )
        if league is None and not events:
            return None
        league = league or League(beta=beta)
        for ev in events[applied:]:
            self._apply(league, ev)
        self._num_events = len(events)
        return league

    @staticmethod
    def _apply(league: League, ev: Mapping[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "member":
            m = dict(ev["member"])
            added_at = m.pop("added_at", None)
            member = league.add_member(Member(**m))
            if added_at is not None and added_at != member.added_at:
                raise ValueError(f"event log out of order: member {member.name} at {added_at}")
        elif kind == "match":
            league.record(MatchRecord(**ev["match"]))
        else:
            raise ValueError(f"unknown league event type {kind!r}")

    def matches(self) -> list[MatchRecord]:
        """Every recorded match, in order."""
        return [MatchRecord(**e["match"]) for e in self._read_events() if e["type"] == "match"]

    # -- writing ---------------------------------------------------------------------------

    def _append(self, event: Mapping[str, Any]) -> None:
        if self._file is None:
            self._file = open(self._events_path, "a", encoding="utf-8")  # noqa: SIM115
        self._file.write(json.dumps(event, sort_keys=True) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._num_events += 1
        self._since_snapshot += 1

    def add_member(self, league: League, member: Member) -> Member:
        """Add ``member`` to ``league`` and log it."""
        member = league.add_member(member)
        self._append({"type": "member", "member": dataclasses.asdict(member)})
        return member

    def record(self, league: League, match: MatchRecord) -> None:
        """Log ``match`` (durably) and apply it to ``league``; snapshot now and then."""
        self._append({"type": "match", "match": dataclasses.asdict(match)})
        league.record(match)
        if self._since_snapshot >= self.snapshot_every:
            self.snapshot(league)

    def snapshot(self, league: League) -> None:
        """Atomically write the whole state and how many events it covers."""
        from sc2agents.utils.checkpoint import save_json

        save_json(self.dir / self.SNAPSHOT, {"events": self._num_events, "league": league.state()})
        self._since_snapshot = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
