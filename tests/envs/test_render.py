"""Renderer, video writer and live viewer of the simulator (sc2agents.envs.sim.render)."""

from __future__ import annotations

import types

import imageio.v2 as iio
import numpy as np
import pytest

from sc2agents.envs.sim import render
from sc2agents.envs.sim.state import SimState

MARINE, ROACH, BEACON, SHARD = 48, 110, 317, 1680


def _engine(map_size=(64, 64), num_envs=2):
    s = SimState.allocate(num_envs, 8, 1, map_size)
    s.pos[0, :4] = [[10, 12], [46, 14], [30, 50], [50, 52]]
    s.alive[0, :4] = True
    s.owner[0, :4] = [1, 2, 16, 16]
    s.unit_type[0, :4] = [MARINE, ROACH, BEACON, SHARD]
    s.radius[0, :4] = [0.375, 1.0, 1.0, 0.25]
    s.health[0, :2] = [45, 50]
    s.health_max[0, :2] = [45, 145]
    s.camera[0, 0] = [32, 32]
    s.game_loop[0] = 224
    s.score_cumulative[0, 0, 0] = 7
    scenario = types.SimpleNamespace(map_size=map_size, name="FakeMap", camera_width=24)
    return types.SimpleNamespace(state=s, scenario=scenario)


def _close(pixel, colour, tol=40):
    return np.abs(pixel.astype(int) - np.asarray(colour)).max() <= tol


def test_frame_shape_dtype_and_background():
    frame = render.render_rgb(_engine(), size=256)
    assert frame.shape == (256, 256, 3) and frame.dtype == np.uint8
    assert frame.flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("size", [128, 512])
def test_units_drawn_at_projected_position_in_owner_colour(size):
    eng = _engine()
    frame = render.render_rgb(eng, size=size)
    proj = render.projection((64, 64), size)
    for slot, key in [(0, "self"), (1, "enemy")]:
        col, row = np.round(proj.to_pixel(eng.state.pos[0, slot])).astype(int)
        assert _close(frame[row, col], render.COLOURS[key]), (key, frame[row, col])
    # The beacon is a ring: its colour on the ring, at radius * scale from the centre.
    cx, cy = proj.to_pixel(eng.state.pos[0, 2])
    r = max(1.0 * proj.scale, 2.5, size / 160)
    ring = frame[int(round(cy)), int(round(cx)) + int(round(r)) - 1]
    assert _close(ring, render.COLOURS["beacon"]), ring


def test_owner_colour_follows_point_of_view():
    eng = _engine()
    eng.state.selected = np.zeros((2, 2, 8), bool)
    eng.state.camera = np.zeros((2, 2, 2), np.float32)
    eng.state.visibility = np.zeros((2, 2, 64, 64), np.uint8)
    proj = render.projection((64, 64), 256)
    col, row = np.round(proj.to_pixel(eng.state.pos[0, 1])).astype(int)
    as_p2 = render.render_rgb(eng, player=1, size=256)  # the roach (owner 2) is player 1's own
    assert _close(as_p2[row, col], render.COLOURS["self"])


def test_dead_units_not_drawn_and_units_move():
    eng = _engine()
    proj = render.projection((64, 64), 256)
    col, row = np.round(proj.to_pixel(eng.state.pos[0, 1])).astype(int)
    eng.state.alive[0, 1] = False
    frame = render.render_rgb(eng, size=256)
    assert not _close(frame[row, col], render.COLOURS["enemy"])
    eng.state.alive[0, 1] = True
    eng.state.pos[0, 1] = [16, 40]
    col2, row2 = np.round(proj.to_pixel(eng.state.pos[0, 1])).astype(int)
    frame = render.render_rgb(eng, size=256)
    assert _close(frame[row2, col2], render.COLOURS["enemy"])


