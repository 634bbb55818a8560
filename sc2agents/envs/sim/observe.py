"""Feature layers and structured observations of the simulator, in PySC2's format.

`Observer` renders ``feature_screen`` ``[N, 27, S, S]`` and ``feature_minimap`` ``[N, 11, M, M]``
(int32, PySC2's layer order, taken from `sc2agents.envs.features`, never hard-coded) for all games
at once. It is built for speed:

* Buffers persist between steps. Each channel is a contiguous 1-D block of ``N*S*S + 1`` values
  whose last element is a "trash" pixel that absorbs writes falling off the screen; the
  ``[N, C, S, S]`` array users see is a strided view of those blocks (no copy).
* Static layers (height_map, pathable, buildable, visibility without fog) are written once and
  again only for games whose camera moved; layers no mini-game uses (creep, power, effects, buffs,
  ...) are never touched (zero, as in PySC2).
* Unit layers are cleared by writing zeros at the pixels written the previous frame, then drawn by
  one fancy-index scatter per channel over all units of all games: every unit type has a
  precomputed disc stencil (pixel offsets and anti-aliasing weights) at the screen's scale.

`Observer.render_storage` renders the same observation directly in the storage form of
`features.observation_to_storage` (uint8 layers, uint16 dense ``unit_type``, log-quantised scalar
layers) into its own preallocated contiguous buffers (`StorageBuffers`), with the same
incremental scheme (only unit footprints are cleared and redrawn; static layers are written when
the camera moves; unused layers stay zero). Each unit's values are converted once per unit with
lookup tables computed from `features.layer_to_storage` itself, so the two forms cannot disagree.
The int32 and storage buffers are independent: either, or both, may be rendered.

Where numba is installed (`dynamics.jit_enabled`), the storage render, `Observer.visible_units`
and `player_vector` run as the kernels of `observe_jit` (the same bytes; this module's numpy code
is the reference, ``SC2AGENTS_SIM_JIT=0`` runs it).

Screen geometry follows PySC2 (`features.Features.init_camera`): the screen shows a square
``camera_width`` cells wide (24 by default) centred on the camera; the minimap shows the whole map,
``M / max(map_w, map_h)`` pixels per cell.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.lib.stride_tricks import as_strided

from sc2agents.envs import features
from sc2agents.envs.sim import dynamics, observe_jit, units
from sc2agents.envs.sim.scenarios import Scenario
from sc2agents.envs.sim.state import NEUTRAL, SimState

__all__ = ["Observer", "StorageBuffers", "disc_stencil"]

_S = {name: spec.index for name, spec in features.SCREEN.items()}
_M = {name: spec.index for name, spec in features.MINIMAP.items()}
_NUM_S = len(features.SCREEN_LAYERS)
_NUM_M = len(features.MINIMAP_LAYERS)
# Unit layers redrawn every frame.
_SCREEN_UNIT_LAYERS = (
    "player_id",
    "player_relative",
    "unit_type",
    "selected",
    "unit_hit_points",
    "unit_hit_points_ratio",
    "unit_energy",
    "unit_energy_ratio",
    "unit_shields",
    "unit_shields_ratio",
    "unit_density",
    "unit_density_aa",
)
_MINIMAP_UNIT_LAYERS = ("player_id", "player_relative", "selected", "unit_type")

# Storage form: channel of each layer in the uint8 ``layers`` arrays (unit_type removed).
_STORE_S = features.storage_channels(features.SCREEN_LAYERS)
_STORE_M = features.storage_channels(features.MINIMAP_LAYERS)
_SC = {spec.name: i for i, spec in enumerate(_STORE_S)}
_MC = {spec.name: i for i, spec in enumerate(_STORE_M)}
# The terrain layers drawn under the camera and their storage channels on the screen.
_TERRAIN = ("height_map", "pathable", "buildable")
_TERRAIN_CHANS = np.array([_SC[name] for name in _TERRAIN], np.int64)


def _storage_lut(spec: features.LayerSpec) -> np.ndarray:
    """uint8 table with ``lut[clip(x, 0, len - 1)] == features.layer_to_storage(spec, x)``.

    Exact for every integer ``x``: below 0 both give 0; past the table's end both give 255 (a
    log-quantised layer reaches 255 at ``scale``, a plain one at 255).
    """
    if spec.name in ("unit_type", "buffs"):
        raise ValueError(f"_storage_lut: {spec.name} is a vocabulary, not a scalar layer")
    hi = spec.scale + 1 if spec.log_quantised else 256
    return features.layer_to_storage(spec, np.arange(hi + 1, dtype=np.int64)).astype(np.uint8)


_LUT_S = {name: _storage_lut(features.SCREEN[name]) for name in _SC if name != "buffs"}
_LUT_M = {name: _storage_lut(features.MINIMAP[name]) for name in _MC}
# Layers whose screen and minimap storage tables agree (their per-unit values are shared).
_SAME_LUT = frozenset(k for k in _LUT_M if k in _LUT_S and np.array_equal(_LUT_S[k], _LUT_M[k]))
# Dense unit-type index of every raw id (one past the largest: 0, unknown), as unit_type_index.
_UNIT_LUT = features.unit_type_index(np.arange(max(features.UNIT_TYPE_VOCAB) + 2)).astype(np.uint16)


def disc_stencil(
    radius_px: float, supersample: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pixels covered by a disc of ``radius_px`` centred in a pixel.

    Returns:
        ``(dy, dx, aa)``: int offsets of the covered pixels and their anti-aliased coverage weight
        in [1, 16] (16 = fully covered), the ``unit_density_aa`` contribution. A disc smaller than
        a pixel still covers its centre pixel.
    """
    r = max(float(radius_px), 1e-3)
    rr = int(np.ceil(r + 0.5))
    offs = np.arange(-rr, rr + 1)
    sub = (np.arange(supersample) + 0.5) / supersample - 0.5
    dy, dx, aa = [], [], []
    for oy in offs:
        for ox in offs:
            py = oy + sub[:, None]
            px = ox + sub[None, :]
            cover = float(((px * px + py * py) <= r * r).mean())
            centre_in = (ox * ox + oy * oy) <= r * r
            if centre_in or (ox == 0 and oy == 0):
                dy.append(oy)
                dx.append(ox)
                aa.append(max(1, int(round(16 * max(cover, 1.0 / 16)))))
    return np.array(dy, np.int64), np.array(dx, np.int64), np.array(aa, np.int32)


