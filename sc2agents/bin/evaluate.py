r"""Evaluate a policy: ``python -m sc2agents.bin.evaluate --policy=SPEC [--map] [--opponents]``.

Against built-in bots (a melee map; PySC2 today, the simulator's melee once issue 3 lands)::

    python -m sc2agents.bin.evaluate --policy=runs/x/checkpoints --backend=pysc2 --map=Simple64 \
        --opponents=very_easy,easy,medium,hard --race=zerg --games=100 --workers=4

On a minigame (score normalised between SC2LE's random policy and the human/GrandMaster scores)::

    python -m sc2agents.bin.evaluate --policy=scripted --map=MoveToBeacon --games=20 --workers=2

``--policy`` takes a policy spec (`sc2agents.acting.policy`): ``random``, ``scripted``,
``ckpt:<file>`` / a checkpoint or run directory, ``py:<module>:<factory>``,
``pysc2:<module.AgentClass>``, each optionally ending in ``@eps=<float>``. The table is printed;
``<out>/eval.json`` (summary and every game) and ``<out>/win_rates.png`` (win rate by difficulty
with Wilson intervals, or the score for minigames) are written, with replays/videos of the first
``--replays``/``--videos`` games of each opponent under ``<out>/replays`` and ``<out>/videos``.
"""

from __future__ import annotations

import datetime
import pathlib
from collections.abc import Sequence
from typing import Any

from absl import app, flags

FLAGS = flags.FLAGS


def define_flags() -> None:
    """Define the flags, at program start only.

    Importing this module defines none, so tests and other programs can import `run` next to
    ``bin/play`` (which has ``--map``, ``--seed``, ...) without duplicate-flag errors.
    """
    flags.DEFINE_string("policy", None, "Policy spec to evaluate (see module docstring).")
    flags.DEFINE_string("map", "MoveToBeacon", "Map name, or a Gymnasium id.")
    flags.DEFINE_enum("backend", "sim", ["sim", "pysc2"], "Simulator or the real game.")
    flags.DEFINE_string(
        "opponents",
        "",
        "Comma-separated bot difficulties[/race] (empty: a single-player minigame).",
    )
    flags.DEFINE_enum("race", "random", ["random", "protoss", "terran", "zerg"], "Bot race.")
    flags.DEFINE_string(
        "opponent_policy",
        None,
        "A policy spec to play against in two-agent games (instead of bots).",
    )
    flags.DEFINE_integer("games", 10, "Games per opponent.")
    flags.DEFINE_integer("workers", 0, "0: in-process; N: N Ray workers.")
    flags.DEFINE_string("ray_address", None, "Join this Ray cluster (e.g. 'auto').")
    flags.DEFINE_integer("seed", 0, "Base seed; game i is reset with derive_seed(seed, i).")
    flags.DEFINE_integer("max_steps", 0, "Step cap per game (0: the map's limit).")
    flags.DEFINE_integer("screen_size", 64, "Screen resolution (match the policy's).")
    flags.DEFINE_integer("minimap_size", 64, "Minimap resolution (match the policy's).")
    flags.DEFINE_integer("step_mul", 8, "Game loops per agent step.")
    flags.DEFINE_integer("games_per_task", 1, "Games per worker call.")
    flags.DEFINE_integer("replays", 0, "Save replays of the first N games per opponent.")
    flags.DEFINE_integer("videos", 0, "Write videos of the first N games per opponent.")
    flags.DEFINE_string("out", None, "Output folder (default runs/eval/<policy>__<time>).")
    flags.mark_flag_as_required("policy")


def _default_out(policy: str) -> pathlib.Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in policy)[-60:]
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return pathlib.Path("runs") / "eval" / f"{safe}__{stamp}"


def run(
    policy: str,
    *,
    map_: str = "MoveToBeacon",
    backend: str = "sim",
    opponents: str = "",
    race: str = "random",
    opponent_policy: str | None = None,
    games: int = 10,
    workers: int = 0,
    ray_address: str | None = None,
    seed: int = 0,
    max_steps: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    games_per_task: int = 1,
    replays: int = 0,
    videos: int = 0,
    out: str | pathlib.Path | None = None,
) -> dict[str, Any]:
    """Evaluate and write the report; returns ``{"report", "json", "png", "out"}``."""
    from sc2agents.acting import reporting
    from sc2agents.acting.evaluator import (
        REFERENCE_SCORES,
        Evaluator,
        PolicyOpponent,
        map_name,
        parse_opponents,
        resolve_env_id,
    )
    from sc2agents.distributed import make_pool

    env_id = resolve_env_id(map_, backend)  # type: ignore[arg-type]
    opps: list[Any] = parse_opponents(opponents, race) if opponents else []
    if opponent_policy:
        opps.append(PolicyOpponent(opponent_policy, opponent_policy))
    if opps and map_name(env_id) in REFERENCE_SCORES:
        raise app.UsageError(
            f"--opponents/--opponent_policy need a melee map, but {map_name(env_id)} is a "
            "single-player minigame (e.g. --map=Simple64 --backend=pysc2)"
        )
    out_dir = pathlib.Path(out) if out else _default_out(policy)
    pool = make_pool(workers, ray_address=ray_address)
    try:
        ev = Evaluator(
            env_id,
            opponents=opps or [None],
            games=games,
            seed=seed,
            env_kwargs=env_kwargs,
            max_steps=max_steps or None,
            pool=pool,
            games_per_task=games_per_task,
            replay_games=range(replays),
            video_games=range(videos),
            out_dir=out_dir,
        )
        report = ev.evaluate(policy, name=policy)
    finally:
        pool.close()
    json_path = report.save_json(out_dir / "eval.json")
    png = reporting.plot_win_rates(report, out_dir / "win_rates.png")
    return {"report": report, "json": str(json_path), "png": str(png), "out": str(out_dir)}


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.games < 1:
        raise app.UsageError(f"--games must be >= 1, got {FLAGS.games}")
    env_kwargs = {
        "screen_size": FLAGS.screen_size,
        "minimap_size": FLAGS.minimap_size,
        "step_mul": FLAGS.step_mul,
    }
    result = run(
        FLAGS.policy,
        map_=FLAGS.map,
        backend=FLAGS.backend,
        opponents=FLAGS.opponents,
        race=FLAGS.race,
        opponent_policy=FLAGS.opponent_policy,
        games=FLAGS.games,
        workers=FLAGS.workers,
        ray_address=FLAGS.ray_address,
        seed=FLAGS.seed,
        max_steps=FLAGS.max_steps,
        env_kwargs=env_kwargs,
        games_per_task=FLAGS.games_per_task,
        replays=FLAGS.replays,
        videos=FLAGS.videos,
        out=FLAGS.out,
    )
    from rich.console import Console

    from sc2agents.acting.reporting import eval_table

    console = Console(width=None if Console().is_terminal else 160)
    console.print(eval_table(result["report"]))
    for err in result["report"].errors[:5]:
        console.print(f"[red]failed[/red] {err[0]} game {err[1]}: {err[2]}")
    console.print(f"json: {result['json']}\npng: {result['png']}")


def entry_point() -> None:
    define_flags()
    app.run(main)


if __name__ == "__main__":
    entry_point()
