"""Numba kernels of the observations: the storage render, the player vector, the unit values.

`unit_values_kernel` gathers the visible units and their layer values through the storage tables
(`observe.Observer._unit_values` and its table look-ups); `draw_storage_kernel` replaces
`observe.Observer._draw_storage`; `terrain_kernel` and `fog_kernel` the camera-dependent static
layers and the visibility layers (`observe.Observer._storage_camera_static` / `_storage_fog`: a
gather through the map row and column under each pixel instead of numpy's full ``[N, S, S]``
cell-index arrays), `visible_kernel` `observe.Observer.visible_units`, `player_kernel`
`observe.player_vector`, and `total_value_kernel` / `killed_value_kernel` the score updates of
`engine.SimEngine`.

The numpy path computes the pixel indices of all unit stencils (`observe._pixels`), then does one
fancy-index scatter per layer plus a sort for the pixels several units cover. The draw kernel clears
last frame's footprint and walks the units once, writing every layer at each covered pixel in
the same order as the numpy scatters (stencil-size buckets, then unit, then stencil pixel, so the
last writer of a shared pixel is the same unit), and counts the units and coverage per pixel for
``unit_density``/``unit_density_aa`` (in the layers themselves where their storage tables are the
identity, else in a scratch array). The result is the same bytes
(``tests/envs/sim/test_storage_render.py`` runs on both paths; ``test_dynamics_jit`` compares the
observations of every scenario; ``test_observe_jit`` the other kernels on random states).

numba is used because at 64 games these steps are dominated by numpy's per-call overhead and its
temporaries (index arrays several times the size of the layers they fill). Used when
`dynamics.jit_enabled()` (numba installed and ``SC2AGENTS_SIM_JIT`` not ``0``).
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = [
    "AVAILABLE",
    "draw_storage_kernel",
    "fog_kernel",
    "killed_value_kernel",
    "player_kernel",
    "terrain_kernel",
    "total_value_kernel",
    "unit_values_kernel",
    "visible_kernel",
]

_PACK = 65536  # scratch entry: units * _PACK + summed coverage (coverage <= 16 per unit)


@_jit
def draw_storage_kernel(  # noqa: PLR0913
    flat8,
    flat16,
    ss,
    block,
    size,
    prev8,
    prev16,
    prev_chans,
    ni,
    t,
    px,
    py,
    sten_dy,
    sten_dx,
    sten_aa,
    sten_len,
    reach,
    buckets,
    chans,
    rows,
    vals,
    ut,
    density,
    density_direct,
    c_count,
    c_cover,
    lut_count,
    lut_cover,
    scratch,
):
    """Clear the previous footprint and draw the units; returns ``(flat, idx, units_drawn)``.

    Units whose stencil cannot reach the image (``reach``: the stencils' extent in pixels) are
    skipped first, as in `observe._pixels`; the others are drawn bucket by bucket.

    Unit ``u``'s value in channel ``chans[c]`` is ``vals[rows[c], u]``. ``flat`` holds the layer
    index of every drawn pixel (at channel 0) and ``idx`` its ``game * S * S + pixel`` index, in
    drawing order (the next call's ``prev8`` / ``prev16``). ``density_direct`` (both density
    tables are the identity up to 255, as for plain uint8 layers) counts ``unit_density`` /
    ``unit_density_aa`` in the layers themselves with saturating adds (the same bytes: the
    reference clips the count and the coverage sum, then looks them up) instead of through
    ``scratch``.
    """
    for q in range(prev_chans.size):
        base = prev_chans[q] * ss
        for e in range(prev8.size):
            flat8[base + prev8[e]] = 0
    for e in range(prev16.size):
        flat16[prev16[e]] = 0
    n_units = ni.size
    n_pix = 0
    n_drawn = 0
    n_ch = chans.size
    has_ut = ut.size > 0
    # With identity storage tables (plain uint8 layers) the density is counted in the layers
    # themselves: every unit pixel of the last frame was just cleared, so they start at zero.
    direct = density and density_direct
    # The units whose stencil can reach the image, grouped by stencil-size bucket in unit order
    # (a stable counting sort: one pass instead of one per bucket).
    n_b = buckets.size
    bucket = np.empty(n_units, np.int64)
    count = np.zeros(n_b + 1, np.int64)
    for u in range(n_units):
        cx = np.floor(px[u])
        cy = np.floor(py[u])
        if not (-reach < cx < size + reach and -reach < cy < size + reach):
            bucket[u] = -1  # (no pixel on the image: as numpy's `_pixels` cut)
            continue
        ln = sten_len[t[u]]
        k = 0
        while k < n_b - 1 and ln > buckets[k]:
            k += 1
        bucket[u] = k
        count[k + 1] += 1
    for k in range(n_b):
        count[k + 1] += count[k]
    order = np.empty(count[n_b], np.int64)
    most = 0
    for u in range(n_units):
        k = bucket[u]
        if k >= 0:
            order[count[k]] = u
            count[k] += 1
            most += sten_len[t[u]]
    out_flat = np.empty(most, np.int64)
    out_idx = np.empty(most, np.int64)
    out_aa = np.empty(most if not direct else 0, np.int32)
    for j in range(order.size):
        u = order[j]
        tu = t[u]
        ln = sten_len[tu]
        cx = np.int64(np.floor(px[u]))
        cy = np.int64(np.floor(py[u]))
        g = ni[u]
        any_px = False
        for s in range(ln):
            yy = cy + sten_dy[tu, s]
            xx = cx + sten_dx[tu, s]
            if yy < 0 or yy >= size or xx < 0 or xx >= size:
                continue
            any_px = True
            pix = yy * size + xx
            f = g * block + pix
            out_flat[n_pix] = f
            out_idx[n_pix] = g * ss + pix
            if not direct:
                out_aa[n_pix] = sten_aa[tu, s]
            n_pix += 1
            for c in range(n_ch):
                flat8[chans[c] * ss + f] = vals[rows[c], u]
            if has_ut:
                flat16[g * ss + pix] = ut[u]
            if direct:  # identity tables: count and coverage in place, saturating at 255
                k = c_count * ss + f
                flat8[k] = min(np.int64(flat8[k]) + 1, 255)
                k = c_cover * ss + f
                flat8[k] = min(np.int64(flat8[k]) + sten_aa[tu, s], 255)
        if any_px:
            n_drawn += 1
    if density and not direct:
        for e in range(n_pix):
            scratch[out_idx[e]] = 0
        for e in range(n_pix):
            scratch[out_idx[e]] += _PACK + out_aa[e]
        nc = lut_count.size - 1
        na = lut_cover.size - 1
        for e in range(n_pix):
            v = scratch[out_idx[e]]
            cnt = v // _PACK
            cov = min(v % _PACK, 255)
            flat8[c_count * ss + out_flat[e]] = lut_count[min(cnt, nc)]
            flat8[c_cover * ss + out_flat[e]] = lut_cover[min(cov, na)]
    return out_flat[:n_pix], out_idx[:n_pix], n_drawn


@_jit
def unit_values_kernel(  # noqa: PLR0913
    vis,
    type_idx,
    unit_type,
    owner,
    selected,
    health,
    health_max,
    shield,
    shield_max,
    energy,
    energy_max,
    pos,
    cam,
    p1,
    neutral,
    scale,
    half,
    mm,
    lut_s,
    lut_m,
    unit_lut,
):
    """Per visible unit: game, type, screen and minimap position and its layer values.

    The values of `observe.Observer._unit_values` through the storage tables, in one pass.
    ``lut_s`` holds the screen tables of player_id, player_relative, selected, unit_hit_points,
    unit_hit_points_ratio, unit_energy, unit_energy_ratio, unit_shields, unit_shields_ratio
    (rows padded with their last value) and ``lut_m`` the minimap ones of the first three.
    Returns ``(ni, t, sx, sy, mx, my, vals_s [9, n], vals_m [3, n], ut, has_energy,
    has_shields)``; ``energy_max`` of size 0 means the game has none (ratio 0).
    """
    n_env, u_max = vis.shape
    n = 0
    for g in range(n_env):
        for u in range(u_max):
            if vis[g, u]:
                n += 1
    ni = np.empty(n, np.int64)
    t = np.empty(n, np.int64)
    sx = np.empty(n, np.float32)
    sy = np.empty(n, np.float32)
    mx = np.empty(n, np.float32)
    my = np.empty(n, np.float32)
    vs = np.empty((9, n), np.uint8)
    vm = np.empty((3, n), np.uint8)
    ut = np.empty(n, np.uint16)
    raw = np.empty(9, np.int64)
    has_en = False
    has_sh = False
    has_emax = energy_max.size > 0
    eps = np.float32(1e-6)
    k = 0
    for g in range(n_env):
        for u in range(u_max):
            if not vis[g, u]:
                continue
            ni[k] = g
            t[k] = type_idx[g, u]
            x = pos[g, u, 0]
            y = pos[g, u, 1]
            sx[k] = (x - cam[g, 0]) * scale + half
            sy[k] = (y - cam[g, 1]) * scale + half
            mx[k] = x * mm
            my[k] = y * mm
            ty = unit_type[g, u]
            ut[k] = unit_lut[min(max(ty, 0), unit_lut.size - 1)]
            own = np.int64(owner[g, u])
            raw[0] = own
            raw[1] = 1 if own == p1 else (3 if own == neutral else 4)
            raw[2] = 1 if selected[g, u] else 0
            hp = health[g, u]
            raw[3] = np.int64(np.int32(np.ceil(hp)))
            raw[4] = np.int64(np.int32(hp / max(health_max[g, u], eps) * np.float32(255)))
            en = energy[g, u]
            if en != 0:
                has_en = True
            raw[5] = np.int64(np.int32(en))
            if has_emax:
                raw[6] = np.int64(np.int32(en / max(energy_max[g, u], eps) * np.float32(255)))
            else:
                raw[6] = 0
            if shield_max[g, u] != 0:
                has_sh = True
            sh = shield[g, u]
            raw[7] = np.int64(np.int32(np.ceil(sh)))
            raw[8] = np.int64(np.int32(sh / max(shield_max[g, u], eps) * np.float32(255)))
            for c in range(9):
                vs[c, k] = lut_s[c, min(max(raw[c], 0), lut_s.shape[1] - 1)]
            for c in range(3):
                vm[c, k] = lut_m[c, min(max(raw[c], 0), lut_m.shape[1] - 1)]
            k += 1
    return ni, t, sx, sy, mx, my, vs, vm, ut, has_en, has_sh


@_jit
def player_kernel(  # noqa: PLR0913
    alive,
    owner,
    type_idx,
    order,
    supply,
    army,
    worker,
    p1,
    out,
    c_player_id,
    c_food_used,
    c_food_army,
    c_food_workers,
    c_army_count,
    c_idle,
):
    """The unit part of `observe.player_vector` (own units ``owner == p1``) into ``out [N, 11]``.

    ``player_id``, ``food_used`` (army + workers), ``food_army``, ``food_workers`` (supply sums
    in float32 rounded up, as numpy's sums: supplies are multiples of 0.5, so every summation
    order gives the same float32), ``army_count`` and, where ``c_idle >= 0``, the idle workers.
    """
    zero = np.float32(0)
    for g in range(alive.shape[0]):
        fa = zero
        fw = zero
        n_army = 0
        n_idle = 0
        for u in range(alive.shape[1]):
            if not alive[g, u] or owner[g, u] != p1:
                continue
            t = type_idx[g, u]
            if army[t]:
                fa += supply[t]
                n_army += 1
            if worker[t]:
                fw += supply[t]
                if order[g, u] == 0:
                    n_idle += 1
        ca = np.ceil(fa)
        cw = np.ceil(fw)
        out[g, c_player_id] = p1
        out[g, c_food_used] = np.int32(ca + cw)
        out[g, c_food_army] = np.int32(ca)
        out[g, c_food_workers] = np.int32(cw)
        out[g, c_army_count] = n_army
        if c_idle >= 0:
            out[g, c_idle] = n_idle


@_jit
def total_value_kernel(alive, owner, type_idx, value, ids, score, col):
    """``score[p, g, col]`` = summed ``value`` of player ``p``'s live units, games ``ids``.

    As `engine.SimEngine._total_value` (int64 sums stored as int32).
    """
    n_players = score.shape[0]
    acc = np.zeros(n_players, np.int64)
    for i in range(ids.size):
        g = ids[i]
        acc[:] = 0
        for u in range(alive.shape[1]):
            if alive[g, u]:
                p = np.int64(owner[g, u]) - 1
                if 0 <= p < n_players:
                    acc[p] += value[type_idx[g, u]]
        for p in range(n_players):
            score[p, g, col] = np.int32(acc[p])


@_jit
def killed_value_kernel(died, owner, type_idx, value, neutral, score, col):
    """``score[p, g, col] +=`` the value of the units of other (non-neutral) owners that died.

    As `engine.SimEngine._killed_value`; ``died`` is ``[N, k]`` over the first ``k`` slots.
    """
    n_players = score.shape[0]
    acc = np.zeros(n_players, np.int64)
    for g in range(died.shape[0]):
        acc[:] = 0
        hit = False
        for u in range(died.shape[1]):
            if not died[g, u]:
                continue
            o = np.int64(owner[g, u])
            if o == neutral:
                continue
            v = value[type_idx[g, u]]
            for p in range(n_players):
                if o != p + 1:
                    acc[p] += v
                    hit = True
        if hit:
            for p in range(n_players):
                score[p, g, col] += np.int32(acc[p])


@_jit
def _map_lines(c, off, out):
    """Map row or column under each screen pixel: ``floor(c + off)`` in float64 (as numpy)."""
    base = np.float64(c)
    for k in range(off.size):
        out[k] = np.int64(np.floor(base + off[k]))


@_jit
def terrain_kernel(games, cam, off, terrain, chans, screen, half, mm, box_lut, box_chan, minimap):
    """The camera-dependent static layers of `observe.Observer._storage_camera_static`.

    For each game in ``games``: ``screen[g, chans[l]]`` = ``terrain[l]`` at the map cell under
    each pixel (0 off the map; the map row/column of pixel ``k`` is ``floor(cam + off[k])``, as
    `observe.Observer._screen_cells`), and ``minimap[g, box_chan]`` the camera box through
    ``box_lut`` (``half``, ``mm``: float32 half camera width and minimap pixels per cell).
    """
    h = terrain.shape[1]
    w = terrain.shape[2]
    s = screen.shape[2]
    m = minimap.shape[2]
    wx = np.empty(s, np.int64)
    wy = np.empty(s, np.int64)
    out = box_lut[0]
    box = box_lut[1]
    for i in range(games.size):
        g = games[i]
        _map_lines(cam[g, 0], off, wx)
        _map_lines(cam[g, 1], off, wy)
        inside = wx[0] >= 0 and wx[s - 1] < w  # (the column grows with the pixel)
        for k in range(chans.size):
            c = chans[k]
            for y in range(s):
                yy = wy[y]
                if yy < 0 or yy >= h:
                    for x in range(s):
                        screen[g, c, y, x] = 0
                elif inside:  # simple loops: they compile to vector code
                    for x in range(s):
                        screen[g, c, y, x] = terrain[k, yy, wx[x]]
                else:
                    for x in range(s):
                        xx = wx[x]
                        screen[g, c, y, x] = terrain[k, yy, xx] if 0 <= xx < w else 0
        lo_x = np.int64(np.floor((cam[g, 0] - half) * mm))
        lo_y = np.int64(np.floor((cam[g, 1] - half) * mm))
        hi_x = np.int64(np.ceil((cam[g, 0] + half) * mm))
        hi_y = np.int64(np.ceil((cam[g, 1] + half) * mm))
        for y in range(m):
            if lo_y <= y < hi_y:
                for x in range(m):
                    minimap[g, box_chan, y, x] = box if lo_x <= x < hi_x else out
            else:
                for x in range(m):
                    minimap[g, box_chan, y, x] = out


@_jit
def fog_kernel(cam, off, vis, screen, chan, mm_row, mm_col, mm_ok, mm_identity, minimap, mm_chan):
    """`observe.Observer._storage_fog`: the visibility layers (storage value = raw value).

    ``screen[g, chan]`` = ``vis[g]`` at the map cell under each pixel (0 off the map),
    ``minimap[g, mm_chan, y, x]`` = ``vis[g, mm_row[y], mm_col[x]]`` where ``mm_ok[y, x]``
    (else 0; ``mm_identity``: one minimap pixel per map cell, a copy). The loops are kept
    simple so that they compile to vector code.
    """
    n, h, w = vis.shape
    s = screen.shape[2]
    m = minimap.shape[2]
    wx = np.empty(s, np.int64)
    wy = np.empty(s, np.int64)
    for g in range(n):
        _map_lines(cam[g, 0], off, wx)
        _map_lines(cam[g, 1], off, wy)
        inside = wx[0] >= 0 and wx[s - 1] < w  # (the column grows with the pixel)
        for y in range(s):
            yy = wy[y]
            if y > 0 and yy == wy[y - 1]:  # the same map row as the pixel row above: a copy
                for x in range(s):
                    screen[g, chan, y, x] = screen[g, chan, y - 1, x]
            elif yy < 0 or yy >= h:
                for x in range(s):
                    screen[g, chan, y, x] = 0
            elif inside:
                for x in range(s):
                    screen[g, chan, y, x] = vis[g, yy, wx[x]]
            else:
                for x in range(s):
                    xx = wx[x]
                    screen[g, chan, y, x] = vis[g, yy, xx] if 0 <= xx < w else 0
        if mm_identity:
            for y in range(m):
                for x in range(m):
                    minimap[g, mm_chan, y, x] = vis[g, y, x]
        else:
            for y in range(m):
                yy = mm_row[y]
                for x in range(m):
                    minimap[g, mm_chan, y, x] = vis[g, yy, mm_col[x]] if mm_ok[y, x] else 0


@_jit
def visible_kernel(alive, pos, owner, visibility, p1, neutral, fog, out):
    """`observe.Observer.visible_units` into ``out [N, U]``.

    Live units; with ``fog`` others' units only on cells whose ``visibility`` (``[N, H, W]``,
    the player's) is 2, the cell being the truncated position clipped to the map.
    """
    h = visibility.shape[1]
    w = visibility.shape[2]
    for g in range(alive.shape[0]):
        for u in range(alive.shape[1]):
            v = alive[g, u]
            if v and fog and owner[g, u] != p1 and owner[g, u] != neutral:
                cx = min(max(np.int64(pos[g, u, 0]), 0), w - 1)
                cy = min(max(np.int64(pos[g, u, 1]), 0), h - 1)
                v = visibility[g, cy, cx] == 2
            out[g, u] = v