@dataclasses.dataclass
class _Stencils:
    dy: np.ndarray  # [T, L]
    dx: np.ndarray
    aa: np.ndarray  # 0 for padding
    valid: np.ndarray  # bool [T, L]
    reach: float  # max stencil extent in pixels
    length: np.ndarray  # int [T] covered pixels per type (valid entries come first)


def _stencils(px_per_cell: float, min_radius_px: float = 0.0) -> _Stencils:
    parts = [disc_stencil(max(float(r) * px_per_cell, min_radius_px)) for r in units.TABLE.radius]
    length = max(p[0].size for p in parts)
    t = len(parts)
    dy = np.zeros((t, length), np.int64)
    dx = np.zeros((t, length), np.int64)
    aa = np.zeros((t, length), np.int32)
    valid = np.zeros((t, length), bool)
    for i, (a, b, c) in enumerate(parts):
        dy[i, : a.size], dx[i, : a.size], aa[i, : a.size], valid[i, : a.size] = a, b, c, True
    reach = float(max(np.abs(dy).max(), np.abs(dx).max()) + 1)
    return _Stencils(dy, dx, aa, valid, reach, valid.sum(axis=1))


def _pixels(
    sten: _Stencils,
    ni: np.ndarray,
    t: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    size: int,
    want_aa: bool,
    stride: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, int]:
    """Flat pixel indices covered by units (game ``ni``, type ``t``, position ``px, py``).

    A game's pixels start at ``game * stride`` (default ``size * size``: one image per game).

    Units are processed in a few buckets of similar stencil size, so that a marine is not padded
    to the pixel count of a command center. Returns ``(flat, rep, aa, units_drawn)``: pixel
    index, its unit's row, its anti-aliased coverage (when ``want_aa``) and how many units have
    at least one pixel on the image.
    """
    cx = np.floor(px).astype(np.int64)
    cy = np.floor(py).astype(np.int64)
    gs = size * size if stride is None else stride
    # Units whose stencil cannot reach the image (most of a big map, off the screen) are dropped
    # first; the pixels and their order are the same as without this cut.
    r = int(sten.reach)
    near = (cx > -r) & (cx < size + r) & (cy > -r) & (cy < size + r)
    keep = None
    if not near.all():
        keep = np.flatnonzero(near)
        if keep.size == 0:
            e = np.zeros(0, np.int64)
            return e, e, (np.zeros(0, np.int32) if want_aa else None), 0
        ni, t, cx, cy = ni[keep], t[keep], cx[keep], cy[keep]
    length = sten.length[t]
    longest = int(length.max())
    flats, reps, aas = [], [], []
    n_drawn = 0
    lo = 0
    for hi in _BUCKETS:
        if lo == 0 and longest <= hi:
            sel = np.arange(t.size)  # all units in the first bucket that fits: no split
        else:
            sel = np.flatnonzero((length > lo) & (length <= hi))
        lo = hi
        if sel.size == 0:
            continue
        ts = t[sel]
        lmax = int(length[sel].max())
        yy = cy[sel, None] + sten.dy[ts, :lmax]
        xx = cx[sel, None] + sten.dx[ts, :lmax]
        ok = sten.valid[ts, :lmax] & (yy >= 0) & (yy < size) & (xx >= 0) & (xx < size)
        flats.append((ni[sel, None] * gs + yy * size + xx)[ok])
        rows, _ = np.nonzero(ok)
        reps.append(sel[rows])
        if want_aa:
            aas.append(sten.aa[ts, :lmax][ok])
        n_drawn += int(np.count_nonzero(ok.any(axis=1)))
        if lo >= longest:
            break
    if len(flats) == 1:
        rep = reps[0]
        flat, aa = flats[0], (aas[0] if want_aa else None)
    else:
        flat, rep = np.concatenate(flats), np.concatenate(reps)
        aa = np.concatenate(aas) if want_aa else None
    if keep is not None:
        rep = keep[rep]  # rows of the caller's arrays
    return flat, rep, aa, n_drawn


# Stencil-size buckets (pixels): small units, medium, buildings, the rest.
_BUCKETS = (16, 64, 256, 1 << 30)
_BUCKET_ARRAY = np.array(_BUCKETS, np.int64)
# The unit value layers in `Observer._unit_values` order (unit_type apart) and their storage
# tables, padded with their last entry (so clipping to the padded length clips each table).
_VALUE_LAYERS = (
    "player_id",
    "player_relative",
    "selected",
    "unit_hit_points",
    "unit_hit_points_ratio",
    "unit_energy",
    "unit_energy_ratio",
    "unit_shields",
    "unit_shields_ratio",
)


def _padded(tables: list[np.ndarray]) -> np.ndarray:
    out = np.empty((len(tables), max(t.size for t in tables)), np.uint8)
    for i, t in enumerate(tables):
        out[i, : t.size] = t
        out[i, t.size :] = t[-1]
    return out


_NO_EMAX = np.zeros((0, 0), np.float32)
_VALUE_LUT_S = _padded([_LUT_S[name] for name in _VALUE_LAYERS])
_VALUE_LUT_M = _padded([_LUT_M[name] for name in _VALUE_LAYERS[:3]])
_NO_UT = np.zeros(0, np.uint16)
_NO_IDX = np.zeros(0, np.int64)
# The value layers the numba render draws (with energy, with shields) and on the minimap.
_JIT_ROWS = {
    (e, sh): _VALUE_LAYERS[:5] + _VALUE_LAYERS[5:6] * e + _VALUE_LAYERS[7:9] * sh
    for e in (False, True)
    for sh in (False, True)
}
_JIT_ROWS_M = _VALUE_LAYERS[:3]
# Both density layers store the raw value clipped to 255 (plain uint8 layers): the numba render
# then counts them in place (`observe_jit.draw_storage_kernel`).
_DENSITY_DIRECT = all(
    np.array_equal(_LUT_S[k], np.minimum(np.arange(_LUT_S[k].size), 255))
    for k in ("unit_density", "unit_density_aa")
)


