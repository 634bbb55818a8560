r"""Run a self-play league: ``python -m sc2agents.bin.league --config=configs/league_smoke.py``.

The league lives in ``<out_dir>/<name>`` (or ``--config.league_dir``): ``events.jsonl`` (every
member and finished match, append-only), ``snapshot.json`` (atomic), ``config.json`` and the report
(``ratings.json``, ``payoff.png``, ``ratings.png``), refreshed after every round. Running the same
command again resumes the league (after a kill too) and plays on up to ``--config.matches``.

Examples::

    python -m sc2agents.bin.league --config=configs/league_smoke.py --config.workers=2
    python -m sc2agents.bin.league --config=configs/league_smoke.py \
        --config.watch_run_dir=runs/bc_minigames/bc__0__20260101-120000 --config.matches=500
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence
from typing import Any

from absl import app, flags, logging
from ml_collections import config_flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define the flags, at program start only.

    Importing this module defines none, so `run` can be imported next to ``bin/train`` (which
    also has ``--config``) without duplicate-flag errors.
    """
    config_flags.DEFINE_config_file(
        "config", "configs/league_smoke.py", "League config file (get_config() -> ConfigDict)."
    )
    flags.DEFINE_bool("quiet", False, "Do not print the ratings table.")


def _members(cfg: Any) -> list[Any]:
    from sc2agents.acting.league import Member

    out = []
    for i, m in enumerate(cfg.members):
        if not (isinstance(m, (tuple, list)) and len(m) in (2, 3)):
            raise app.UsageError(f"config.members[{i}]: expected (name, spec[, fixed]), got {m!r}")
        out.append(
            Member(name=str(m[0]), spec=str(m[1]), fixed=bool(m[2]) if len(m) > 2 else False)
        )
    if len({m.name for m in out}) != len(out):
        raise app.UsageError("config.members: member names must be unique")
    return out


def run(cfg: Any) -> dict[str, Any]:
    """Run (or resume) the league of ``cfg``; returns the report paths and a summary."""
    from sc2agents.acting import reporting
    from sc2agents.acting.evaluator import resolve_env_id
    from sc2agents.acting.league import LeagueStore
    from sc2agents.acting.self_play import (
        CheckpointWatcher,
        ScoreMatch,
        SelfPlayRunner,
        TwoAgentMatch,
    )
    from sc2agents.distributed import make_pool
    from sc2agents.utils.checkpoint import save_json

    league_dir = pathlib.Path(cfg.league_dir or pathlib.Path(cfg.out_dir) / cfg.name)
    env_id = resolve_env_id(cfg.env, cfg.backend)
    env_kwargs = tuple(sorted(dict(cfg.env_kwargs).items()))
    max_steps = int(cfg.max_steps) or None
    if cfg.match == "score":
        match_type: Any = ScoreMatch(env_id, env_kwargs, int(cfg.games_per_match), max_steps)
    elif cfg.match == "two_agent":
        match_type = TwoAgentMatch(env_id, env_kwargs, max_steps)
    else:
        raise app.UsageError(f"config.match: 'score' or 'two_agent', got {cfg.match!r}")
    if cfg.matchmaking not in ("pfsp", "uniform"):
        raise app.UsageError(f"config.matchmaking: 'pfsp' or 'uniform', got {cfg.matchmaking!r}")
    members = _members(cfg)
    league_dir.mkdir(parents=True, exist_ok=True)
    save_json(league_dir / "config.json", cfg.to_dict())
    watchers = []
    if cfg.watch_run_dir:
        watchers.append(CheckpointWatcher(cfg.watch_run_dir, league_dir, cfg.watch_prefix))
    store = LeagueStore(league_dir, snapshot_every=int(cfg.snapshot_every))
    pool = make_pool(int(cfg.workers), ray_address=cfg.ray_address or None)
    try:
        runner = SelfPlayRunner(
            store,
            match_type,
            members=members,
            pool=pool,
            seed=int(cfg.seed),
            matchmaking=cfg.matchmaking,
            weighting=cfg.weighting,
            matches_per_round=int(cfg.matches_per_round),
            watchers=watchers,
            on_round=lambda league: reporting.write_league_report(league, league_dir),
        )
        if runner.league.num_matches:
            logging.info("resuming league %s at %d matches", league_dir, runner.league.num_matches)
        league = runner.run(int(cfg.matches))
        paths = reporting.write_league_report(
            league, league_dir, extra={"failed_matches": runner.failed}
        )
    finally:
        store.close()
        pool.close()
    return {"league_dir": str(league_dir), "paths": paths, "league": league, **runner.summary()}


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    result = run(FLAGS.config)
    if not FLAGS.quiet:
        from rich.console import Console

        from sc2agents.acting.reporting import league_table

        console = Console(width=None if Console().is_terminal else 160)
        console.print(league_table(result["league"]))
        for k, v in result["paths"].items():
            console.print(f"{k}: {v}")


def entry_point() -> None:
    define_flags()
    app.run(main)


if __name__ == "__main__":
    entry_point()
