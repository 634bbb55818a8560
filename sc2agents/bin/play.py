"""Play an agent on a map, print its scores, and optionally watch it or write a video.

Usage::

    python -m sc2agents.bin.play --map=MoveToBeacon --agent=scripted --episodes=3 --video=out.mp4
    python -m sc2agents.bin.play --map=DefeatRoaches --agent=random --video=out/roaches.gif
    python -m sc2agents.bin.play --map=CollectMineralShards --visualize
    python -m sc2agents.bin.play --agent=pysc2_evolved.agents.scripted_agent.MoveToBeacon
    python -m sc2agents.bin.play --backend=pysc2 --map=Simple64 --agent=random   # real game

``--agent`` is a built-in name (``random``, ``scripted``), the import path of a pysc2 `BaseAgent`
class, or a policy spec (``ckpt:runs/x/ckpt.pt``, ``scripted:DefeatRoaches@eps=0.2``).

With ``--backend=sim`` (default) the game runs in the embedded simulator (`SimSC2Env`, no
StarCraft II needed); ``--video`` writes MP4 or GIF (by extension) of the top-down rendering and
``--visualize`` opens a live window. ``--backend=pysc2`` plays in the real game through
`sc2agents.envs.pysc2_env.play` (needs StarCraft II; ``--render`` opens PySC2's renderer there).

Prints one line per episode (score, steps) and the mean score.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from typing import Any

import numpy as np
from absl import app, flags

FLAGS = flags.FLAGS


def define_flags(flag_values: flags.FlagValues = FLAGS) -> None:
    """Define the flags, at program start only (idempotent).

    Importing this module defines none, so tests and other programs can import `play_sim` next to
    other ``bin/`` programs (``--map``, ``--seed``, ...) without duplicate-flag errors.

    Args:
        flag_values: where to define them (tests pass a fresh `flags.FlagValues`).
    """
    if "agent" in flag_values and "backend" in flag_values:
        return
    fv = {"flag_values": flag_values}
    flags.DEFINE_enum("backend", "sim", ["sim", "pysc2"], "Embedded simulator or real SC2.", **fv)
    flags.DEFINE_string("map", "MoveToBeacon", "Map (simulator scenario or SC2 map) name.", **fv)
    flags.DEFINE_string(
        "agent",
        "scripted",
        "Built-in agent (random, scripted), a pysc2 BaseAgent class path, or a policy spec "
        "(ckpt:<path>, scripted:<Map>@eps=0.1).",
        **fv,
    )
    flags.DEFINE_integer("episodes", 1, "Episodes to play.", lower_bound=1, **fv)
    flags.DEFINE_string("video", None, "Write a video of all episodes here (.mp4 or .gif).", **fv)
    flags.DEFINE_bool("visualize", False, "Show the game live in a window.", **fv)
    flags.DEFINE_bool(
        "render", False, "pysc2 backend: PySC2's renderer. sim backend: same as --visualize.", **fv
    )
    flags.DEFINE_integer("step_mul", 8, "Game loops per agent step.", lower_bound=1, **fv)
    flags.DEFINE_integer("screen_size", 64, "Feature screen resolution.", lower_bound=8, **fv)
    flags.DEFINE_integer("minimap_size", 64, "Feature minimap resolution.", lower_bound=8, **fv)
    flags.DEFINE_integer("seed", None, "Game and agent seed (default: random).", **fv)
    flags.DEFINE_string("bot_race", "random", "pysc2 backend: built-in bot race.", **fv)
    flags.DEFINE_string("difficulty", "very_easy", "pysc2 backend: bot difficulty.", **fv)
    flags.DEFINE_string(
        "save_replay", None, "pysc2 backend: folder to save .SC2Replay files to.", **fv
    )
    flags.DEFINE_string("replay", None, "Watch a .SC2Replay instead of playing.", **fv)
    flags.DEFINE_integer(
        "game_steps_per_episode", None, "Time limit in game loops (default: the map's).", **fv
    )
    flags.DEFINE_integer("max_steps", None, "Stop an episode after this many steps.", **fv)
    flags.DEFINE_float("epsilon", 0.0, "Scripted agent: random-action probability.", **fv)
    flags.DEFINE_integer("render_size", 512, "Video/window frame size in pixels.", **fv)
    flags.DEFINE_float("fps", None, "Video frame rate (default: real time, 22.4/step_mul).", **fv)


@dataclasses.dataclass
class PlayResult:
    """Scores of a `play_sim` run."""

    scores: list[float]
    returns: list[float]
    steps: list[int]
    video: str | None = None
    frames: int = 0

    @property
    def mean_score(self) -> float:
        return float(np.mean(self.scores)) if self.scores else float("nan")


def _sim_env(map_name: str, step_mul: int, screen: int, minimap: int, seed: int | None,
             game_steps: int | None, difficulty: str = "very_easy",
             bot_race: str = "random") -> Any:  # fmt: skip
    from pysc2_evolved.env import sc2_env
    from pysc2_evolved.lib import features as sc2_features

    from sc2agents.envs import SimSC2Env
    from sc2agents.envs.sim.scenarios import get_scenario

    players: list[Any] = [sc2_env.Agent(sc2_env.Race.terran)]
    if get_scenario(map_name).num_players == 2:  # a melee map: the agent plays a built-in bot
        if bot_race not in ("random", "terran"):
            raise ValueError(f"--bot_race={bot_race}: the simulator's built-in bots are Terran")
        if difficulty not in sc2_env.Difficulty.__members__:
            known = ", ".join(sc2_env.Difficulty.__members__)
            raise ValueError(f"--difficulty={difficulty}: unknown; one of {known}")
        players.append(sc2_env.Bot(sc2_env.Race.terran, sc2_env.Difficulty[difficulty]))
    return SimSC2Env(
        map_name=map_name,
        players=players,
        agent_interface_format=sc2_features.AgentInterfaceFormat(
            feature_dimensions=sc2_features.Dimensions(screen=screen, minimap=minimap)
        ),
        step_mul=step_mul,
        game_steps_per_episode=game_steps or 0,
        random_seed=seed,
    )


def _engine_of(env: Any) -> Any:
    for name in ("engine", "_engine"):
        engine = getattr(env, name, None)
        if engine is not None:
            return engine
    raise RuntimeError(f"{type(env).__name__} exposes no simulator engine to render")


def play_sim(
    map_name: str,
    agent: str,
    *,
    episodes: int = 1,
    video: str | None = None,
    visualize: bool = False,
    step_mul: int = 8,
    screen_size: int = 64,
    minimap_size: int = 64,
    seed: int | None = None,
    game_steps_per_episode: int | None = None,
    max_steps: int | None = None,
    epsilon: float = 0.0,
    render_size: int = 512,
    fps: float | None = None,
    difficulty: str = "very_easy",
    bot_race: str = "random",
    log: Any = print,
) -> PlayResult:
    """Play ``episodes`` of ``agent`` on the simulator; optionally render to a video / window.

    Args:
        map_name: simulator scenario.
        agent: ``random``, ``scripted`` or a pysc2 `BaseAgent` class path (`make_agent`).
        episodes: number of episodes.
        video: MP4/GIF path; one frame per agent step, the first and last of each episode too.
        visualize: show frames in a `LiveViewer` window.
        step_mul: game loops per agent step.
        screen_size: feature screen resolution.
        minimap_size: feature minimap resolution.
        seed: seed of the game and the agent.
        game_steps_per_episode: time limit in game loops (None: the map's).
        max_steps: stop an episode after this many agent steps.
        epsilon: scripted agent's random-action probability.
        render_size: frame side in pixels.
        fps: video frame rate (None: real time).
        difficulty: built-in bot difficulty on a melee map (``Simple64``).
        bot_race: built-in bot race (the simulator's bots are Terran; ``random`` means Terran).
        log: where per-episode lines go.

    Returns:
        The per-episode scores (PySC2 ``score_cumulative[0]``), returns and lengths.
    """
    from sc2agents.agents import make_agent
    from sc2agents.envs.sim import render

    # Open the window before the (slower) env so that a missing display fails fast.
    viewer = render.LiveViewer(render_size, title=f"sc2agents: {map_name}") if visualize else None
    agent_obj = make_agent(agent, map_name, epsilon=epsilon, step_mul=step_mul, seed=seed)
    env = _sim_env(map_name, step_mul, screen_size, minimap_size, seed, game_steps_per_episode,
                   difficulty, bot_race)  # fmt: skip
    fps = fps or 22.4 / step_mul
    writer = render.VideoWriter(video, fps) if video else None
    result = PlayResult([], [], [], video)
    engine = _engine_of(env)
    try:
        agent_obj.setup(env.observation_spec()[0], env.action_spec()[0])
        for ep in range(episodes):
            timesteps = env.reset()
            agent_obj.reset()
            total, steps, start = 0.0, 0, time.time()
            while True:
                if writer is not None or viewer is not None:
                    frame = render.render_rgb(engine, 0, 0, render_size)
                    if writer is not None:
                        writer.append(frame)
                    if viewer is not None and not viewer.show(frame):
                        viewer = None  # window closed: keep playing without it
                ts = timesteps[0]
                if ts.last() or (max_steps and steps >= max_steps):
                    break
                action = agent_obj.step(ts)
                timesteps = env.step([action])
                total += float(timesteps[0].reward)
                steps += 1
            score = float(np.asarray(timesteps[0].observation["score_cumulative"])[0])
            result.scores.append(score)
            result.returns.append(total)
            result.steps.append(steps)
            log(
                f"episode {ep + 1}/{episodes}: score {score:g} (return {total:g}) in {steps} "
                f"steps, {time.time() - start:.1f}s"
            )
    finally:
        if writer is not None:
            writer.close()
            result.frames = writer.num_frames
        if viewer is not None:
            viewer.close()
        env.close()
    log(f"mean score over {episodes} episode(s): {result.mean_score:g}")
    if video:
        log(f"video: {video} ({result.frames} frames, {fps:g} fps)")
    return result


def _pysc2_agent_spec(agent: str, map_name: str) -> str:
    """``--agent`` as `sc2agents.acting.policy.load_policy` spells it."""
    if agent == "random":
        return "random"
    if agent == "scripted":
        return f"scripted:{map_name}"
    if ":" in agent:
        return agent
    return f"pysc2:{agent}"


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if FLAGS.backend == "pysc2":
        try:
            from sc2agents.envs import pysc2_env
        except ImportError as e:
            sys.exit(f"play: --backend=pysc2 needs sc2agents.envs.pysc2_env, unavailable: {e}")
        flag_values = {
            "map": FLAGS.map,
            "agent": _pysc2_agent_spec(FLAGS.agent, FLAGS.map),
            "episodes": FLAGS.episodes,
            "render": FLAGS.render,
            "visualize": FLAGS.visualize,
            "step_mul": FLAGS.step_mul,
            "screen_size": FLAGS.screen_size,
            "minimap_size": FLAGS.minimap_size,
            "seed": FLAGS.seed,
            "bot_race": FLAGS.bot_race,
            "difficulty": FLAGS.difficulty,
            "save_replay": FLAGS.save_replay,
            "replay": FLAGS.replay,
            "max_steps": FLAGS.max_steps,
            "video": FLAGS.video,
        }
        try:
            out = pysc2_env.play(**flag_values)
        except (ValueError, RuntimeError, FileNotFoundError) as e:
            sys.exit(f"play (pysc2 backend): {e}")
        returns, lengths = out.get("returns", []), out.get("steps", [])
        for i, (ret, steps) in enumerate(zip(returns, lengths, strict=False)):
            print(f"episode {i + 1}/{FLAGS.episodes}: return {ret:g} in {steps} steps")
        if out.get("returns"):
            print(f"mean return over {len(out['returns'])} episode(s): {np.mean(out['returns']):g}")
        return
    if FLAGS.replay:
        # A simulator replay (sim_replay): played back exactly into --video and/or the window.
        from sc2agents.envs.sim import sim_replay

        try:
            eng = sim_replay.play_replay(
                FLAGS.replay,
                video=FLAGS.video,
                visualize=FLAGS.visualize or FLAGS.render,
                render_size=FLAGS.render_size,
                fps=FLAGS.fps,
            )
        except (sim_replay.ReplayError, FileNotFoundError, RuntimeError) as e:
            sys.exit(f"play --replay: {e}")
        print(
            f"replay {FLAGS.replay}: {eng.scenario.name}, game loop {int(eng.state.game_loop[0])}"
            ", final state matches the recording"
        )
        return
    if FLAGS.save_replay:
        sys.exit(
            "play: --save_replay needs the real game (--backend=pysc2); the simulator writes "
            "videos instead (--video=out.mp4)"
        )
    try:
        play_sim(
            FLAGS.map,
            FLAGS.agent,
            episodes=FLAGS.episodes,
            video=FLAGS.video,
            visualize=FLAGS.visualize or FLAGS.render,
            step_mul=FLAGS.step_mul,
            screen_size=FLAGS.screen_size,
            minimap_size=FLAGS.minimap_size,
            seed=FLAGS.seed,
            game_steps_per_episode=FLAGS.game_steps_per_episode,
            max_steps=FLAGS.max_steps,
            epsilon=FLAGS.epsilon,
            render_size=FLAGS.render_size,
            fps=FLAGS.fps,
            difficulty=FLAGS.difficulty,
            bot_race=FLAGS.bot_race,
        )
    except (ValueError, RuntimeError) as e:
        sys.exit(f"play: {e}")


def entry_point() -> None:
    """Console script ``sc2agents-play``."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    define_flags()
    app.run(main)


if __name__ == "__main__":
    entry_point()
