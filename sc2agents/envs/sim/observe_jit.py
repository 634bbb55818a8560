"""Numba kernel for `observe.Observer._draw_storage`: one pass over the units draws every layer.

The numpy path computes the pixel indices of all unit stencils (`observe._pixels`), then does one
fancy-index scatter per layer plus a sort for the pixels several units cover. This kernel clears
last frame's footprint and walks the units once, writing every layer at each covered pixel in
the same order as the numpy scatters (stencil-size buckets, then unit, then stencil pixel, so the
last writer of a shared pixel is the same unit), and counts the units and coverage per pixel for
``unit_density``/``unit_density_aa`` in a scratch array. The result is the same bytes
(``tests/envs/sim/test_storage_render.py`` runs on both paths; ``test_dynamics_jit`` compares the
observations of every scenario).

Used when `dynamics.jit_enabled()` (numba installed and ``SC2AGENTS_SIM_JIT`` not ``0``).
"""

from __future__ import annotations

import numpy as np

from sc2agents.envs.sim.dynamics_jit import AVAILABLE, _jit

__all__ = ["AVAILABLE", "draw_storage_kernel"]

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
    buckets,
    chans,
    vals,
    ut,
    density,
    c_count,
    c_cover,
    lut_count,
    lut_cover,
    scratch,
    out_flat,
    out_idx,
    out_aa,
):
    """Clear the previous footprint and draw the units; returns ``(pixels, units_drawn)``.

    ``out_flat[:pixels]`` receives the layer index of every drawn pixel (at channel 0) and
    ``out_idx[:pixels]`` the ``game * S * S + pixel`` index, in drawing order (``out_aa``: scratch
    for the pixels' coverage).
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
    lo = 0
    for b in range(buckets.size):
        hi = buckets[b]
        for u in range(n_units):
            tu = t[u]
            ln = sten_len[tu]
            if ln <= lo or ln > hi:
                continue
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
                out_aa[n_pix] = sten_aa[tu, s]
                n_pix += 1
                for c in range(n_ch):
                    flat8[chans[c] * ss + f] = vals[c, u]
                if has_ut:
                    flat16[g * ss + pix] = ut[u]
            if any_px:
                n_drawn += 1
        lo = hi
    if density:
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
    return n_pix, n_drawn
