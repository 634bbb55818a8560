"""Top-down pictures of simulator games: `render_rgb`, a live window and a video writer.

`render_rgb(engine, env, player, size)` draws the playable area of one game of a `SimEngine` as an
RGB array: units coloured by owner (self / enemy / neutral) with a glyph per unit type sized by the
unit's radius, health and shield bars, an outline around selected units, the camera box, and a
header line with map, game time and score.

Drawing uses pygame `Surface`s (software rendering, no window and no display needed; the SDL video
driver is never initialised for `render_rgb`). pygame is already a dependency for the live window,
so one drawing path serves both `render_rgb` and `LiveViewer`, and it gives anti-aliased circles and
a bundled font for the header (numpy-only drawing would need a hand-written font and rasteriser).

Example:
    >>> from sc2agents.envs.sim.engine import SimEngine  # doctest: +SKIP
    >>> engine = SimEngine("MoveToBeacon")  # doctest: +SKIP
    >>> frame = render_rgb(engine, size=256)  # doctest: +SKIP
    >>> frame.shape, frame.dtype  # doctest: +SKIP
    ((256, 256, 3), dtype('uint8'))
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = [
    "LiveViewer",
    "MapProjection",
    "VideoWriter",
    "projection",
    "render_rgb",
    "view_rect",
    "write_video",
]

# pygame prints a banner on import unless told not to; set before the (lazy) import.
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

# Raw SC2 unit type ids (pysc2_evolved.lib.units) of the units the minigames use.
_MARINE, _MARAUDER, _SCV = 48, 51, 45
_ZERGLING, _BANELING, _ROACH, _HYDRALISK = 105, 9, 110, 107
_ZEALOT, _STALKER = 73, 74
_BEACON, _MINERAL_SHARD = (
    317,
    1680,
)  # the minigames' neutral units (sim.units.BEACON / MINERAL_SHARD)

_GLYPHS: dict[int, str] = {
    _MARINE: "circle",
    _MARAUDER: "square",
    _SCV: "circle",
    _ZERGLING: "triangle",
    _BANELING: "dot",
    _ROACH: "square",
    _HYDRALISK: "diamond",
    _ZEALOT: "triangle",
    _STALKER: "diamond",
}
"""Glyph per unit type; neutral units are drawn as a ring (beacon) or a diamond (shard)."""

COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (18, 20, 24),
    "map": (58, 64, 74),
    "grid": (72, 79, 91),
    "self": (64, 200, 72),
    "enemy": (232, 64, 52),
    "beacon": (255, 210, 40),
    "shard": (70, 200, 255),
    "gas": (0, 160, 170),
    "outline": (15, 17, 20),
    "neutral": (200, 200, 200),
    "selected": (255, 255, 255),
    "camera": (255, 255, 255),
    "health": (60, 220, 60),
    "health_low": (230, 60, 40),
    "health_bg": (60, 20, 20),
    "shield": (80, 150, 255),
    "text": (235, 235, 235),
    "header": (0, 0, 0),
}
"""Palette: ``self`` is the observing player, ``enemy`` any other player."""

_NEUTRAL_OWNER = 16
_DEFAULT_CAMERA_WIDTH = 24.0  # pysc2 AgentInterfaceFormat's default camera_width_world_units.


@dataclasses.dataclass(frozen=True)
class MapProjection:
    """Maps world coordinates (map cells) to pixels of a rendered frame.

    The map keeps its aspect ratio and sits below a header band of ``header`` pixels. World ``y``
    grows downwards on screen, as in PySC2's feature layers (row = y).
    """

    size: int
    header: int
    scale: float  # pixels per map cell
    offset_x: float
    offset_y: float

    def to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """``[..., 2]`` world (x, y) -> ``[..., 2]`` float pixel (column, row)."""
        xy = np.asarray(xy, dtype=np.float64)
        return np.stack(
            [self.offset_x + xy[..., 0] * self.scale, self.offset_y + xy[..., 1] * self.scale],
            axis=-1,
        )


def projection(view: tuple[float, ...], size: int) -> MapProjection:
    """The `MapProjection` `render_rgb` uses at ``size`` px.

    Args:
        view: the world rectangle to show, ``(x0, y0, x1, y1)``, or a map size ``(w, h)`` for
            the whole map.
        size: frame side in pixels.
    """
    if size < 32:
        raise ValueError(f"render size must be at least 32 pixels, got {size}")
    x0, y0, x1, y1 = (0.0, 0.0, *view) if len(view) == 2 else view
    w, h = float(x1) - float(x0), float(y1) - float(y0)
    if w <= 0 or h <= 0:
        raise ValueError(f"render: empty view rectangle {view}")
    header = max(12, size // 24)
    scale = min(size / w, (size - header) / h)
    off_x = (size - w * scale) / 2.0 - float(x0) * scale
    off_y = header + (size - header - h * scale) / 2.0 - float(y0) * scale
    return MapProjection(size, header, scale, off_x, off_y)


def view_rect(engine: Any) -> tuple[float, float, float, float]:
    """World rectangle `render_rgb` draws: the playable area plus one cell (or the whole map)."""
    map_w, map_h = _map_size(engine)
    playable = _scenario_attr(engine, ("playable",), None)
    if playable is None:
        return 0.0, 0.0, map_w, map_h
    x0, y0, x1, y1 = (float(v) for v in playable)
    return max(0.0, x0 - 1), max(0.0, y0 - 1), min(map_w, x1 + 1), min(map_h, y1 + 1)


def _pygame() -> Any:
    try:
        import pygame  # lazy: keeps `import sc2agents.envs` cheap
        import pygame.gfxdraw  # noqa: F401  (submodule, not imported by `import pygame`)
    except ImportError as e:
        raise ImportError(
            f"rendering simulator games needs pygame ({e}); pip install 'pygame>=2.5' "
            "(or the sc2agents[viz] extra)"
        ) from e

    return pygame


_FONTS: dict[int, Any] = {}


def _font(px: int) -> Any:
    pg = _pygame()
    if not pg.font.get_init():
        pg.font.init()
    if px not in _FONTS:
        _FONTS[px] = pg.font.Font(None, px)  # pygame's bundled default font
    return _FONTS[px]


def _scenario_attr(engine: Any, names: Iterable[str], default: Any) -> Any:
    scenario = getattr(engine, "scenario", None)
    for name in names:
        for obj in (scenario, engine):
            if obj is not None and getattr(obj, name, None) is not None:
                return getattr(obj, name)
    return default


def _map_size(engine: Any) -> tuple[float, float]:
    ms = _scenario_attr(engine, ("map_size",), None)
    if ms is None:
        ms = getattr(engine.state, "map_size", None)
    if ms is None:
        raise ValueError("engine has no scenario.map_size; cannot project the map")
    return float(ms[0]), float(ms[1])


def _camera_size(engine: Any, map_w: float, map_h: float) -> tuple[float, float]:
    """World extent (w, h) the screen shows around the camera centre."""
    cam = _scenario_attr(engine, ("camera_size", "camera_width", "camera_width_world_units"), None)
    if cam is None:
        cam = _DEFAULT_CAMERA_WIDTH
    if np.ndim(cam) == 0:
        cam = (float(cam), float(cam))
    return min(float(cam[0]), map_w), min(float(cam[1]), map_h)


def _score(engine: Any, env: int, player: int) -> float | None:
    """The episode score so far, from whichever field the engine keeps it in."""
    state = engine.state
    for name in ("score", "episode_return", "score_cumulative"):
        value = getattr(state, name, None) if state is not None else None
        if value is None:
            value = getattr(engine, name, None)
        if value is None:
            continue
        arr = np.asarray(value)
        try:
            if arr.ndim == 1:
                return float(arr[env])
            if arr.ndim == 2:
                # [P, N] per player, or [N, fields] with the score first (pysc2 score_cumulative).
                if name == "score_cumulative":
                    return float(arr[env, 0])
                return float(arr[player, env])
            if arr.ndim == 3:
                return float(arr[player, env, 0])
        except IndexError:
            continue
    return None


def _neutral_ids(*words: str) -> frozenset[int]:
    from pysc2_evolved.lib import units as sc2_units

    return frozenset(int(u) for u in sc2_units.Neutral if any(w in u.name for w in words))


_MINERALS = _neutral_ids("MineralField")
_GEYSERS = _neutral_ids("Geyser")


def _unit_colour(
    owner: int, unit_type: int, radius: float, player: int, structure: bool = False
) -> tuple[str, str]:
    """(colour key, glyph) of one unit."""
    if owner == _NEUTRAL_OWNER:
        if unit_type == _BEACON:
            return "beacon", "ring"
        if unit_type == _MINERAL_SHARD or unit_type in _MINERALS:
            return "shard", "diamond"
        if unit_type in _GEYSERS:
            return "gas", "square"
        # Other neutral units: big ones read as beacons, small ones as shards.
        return ("beacon", "ring") if radius >= 0.9 else ("shard", "diamond")
    key = "self" if owner == player + 1 else "enemy"
    if structure:
        return key, "square"
    return key, _GLYPHS.get(int(unit_type), "circle")


def _structures(state: Any, env: int, idx: np.ndarray) -> np.ndarray:
    """Per unit: True for a building (`sim.units.TABLE.structure`); False when unknown."""
    type_idx = getattr(state, "type_idx", None)
    if type_idx is None:
        return np.zeros(len(idx), dtype=bool)
    try:
        from sc2agents.envs.sim import units as sim_units
    except ImportError:  # pragma: no cover - the renderer is part of the simulator package
        return np.zeros(len(idx), dtype=bool)
    return np.asarray(sim_units.TABLE.structure)[np.asarray(type_idx[env])[idx]].astype(bool)


def _disc(pg: Any, surf: Any, colour: tuple, cx: float, cy: float, r: float) -> None:
    # gfxdraw fills exactly the pixels within r of the (rounded) centre; pygame.draw.circle
    # truncates float centres, which shifts small units by up to a pixel.
    x, y, ri = int(round(cx)), int(round(cy)), max(1, int(round(r)))
    pg.gfxdraw.aacircle(surf, x, y, ri, colour)
    pg.gfxdraw.filled_circle(surf, x, y, ri, colour)


def _ring(pg: Any, surf: Any, colour: tuple, cx: float, cy: float, r: float, width: int) -> None:
    x, y, ri = int(round(cx)), int(round(cy)), max(1, int(round(r)))
    for k in range(width):
        if ri - k > 0:
            pg.gfxdraw.aacircle(surf, x, y, ri - k, colour)
            pg.gfxdraw.circle(surf, x, y, ri - k, colour)


def _draw_glyph(pg: Any, surf: Any, glyph: str, colour: tuple, cx: float, cy: float, r: float):
    r = max(r, 2.0)
    if glyph == "circle":
        _disc(pg, surf, colour, cx, cy, r)
    elif glyph == "dot":  # baneling: a disc with a bright core
        _disc(pg, surf, colour, cx, cy, r)
        _disc(pg, surf, (250, 240, 120), cx, cy, max(1.0, r * 0.45))
    elif glyph == "ring":
        _ring(pg, surf, colour, cx, cy, r, max(2, int(r * 0.3)))
        _disc(pg, surf, colour, cx, cy, max(1.0, r * 0.25))
    elif glyph == "square":
        pg.draw.rect(surf, colour, pg.Rect(cx - r * 0.9, cy - r * 0.9, 1.8 * r, 1.8 * r))
    elif glyph == "triangle":
        pg.draw.polygon(
            surf, colour, [(cx, cy - r), (cx - r, cy + 0.8 * r), (cx + r, cy + 0.8 * r)]
        )
    elif glyph == "diamond":
        pg.draw.polygon(surf, colour, [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)])
    else:  # pragma: no cover - table above is closed
        raise ValueError(f"unknown glyph {glyph!r}")


def _draw_bar(pg: Any, surf: Any, x: float, y: float, w: float, frac: float, colour: tuple):
    h = max(2, int(round(w / 8)))
    pg.draw.rect(surf, COLOURS["health_bg"], pg.Rect(int(x), int(y), int(round(w)), h))
    fill = int(round(w * float(np.clip(frac, 0.0, 1.0))))
    if fill > 0:
        pg.draw.rect(surf, colour, pg.Rect(int(x), int(y), fill, h))


def draw_surface(engine: Any, env: int = 0, player: int = 0, size: int = 512) -> Any:
    """Draw one game onto a new ``size`` x ``size`` pygame `Surface` (see `render_rgb`)."""
    pg = _pygame()
    state = engine.state
    num_envs = int(np.asarray(state.alive).shape[0])
    if not 0 <= env < num_envs:
        raise ValueError(f"render: env {env} outside [0, {num_envs})")
    map_w, map_h = _map_size(engine)
    proj = projection(view_rect(engine), size)
    surf = pg.Surface((size, size))
    surf.fill(COLOURS["background"])

    # Playable area with a faint grid every 4 cells, so distances read at a glance.
    playable = _scenario_attr(engine, ("playable",), None) or (0.0, 0.0, map_w, map_h)
    x0, y0 = proj.to_pixel(np.asarray(playable[:2], dtype=np.float64))
    x1, y1 = proj.to_pixel(np.asarray(playable[2:], dtype=np.float64))
    pg.draw.rect(surf, COLOURS["map"], pg.Rect(x0, y0, x1 - x0, y1 - y0))
    for gx in np.arange(np.ceil(playable[0] / 4) * 4, playable[2], 4.0):
        px = proj.to_pixel(np.array([gx, 0.0]))[0]
        pg.draw.line(surf, COLOURS["grid"], (px, y0), (px, y1 - 1))
    for gy in np.arange(np.ceil(playable[1] / 4) * 4, playable[3], 4.0):
        py = proj.to_pixel(np.array([0.0, gy]))[1]
        pg.draw.line(surf, COLOURS["grid"], (x0, py), (x1 - 1, py))

    full = proj.to_pixel(np.array([[0.0, 0.0], [map_w, map_h]]))
    _draw_fog(pg, surf, engine, env, player, proj, (*full[0], *full[1]))

    alive = np.asarray(state.alive[env], dtype=bool)
    idx = np.flatnonzero(alive)
    pos = np.asarray(state.pos[env])[idx]
    owner = np.asarray(state.owner[env])[idx].astype(int)
    utype = np.asarray(state.unit_type[env])[idx].astype(int)
    radius = np.asarray(state.radius[env])[idx].astype(float)
    health = np.asarray(state.health[env])[idx].astype(float)
    health_max = np.asarray(state.health_max[env])[idx].astype(float)
    shield = np.asarray(getattr(state, "shield", np.zeros_like(state.health))[env])[idx]
    shield_max = np.asarray(getattr(state, "shield_max", np.zeros_like(state.health))[env])[idx]
    selected = getattr(state, "selected", None)
    sel = (
        np.asarray(selected[player, env])[idx].astype(bool)
        if selected is not None
        else np.zeros(len(idx), dtype=bool)
    )
    structure = _structures(state, env, idx)
    pix = proj.to_pixel(pos)
    # Neutral units (beacons, shards) first, then buildings, so armies are drawn on top.
    order = np.lexsort((~structure, owner != _NEUTRAL_OWNER))
    for k in order:
        cx, cy = float(pix[k, 0]), float(pix[k, 1])
        # Glyphs keep a minimum size so that small units stay visible in small frames.
        r = max(float(radius[k]) * proj.scale, 2.5, size / 160)
        key, glyph = _unit_colour(owner[k], utype[k], radius[k], player, bool(structure[k]))
        if sel[k]:
            _ring(pg, surf, COLOURS["selected"], cx, cy, r + 2.0, 2)
        if glyph in ("circle", "dot") and not structure[k]:
            _disc(pg, surf, COLOURS["outline"], cx, cy, r + 1.0)  # separates overlapping units
        _draw_glyph(pg, surf, glyph, COLOURS[key], cx, cy, r)
        if owner[k] != _NEUTRAL_OWNER and health_max[k] > 0:
            w = max(2.0 * r, 6.0)
            bx, by = cx - w / 2, cy - max(r, 2.0) - max(3.0, w / 4)
            frac = health[k] / health_max[k]
            colour = COLOURS["health"] if frac > 0.35 else COLOURS["health_low"]
            _draw_bar(pg, surf, bx, by, w, frac, colour)
            if shield_max[k] > 0:
                _draw_bar(pg, surf, bx, by - max(2, int(round(w / 8))) - 1, w,
                          shield[k] / shield_max[k], COLOURS["shield"])  # fmt: skip

    # Camera box: the world rectangle the feature screen shows.
    cam = getattr(state, "camera", None)
    if cam is not None:
        cw, ch = _camera_size(engine, map_w, map_h)
        centre = np.asarray(cam[player, env], dtype=np.float64)
        tl = proj.to_pixel(centre - [cw / 2, ch / 2])
        br = proj.to_pixel(centre + [cw / 2, ch / 2])
        pg.draw.rect(
            surf, COLOURS["camera"],
            pg.Rect(int(round(tl[0])), int(round(tl[1])),
                    int(round(br[0] - tl[0])), int(round(br[1] - tl[1]))),
            width=1,
        )  # fmt: skip

    # Header: map, game time, score.
    pg.draw.rect(surf, COLOURS["header"], pg.Rect(0, 0, size, proj.header))
    name = _scenario_attr(engine, ("name", "map_name"), "sim")
    loop = int(np.asarray(state.game_loop)[env])
    # Real-time seconds at "faster" (SC2's clock); the loop counter shows the map's time limit.
    limit = getattr(engine, "time_limit_loops", None)
    text = f"{name}   t={loop / 22.4:.1f}s   loop={loop}" + (f"/{limit}" if limit else "")
    score = _score(engine, env, player)
    if score is not None:
        text += f"   score={score:g}"
    label = _font(max(10, proj.header + 2)).render(text, True, COLOURS["text"])
    surf.blit(label, (4, max(0, (proj.header - label.get_height()) // 2 + 1)))
    return surf


def _draw_fog(pg: Any, surf: Any, engine: Any, env: int, player: int, proj: MapProjection,
              box: tuple[float, float, float, float]) -> None:  # fmt: skip
    """Darken never-seen cells and dim fogged ones (per-cell ``state.visibility``).

    Drawn under the units: the picture is an observer's view, so hidden enemies stay visible.
    """
    vis = getattr(engine.state, "visibility", None)
    if vis is None or _scenario_attr(engine, ("fog",), True) is False:
        return
    if player >= np.shape(vis)[0]:
        return
    v = np.asarray(vis[player, env])
    if v.ndim != 2 or not (v == 2).any():
        return  # no visibility computed (fog off): draw nothing
    alpha = np.choose(np.clip(v, 0, 2), [170, 90, 0]).astype(np.uint8)  # hidden, seen, visible
    h, w = v.shape
    fog = pg.Surface((w, h), pg.SRCALPHA)
    pg.surfarray.pixels_alpha(fog)[:] = alpha.T  # the temporary view unlocks at once
    x0, y0, x1, y1 = box
    size = (max(1, int(round(x1 - x0))), max(1, int(round(y1 - y0))))
    surf.blit(pg.transform.scale(fog, size), (int(round(x0)), int(round(y0))))


def surface_to_array(surf: Any) -> np.ndarray:
    """A pygame `Surface` as a ``uint8 [H, W, 3]`` array."""
    pg = _pygame()
    w, h = surf.get_size()
    # tobytes gives row-major RGB directly (surfarray.array3d is column-major: 5x slower here).
    return np.frombuffer(pg.image.tobytes(surf, "RGB"), dtype=np.uint8).reshape(h, w, 3).copy()


def render_rgb(engine: Any, env: int = 0, player: int = 0, size: int = 512) -> np.ndarray:
    """Render game ``env`` of ``engine`` as seen by ``player`` to ``uint8 [size, size, 3]``.

    Args:
        engine: a `SimEngine` (anything with ``state`` as in `SimState` and ``scenario.map_size``).
        env: which of the engine's games to draw.
        player: whose point of view: colours (self / enemy), selection outline and camera box.
        size: side of the square picture in pixels.

    Returns:
        The picture; pixel (row, column) of world point (x, y) is `projection`'s ``to_pixel``.
    """
    return surface_to_array(draw_surface(engine, env, player, size))


class LiveViewer:
    """A pygame window that shows frames as they come (``play --visualize``).

    Args:
        size: window side in pixels (frames of another size are scaled).
        title: window title.
        fps: cap on frames per second (0: as fast as frames come).
        allow_offscreen: accept SDL's ``dummy``/``offscreen`` video driver (tests only: nothing
            is shown).

    Raises:
        RuntimeError: when no display exists (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux), with
            the advice to write a video instead.
    """

    def __init__(
        self,
        size: int = 512,
        title: str = "sc2agents",
        fps: float = 0.0,
        *,
        allow_offscreen: bool = False,
    ) -> None:
        if allow_offscreen and os.environ.get("SDL_VIDEODRIVER") in ("dummy", "offscreen"):
            pass  # tests: SDL draws into memory, no display needed
        elif sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise RuntimeError(
                "--visualize needs a display, but neither DISPLAY nor WAYLAND_DISPLAY is set "
                "(a headless machine or an ssh session without X forwarding). Write a video "
                "instead, e.g. --video=out/game.mp4 (or .gif)."
            )
        elif os.environ.get("SDL_VIDEODRIVER") in ("dummy", "offscreen"):
            raise RuntimeError(
                f"--visualize cannot open a window with SDL_VIDEODRIVER="
                f"{os.environ['SDL_VIDEODRIVER']}; unset it, or write a video with --video=out.mp4."
            )
        pg = _pygame()
        try:
            pg.display.init()
            self._screen = pg.display.set_mode((size, size))
        except pg.error as e:
            raise RuntimeError(
                f"--visualize could not open a window ({e}); write a video with --video=out.mp4"
            ) from e
        pg.display.set_caption(title)
        self._clock = pg.time.Clock()
        self._fps = fps
        self.closed = False

    def show(self, frame: np.ndarray) -> bool:
        """Show one ``uint8 [H, W, 3]`` frame; returns False once the user closed the window."""
        if self.closed:
            return False
        pg = _pygame()
        for event in pg.event.get():
            if event.type == pg.QUIT:
                self.close()
                return False
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        surf = pg.image.frombuffer(frame.tobytes(), (frame.shape[1], frame.shape[0]), "RGB")
        if surf.get_size() != self._screen.get_size():
            surf = pg.transform.smoothscale(surf, self._screen.get_size())
        self._screen.blit(surf, (0, 0))
        pg.display.flip()
        if self._fps:
            self._clock.tick(self._fps)
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            _pygame().display.quit()


class VideoWriter:
    """Streams frames to an MP4 (imageio-ffmpeg) or GIF (Pillow) file chosen by extension.

    Frames are written as they come, so long games do not pile up in memory. Parent directories
    are created.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 10.0) -> None:
        import imageio.v2 as iio  # lazy: imageio pulls in Pillow

        self.path = pathlib.Path(path)
        ext = self.path.suffix.lower()
        if ext not in (".mp4", ".gif", ".mov", ".avi", ".webm", ".mkv"):
            raise ValueError(f"video {self.path}: unsupported extension {ext!r}; use .mp4 or .gif")
        if fps <= 0:
            raise ValueError(f"video {self.path}: fps must be positive, got {fps}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.num_frames = 0
        if ext == ".gif":
            # Pillow's GIF writer takes a per-frame duration in milliseconds; loop=0 repeats.
            self._writer = iio.get_writer(self.path, mode="I", duration=1000.0 / fps, loop=0)
        else:
            # macro_block_size=2: yuv420p needs even sides; other sizes are kept (no resize to 16).
            self._writer = iio.get_writer(
                self.path, fps=fps, codec="libx264", quality=7, macro_block_size=2,
                pixelformat="yuv420p" if ext == ".mp4" else None,
            )  # fmt: skip

    def append(self, frame: np.ndarray) -> None:
        frame = np.asarray(frame)
        if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
            raise ValueError(
                f"video {self.path}: frames must be uint8 [H, W, 3], "
                f"got {frame.dtype} {frame.shape}"
            )
        self._writer.append_data(frame)
        self.num_frames += 1

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_video(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float = 10.0) -> int:
    """Write ``uint8 [H, W, 3]`` frames to ``path`` (MP4 or GIF by extension); returns the count."""
    with VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.append(frame)
        return writer.num_frames
