"""Replays of simulator games: record, save, load and play back exactly.

A replay is a compact file of our own (a NumPy ``.npz``: a zip of compressed arrays) holding

* ``header``: JSON with the format name and version (`FORMAT`, `VERSION`), the map, the engine
  settings (games, sizes, ``step_mul``, time limit, players and bots, fog, ...), the random
  generator's state at the first reset, the partial resets (autoresets) and a SHA-256 digest of the
  final state;
* ``fn`` / ``args``: every agent action in `features.encode_action` layout, ``[T, P, N]`` and
  ``[T, P, N, 13]`` (int16 when the values fit);
* ``init/<field>``: the state right after the first reset (checked on playback, so a simulator
  that changed since the recording is reported instead of silently diverging).

The simulator is deterministic given its generator state and the actions (bots are deterministic
functions of the state), so playback re-creates the engine, restores the generator, resets, and
replays the actions; the final state equals the recorded one bit for bit (`Replay.play` checks the
digest). A file of another format version, or a damaged/truncated file, raises `ReplayError` with
a message naming the file and the problem.

Recording: `record(engine)` attaches a `Recorder` (``SimSC2Env`` does this for its one game, so
``env.save_replay(dir)`` works as in PySC2); every full reset starts a new recording. Playback:
``python -m sc2agents.bin.play --replay=FILE --video=out.mp4`` (or ``--visualize``), or

    >>> rep = load_replay("game.simreplay")  # doctest: +SKIP
    >>> engine = rep.play()                   # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import os
import pathlib
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np

from sc2agents.envs import features

__all__ = [
    "FORMAT",
    "VERSION",
    "Recorder",
    "Replay",
    "ReplayError",
    "load_replay",
    "play_replay",
    "record",
    "save_replay",
    "state_digest",
]

FORMAT = "sc2agents-sim-replay"
VERSION = 1
SUFFIX = ".simreplay"


class ReplayError(ValueError):
    """A replay file that cannot be played (damaged, wrong format or version, diverged)."""


def _state_arrays(st: Any) -> dict[str, np.ndarray]:
    out = {}
    for f in dataclasses.fields(st):
        v = getattr(st, f.name)
        if isinstance(v, np.ndarray):
            out[f.name] = v
    for k in sorted(st.extra):
        out["extra." + k] = np.asarray(st.extra[k])
    return out


def state_digest(st: Any) -> str:
    """SHA-256 over every array of a `SimState` (shape, dtype, bytes): equal iff bit-identical."""
    h = hashlib.sha256()
    for k, v in _state_arrays(st).items():
        h.update(k.encode())
        h.update(str(v.dtype).encode())
        h.update(str(v.shape).encode())
        h.update(np.ascontiguousarray(v).tobytes())
    return h.hexdigest()


def _bot_spec(params: Any) -> Any:
    from sc2agents.envs.sim.bots import LEVELS

    if params.name in LEVELS and LEVELS[params.name] == params:
        return params.name
    return dataclasses.asdict(params)


class Recorder:
    """Logs an engine's resets and agent actions (`SimEngine.recorder`)."""

    def __init__(self) -> None:
        self.header: dict[str, Any] | None = None
        self.init: dict[str, np.ndarray] | None = None
        self.fn: list[np.ndarray] = []
        self.args: list[np.ndarray] = []
        self.resets: list[list[Any]] = []

    def on_reset(self, eng: Any, ids: np.ndarray, seed: int | None) -> None:
        """Called by `SimEngine.reset` before it uses the generator."""
        if ids.size == eng.num_envs and np.array_equal(np.sort(ids), np.arange(eng.num_envs)):
            self.header = _engine_header(eng)
            self.header["rng_state"] = eng.rng.bit_generator.state
            self.init = None
            self.fn, self.args, self.resets = [], [], []
            self._eng = eng
        elif self.header is not None:
            self.resets.append([len(self.fn), [int(i) for i in ids], seed])

    def drop_last(self) -> None:
        """Forget the last step (the engine rejected its actions)."""
        if self.header is not None and self.fn:
            self.fn.pop()
            self.args.pop()

    def on_step(self, function: np.ndarray, args: np.ndarray) -> None:
        """Called by `SimEngine.step_encoded` with the agents' actions, before applying them."""
        if self.header is None:
            return
        if self.init is None:
            self.init = {k: v.copy() for k, v in _state_arrays(self._eng.state).items()}
        self.fn.append(np.asarray(function).copy())
        self.args.append(np.asarray(args).copy())

    def save(self, eng: Any, path: str | os.PathLike) -> pathlib.Path:
        """Write the replay of the recording so far (see module docstring)."""
        if self.header is None:
            raise ReplayError("nothing recorded: reset the engine after record() before saving")
        init = self.init or {k: v.copy() for k, v in _state_arrays(eng.state).items()}
        header = dict(self.header)
        header["steps"] = len(self.fn)
        header["resets"] = self.resets
        header["final_digest"] = state_digest(eng.state)
        header["saved"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
        p, n = eng.num_players, eng.num_envs
        fn = np.stack(self.fn) if self.fn else np.zeros((0, p, n), np.int64)
        args = np.stack(self.args) if self.args else np.zeros((0, p, n, 13), np.int64)
        small = fn.size == 0 or (
            max(int(np.abs(fn).max(initial=0)), int(np.abs(args).max(initial=0))) < 2**15
        )
        dt = np.int16 if small else np.int32
        arrays = {
            "header": np.frombuffer(json.dumps(header).encode(), np.uint8),
            "fn": fn.astype(dt),
            "args": args.astype(dt),
        }
        arrays.update({"init/" + k: v for k, v in init.items()})
        path = pathlib.Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:  # a file object: np.savez would append ".npz" to a name
            np.savez_compressed(f, **arrays)
        return path


def _engine_header(eng: Any) -> dict[str, Any]:
    bots = [] if eng.bots is None else [_bot_spec(p) for p in eng.bots.params]
    return {
        "format": FORMAT,
        "version": VERSION,
        "map": eng.scenario.name,
        "engine": {
            "num_envs": eng.num_envs,
            "screen_size": eng.screen_size,
            "minimap_size": eng.minimap_size,
            "step_mul": eng.step_mul,
            "game_steps_per_episode": eng.time_limit_loops or None,
            "num_players": eng.num_players,
            "bots": bots,
            "disable_fog": bool(type(eng.scenario)().fog and not eng.fog),
            "camera_width": eng.camera_width,
            "substep_loops": eng.substep_loops,
            "use_feature_units": eng.use_feature_units,
        },
    }


def record(engine: Any) -> Recorder:
    """Attach a `Recorder` to ``engine`` (the next full reset starts the recording)."""
    rec = Recorder()
    engine.recorder = rec
    return rec


def save_replay(engine: Any, path: str | os.PathLike) -> pathlib.Path:
    """Save the engine's recording (see `record`) to ``path``."""
    if engine.recorder is None:
        raise ReplayError("the engine is not recording: call sim_replay.record(engine) first")
    return engine.recorder.save(engine, path)


@dataclasses.dataclass
class Replay:
    """A loaded replay (`load_replay`)."""

    path: pathlib.Path
    header: dict[str, Any]
    fn: np.ndarray
    args: np.ndarray
    init: dict[str, np.ndarray]

    @property
    def map_name(self) -> str:
        return str(self.header["map"])

    @property
    def num_steps(self) -> int:
        return int(self.fn.shape[0])

    def engine(self) -> Any:
        """A fresh engine with the recorded settings (not reset)."""
        from sc2agents.envs.sim.engine import SimEngine

        cfg = dict(self.header["engine"])
        try:
            return SimEngine(self.map_name, action_error="warn", **cfg)
        except (TypeError, ValueError, KeyError) as e:
            raise ReplayError(f"{self.path}: cannot build the recorded game: {e}") from e

    def play(self, on_step: Callable[[Any, int], Any] | None = None, verify: bool = True) -> Any:
        """Play the replay; returns the engine in its final state.

        Args:
            on_step: called as ``on_step(engine, t)`` after the reset (``t=0``) and after each
                step ``t = 1..T``; return False to stop early (no final check then).
            verify: check the initial and final states against the recording.

        Raises:
            ReplayError: the re-created game differs from the recorded one.
        """
        eng = self.engine()
        eng.rng.bit_generator.state = self.header["rng_state"]
        eng.reset()
        if verify:
            now = _state_arrays(eng.state)
            bad = [k for k, v in self.init.items() if k not in now or not np.array_equal(now[k], v)]
            if bad:
                raise ReplayError(
                    f"{self.path}: the initial state differs from the recording ({bad[:3]}); the "
                    "simulator changed since the replay was saved"
                )
        if on_step is not None and on_step(eng, 0) is False:
            return eng
        resets: dict[int, list[tuple[list[int], Any]]] = {}
        for t, ids, seed in self.header.get("resets", []):
            resets.setdefault(int(t), []).append((ids, seed))
        for t in range(self.num_steps):
            for ids, seed in resets.get(t, []):
                eng.reset(np.asarray(ids, np.int64), seed=seed)
            eng.step_encoded(self.fn[t].astype(np.int64), self.args[t].astype(np.int64))
            if on_step is not None and on_step(eng, t + 1) is False:
                return eng
        for ids, seed in resets.get(self.num_steps, []):
            eng.reset(np.asarray(ids, np.int64), seed=seed)
        if verify and state_digest(eng.state) != self.header["final_digest"]:
            raise ReplayError(
                f"{self.path}: the final state differs from the recording; the simulator changed "
                "since the replay was saved"
            )
        return eng


def load_replay(path: str | os.PathLike) -> Replay:
    """Read a replay file.

    Raises:
        FileNotFoundError: no such file.
        ReplayError: not a simulator replay, another format version, or a damaged file.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"replay {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise ReplayError(f"{path}: not a simulator replay (no header)")
            header = json.loads(bytes(z["header"]).decode())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ReplayError(
                    f"{path}: not a simulator replay (format {header.get('format')!r})"
                )
            if header.get("version") != VERSION:
                raise ReplayError(
                    f"{path}: replay format version {header.get('version')} is not supported "
                    f"(this simulator reads version {VERSION})"
                )
            fn = z["fn"]
            args = z["args"]
            init = {k[5:]: z[k] for k in z.files if k.startswith("init/")}
    except ReplayError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, KeyError, EOFError, UnicodeDecodeError) as e:
        raise ReplayError(f"{path}: damaged or unreadable replay file ({e})") from e
    steps = int(header.get("steps", -1))
    p, n = int(header["engine"]["num_players"]), int(header["engine"]["num_envs"])
    if fn.shape != (steps, p, n) or args.shape != (steps, p, n, features.NUM_ARG_TYPES):
        raise ReplayError(
            f"{path}: damaged replay: actions have shape {fn.shape}/{args.shape}, the header says "
            f"{steps} steps of {p} player(s) x {n} game(s)"
        )
    return Replay(path=path, header=header, fn=fn, args=args, init=init)


def play_replay(
    path: str | os.PathLike,
    *,
    video: str | None = None,
    visualize: bool = False,
    env: int = 0,
    player: int = 0,
    render_size: int = 512,
    fps: float | None = None,
) -> Any:
    """Play a replay into a video and/or a live window (``bin/play --replay``).

    Returns the final engine (the final state is verified against the recording).
    """
    from sc2agents.envs.sim import render

    rep = load_replay(path)
    writer = (
        render.VideoWriter(video, fps=fps or 22.4 / rep.header["engine"]["step_mul"])
        if video
        else None
    )
    window = None
    if visualize:
        window = render.LiveViewer(title=f"sc2agents replay: {rep.map_name}")

    def draw(eng: Any, t: int) -> bool:
        if writer is None and window is None:
            return True
        frame = render.render_rgb(eng, env, player, render_size)
        if writer is not None:
            writer.append(frame)
        if window is not None and not window.show(frame):
            return False
        return True

    try:
        return rep.play(on_step=draw)
    finally:
        if writer is not None:
            writer.close()
        if window is not None:
            window.close()