class _LayerStack:
    """``C`` channels of ``N`` images ``[H, W]``, each channel a 1-D block with a trash pixel."""

    def __init__(self, channels: int, n: int, size: int) -> None:
        self.size = size
        self.plane = n * size * size
        self.block = self.plane + 1
        self.trash = self.plane
        # np.full, not np.zeros: write every page now, so that scattering into a fresh page later
        # does not page-fault in the step path (the buffers reach 100+ MB at 256 games).
        self.flat = np.full(channels * self.block, 0, np.int32)
        item = self.flat.itemsize
        self.view = as_strided(
            self.flat,
            shape=(n, channels, size, size),
            strides=(size * size * item, self.block * item, size * item, item),
            writeable=False,
        )
        self.prev: np.ndarray = np.zeros(0, np.int64)
        self.drawn: list[int] = []  # channels holding unit pixels at `prev`

    def chan(self, c: int) -> np.ndarray:
        return self.flat[c * self.block : (c + 1) * self.block]

    def images(self, c: int) -> np.ndarray:
        """Writable ``[N, H, W]`` view of channel ``c``."""
        return self.chan(c)[: self.plane].reshape(-1, self.size, self.size)


class StorageBuffers:
    """The storage-form feature layers of ``N`` games, updated in place by `Observer`.

    Attributes:
        screen: uint8 ``[N, 26, S, S]`` (channels `features.storage_channels` of the screen).
        screen_unit_type: uint16 ``[N, S, S]`` dense unit-type index.
        minimap: uint8 ``[N, 10, M, M]``.
        minimap_unit_type: uint16 ``[N, M, M]`` (zero unless cheating layers are allowed).
        drawn_units: units drawn last render (screen, minimap), for benchmarks.
        unit_pixels: unit pixels drawn last render (screen, minimap), for benchmarks.
    """

    def __init__(self, n: int, s: int, m: int) -> None:
        # np.full, not np.zeros: every page is written now, not page-faulted in the step path.
        self.screen = np.full((n, len(_STORE_S), s, s), 0, np.uint8)
        self.screen_unit_type = np.full((n, s, s), 0, np.uint16)
        self.minimap = np.full((n, len(_STORE_M), m, m), 0, np.uint8)
        self.minimap_unit_type = np.full((n, m, m), 0, np.uint16)
        self.drawn_camera = np.full((n, 2), np.nan, np.float32)
        # Fog: map cell under each screen pixel per game (`Observer._storage_fog`).
        self.fog_index: np.ndarray | None = None
        self.fog_ok = self.fog_camera = self.fog_tmp = np.zeros(0)
        self.drawn_units = [0, 0]
        self.unit_pixels = [0, 0]
        # Scratch for the unit density (values do not matter between renders).
        self.stamp = np.full(n * s * s, 0, np.int32)
        self.ids = np.arange(0, dtype=np.int32)
        # Last frame's unit pixels: (layers index at channel 0, unit_type index, channels drawn).
        empty = np.zeros(0, np.int64)
        self.prev: list[tuple[np.ndarray, np.ndarray, list[int]]] = [(empty, empty, [])] * 2
        self.prev_chans = [empty, empty]  # the channels of `prev` as an array
        self._views: dict[str, np.ndarray] | None = None  # `arrays`

    def arrays(self) -> dict[str, np.ndarray]:
        """Read-only views of the four arrays, keyed as in `features.observation_to_storage`."""
        if self._views is None:  # made once: the buffers live as long as this object
            self._views = {}
            for key in ("minimap", "minimap_unit_type", "screen", "screen_unit_type"):
                v = getattr(self, key).view()
                v.flags.writeable = False
                self._views[key] = v
        return dict(self._views)


