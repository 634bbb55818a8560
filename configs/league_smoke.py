"""A tiny self-play league on the simulator: a few seconds, in-process.

    python -m sc2agents.bin.league --config=configs/league_smoke.py
    python -m sc2agents.bin.league --config=configs/league_smoke.py --config.workers=2

Match type ``score`` (this config): a league match is scored on a minigame: both members play the
same seeded MoveToBeacon game and the higher score wins (draw on equal scores). No interaction
between the two: it ranks minigame skill. ``match="two_agent"`` plays A against B in one game of a
two-player map: the simulator's ``Simple64`` melee (``--config.env=Simple64``) or PySC2's melee
maps (``--config.backend=pysc2``); a game cut by ``max_steps`` counts as a draw.

Members: ``(name, policy spec, fixed)``; specs are those of `sc2agents.acting.policy.load_policy`.
``watch_run_dir`` adds every new checkpoint of a training run as a member while it trains.
"""

from __future__ import annotations

from ml_collections import ConfigDict


def get_config() -> ConfigDict:
    c = ConfigDict()
    c.name = "league_smoke"
    c.out_dir = "runs/league"  # The league lives in <out_dir>/<name> unless league_dir is set.
    c.league_dir = ""  # Explicit league folder; an existing league there is resumed.
    c.env = "MoveToBeacon"  # Map name (with backend) or a Gymnasium id.
    c.backend = "sim"  # "sim" or "pysc2" (needs the game).
    c.env_kwargs = ConfigDict({"screen_size": 16, "minimap_size": 16})
    c.match = "score"  # "score" (same seeded minigame, higher score wins) or "two_agent".
    c.games_per_match = 1  # Games per side in a score match.
    c.max_steps = 60  # Step cap per game (0: the map's own limit).
    c.members = (
        ("random", "random", True),
        ("scripted", "scripted", True),
        ("scripted_eps50", "scripted@eps=0.5", False),
        ("scripted_eps20", "scripted@eps=0.2", False),
    )
    c.matches = 24  # Total matches the league should have (a resumed league continues).
    c.matches_per_round = 8  # Matches scheduled per round (rounds are the reporting unit).
    c.matchmaking = "pfsp"  # "pfsp" (prioritized fictitious self-play) or "uniform".
    c.weighting = "hard"  # PFSP weighting: "hard", "variance" or "linear".
    c.seed = 0
    c.workers = 0  # 0: in-process; N: N Ray actors.
    c.ray_address = ""  # Join this Ray cluster ("auto", "ray://host:10001") instead.
    c.snapshot_every = 25  # Events between atomic snapshots (the event log is always durable).
    c.watch_run_dir = ""  # Training run dir whose new checkpoints join the league.
    c.watch_prefix = "learner"  # Member name prefix of those checkpoints.
    return c
