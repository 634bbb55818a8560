"""The quickstart job (`make quickstart`): the whole pipeline on the embedded simulator, in minutes.

1. A scripted and a random agent play a minigame; scores are printed and a video of each is
   written.
2. A small offline dataset is built from scripted demonstrators with noise
   (`build_dataset --source=sim`).
3. A learner is trained on it for a few minutes (`train --config=configs/quickstart.py:bc`).
4. The trained policy is evaluated in the simulator and a video of its game is written.

Every step is one of the package's own programs, run as a subprocess exactly as a user would type
it, so the quickstart doubles as an end-to-end smoke test. Outputs go under ``--out`` (default
``out/quickstart``).
"""

from __future__ import annotations

import os
import pathlib
import shlex
import subprocess
import sys
import time

from absl import app, flags

_OUT = flags.DEFINE_string("out", "out/quickstart", "Folder for videos, dataset, runs and reports.")
_MAP = flags.DEFINE_string("map", "MoveToBeacon", "Simulator minigame to use.")
_EPISODES = flags.DEFINE_integer("episodes", 2, "Episodes per agent in step 1.", lower_bound=1)
_DATA_EPISODES = flags.DEFINE_integer(
    "data_episodes", 64, "Episodes in the dataset.", lower_bound=2
)
_TRAIN_STEPS = flags.DEFINE_integer("train_steps", 1000, "Gradient steps to train.", lower_bound=1)
_EVAL_GAMES = flags.DEFINE_integer("eval_games", 4, "Evaluation games.", lower_bound=1)
_LEARNER = flags.DEFINE_string("learner", "bc", "Learner to train (see sc2agents.learners).")
_SKIP_TRAIN = flags.DEFINE_bool("skip_train", False, "Only play the agents (step 1).")


def _run(step: str, args: list[str]) -> None:
    cmd = [sys.executable, "-m", *args]
    print(f"\n=== {step}\n$ {shlex.join(['python', '-m', *args])}", flush=True)
    start = time.time()
    env = dict(os.environ, SDL_VIDEODRIVER=os.environ.get("SDL_VIDEODRIVER", "dummy"))
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"quickstart step failed ({step}): exit code {proc.returncode}")
    print(f"--- {step}: done in {time.time() - start:.0f}s", flush=True)


def main(argv: list[str]) -> None:
    del argv
    out = pathlib.Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    map_name = _MAP.value
    for agent in ("scripted", "random"):
        _run(
            f"play: {agent} agent on {map_name}",
            [
                "sc2agents.bin.play",
                f"--map={map_name}",
                f"--agent={agent}",
                f"--episodes={_EPISODES.value}",
                "--seed=1",
                f"--video={out / f'{agent}_{map_name}.mp4'}",
            ],
        )
    if _SKIP_TRAIN.value:
        return
    data = out / "dataset"
    res = ["--screen_size=32", "--minimap_size=32"]  # the quickstart learner's resolution
    _run(
        "build a small simulator dataset (scripted demonstrators with noise)",
        [
            "sc2agents.bin.build_dataset",
            "--source=sim",
            f"--map={map_name}",
            "--policy=mixed",
            f"--episodes={_DATA_EPISODES.value}",
            *res,
            "--seed=0",
            f"--out={data}",
        ],
    )
    run_dir = out / "runs" / _LEARNER.value
    _run(
        f"train {_LEARNER.value} (TensorBoard: tensorboard --logdir {out / 'runs'})",
        [
            "sc2agents.bin.train",
            f"--config=configs/quickstart.py:{_LEARNER.value}",
            f"--config.data.path={data}",
            f"--config.env.task={map_name}",
            f"--config.run.run_dir={run_dir}",
            f"--config.run.steps={_TRAIN_STEPS.value}",
        ],
    )
    _run(
        "evaluate the trained policy and write a video of its first game",
        [
            "sc2agents.bin.evaluate",
            f"--policy={run_dir}",
            f"--map={map_name}",
            *res,
            f"--games={_EVAL_GAMES.value}",
            "--videos=1",
            f"--out={out / 'eval'}",
        ],
    )
    print(
        f"\nAll outputs are under {out}/: agent videos *.mp4, dataset/, runs/ (TensorBoard, "
        "checkpoints, config.json), eval/ (summary JSON, videos/)."
    )


def entry_point() -> None:
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    entry_point()