class Observer:
    """Renders observations of one player for all games (see module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        num_envs: int,
        player: int,
        screen_size: int,
        minimap_size: int,
        camera_width: float = 24.0,
        use_feature_units: bool = False,
        allow_cheating_layers: bool = False,
        fog: bool | None = None,
    ) -> None:
        self.scenario = scenario
        self.n = int(num_envs)
        self.player = int(player)
        self.s = int(screen_size)
        self.m = int(minimap_size)
        self.cam_w = float(camera_width)
        self.use_feature_units = use_feature_units
        self.cheat = allow_cheating_layers
        # PySC2 int32 layers: made on first use (`screen` / `minimap`); the storage path never
        # needs them (they are 100+ MB at 256 games).
        self._int32: tuple[_LayerStack, _LayerStack] | None = None
        self.px_per_cell = self.s / self.cam_w
        w, h = scenario.map_size
        self.mm_per_cell = self.m / max(w, h)
        self.sten_s = _stencils(self.px_per_cell)
        # Minimap: every unit is at least one pixel, as on SC2's minimap.
        self.sten_m = _stencils(self.mm_per_cell, min_radius_px=0.3)
        terrain = scenario.static_layers()
        self.terrain = {k: v.astype(np.int32) for k, v in terrain.items()}
        self._fog = scenario.fog if fog is None else fog  # disable_fog turns a fog map's off
        self._camera_dirty = np.ones(self.n, bool)
        self.drawn_units = [0, 0]  # units drawn last render (screen, minimap), for benchmarks
        self._drawn_camera = np.full((self.n, 2), np.nan, np.float32)
        self._minimap_cells()
        # Map cells from the camera centre to each screen pixel's centre (`_screen_cells`).
        self._screen_offsets = (np.arange(self.s) + 0.5) / self.px_per_cell - self.cam_w / 2
        self.storage: StorageBuffers | None = None  # created by the first `render_storage`
        # `_draw_storage_jit`'s value rows and channels per set of layers drawn.
        self._jit_plans: dict[tuple, tuple[np.ndarray, np.ndarray, list[int]]] = {}

    @property
    def screen(self) -> _LayerStack:
        """The PySC2 int32 screen layers (allocated on first use)."""
        return self._int32_stacks()[0]

    @property
    def minimap(self) -> _LayerStack:
        """The PySC2 int32 minimap layers (allocated on first use)."""
        return self._int32_stacks()[1]

    def _int32_stacks(self) -> tuple[_LayerStack, _LayerStack]:
        if self._int32 is None:
            self._int32 = (
                _LayerStack(_NUM_S, self.n, self.s),
                _LayerStack(_NUM_M, self.n, self.m),
            )
            self._init_minimap_static()
        return self._int32

    # ------------------------------------------------------------------ static layers
    def _minimap_cells(self) -> None:
        """The map cell under each minimap pixel (shared by the int32 and storage forms)."""
        w, h = self.scenario.map_size
        centres = (np.arange(self.m) + 0.5) / self.mm_per_cell
        cy = np.floor(centres).astype(np.int64)
        cx = np.floor(centres).astype(np.int64)
        ok = (cy[:, None] < h) & (cx[None, :] < w)
        cyc, cxc = np.minimum(cy, h - 1), np.minimum(cx, w - 1)
        self._mm_cells = (cyc[:, None] * w + cxc[None, :], ok)
        self._mm_identity = bool(
            ok.all() and (w, h) == (self.m, self.m) and (cy == np.arange(self.m)).all()
        )
        self._mm_rows_cols = (cyc, cxc, ok)

    def _init_minimap_static(self) -> None:
        cyc, cxc, ok = self._mm_rows_cols
        for name in ("height_map", "pathable", "buildable"):
            img = np.where(ok, self.terrain[name][cyc[:, None], cxc[None, :]], 0)
            self.minimap.images(_M[name])[:] = img
        if not self._fog:
            self.minimap.images(_M["visibility_map"])[:] = 2
            self.screen.images(_S["visibility_map"])[:] = 2

    def mark_camera_dirty(self, env_ids: np.ndarray | None = None) -> None:
        """Re-render the camera-dependent static layers of these games at the next render."""
        if env_ids is None:
            self._camera_dirty[:] = True
        else:
            self._camera_dirty[np.asarray(env_ids)] = True

    def _screen_cells(self, cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Map-cell index ``[n, S, S]`` under each screen pixel and its in-map mask."""
        w, h = self.scenario.map_size
        off = self._screen_offsets  # [S]
        wx = np.floor(cam[:, 0:1] + off[None, :]).astype(np.int64)  # [n, S]
        wy = np.floor(cam[:, 1:2] + off[None, :]).astype(np.int64)
        okx = (wx >= 0) & (wx < w)
        oky = (wy >= 0) & (wy < h)
        ok = oky[:, :, None] & okx[:, None, :]
        cell = np.clip(wy, 0, h - 1)[:, :, None] * w + np.clip(wx, 0, w - 1)[:, None, :]
        return cell, ok

    def _render_camera_static(self, st: SimState) -> None:
        dirty = np.flatnonzero(self._camera_dirty)
        if dirty.size == 0:
            return
        self._camera_dirty[:] = False
        # Only games whose camera differs from what their static layers show.
        cam = st.camera[self.player, dirty]
        changed = (cam != self._drawn_camera[dirty]).any(axis=1)
        dirty, cam = dirty[changed], cam[changed]
        if dirty.size == 0:
            return
        self._drawn_camera[dirty] = cam
        cell, ok = self._screen_cells(cam)
        for name in ("height_map", "pathable", "buildable"):
            self.screen.images(_S[name])[dirty] = np.where(ok, self.terrain[name].ravel()[cell], 0)
        # Minimap camera box (PySC2's `camera` layer).
        half = self.cam_w / 2
        lo = np.floor((cam - half) * self.mm_per_cell).astype(np.int64)
        hi = np.ceil((cam + half) * self.mm_per_cell).astype(np.int64)
        r = np.arange(self.m)
        rows = (r[None, :] >= lo[:, 1:2]) & (r[None, :] < hi[:, 1:2])  # [n, M]
        cols = (r[None, :] >= lo[:, 0:1]) & (r[None, :] < hi[:, 0:1])
        box = rows[:, :, None] & cols[:, None, :]
        self.minimap.images(_M["camera"])[dirty] = box

    def _render_fog(self, st: SimState) -> None:
        vis = st.visibility[self.player]  # [N, H, W]
        n = self.n
        flat = vis.reshape(n, -1)
        cell, ok = self._screen_cells(st.camera[self.player])
        img = np.take_along_axis(flat, cell.reshape(n, -1), axis=1).reshape(cell.shape)
        self.screen.images(_S["visibility_map"])[:] = np.where(ok, img, 0)
        mcell, mok = self._mm_cells
        self.minimap.images(_M["visibility_map"])[:] = np.where(mok, flat[:, mcell], 0)

    # ------------------------------------------------------------------ units
    def visible_units(self, st: SimState) -> np.ndarray:
        """Bool ``[N, U]``: live units this player can see.

        Own and neutral units always; others only on cells currently visible when fog is on.
        """
        p1 = self.player + 1
        if dynamics.jit_enabled():  # one compiled pass (tested equal)
            vis = np.empty_like(st.alive)
            observe_jit.visible_kernel(
                st.alive, st.pos, st.owner, st.visibility[self.player], p1, NEUTRAL,
                bool(self._fog), vis,
            )  # fmt: skip
            return vis
        vis = st.alive.copy()
        if self._fog:
            w, h = st.map_size
            cx = np.clip(st.pos[..., 0].astype(np.int64), 0, w - 1)
            cy = np.clip(st.pos[..., 1].astype(np.int64), 0, h - 1)
            seen = st.visibility[self.player][np.arange(self.n)[:, None], cy, cx] == 2
            vis &= seen | (st.owner == p1) | (st.owner == NEUTRAL)
        return vis

    def _unit_values(self, st: SimState, fi: np.ndarray) -> dict[str, np.ndarray | None]:
        """Per-unit values of the unit layers; None for a layer that is zero for every unit.

        ``fi`` holds the flat ``n * U + u`` indices of the units.
        """
        p1 = self.player + 1
        own = st.owner.ravel()[fi].astype(np.int32)
        rel = np.where(own == p1, 1, np.where(own == NEUTRAL, 3, 4)).astype(np.int32)
        hp = st.health.ravel()[fi]
        hpm = st.health_max.ravel()[fi]
        vals: dict[str, np.ndarray | None] = {
            "player_id": own,
            "player_relative": rel,
            "unit_type": st.unit_type.ravel()[fi],
            "selected": st.selected[self.player].ravel()[fi].astype(np.int32),
            "unit_hit_points": np.ceil(hp).astype(np.int32),
            "unit_hit_points_ratio": (hp / np.maximum(hpm, 1e-6) * 255).astype(np.int32),
            "unit_energy": None,
            "unit_energy_ratio": None,
            "unit_shields": None,
            "unit_shields_ratio": None,
        }
        shm = st.shield_max.ravel()[fi]
        if shm.any():  # only Protoss units have shields
            sh = st.shield.ravel()[fi]
            vals["unit_shields"] = np.ceil(sh).astype(np.int32)
            vals["unit_shields_ratio"] = (sh / np.maximum(shm, 1e-6) * 255).astype(np.int32)
        en = st.energy.ravel()[fi]
        if en.any():
            vals["unit_energy"] = en.astype(np.int32)
            emax = st.extra.get("energy_max")
            if emax is not None:
                vals["unit_energy_ratio"] = (en / np.maximum(emax.ravel()[fi], 1e-6) * 255).astype(
                    np.int32
                )
        return vals

    def _draw(
        self,
        stack: _LayerStack,
        sten: _Stencils,
        layer_index: dict[str, int],
        names: tuple[str, ...],
        ni: np.ndarray,
        t: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        vals: dict[str, np.ndarray | None],
        density: bool,
    ) -> int:
        """Clear last frame's unit pixels and scatter this frame's units into ``names``.

        Only the pixels that units cover are touched: the previous frame's pixels of each layer
        that was drawn are zeroed (one scatter), then all layers get one scatter of their values.
        Units are given compactly: game ``ni``, type ``t``, pixel position ``px, py`` and the
        per-unit layer values; pixels off the image are dropped. Returns the units drawn.
        """
        prev = stack.prev
        if prev.size and stack.drawn:
            # One scatter clears every drawn channel: channel c's block starts at c * block.
            off = np.asarray(stack.drawn, np.int64) * stack.block
            stack.flat[(off[:, None] + prev[None, :]).ravel()] = 0
        stack.drawn = []
        if ni.size == 0:
            stack.prev = np.zeros(0, np.int64)
            return 0
        flat, rep, aa, n_drawn = _pixels(sten, ni, t, px, py, stack.size, density)
        stack.prev = flat
        chans, cols = [], []
        for name in names:
            if name == "unit_type" and stack is self.minimap and not self.cheat:
                continue
            v = vals.get(name)
            if v is None:
                continue
            chans.append(layer_index[name])
            cols.append(v)
        if chans:
            # One scatter for all layers: [C, K] values at channel offset + pixel.
            off = np.asarray(chans, np.int64) * stack.block
            per_unit = np.stack(cols)  # [C, units]
            stack.flat[(off[:, None] + flat[None, :]).ravel()] = per_unit[:, rep].ravel()
            stack.drawn.extend(chans)
        if density:
            # unit_density / unit_density_aa: counts and coverage summed per pixel. A sort-based
            # segment sum: faster than np.add.at for a few thousand pixels.
            order = np.argsort(flat, kind="stable")
            fs = flat[order]
            start = np.ones(fs.size, bool)
            start[1:] = fs[1:] != fs[:-1]
            first = np.flatnonzero(start)
            pix = fs[first]
            counts = np.diff(np.append(first, fs.size)).astype(np.int32)
            cov = np.add.reduceat(aa[order], first).astype(np.int32)
            cd, ca = layer_index["unit_density"], layer_index["unit_density_aa"]
            both = np.concatenate([pix + cd * stack.block, pix + ca * stack.block])
            stack.flat[both] = np.concatenate([counts, np.minimum(cov, 255)])
            stack.drawn += [cd, ca]
        return n_drawn

    def render(self, st: SimState) -> None:
        """Bring the feature layers up to date with the state."""
        self._render_camera_static(st)
        if self._fog:
            self._render_fog(st)
        # Every visible unit once: its values feed both the screen and the minimap.
        ni, ui = np.nonzero(self.visible_units(st))
        fi = ni * st.max_units + ui
        t = st.type_idx.ravel()[fi]
        x = st.pos[..., 0].ravel()[fi]
        y = st.pos[..., 1].ravel()[fi]
        vals = self._unit_values(st, fi)
        cam = st.camera[self.player]
        scale = self.px_per_cell
        sx = (x - cam[ni, 0]) * scale + self.s / 2
        sy = (y - cam[ni, 1]) * scale + self.s / 2
        self.drawn_units[0] = self._draw(
            self.screen, self.sten_s, _S, _SCREEN_UNIT_LAYERS, ni, t, sx, sy, vals, True
        )
        mm = self.mm_per_cell
        self.drawn_units[1] = self._draw(
            self.minimap, self.sten_m, _M, _MINIMAP_UNIT_LAYERS, ni, t, x * mm, y * mm, vals, False
        )

    # ------------------------------------------------------------------ storage form
    def _init_storage(self) -> StorageBuffers:
        b = StorageBuffers(self.n, self.s, self.m)
        mcell, mok = self._mm_cells
        self._terrain_store = {}
        for name in ("height_map", "pathable", "buildable"):
            # Storage is per pixel: converting the terrain then sampling it equals sampling then
            # converting, and 0 (off the map) stays 0.
            self._terrain_store[name] = np.take(_LUT_S[name], self.terrain[name], mode="clip")
            terrain_m = np.take(_LUT_M[name], self.terrain[name], mode="clip")
            b.minimap[:, _MC[name]] = np.where(mok, terrain_m.ravel()[mcell], 0)
        self._terrain_stack = np.stack([self._terrain_store[name] for name in _TERRAIN])
        if not self._fog:
            b.minimap[:, _MC["visibility_map"]] = _LUT_M["visibility_map"][2]
            b.screen[:, _SC["visibility_map"]] = _LUT_S["visibility_map"][2]
        self.storage = b
        return b

    def _storage_camera_static(self, st: SimState, b: StorageBuffers) -> None:
        cam = st.camera[self.player]
        changed = np.flatnonzero((cam != b.drawn_camera).any(axis=1))
        if changed.size == 0:
            return
        if dynamics.jit_enabled():  # the same bytes, without [n, S, S] index arrays
            b.drawn_camera[changed] = cam[changed]
            observe_jit.terrain_kernel(
                changed, cam, self._screen_offsets, self._terrain_stack, _TERRAIN_CHANS, b.screen,
                np.float32(self.cam_w / 2), np.float32(self.mm_per_cell), _LUT_M["camera"],
                _MC["camera"], b.minimap,
            )  # fmt: skip
            return
        cam = cam[changed]
        b.drawn_camera[changed] = cam
        cell, ok = self._screen_cells(cam)
        for name in _TERRAIN:
            b.screen[changed, _SC[name]] = np.where(ok, self._terrain_store[name].ravel()[cell], 0)
        half = self.cam_w / 2  # the minimap camera box, as `_render_camera_static`
        lo = np.floor((cam - half) * self.mm_per_cell).astype(np.int64)
        hi = np.ceil((cam + half) * self.mm_per_cell).astype(np.int64)
        r = np.arange(self.m)
        rows = (r[None, :] >= lo[:, 1:2]) & (r[None, :] < hi[:, 1:2])
        cols = (r[None, :] >= lo[:, 0:1]) & (r[None, :] < hi[:, 0:1])
        box = rows[:, :, None] & cols[:, None, :]
        b.minimap[changed, _MC["camera"]] = _LUT_M["camera"][box.view(np.uint8)]

    def _storage_fog(self, st: SimState, b: StorageBuffers) -> None:
        vis = st.visibility[self.player]  # [N, H, W] values 0..2: storage = raw value
        n = self.n
        if dynamics.jit_enabled():  # the same bytes, without [N, S, S] index arrays
            cyc, cxc, mok = self._mm_rows_cols
            observe_jit.fog_kernel(
                st.camera[self.player], self._screen_offsets, vis, b.screen,
                _SC["visibility_map"], cyc, cxc, mok, self._mm_identity, b.minimap,
                _MC["visibility_map"],
            )  # fmt: skip
            return
        hw = vis.shape[1] * vis.shape[2]
        if b.fog_index is None:  # map cell under each screen pixel, kept while cameras stay
            b.fog_index = np.zeros((n, self.s, self.s), np.intp)
            b.fog_ok = np.zeros((n, self.s, self.s), np.uint8)
            b.fog_camera = np.full((n, 2), np.nan, np.float32)
            b.fog_tmp = np.zeros((n, self.s, self.s), np.uint8)
        cam = st.camera[self.player]
        moved = np.flatnonzero((cam != b.fog_camera).any(axis=1))
        if moved.size:
            cell, ok = self._screen_cells(cam[moved])
            b.fog_index[moved] = moved[:, None, None] * hw + cell
            b.fog_ok[moved] = ok
            b.fog_camera[moved] = cam[moved]
        np.take(vis.reshape(-1), b.fog_index, out=b.fog_tmp)
        np.multiply(b.fog_tmp, b.fog_ok, out=b.screen[:, _SC["visibility_map"]])
        mcell, mok = self._mm_cells
        if self._mm_identity:  # one minimap pixel per map cell
            b.minimap[:, _MC["visibility_map"]] = vis
        else:
            b.minimap[:, _MC["visibility_map"]] = np.where(mok, vis.reshape(n, -1)[:, mcell], 0)

    def render_storage(self, st: SimState, visible: np.ndarray | None = None) -> StorageBuffers:
        """Bring the storage-form layers up to date with the state (see module docstring).

        Args:
            st: the state.
            visible: `visible_units` of this player when the caller has it (saves recomputing).
        """
        b = self.storage if self.storage is not None else self._init_storage()
        self._storage_camera_static(st, b)
        if self._fog:
            self._storage_fog(st, b)
        vis = self.visible_units(st) if visible is None else visible
        if dynamics.jit_enabled() and st.extra.get("energy_max") is None:
            self._render_units_jit(st, b, vis)
            return b
        ni, ui = np.nonzero(vis)
        fi = ni * st.max_units + ui
        t = st.type_idx.ravel()[fi]
        x = st.pos[..., 0].ravel()[fi]
        y = st.pos[..., 1].ravel()[fi]
        raw = self._unit_values(st, fi)
        ut = np.take(_UNIT_LUT, raw.pop("unit_type"), mode="clip")
        vals = {k: np.take(_LUT_S[k], v, mode="clip") for k, v in raw.items() if v is not None}
        cam = st.camera[self.player]
        scale = self.px_per_cell
        sx = (x - cam[ni, 0]) * scale + self.s / 2
        sy = (y - cam[ni, 1]) * scale + self.s / 2
        b.drawn_units[0] = self._draw_storage(b, 0, ni, t, sx, sy, vals, ut)
        mm = self.mm_per_cell
        mvals = {
            k: vals[k] if k in _SAME_LUT else np.take(_LUT_M[k], raw[k], mode="clip")
            for k in _MINIMAP_UNIT_LAYERS
            if k in vals
        }
        b.drawn_units[1] = self._draw_storage(
            b, 1, ni, t, x * mm, y * mm, mvals, ut if self.cheat else None
        )
        return b

    def _draw_storage(
        self,
        b: StorageBuffers,
        which: int,
        ni: np.ndarray,
        t: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        vals: dict[str, np.ndarray],
        ut: np.ndarray | None,
    ) -> int:
        """`_draw` for the storage buffers (``which``: 0 screen, 1 minimap)."""
        if which == 0:
            layers, ut_img, sten, chan = b.screen, b.screen_unit_type, self.sten_s, _SC
        else:
            layers, ut_img, sten, chan = b.minimap, b.minimap_unit_type, self.sten_m, _MC
        size = layers.shape[-1]
        ss = size * size
        block = layers.shape[1] * ss  # one game's layers
        flat8 = layers.reshape(-1)
        flat16 = ut_img.reshape(-1)
        prev8, prev16, drawn = b.prev[which]
        if dynamics.jit_enabled():
            stacked = np.stack(list(vals.values())) if vals else np.zeros((0, ni.size), np.uint8)
            return self._draw_storage_jit(b, which, ni, t, px, py, tuple(vals), stacked, ut)
        # One scatter per channel with the same index array: channel c of game g starts at
        # g * block + c * ss, i.e. at index g * block of the slice flat8[c * ss:] (a free view).
        # Cheaper than building one [C, K] index array for all channels.
        if prev8.size:
            for c in drawn:
                flat8[c * ss :][prev8] = 0
            if prev16.size:
                flat16[prev16] = 0
        empty = np.zeros(0, np.int64)
        if ni.size == 0:
            b.prev[which] = (empty, empty, [])
            b.prev_chans[which] = empty
            b.unit_pixels[which] = 0
            return 0
        density = which == 0
        flat, rep, aa, n_drawn = _pixels(sten, ni, t, px, py, size, density, stride=block)
        b.unit_pixels[which] = int(flat.size)
        chans = []
        for name, v in vals.items():
            c = chan[name]
            chans.append(c)
            flat8[c * ss :][flat] = v[rep]
        idx = flat - ni[rep] * (block - ss) if ut is not None or density else empty
        idx16 = empty  # game * ss + pixel: the unit_type index
        if ut is not None:
            idx16 = idx
            flat16[idx16] = ut[rep]
        if density:  # as `_draw`: per-pixel unit count and anti-aliased coverage
            cd, ca = chan["unit_density"], chan["unit_density_aa"]
            assert aa is not None
            _density_storage(b, flat8[cd * ss :], flat8[ca * ss :], flat, idx, aa)
            chans += [cd, ca]
        b.prev[which] = (flat, idx16, chans)
        b.prev_chans[which] = np.array(chans, np.int64)
        return n_drawn

    def _render_units_jit(self, st: SimState, b: StorageBuffers, vis: np.ndarray) -> None:
        """The unit layers of `render_storage` by the kernels of `observe_jit` (the same bytes)."""
        f32 = np.float32
        ni, t, sx, sy, mx, my, vs, vm, ut, has_en, has_sh = observe_jit.unit_values_kernel(
            vis, st.type_idx, st.unit_type, st.owner, st.selected[self.player], st.health,
            st.health_max, st.shield, st.shield_max, st.energy, _NO_EMAX, st.pos,
            st.camera[self.player], self.player + 1, NEUTRAL, f32(self.px_per_cell),
            f32(self.s / 2), f32(self.mm_per_cell), _VALUE_LUT_S, _VALUE_LUT_M, _UNIT_LUT,
        )  # fmt: skip
        # The rows of `_unit_values`' layers drawn: energy and shields only where some unit has
        # them (the energy ratio needs ``energy_max``, which this path never has: zero).
        rows = _JIT_ROWS[bool(has_en), bool(has_sh)]
        b.drawn_units[0] = self._draw_storage_jit(b, 0, ni, t, sx, sy, rows, vs, ut, True)
        b.drawn_units[1] = self._draw_storage_jit(
            b, 1, ni, t, mx, my, _JIT_ROWS_M, vm, ut if self.cheat else None, True
        )

    def _draw_storage_jit(
        self,
        b: StorageBuffers,
        which: int,
        ni: np.ndarray,
        t: np.ndarray,
        px: np.ndarray,
        py: np.ndarray,
        names: tuple[str, ...],
        vals: np.ndarray,
        ut: np.ndarray | None,
        value_rows: bool = False,
    ) -> int:
        """`_draw_storage` by the numba kernel of `observe_jit` (the same bytes).

        Layer ``names[c]`` gets ``vals[c]``, or with ``value_rows`` the row of ``vals`` in the
        order of `_VALUE_LAYERS` (as `observe_jit.unit_values_kernel` returns them).
        """
        if which == 0:
            layers, ut_img, sten, chan = b.screen, b.screen_unit_type, self.sten_s, _SC
        else:
            layers, ut_img, sten, chan = b.minimap, b.minimap_unit_type, self.sten_m, _MC
        size = layers.shape[-1]
        ss = size * size
        prev8, prev16, _ = b.prev[which]
        key = (which, names, value_rows)
        plan = self._jit_plans.get(key)
        if plan is None:
            rows = [_VALUE_LAYERS.index(n) if key[2] else i for i, n in enumerate(names)]
            chans = [chan[name] for name in names]
            drawn = chans + ([chan["unit_density"], chan["unit_density_aa"]] if which == 0 else [])
            plan = (np.array(rows, np.int64), np.array(chans, np.int64), drawn)
            self._jit_plans[key] = plan
        rows_arr, chans_arr, drawn = plan
        density = which == 0
        flat, idx, n_drawn = observe_jit.draw_storage_kernel(
            layers.reshape(-1), ut_img.reshape(-1), ss, layers.shape[1] * ss, size,
            prev8, prev16, b.prev_chans[which], ni, t, px, py,
            sten.dy, sten.dx, sten.aa, sten.length, int(sten.reach), _BUCKET_ARRAY,
            chans_arr, rows_arr, vals, ut if ut is not None else _NO_UT,
            density, _DENSITY_DIRECT, chan["unit_density"] if density else 0,
            chan["unit_density_aa"] if density else 0,
            _LUT_S["unit_density"], _LUT_S["unit_density_aa"], b.stamp,
        )  # fmt: skip
        b.unit_pixels[which] = int(flat.size)
        chans_drawn = drawn if ni.size else []
        b.prev[which] = (flat, idx if ut is not None else _NO_IDX, list(chans_drawn))
        b.prev_chans[which] = np.array(chans_drawn, np.int64) if ni.size else _NO_IDX
        return int(n_drawn)

    # ------------------------------------------------------------------ structured parts
    def feature_units(self, st: SimState, env: int) -> np.ndarray:
        """PySC2 ``feature_units`` rows (int64 ``[k, 46]``) of the units on screen in one game."""
        fu = features.FEATURE_UNIT_FIELDS
        col = {name: i for i, name in enumerate(fu)}
        cam = st.camera[self.player, env]
        half = self.cam_w / 2
        on = (
            self.visible_units(st)[env]
            & (np.abs(st.pos[env, :, 0] - cam[0]) < half + st.radius[env])
            & (np.abs(st.pos[env, :, 1] - cam[1]) < half + st.radius[env])
        )
        u = np.flatnonzero(on)
        out = np.zeros((u.size, len(fu)), np.int64)
        if u.size == 0:
            return out
        p1 = self.player + 1
        own = st.owner[env, u].astype(np.int64)
        out[:, col["unit_type"]] = st.unit_type[env, u]
        out[:, col["alliance"]] = np.where(own == p1, 1, np.where(own == NEUTRAL, 3, 4))
        out[:, col["health"]] = np.ceil(st.health[env, u])
        out[:, col["shield"]] = np.ceil(st.shield[env, u])
        out[:, col["energy"]] = st.energy[env, u]
        hm = st.health_max[env, u]
        shm = st.shield_max[env, u]
        out[:, col["health_ratio"]] = np.where(
            hm > 0, st.health[env, u] / np.maximum(hm, 1) * 255, 0
        )
        out[:, col["shield_ratio"]] = np.where(
            shm > 0, st.shield[env, u] / np.maximum(shm, 1) * 255, 0
        )
        out[:, col["display_type"]] = 1
        out[:, col["owner"]] = own
        out[:, col["x"]] = np.floor((st.pos[env, u, 0] - cam[0]) * self.px_per_cell + self.s / 2)
        out[:, col["y"]] = np.floor((st.pos[env, u, 1] - cam[1]) * self.px_per_cell + self.s / 2)
        out[:, col["radius"]] = np.floor(st.radius[env, u] * self.px_per_cell)
        out[:, col["cloak"]] = 3
        out[:, col["is_selected"]] = st.selected[self.player, env, u]
        out[:, col["is_powered"]] = 0
        out[:, col["weapon_cooldown"]] = np.where(own == p1, np.ceil(st.cooldown[env, u]), 0)
        out[:, col["is_on_screen"]] = 1
        out[:, col["build_progress"]] = 100  # raw build_progress 1.0 for finished units
        return out


