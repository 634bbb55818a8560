"""observe_replay on a fake game controller (PySC2's replay-observer protocol, no binary).

The fake speaks the RemoteController calls replay_actions uses (ping, replay_info, start_replay,
game_info, step, observe) and returns real `ResponseObservation` protos built with PySC2's
`dummy_observation.Builder`, so PySC2's own `transform_obs` and `reverse_action` run on them.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from pysc2_evolved.lib import protocol
from pysc2_evolved.tests import dummy_observation
from s2clientprotocol import common_pb2 as sc_common
from s2clientprotocol import raw_pb2
from s2clientprotocol import sc2api_pb2 as sc_pb

from sc2agents.data.episodes import Episode
from sc2agents.envs import features, maps, pysc2_replay

SHARED_REPLAYS = pathlib.Path(__file__).resolve().parents[3] / "shared" / "replays"
REPLAY = SHARED_REPLAYS / "lotv_4_10_4_ZvZ_acropolis_36.SC2Replay"  # build 76811
OLD_REPLAY = SHARED_REPLAYS / "wol_1_2_2_PvT_losttemple_43.SC2Replay"
BUILD = 76811
SCREEN, MINIMAP = 16, 12
MOVE = 16  # ability id of Move (Move_screen / Move_minimap)
LAST_LOOP = 40

needs_replays = pytest.mark.skipif(not REPLAY.is_file(), reason=f"needs {REPLAY}")


class FakeController:
    """The subset of `RemoteController` the replay observer uses."""

    def __init__(self, build: int = BUILD, replay_build: int = BUILD, die_on_observe: int = 0):
        self.build, self.replay_build = build, replay_build
        self.die_on_observe = die_on_observe  # raise ConnectionError on this many observes
        self.loop = 0
        self.request: sc_pb.RequestStartReplay | None = None
        self.started_players: list[int] = []
        self.observes = 0

    def ping(self):
        return sc_pb.ResponsePing(base_build=self.build)

    def replay_info(self, data):
        info = sc_pb.ResponseReplayInfo(
            map_name="Acropolis LE", base_build=self.replay_build, game_duration_loops=LAST_LOOP
        )
        for pid, race, result in ((1, sc_common.Zerg, sc_pb.Victory),
                                  (2, sc_common.Terran, sc_pb.Defeat)):  # fmt: skip
            p = info.player_info.add(player_mmr=4000 + pid, player_apm=150 + pid)
            p.player_info.player_id = pid
            p.player_info.race_actual = race
            p.player_result.player_id = pid
            p.player_result.result = result
        return info

    def start_replay(self, req):
        self.request = req
        self.started_players.append(req.observed_player_id)
        self.loop = 0

    def game_info(self):
        info = sc_pb.ResponseGameInfo(
            map_name="Acropolis LE",
            start_raw=raw_pb2.StartRaw(map_size=sc_common.Size2DI(x=64, y=64)),
        )
        info.options.CopyFrom(self.request.options)
        for pid in (1, 2):
            info.player_info.add(player_id=pid, type=sc_pb.Participant)
        return info

    def step(self, count: int = 1):
        self.loop += count

    def observe(self):
        self.observes += 1
        if self.observes <= self.die_on_observe:
            raise protocol.ConnectionError("Websocket is closed.")
        spec = {"feature_screen": (len(features.SCREEN_LAYERS), SCREEN, SCREEN),
                "feature_minimap": (len(features.MINIMAP_LAYERS), MINIMAP, MINIMAP)}  # fmt: skip
        pid = self.request.observed_player_id
        resp = (
            dummy_observation.Builder(spec).game_loop(self.loop).player_common(player_id=pid)
        ).build()
        obs = resp.observation
        obs.abilities.add(ability_id=MOVE, requires_point=True)
        # A recognisable player_relative layer: value (x + y + loop) % 5 at (y, x).
        yy, xx = np.mgrid[:SCREEN, :SCREEN]
        plane = ((xx + yy + self.loop) % 5).astype(np.uint8)
        obs.feature_layer_data.renders.player_relative.data = plane.tobytes()
        # Actions since the last observation: at loop 17 a Move order then a camera move (the
        # observer keeps the first, counts the other as dropped).
        if self.loop == 17:
            cmd = resp.actions.add().action_feature_layer.unit_command
            cmd.ability_id = MOVE
            cmd.target_screen_coord.x, cmd.target_screen_coord.y = 5, 7
            cam = resp.actions.add().action_feature_layer.camera_move.center_minimap
            cam.x, cam.y = 3, 4
        if self.loop == 25:  # a window whose only action is a camera move
            cam = resp.actions.add().action_feature_layer.camera_move.center_minimap
            cam.x, cam.y = 6, 2
        if self.loop >= LAST_LOOP:
            for p, r in ((1, sc_pb.Victory), (2, sc_pb.Defeat)):
                resp.player_result.add(player_id=p, result=r)
        return resp


class FakeProcess:
    def __init__(self, controller):
        self.controller = controller
        self.closed = False

    def close(self):
        self.closed = True


class FakeRunConfig:
    """Starts `FakeController`s; ``die_first`` makes the first process die mid-replay."""

    def __init__(self, die_first: bool = False, **controller_kwargs):
        self.kwargs = controller_kwargs
        self.die_first = die_first
        self.processes: list[FakeProcess] = []

    def start(self, want_rgb=False):
        kw = dict(self.kwargs)
        if self.die_first and not self.processes:
            kw["die_on_observe"] = 2
        self.processes.append(FakeProcess(FakeController(**kw)))
        return self.processes[-1]

    def map_data(self, name, players=None):
        return b"map"


@pytest.fixture(autouse=True)
def _no_leftover_games():
    pysc2_replay.close_worker_games()
    yield
    pysc2_replay.close_worker_games()


CFG = {"screen_size": SCREEN, "minimap_size": MINIMAP, "step_mul": 8}


@needs_replays
def test_observe_replay_episodes_match_pysc2_features():
    rc = FakeRunConfig()
    episodes = pysc2_replay.observe_replay(REPLAY, CFG, run_config=rc)
    assert len(episodes) == 2 and all(isinstance(e, Episode) for e in episodes)
    controller = rc.processes[0].controller
    assert controller.started_players == [1, 2]
    assert controller.request.options.feature_layer.resolution.x == SCREEN
    ep1, ep2 = episodes
    steps = LAST_LOOP // 8
    assert ep1.num_steps == steps and ep1.observations["screen"].shape == (steps + 1, 26, 16, 16)
    # True feature layers through PySC2's transform_obs, in storage form.
    ch = features.storage_channels(features.SCREEN_LAYERS).index(features.SCREEN["player_relative"])
    yy, xx = np.mgrid[:SCREEN, :SCREEN]
    loops = 1 + 8 * np.arange(steps + 1)  # observing starts after one step, like replay_actions
    for t in range(steps + 1):
        np.testing.assert_array_equal(ep1.observations["screen"][t, ch], (xx + yy + loops[t]) % 5)
    np.testing.assert_array_equal(ep1.observations["game_loop"][:, 0], loops)
    assert ep2.observations["player"][0, 0] == 2  # observed from player 2's side
    # FunctionCall actions via reverse_action: the Move order taken between loops 9 and 17.
    fn = ep1.actions["function"]
    move = features.FUNCTION_IDS["Move_screen"]
    assert fn.tolist() == [0, move, features.FUNCTION_IDS["move_camera"], 0, 0]
    args = ep1.actions["args"]
    assert args[1, features.ARG_TYPES.index("screen")] == 7 * SCREEN + 5
    assert args[1, features.ARG_TYPES.index("queued")] == 0
    assert args[2, features.ARG_TYPES.index("minimap")] == 2 * MINIMAP + 6
    assert (args[0] == -1).all() and (args[3] == -1).all()  # no_op windows
    assert ep1.info["dropped_actions"] == 1  # the camera move in the same window
    assert ep1.observations["available_actions"][1, move]
    # Win/loss reward on the last step, per player.
    assert ep1.rewards.tolist() == [0, 0, 0, 0, 1] and ep2.rewards[-1] == -1
    assert ep1.terminated and not ep1.truncated
    assert ep1.info["source"] == "pysc2" and ep1.info["build"] == BUILD
    assert ep1.info["game_version"] == "4.10.4" and ep1.info["race"] == "Zerg"


@needs_replays
def test_one_game_process_per_worker_is_reused():
    rc = FakeRunConfig()
    pysc2_replay.observe_replay(REPLAY, CFG, run_config=rc)
    pysc2_replay.observe_replay(REPLAY, dict(CFG, players=[2]), run_config=rc)
    assert len(rc.processes) == 1
    pysc2_replay.close_worker_games()
    assert rc.processes[0].closed


@needs_replays
def test_game_dying_mid_replay_is_retried_on_a_fresh_process():
    rc = FakeRunConfig(die_first=True)
    episodes = pysc2_replay.observe_replay(REPLAY, CFG, run_config=rc)
    assert len(rc.processes) == 2 and len(episodes) == 2


@needs_replays
def test_max_steps_truncates():
    (ep, _) = pysc2_replay.observe_replay(
        REPLAY, dict(CFG, max_steps=2), run_config=FakeRunConfig()
    )
    assert ep.num_steps == 2 and ep.truncated and not ep.terminated and ep.rewards[-1] == 0


@needs_replays
def test_running_build_differs_from_replay_build():
    rc = FakeRunConfig(build=75689)
    with pytest.raises(
        pysc2_replay.ReplayVersionError, match="build 76811 .*running game is build 75689"
    ):
        pysc2_replay.observe_replay(REPLAY, CFG, run_config=rc)


@needs_replays
def test_replay_build_not_installed(monkeypatch, tmp_path):
    (tmp_path / "Versions" / "Base75689").mkdir(parents=True)
    monkeypatch.setenv("SC2PATH", str(tmp_path))
    with pytest.raises(pysc2_replay.ReplayVersionError) as e:
        pysc2_replay.observe_replay(REPLAY, CFG)
    msg = str(e.value)
    assert "4.10.4 (build 76811)" in msg and "Base75689" in msg and "Base76811" in msg
    # With the build installed, the run config starts exactly that build and data version.
    (tmp_path / "Versions" / "Base76811").mkdir()
    rc = pysc2_replay._run_config_for(
        pysc2_replay.replay_version(REPLAY.read_bytes()), None, str(REPLAY)
    )
    assert rc.version.build_version == 76811
    assert rc.version.data_version == "FF9FA4EACEC5F06DEB27BD297D73ED67"


@needs_replays
def test_without_a_game_the_error_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("SC2PATH", str(tmp_path / "missing"))
    with pytest.raises(maps.SC2NotFoundError, match="SC2PATH points at .*missing"):
        pysc2_replay.observe_replay(REPLAY, CFG)


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        pysc2_replay.observe_replay(tmp_path / "nope.SC2Replay", CFG)
    junk = tmp_path / "junk.SC2Replay"
    junk.write_bytes(b"not an mpq archive")
    with pytest.raises(ValueError, match="junk.SC2Replay: not a readable .SC2Replay"):
        pysc2_replay.observe_replay(junk, CFG, run_config=FakeRunConfig())
    if OLD_REPLAY.is_file():
        with pytest.raises(pysc2_replay.ReplayVersionError, match="before StarCraft II 3.16"):
            pysc2_replay.observe_replay(OLD_REPLAY, CFG, run_config=FakeRunConfig())


def test_config_from_any_object():
    class Cfg:
        screen_size = 32
        step_mul = 4
        players = [1]
        unrelated = "x"

    c = pysc2_replay.ReplayObserveConfig.from_any(Cfg())
    assert (c.screen_size, c.step_mul, c.players, c.minimap_size) == (32, 4, (1,), 64)
    assert pysc2_replay.ReplayObserveConfig.from_any(None) == pysc2_replay.ReplayObserveConfig()


@needs_replays
def test_binary_free_converter_config_is_accepted():
    """build_dataset may hand observe_replay the ConvertConfig it gives the binary-free path."""
    replay_convert = pytest.importorskip("sc2agents.data.replay_convert")
    cfg = replay_convert.ConvertConfig(
        step_mul=8, screen_size=SCREEN, minimap_size=MINIMAP, min_game_loops=0, max_game_loops=24
    )
    conf = pysc2_replay.ReplayObserveConfig.from_any(cfg)
    assert conf.step_limit == 3 and conf.include_vs_ai is False
    (ep, _) = pysc2_replay.observe_replay(REPLAY, cfg, run_config=FakeRunConfig())
    assert ep.num_steps == 3 and ep.truncated  # 24 loops at step_mul 8
    assert ep.observations["minimap"].shape[-1] == MINIMAP
    short = replay_convert.ConvertConfig(screen_size=SCREEN, minimap_size=MINIMAP)  # min 1344
    assert pysc2_replay.observe_replay(REPLAY, short, run_config=FakeRunConfig()) == []


@needs_replays
def test_default_path_reuses_the_worker_game_across_replays(monkeypatch):
    configs = []

    def run_config_for(version, sc2path, path):  # a fresh RunConfig per replay, like the real one
        configs.append(FakeRunConfig())
        return configs[-1]

    monkeypatch.setattr(pysc2_replay, "_run_config_for", run_config_for)
    for _ in range(3):
        assert len(pysc2_replay.observe_replay(REPLAY, CFG)) == 2
    assert len(configs) == 3 and sum(len(c.processes) for c in configs) == 1
