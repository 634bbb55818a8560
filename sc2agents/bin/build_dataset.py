r"""Build an offline dataset from real replays (binary-free), the game (PySC2) or the simulator.

Examples::

    # Human replays, no game binary needed (sc2reader decode + vectorised conversion):
    python -m sc2agents.bin.build_dataset --source=replays --replays=replays/ --out=/data/ds \
        --workers=2 --step_mul=8 --minimap_size=64 --verify

    # Scripted-demonstrator rollouts on the simulator (datasets of known quality):
    python -m sc2agents.bin.build_dataset --source=sim --map=DefeatRoaches --policy=mixed \
        --episodes=1000 --out=/data/sim_ds

    # Through the real game (needs SC2 at each replay's version):
    python -m sc2agents.bin.build_dataset --source=pysc2 --replays=/data/replays --out=/data/ds

A killed build resumes where it stopped when rerun with the same ``--out`` (see
`sc2agents.data.build`). The summary lists converted and skipped replays (with reasons) and the
dataset size.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Sequence

from absl import app, flags, logging

_SOURCE = flags.DEFINE_enum("source", "replays", ["replays", "sim", "pysc2"], "Episode source.")
_REPLAYS = flags.DEFINE_string("replays", None, "Replay directory (recursive) or file.")
_OUT = flags.DEFINE_string("out", None, "Dataset directory (created; resumed if it exists).")
_WORKERS = flags.DEFINE_integer("workers", 0, "Worker processes (Ray); 0 = in-process.")
_RAY = flags.DEFINE_bool("ray", False, "Use Ray workers (--workers of them, default: all CPUs).")
_RAY_ADDRESS = flags.DEFINE_string("ray_address", None, "Join this Ray cluster.")
_STEP_MUL = flags.DEFINE_integer("step_mul", 8, "Game loops per step.")
_MINIMAP = flags.DEFINE_integer("minimap_size", 64, "Minimap resolution.")
_SCREEN = flags.DEFINE_integer("screen_size", 64, "Screen resolution (spatial action args).")
_FOG = flags.DEFINE_enum("fog", "approx", ["approx", "none"], "Fog of war for replays.")
_VS_AI = flags.DEFINE_bool("include_vs_ai", False, "Keep games against the built-in AI.")
_MIN_LOOPS = flags.DEFINE_integer("min_game_loops", 1344, "Skip shorter games.")
_MAX_LOOPS = flags.DEFINE_integer("max_game_loops", 40320, "Truncate longer games.")
_STABLEID = flags.DEFINE_string(
    "stableid", None, "s2client-proto stableid.json for exact ability ids (else $SC2PATH's)."
)
_SHARD = flags.DEFINE_integer("shard_size", 20_000, "Steps per shard.")
_LIMIT = flags.DEFINE_integer("limit", None, "Only the first N tasks (sorted).")
_VERIFY = flags.DEFINE_bool("verify", False, "Check every shard checksum at the end.")
_MAP = flags.DEFINE_string("map", None, "--source=sim: the simulator map/task.")
_POLICY = flags.DEFINE_enum(
    "policy", "expert", ["expert", "medium", "random", "mixed"], "--source=sim: demonstrator."
)
_EPISODES = flags.DEFINE_integer("episodes", 100, "--source=sim: number of episodes.")
_SEED = flags.DEFINE_integer("seed", 0, "--source=sim: base seed.")


def main(argv: Sequence[str]) -> int:
    del argv
    from sc2agents.data.build import BuildConfig, SourceUnavailable, build_dataset
    from sc2agents.data.replay_convert import ConvertConfig

    if not _OUT.value:
        raise app.UsageError("--out is required")
    convert = ConvertConfig(
        step_mul=_STEP_MUL.value,
        minimap_size=_MINIMAP.value,
        screen_size=_SCREEN.value,
        fog=_FOG.value,
        include_vs_ai=_VS_AI.value,
        min_game_loops=_MIN_LOOPS.value,
        max_game_loops=_MAX_LOOPS.value,
        stableid_path=_STABLEID.value,
    )
    workers = _WORKERS.value
    if _RAY.value and workers == 0:
        workers = os.cpu_count() or 1
    cfg = BuildConfig(
        source=_SOURCE.value,
        out=_OUT.value,
        replays=_REPLAYS.value,
        workers=workers,
        ray_address=_RAY_ADDRESS.value,
        shard_size=_SHARD.value,
        convert=convert,
        sim_map=_MAP.value,
        sim_policy=_POLICY.value,
        sim_episodes=_EPISODES.value,
        seed=_SEED.value,
        limit=_LIMIT.value,
        verify=_VERIFY.value,
    )
    logging.info("build_dataset: %s", dataclasses.asdict(cfg))
    try:
        summary = build_dataset(cfg)
    except (SourceUnavailable, FileNotFoundError, ValueError) as e:
        sys.stderr.write(f"build_dataset: {e}\n")
        return 2
    sys.stdout.write("\n".join(summary.lines()) + "\n")
    return 0


def entry_point() -> None:
    """Console-script entry point (``sc2agents-build-dataset``)."""
    app.run(main)


if __name__ == "__main__":
    entry_point()