def _density_storage(
    b: StorageBuffers,
    count8: np.ndarray,
    cover8: np.ndarray,
    flat: np.ndarray,
    idx: np.ndarray,
    aa: np.ndarray,
) -> None:
    """Write ``unit_density`` (units per pixel) and ``unit_density_aa`` (summed coverage).

    ``flat`` indexes ``count8`` / ``cover8`` (one entry per unit pixel, repeats where units
    overlap), ``idx`` is the same pixel as ``game * S * S + pixel`` and ``aa`` the coverage. Most
    pixels show one unit: a last-writer stamp finds the pixels several units cover, and only
    their entries are grouped by sorting (`_draw` sorts all of them; the result is the same).
    """
    k = flat.size
    if b.ids.size < k:
        b.ids = np.arange(max(k, 2 * b.ids.size), dtype=np.int32)
    ids = b.ids[:k]
    b.stamp[idx] = ids
    winner = b.stamp[idx]
    over = winner != ids  # entries overwritten by a later one at the same pixel
    count8[flat] = _LUT_S["unit_density"][1]
    cover8[flat] = np.take(_LUT_S["unit_density_aa"], aa, mode="clip")
    if not over.any():
        return
    sel = over.copy()
    sel[winner[over]] = True  # and the entries that won those pixels
    sub = np.flatnonzero(sel)
    fsub = flat[sub]
    order = np.argsort(fsub, kind="stable")
    fs = fsub[order]
    start = np.ones(fs.size, bool)
    start[1:] = fs[1:] != fs[:-1]
    first = np.flatnonzero(start)
    pix = fs[first]
    counts = np.diff(np.append(first, fs.size))
    cov = np.minimum(np.add.reduceat(aa[sub][order], first), 255)
    count8[pix] = np.take(_LUT_S["unit_density"], counts, mode="clip")
    cover8[pix] = np.take(_LUT_S["unit_density_aa"], cov, mode="clip")