def test_camera_box_edges():
    eng = _engine()
    size = 256
    frame = render.render_rgb(eng, size=size)
    proj = render.projection((64, 64), size)
    tl = np.round(proj.to_pixel(np.array([32 - 12, 32 - 12]))).astype(int)
    br = np.round(proj.to_pixel(np.array([32 + 12, 32 + 12]))).astype(int)
    mid_row = (tl[1] + br[1]) // 2
    assert _close(frame[mid_row, tl[0]], render.COLOURS["camera"], tol=5)  # left edge
    assert _close(frame[tl[1], (tl[0] + br[0]) // 2], render.COLOURS["camera"], tol=5)  # top
    assert not _close(frame[mid_row, (tl[0] + br[0]) // 2], render.COLOURS["camera"], tol=30)
    # Moving the camera moves the box.
    eng.state.camera[0, 0] = [20, 20]
    frame2 = render.render_rgb(eng, size=size)
    assert not _close(frame2[mid_row, tl[0]], render.COLOURS["camera"], tol=5)


def test_selection_outline_and_health_bar():
    eng = _engine()
    size = 512
    proj = render.projection((64, 64), size)
    cx, cy = proj.to_pixel(eng.state.pos[0, 0])
    r = max(0.375 * proj.scale, 2.5, size / 160)
    row = int(round(cy))
    cols = slice(int(round(cx + r)) + 1, int(round(cx + r)) + 4)
    before = render.render_rgb(eng, size=size)[row, cols]
    eng.state.selected[0, 0, 0] = True
    after = render.render_rgb(eng, size=size)[row, cols]
    assert any(_close(p, render.COLOURS["selected"]) for p in after)
    assert not any(_close(p, render.COLOURS["selected"]) for p in before)
    # The roach has 50/145 hp: its bar is mostly the empty colour on the right.
    frame = render.render_rgb(eng, size=size)
    rx, ry = proj.to_pixel(eng.state.pos[0, 1])
    rr = 1.0 * proj.scale
    w = 2 * rr
    bar_y = int(ry - rr - max(3.0, w / 4)) + 1
    left = frame[bar_y, int(rx - w / 2) + 1]
    right = frame[bar_y, int(rx + w / 2) - 2]
    assert _close(left, render.COLOURS["health_low"]) and _close(right, render.COLOURS["health_bg"])


def test_fog_darkens_hidden_cells():
    eng = _engine()
    eng.state.visibility[0, 0, :, :32] = 2  # left half visible, right half never seen
    frame = render.render_rgb(eng, size=256)
    proj = render.projection((64, 64), 256)
    lc, lr = np.round(proj.to_pixel(np.array([14.5, 40.5]))).astype(int)
    rc, rr = np.round(proj.to_pixel(np.array([46.5, 40.5]))).astype(int)
    assert frame[lr, lc].astype(int).sum() > frame[rr, rc].astype(int).sum() + 60


def test_non_square_map_keeps_aspect():
    eng = _engine(map_size=(88, 40))
    eng.state.pos[0, 0] = [80, 35]
    frame = render.render_rgb(eng, size=256)
    proj = render.projection((88, 40), 256)
    assert proj.scale == pytest.approx(256 / 88)
    col, row = np.round(proj.to_pixel(eng.state.pos[0, 0])).astype(int)
    assert _close(frame[row, col], render.COLOURS["self"])


def test_bad_arguments():
    with pytest.raises(ValueError, match="env 5"):
        render.render_rgb(_engine(), env=5)
    with pytest.raises(ValueError, match="at least 32"):
        render.render_rgb(_engine(), size=8)


@pytest.mark.parametrize("ext", [".gif", ".mp4"])
def test_write_video_round_trip(tmp_path, ext):
    eng = _engine()
    frames = []
    for t in range(6):
        eng.state.pos[0, 0] = [10 + 4 * t, 12]
        eng.state.game_loop[0] = 8 * t
        frames.append(render.render_rgb(eng, size=128))
    path = tmp_path / "deep" / "dir" / f"clip{ext}"
    assert render.write_video(frames, path, fps=4) == 6
    back = iio.mimread(path)
    assert len(back) == 6 and back[0].shape[:2] == (128, 128)


def test_video_writer_rejects_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unsupported extension"):
        render.VideoWriter(tmp_path / "x.txt")
    with render.VideoWriter(tmp_path / "x.gif") as w:
        with pytest.raises(ValueError, match="uint8"):
            w.append(np.zeros((8, 8, 3), np.float32))
        w.append(np.zeros((8, 8, 3), np.uint8))


def test_live_viewer_without_display_says_why(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(render.sys, "platform", "linux")
    with pytest.raises(RuntimeError, match="DISPLAY.*--video"):
        render.LiveViewer()


def test_view_is_the_playable_area():
    eng = _engine()
    eng.scenario.playable = (20.0, 20.0, 44.0, 44.0)
    assert render.view_rect(eng) == (19.0, 19.0, 45.0, 45.0)
    proj = render.projection(render.view_rect(eng), 256)
    assert proj.scale == pytest.approx((256 - proj.header) / 26)
    eng.state.pos[0, 0] = [21.0, 43.0]
    col, row = np.round(proj.to_pixel(eng.state.pos[0, 0])).astype(int)
    frame = render.render_rgb(eng, size=256)
    assert _close(frame[row, col], render.COLOURS["self"])
    # Outside the playable area is the dark background, inside the map colour.
    assert _close(frame[row, 1], render.COLOURS["background"], tol=8)
    assert _close(frame[row, col + 12], render.COLOURS["map"], tol=8)


def test_live_viewer_shows_frames_offscreen(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    with pytest.raises(RuntimeError, match="SDL_VIDEODRIVER=dummy"):
        monkeypatch.setenv("DISPLAY", ":0")
        render.LiveViewer(size=64)
    viewer = render.LiveViewer(size=64, allow_offscreen=True)
    try:
        frame = render.render_rgb(_engine(), size=128)  # another size: scaled to the window
        assert viewer.show(frame)
        import pygame

        shown = pygame.surfarray.array3d(pygame.display.get_surface()).transpose(1, 0, 2)
        assert shown.shape == (64, 64, 3) and shown.std() > 0
    finally:
        viewer.close()
    assert viewer.closed and not viewer.show(frame)


def test_real_engine_marine_and_camera_box():
    from pysc2_evolved.lib import actions

    from sc2agents.envs.sim.engine import SimEngine

    eng = SimEngine("FindAndDefeatZerglings", num_envs=2, seed=3)
    eng.reset()
    size = 384
    proj = render.projection(render.view_rect(eng), size)
    frame = render.render_rgb(eng, env=1, size=size)
    st = eng.state
    marine = int(np.flatnonzero(st.alive[1] & (st.owner[1] == 1))[0])
    col, row = np.round(proj.to_pixel(st.pos[1, marine])).astype(int)
    assert _close(frame[row, col], render.COLOURS["self"])
    # Move the camera of game 1 by the minimap; the box follows: its left edge at the new place.
    calls = [actions.FUNCTIONS.no_op(), actions.FUNCTIONS.move_camera([20, 20])]
    eng.step([calls])
    frame = render.render_rgb(eng, env=1, size=size)
    cx, cy = st.camera[0, 1]
    half = eng.camera_width / 2
    left = np.round(proj.to_pixel(np.array([cx - half, cy]))).astype(int)
    assert _close(frame[left[1], left[0]], render.COLOURS["camera"], tol=5)
    assert not np.allclose(st.camera[0, 1], st.camera[0, 0])
