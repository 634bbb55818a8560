"""Observe ``.SC2Replay`` files through the real game: true feature layers and FunctionCall actions.

This is ``python -m sc2agents.bin.build_dataset --source=pysc2 --replays=DIR``'s source:
`observe_replay(path, cfg)` returns one `Episode` per observed player, in the same storage format as
the binary-free path (`sc2agents.data.replay_convert`), so both kinds of dataset feed the same
samplers and learners.

It follows PySC2's replay observer (``pysc2_evolved/bin/replay_actions.py``):

* the game version is read from the replay header (`pysc2_evolved.lib.get_replay_version`) and the
  matching build is started (``$SC2PATH/Versions/Base<build>``); a replay whose build is not
  installed, or that the game reports as another build, raises `ReplayVersionError` saying which
  build to install;
* one game process per worker: the process is started on the first replay and kept (per build) for
  the next ones the same worker observes, as replay_actions' ``ReplayProcessor`` does; a process
  that dies is replaced once per replay;
* every ``step_mul`` game loops the observation is turned into the storage form
  (`pysc2_env.to_observation`, the same conversion as the live env), and the actions the player took
  in between are mapped back to PySC2 `FunctionCall`s with `Features.reverse_action`, then encoded
  with `features.encode_action`.

Actions: ``actions[t]`` is what the player did between observation ``t`` and ``t + 1``. When they
did several things in that window, the first one whose function was available at ``t`` is kept
(PySC2 agents act once per step too) and the rest are counted in ``info["dropped_actions"]``; a
window with no action is ``no_op``. Rewards are 0 except the last step: +1 win, -1 loss, 0 tie
(PySC2's win/loss reward), with ``terminated`` set when the game reported a result.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from absl import logging
from pysc2_evolved import run_configs
from pysc2_evolved.lib import features as sc2_features
from pysc2_evolved.lib import point
from pysc2_evolved.lib.get_replay_version import get_replay_version
from pysc2_evolved.run_configs import lib as run_configs_lib
from s2clientprotocol import common_pb2 as sc_common
from s2clientprotocol import sc2api_pb2 as sc_pb

from sc2agents.envs import features, maps
from sc2agents.envs.pysc2_env import GAME_ERRORS, to_observation

__all__ = [
    "ReplayObserveConfig",
    "ReplayVersionError",
    "close_worker_games",
    "observe_replay",
    "replay_version",
]

_RESULTS = {sc_pb.Victory: 1.0, sc_pb.Defeat: -1.0, sc_pb.Tie: 0.0, sc_pb.Undecided: 0.0}


class ReplayVersionError(RuntimeError):
    """The replay needs a game build that is not installed (or the game runs another build)."""


@dataclasses.dataclass(frozen=True)
class ReplayObserveConfig:
    """How replays are observed. `observe_replay` also reads these names off any config object.

    Attributes:
        screen_size: feature screen resolution.
        minimap_size: feature minimap resolution.
        step_mul: game loops between observations.
        camera_width: camera width in world units (PySC2's default 24).
        players: player ids to observe (each gives one episode); ids absent from a replay are
            skipped.
        disable_fog: observe without fog of war.
        max_steps: cut episodes after this many steps (``truncated``); None = whole game.
        max_game_loops: the same limit in game loops (the binary-free converter's
            `ConvertConfig` field); the smaller of the two applies.
        min_game_loops: skip replays shorter than this (PySC2's replay_actions uses 1000).
        include_vs_ai: also observe games against the built-in AI.
        hide_specific_actions: map specific abilities to general ones (PySC2's default, and the
            binary-free converter's).
        sc2path: game folder (default ``$SC2PATH``).

    The names shared with `sc2agents.data.replay_convert.ConvertConfig` mean the same, so
    build_dataset can pass its config to either source.
    """

    screen_size: int = 64
    minimap_size: int = 64
    step_mul: int = 8
    camera_width: float = 24.0
    players: tuple[int, ...] = (1, 2)
    disable_fog: bool = False
    max_steps: int | None = None
    max_game_loops: int | None = None
    min_game_loops: int = 0
    include_vs_ai: bool = True
    hide_specific_actions: bool = True
    sc2path: str | None = None

    @property
    def step_limit(self) -> int | None:
        """Steps after which an episode is cut (from ``max_steps`` and ``max_game_loops``)."""
        limits = [self.max_steps] if self.max_steps is not None else []
        if self.max_game_loops is not None:
            limits.append(-(-int(self.max_game_loops) // int(self.step_mul)))
        return min(limits) if limits else None

    @classmethod
    def from_any(cls, cfg: Any) -> ReplayObserveConfig:
        """Build from None, an instance, a mapping, or any object with these attribute names."""
        if isinstance(cfg, cls):
            return cfg
        values = {}
        for f in dataclasses.fields(cls):
            if cfg is None:
                break
            if isinstance(cfg, Mapping):
                v = cfg.get(f.name)
            else:
                v = getattr(cfg, f.name, None)
            if v is not None:
                values[f.name] = tuple(v) if f.name == "players" else v
        return cls(**values)

    def interface(self) -> sc_pb.InterfaceOptions:
        """The interface the game renders for the observer (feature layers + score)."""
        opts = sc_pb.InterfaceOptions(
            raw=False,
            score=True,
            feature_layer=sc_pb.SpatialCameraSetup(width=self.camera_width),
        )
        point.Point(self.screen_size, self.screen_size).assign_to(opts.feature_layer.resolution)
        point.Point(self.minimap_size, self.minimap_size).assign_to(
            opts.feature_layer.minimap_resolution
        )
        return opts


def replay_version(replay_data: bytes, path: str = "<bytes>") -> run_configs_lib.Version:
    """The game version a replay was recorded with, from its header."""
    try:
        return get_replay_version(replay_data)
    except KeyError as e:
        raise ReplayVersionError(
            f"{path}: no game version metadata ({e}): recorded before StarCraft II 3.16, which the "
            "game's API cannot replay; convert it without the game (build_dataset "
            "--source=replays) instead"
        ) from e
    except Exception as e:  # noqa: BLE001  mpyq/json errors on a file that is not a replay
        raise ValueError(f"{path}: not a readable .SC2Replay ({type(e).__name__}: {e})") from e


def _run_config_for(version: run_configs_lib.Version, sc2path: str | None, path: str) -> Any:
    """A run config that starts exactly the replay's build, or a `ReplayVersionError`."""
    base = maps.find_sc2(sc2path)
    if sc2path is not None:
        os.environ["SC2PATH"] = str(base)
    installed = sorted(p.name for p in (base / "Versions").glob("Base*"))
    wanted = f"Base{version.build_version:05d}"
    if wanted not in installed:
        raise ReplayVersionError(
            f"{path} was recorded with StarCraft II {version.game_version} (build "
            f"{version.build_version}), but {base / 'Versions'} only has {', '.join(installed)}. "
            f"Install that build: copy its Versions/{wanted} folder from a Linux package of "
            f"{version.game_version} (https://github.com/Blizzard/s2client-proto#downloads) or "
            "from a Windows/macOS install that downloaded it (the client fetches the build when "
            "you open such a replay)."
        )
    run_config = run_configs.get()
    # Bypass PySC2's version table (it lags behind releases): the build folder and the replay's
    # data version are all the game needs to start that exact build.
    run_config.version = run_configs_lib.Version(
        version.game_version, version.build_version, version.data_version, None
    )
    return run_config


# One game process per worker (per build), reused across the replays this worker observes.
_WORKER_GAMES: dict[Any, Any] = {}


def close_worker_games() -> None:
    """Shut down this worker's game processes (also runs at interpreter exit)."""
    for key in list(_WORKER_GAMES):
        proc = _WORKER_GAMES.pop(key)
        try:
            proc.close()
        except Exception as e:  # noqa: BLE001  a dead process may fail to close
            logging.warning("closing a replay game process raised %r (ignored)", e)


atexit.register(close_worker_games)


def _worker_controller(run_config: Any, key: Any, want_rgb: bool = False) -> Any:
    if key not in _WORKER_GAMES:
        close_worker_games()  # one process per worker: a new build replaces the old one
        _WORKER_GAMES[key] = run_config.start(want_rgb=want_rgb)
    return _WORKER_GAMES[key].controller


def observe_replay(
    path: str | os.PathLike[str], cfg: Any = None, *, run_config: Any = None
) -> list[Any]:
    """Observe one replay through the game: one `Episode` per observed player.

    Args:
        path: the ``.SC2Replay`` file.
        cfg: a `ReplayObserveConfig`, or any config/mapping with some of its field names.
        run_config: testing hook: a PySC2 ``RunConfig`` (or fake) to start the game with;
            default: the replay's own build under ``$SC2PATH``.

    Returns:
        The episodes (empty when the replay is too short or has no observable player).

    Raises:
        FileNotFoundError: no such replay.
        ValueError: the file is not a replay, or the game rejects it.
        maps.SC2NotFoundError: no game install.
        ReplayVersionError: the replay's build is not installed or the game runs another build.
        maps.MapNotFoundError: the replay's map is not under ``$SC2PATH/Maps``.
    """
    conf = ReplayObserveConfig.from_any(cfg)
    path = str(path)
    if not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"replay {path} does not exist")
    replay_data = pathlib.Path(path).read_bytes()
    version = replay_version(replay_data, path)
    build = (version.build_version, version.data_version)
    if run_config is None:
        run_config = _run_config_for(version, conf.sc2path, path)
        key: Any = (os.environ.get("SC2PATH"), *build)  # same build: reuse this worker's game
    else:
        key = (id(run_config), *build)
    for attempt in (1, 2):
        controller = _worker_controller(run_config, key)
        try:
            return _observe(controller, run_config, replay_data, version, path, conf)
        except GAME_ERRORS as e:
            logging.warning("%s: the game died while observing (%r), attempt %d", path, e, attempt)
            _WORKER_GAMES.pop(key, None)
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _observe(
    controller: Any,
    run_config: Any,
    replay_data: bytes,
    version: run_configs_lib.Version,
    path: str,
    conf: ReplayObserveConfig,
) -> list[Any]:
    ping = controller.ping()
    info = controller.replay_info(replay_data)
    if info.HasField("error"):
        raise ValueError(
            f"{path}: the game cannot read this replay: "
            f"{sc_pb.ResponseReplayInfo.Error.Name(info.error)} {info.error_details}"
        )
    if info.base_build != ping.base_build:
        raise ReplayVersionError(
            f"{path}: replay build {info.base_build} (StarCraft II {version.game_version}) but the "
            f"running game is build {ping.base_build}; observe it with build {info.base_build}"
        )
    if info.game_duration_loops < conf.min_game_loops:
        logging.info("%s: %d game loops < min_game_loops, skipped", path, info.game_duration_loops)
        return []
    if not conf.include_vs_ai and any(
        p.player_info.type == sc_pb.Computer for p in info.player_info
    ):
        logging.info("%s: a game against the built-in AI, skipped (include_vs_ai=False)", path)
        return []
    map_data = None
    if info.local_map_path:
        try:
            map_data = run_config.map_data(info.local_map_path, len(info.player_info))
        except (ValueError, OSError) as e:
            raise maps.MapNotFoundError(
                f"{path}: the replay's map {info.local_map_path} is not in the game's Maps folder "
                f"({e}); install it (python -m sc2agents.bin.install_maps for the bundled maps)"
            ) from e
    players = {p.player_info.player_id: p for p in info.player_info}
    episodes = []
    for pid in conf.players:
        if pid not in players:
            continue
        ep = _observe_player(
            controller, replay_data, map_data, pid, players[pid], info, version, path, conf
        )
        if ep is not None:
            episodes.append(ep)
    return episodes


def _pick_action(
    feat: sc2_features.Features, actions: Sequence[Any], available: np.ndarray, conf: Any
) -> tuple[int, np.ndarray, int]:
    """First action of the window whose function was available; (fn, args, dropped)."""
    chosen: tuple[int, np.ndarray] | None = None
    fallback: tuple[int, np.ndarray] | None = None
    seen = 0
    for action in actions:
        try:
            call = feat.reverse_action(action)
            fn, args = features.encode_action(call, conf.screen_size, conf.minimap_size)
        except ValueError as e:  # unknown ability, or a point off the grid
            logging.log_every_n(logging.INFO, "unmappable replay action skipped: %s", 100, e)
            seen += 1
            continue
        if fn == 0:  # no_op (camera-less UI noise, dance, ...)
            continue
        seen += 1
        if chosen is None and available[fn]:
            chosen = (fn, args)
        elif fallback is None:
            fallback = (fn, args)
    pick = chosen or fallback
    if pick is None:
        return 0, np.full(features.NUM_ARG_TYPES, -1, np.int32), seen
    return pick[0], pick[1], seen - 1


def _observe_player(
    controller: Any,
    replay_data: bytes,
    map_data: bytes | None,
    player_id: int,
    player: Any,
    info: Any,
    version: run_configs_lib.Version,
    path: str,
    conf: ReplayObserveConfig,
) -> Any:
    from sc2agents.data.episodes import Episode, stack_observations

    controller.start_replay(
        sc_pb.RequestStartReplay(
            replay_data=replay_data,
            map_data=map_data,
            options=conf.interface(),
            observed_player_id=player_id,
            disable_fog=conf.disable_fog,
        )
    )
    feat = sc2_features.features_from_game_info(
        controller.game_info(), hide_specific_actions=conf.hide_specific_actions
    )
    limit = conf.step_limit
    observations: list[dict[str, np.ndarray]] = []
    fns: list[int] = []
    argss: list[np.ndarray] = []
    dropped = 0
    result = None
    truncated = False
    controller.step()
    while True:
        obs = controller.observe()
        if observations:  # the actions taken since the previous observation
            fn, args, n_drop = _pick_action(
                feat, obs.actions, observations[-1]["available_actions"], conf
            )
            fns.append(fn)
            argss.append(args)
            dropped += n_drop
        observations.append(to_observation(feat.transform_obs(obs)))
        for r in obs.player_result:
            if r.player_id == player_id:
                result = _RESULTS.get(r.result, 0.0)
        if obs.player_result:
            break
        if limit is not None and len(fns) >= limit:
            truncated = True
            break
        controller.step(conf.step_mul)
    if not fns:
        logging.info("%s: player %d has no steps, skipped", path, player_id)
        return None
    rewards = np.zeros(len(fns), np.float32)
    rewards[-1] = result or 0.0
    pinfo = player.player_info
    return Episode(
        observations=stack_observations(observations),
        actions={"function": np.asarray(fns, np.int16), "args": np.stack(argss).astype(np.int32)},
        rewards=rewards,
        terminated=result is not None and not truncated,
        truncated=truncated or result is None,
        info={
            "source": "pysc2",
            "replay": path,
            "map": info.map_name,
            "build": int(info.base_build),
            "game_version": version.game_version,
            "player": int(player_id),
            "race": sc_common.Race.Name(pinfo.race_actual) if pinfo.race_actual else "",
            "result": result,
            "mmr": int(player.player_mmr),
            "apm": int(player.player_apm),
            "game_loops": int(info.game_duration_loops),
            "step_mul": int(conf.step_mul),
            "screen_size": int(conf.screen_size),
            "minimap_size": int(conf.minimap_size),
            "dropped_actions": int(dropped),
        },
    )