_PLAYER_COL = {name: i for i, name in enumerate(features.PLAYER_FIELDS)}


def player_vector(st: SimState, player: int) -> np.ndarray:
    """PySC2 ``player`` ``[N, 11]`` (int32) for every game."""
    tab = units.TABLE
    f = _PLAYER_COL
    x = st.extra
    if dynamics.jit_enabled():  # the unit sums in one compiled pass (tested equal)
        out = np.zeros((st.num_envs, len(features.PLAYER_FIELDS)), np.int32)
        economy = "food_cap" in x
        observe_jit.player_kernel(
            st.alive, st.owner, st.type_idx, st.order, tab.supply, tab.army, tab.worker,
            player + 1, out, f["player_id"], f["food_used"], f["food_army"], f["food_workers"],
            f["army_count"], f["idle_worker_count"] if economy else -1,
        )  # fmt: skip
        if "minerals" in x:
            out[:, f["minerals"]] = x["minerals"][:, player]
        if economy:
            out[:, f["vespene"]] = x["vespene"][:, player]
            out[:, f["food_cap"]] = x["food_cap"][:, player]
            out[:, f["food_used"]] += np.ceil(x["food_queued"][:, player]).astype(np.int32)
        return out
    own = st.alive & (st.owner == player + 1)
    ti = st.type_idx
    army = own & tab.army[ti]
    worker = own & tab.worker[ti]
    sup = tab.supply[ti]
    out = np.zeros((st.num_envs, len(features.PLAYER_FIELDS)), np.int32)
    out[:, f["player_id"]] = player + 1
    food_army = np.ceil((sup * army).sum(axis=1))
    food_workers = np.ceil((sup * worker).sum(axis=1))
    out[:, f["food_used"]] = food_army + food_workers
    out[:, f["food_army"]] = food_army
    out[:, f["food_workers"]] = food_workers
    out[:, f["army_count"]] = army.sum(axis=1)
    if "minerals" in st.extra:
        out[:, f["minerals"]] = st.extra["minerals"][:, player]
    if "food_cap" in x:  # economy maps (sim.economy): gas, supply cap, queued supply, idle SCVs
        out[:, f["vespene"]] = x["vespene"][:, player]
        out[:, f["food_cap"]] = x["food_cap"][:, player]
        out[:, f["food_used"]] += np.ceil(x["food_queued"][:, player]).astype(np.int32)
        idle = worker & (st.order == 0)
        out[:, f["idle_worker_count"]] = idle.sum(axis=1)
    return out


def unit_rows(st: SimState, player: int, env: int, slots: np.ndarray) -> np.ndarray:
    """PySC2 ``UnitLayer`` rows (int32 ``[k, 7]``) for ``single_select`` / ``multi_select``."""
    p1 = player + 1
    own = st.owner[env, slots]
    rel = np.where(own == p1, 1, np.where(own == NEUTRAL, 3, 4))
    out = np.zeros((slots.size, len(features.UNIT_LAYER_FIELDS)), np.int32)
    out[:, 0] = st.unit_type[env, slots]
    out[:, 1] = rel
    out[:, 2] = np.ceil(st.health[env, slots])
    out[:, 3] = np.ceil(st.shield[env, slots])
    out[:, 4] = st.energy[env, slots]
    return out


def empty_rows() -> np.ndarray:
    return np.zeros((0, len(features.UNIT_LAYER_FIELDS)), np.int32)
