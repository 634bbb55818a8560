"""Simulator throughput (agent steps per second) vs a bare numpy scatter bound of the same run.

What is timed is the path users take: `SimVectorEnv.step` (action checks, autoreset, the engine's
step and the observation in the storage form of `features.observation_to_storage`, rendered
directly by the engine), for DefeatRoaches, CollectMineralShards and the Terran 1v1 melee Simple64
(the agent against the default very_easy built-in bot, which acts inside the step; timed twice:
from the reset, and as ``Simple64@late`` after 1,000 untimed steps, mid/late game, when bases are
built, armies are out and games end and reset out of step; the melee headline is the lower of the
two) at 1, 16, 64 and 256 parallel games (``step_mul=8``, 64x64 screen and minimap, every feature
layer rendered each step), with uniformly random *available* actions with random arguments. Two
columns: the default
``copy=True`` (fresh observation arrays each step, as Gymnasium's ``SyncVectorEnv``) and
``copy=False`` (read-only views of the renderer's buffers: the engine alone plus the env's checks).
The melee's target is the ratio only (>= 0.25 at 64 games); the 20,000 env-steps/s target is the
mini-games'.

The bound is measured in the same run on the same machine: a bare numpy loop that only scatters
the same number of units into the same layers, i.e. for each step it takes as many unit positions
as the simulator drew that step (screen and minimap), turns them into pixel indices with a disc
stencil of the same average pixel count, zeroes last step's pixels and writes one value per unit
into each layer the simulator drew, in buffers of the storage form (uint8 ``[N, C, 64, 64]``
layers, uint16 ``unit_type``). No game logic, no actions, no fog, no structured observations.

Also printed: the same bound in PySC2's int32 layers (the definition used before the engine
rendered the storage form; ``*_vs_int32_bound`` columns), for comparison with older figures.

``ratio`` = vector env env-steps/s (copy=True) / bound env-steps/s, ``no_copy_ratio_cpu`` the
same with ``copy=False``. The headline (the summary line, target at 64 games: >= 0.25, and
>= 20,000 env-steps/s on 2 cores) is the ``copy=False`` column per CPU second: the bound copies
nothing either, and a ``copy=True`` step spends most of its time copying ~10 MB of observations
at 64 games, which alone exceeds the bound; the ``copy=True`` figures are still printed. All are
reported per wall second and per CPU second of this process (``time.process_time``): the machine
is shared, so on a loaded machine the wall figures drop with the load while the CPU figures show
what a free core delivers. The step runs on one core.

The simulator's hot loops (`dynamics.substep`, the actions and their checks, the storage render,
fog, visible units and player vector) run as numba kernels where numba is installed;
``SC2AGENTS_SIM_JIT=0`` times the numpy reference path instead (the same results, tested),
``--compare-numpy`` times both in one run and prints the speed-up.

Usage: ``python benchmarks/sim_throughput.py [--quick] [--json=PATH] [--games=1,16,64,256]
[--maps=...] [--compare-numpy]``.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sc2agents.envs import features  # noqa: E402
from sc2agents.envs.sim import dynamics  # noqa: E402
from sc2agents.envs.sim import observe as sim_observe  # noqa: E402
from sc2agents.envs.sim.vector_env import SimVectorEnv  # noqa: E402

MAPS = ("DefeatRoaches", "CollectMineralShards", "Simple64", "Simple64@late")
MELEE = ("Simple64", "Simple64@late")  # the Terran 1v1 vs a built-in bot: target ratio >= 0.25 only
LATE_WARMUP = 1000  # untimed agent steps before a "<map>@late" row is timed (mid/late game)
SIZE = 64
_HI = np.array(
    [
        SIZE * SIZE if n in ("screen", "screen2", "minimap") else features.ARG_TYPE_SIZES[n]
        for n in features.ARG_TYPES
    ],
    dtype=np.int64,
)


def random_actions(rng: np.random.Generator, avail: np.ndarray) -> dict[str, np.ndarray]:
    """Uniformly random available function per game, uniform random arguments (encoded)."""
    score = rng.random(avail.shape) * avail
    fn = np.argmax(score, axis=1)
    args = (rng.random((fn.size, _HI.size)) * _HI).astype(np.int64)
    args[~features.FUNCTION_ARG_MASK[fn]] = -1
    return {"function": fn, "args": args}


def run_sim(
    map_name: str, games: int, steps: int, copy: bool = True, seed: int = 0
) -> tuple[float, float, dict[str, list[int]]]:
    """`SimVectorEnv.step` env-steps per wall second and per CPU second.

    Also returns, per step, the units and unit pixels drawn (screen, minimap) and the number of
    screen layers drawn, for the bound. ``"<map>@late"`` plays `LATE_WARMUP` untimed steps first,
    so the timed steps are mid/late game (bases built, armies out, games ended and reset out of
    step with each other), not the first minute after a reset.
    """
    map_name, _, phase = map_name.partition("@")
    untimed = LATE_WARMUP if phase == "late" else 0
    vec = SimVectorEnv(
        games, map_name, screen_size=SIZE, minimap_size=SIZE, step_mul=8, seed=seed, copy=copy
    )
    rng = np.random.default_rng(seed)
    obs, _ = vec.reset(seed=seed)
    timed = cpu = 0.0
    px_s, px_m, n_layers, units_s, units_m = [], [], [], [], []
    warm = max(2, steps // 10) + untimed
    for t in range(steps + warm):
        act = random_actions(rng, obs["available_actions"])
        t0, c0 = time.perf_counter(), time.process_time()
        obs, *_ = vec.step(act)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if t >= warm:
            timed += dt
            cpu += dc
            b = vec.engine.observers[0].storage
            px_s.append(int(b.unit_pixels[0]))
            px_m.append(int(b.unit_pixels[1]))
            n_layers.append(len(b.prev[0][2]))
            units_s.append(int(b.drawn_units[0]))
            units_m.append(int(b.drawn_units[1]))
    counts = {
        "px_s": px_s,
        "px_m": px_m,
        "n_layers": n_layers,
        "units_s": units_s,
        "units_m": units_m,
    }
    vec.close()
    return games * steps / timed, games * steps / max(cpu, 1e-9), counts


def run_bound(
    games: int,
    units_s: list[int],
    units_m: list[int],
    px_s: list[int],
    px_m: list[int],
    n_layers: list[int],
    seed: int = 0,
    int32: bool = False,
) -> tuple[float, float]:
    """Bare numpy scatter of the same number of units into the same layers.

    Per step: the same number of units (recorded from the simulator, per step) at given positions
    are turned into pixel indices with a disc stencil of the same average pixel count, last step's
    pixels are zeroed and every drawn layer gets one scatter of per-unit values, for the screen
    and the minimap. No game logic, no actions, no fog, no structured observations.

    Returns env-steps per wall second and per CPU second.
    """
    rng = np.random.default_rng(seed)
    plane = games * SIZE * SIZE
    # Storage-form buffers, one contiguous block per channel (the cheapest layout to scatter).
    # (int32=True: PySC2's int32 layers, the bound's definition before the storage render.)
    u8, u16 = (np.int32, np.int32) if int32 else (np.uint8, np.uint16)
    scr = np.full((len(features.storage_channels(features.SCREEN_LAYERS)), plane), 0, u8)
    mm = np.full((len(features.storage_channels(features.MINIMAP_LAYERS)), plane), 0, u8)
    scr_unit_type = np.full(plane, 0, u16)
    # The uint8 screen layers the simulator drew (its most frequent count), plus unit_type.
    n_s = int(np.bincount(n_layers).argmax()) if n_layers else 0
    s_layers = [scr[c] for c in range(n_s)] + [scr_unit_type]
    m_layers = [mm[sim_observe._MC[n]] for n in ("player_id", "player_relative", "selected")]

    def stencil(px: float) -> tuple[np.ndarray, np.ndarray]:
        r = 0.5
        while True:  # smallest disc covering about `px` pixels on average
            dy, dx, _ = sim_observe.disc_stencil(r)
            if dy.size >= px or r > 8:
                return dy, dx
            r += 0.05

    ls = stencil(np.sum(px_s) / max(1, np.sum(units_s)))
    lm = stencil(np.sum(px_m) / max(1, np.sum(units_m)))
    frames = []
    for i in range(8):  # a few position sets, cycled (the positions are inputs, not work)
        ks, km = units_s[i % len(units_s)], units_m[i % len(units_m)]
        frames.append(
            (
                np.sort(rng.integers(0, games, ks)),
                rng.uniform(0, SIZE, (ks, 2)).astype(np.float32),
                rng.integers(1, 255, ks).astype(u8),
                np.sort(rng.integers(0, games, km)),
                rng.uniform(0, SIZE, (km, 2)).astype(np.float32),
                rng.integers(1, 255, km).astype(u8),
            )
        )

    def scatter(layers, env, pos, val, sten, prev):
        dy, dx = sten
        yy = np.floor(pos[:, 1]).astype(np.int64)[:, None] + dy
        xx = np.floor(pos[:, 0]).astype(np.int64)[:, None] + dx
        ok = (yy >= 0) & (yy < SIZE) & (xx >= 0) & (xx < SIZE)
        flat = (env[:, None] * (SIZE * SIZE) + yy * SIZE + xx)[ok]
        v = np.broadcast_to(val[:, None], ok.shape)[ok]
        for ch in layers:
            ch[prev] = 0
            ch[flat] = v
        return flat

    prev_s = prev_m = np.zeros(0, np.int64)
    steps = len(units_s)
    t0, c0 = time.perf_counter(), time.process_time()
    for t in range(steps):
        es, ps, vs, em, pm, vm = frames[t % len(frames)]
        prev_s = scatter(s_layers, es, ps, vs, ls, prev_s)
        prev_m = scatter(m_layers, em, pm, vm, lm, prev_m)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return games * steps / wall, games * steps / max(cpu, 1e-9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="about a minute")
    ap.add_argument("--json", default="", help="write the results here")
    ap.add_argument("--games", default="1,16,64,256")
    ap.add_argument("--maps", default=",".join(MAPS), help="comma-separated maps to time")
    ap.add_argument(
        "--compare-numpy",
        action="store_true",
        help="also time the numpy reference path (copy=False) and print the numba speed-up",
    )
    a = ap.parse_args()
    jit = dynamics.jit_enabled()
    print(f"simulator path: {'numba kernels' if jit else 'numpy reference'}", flush=True)
    games = [int(g) for g in a.games.split(",")]
    rows = []
    for map_name in a.maps.split(","):
        for g in tqdm(games, desc=map_name, leave=False):
            steps = max(30, (4000 if a.quick else 16000) // g)
            if g == 1:
                steps = 150 if a.quick else 600
            sim, sim_cpu, counts = run_sim(map_name, g, steps)
            bound, bound_cpu = run_bound(g, **counts)
            _, bound32_cpu = run_bound(g, **counts, int32=True)
            views, views_cpu, _ = run_sim(map_name, g, steps, copy=False)
            extra = {}
            if a.compare_numpy and jit:
                dynamics.set_jit(False)
                _, np_cpu, _ = run_sim(map_name, g, steps, copy=False)
                dynamics.set_jit(True)
                extra = {
                    "numpy_no_copy_env_steps_per_cpu_s": round(np_cpu, 1),
                    "numpy_no_copy_ratio_cpu": round(np_cpu / bound_cpu, 3),
                    "jit_speedup_cpu": round(views_cpu / np_cpu, 2),
                }
            px_s = counts["px_s"]
            rows.append(
                {
                    "map": map_name,
                    "jit": jit,
                    "games": g,
                    "steps": steps,
                    "env_steps_per_s": round(sim, 1),
                    "bound_env_steps_per_s": round(bound, 1),
                    "ratio": round(sim / bound, 3),
                    "env_steps_per_cpu_s": round(sim_cpu, 1),
                    "bound_env_steps_per_cpu_s": round(bound_cpu, 1),
                    "ratio_cpu": round(sim_cpu / bound_cpu, 3),
                    "no_copy_env_steps_per_s": round(views, 1),
                    "no_copy_env_steps_per_cpu_s": round(views_cpu, 1),
                    "no_copy_ratio_cpu": round(views_cpu / bound_cpu, 3),
                    "int32_bound_env_steps_per_cpu_s": round(bound32_cpu, 1),
                    "ratio_cpu_vs_int32_bound": round(sim_cpu / bound32_cpu, 3),
                    "no_copy_ratio_cpu_vs_int32_bound": round(views_cpu / bound32_cpu, 3),
                    "unit_pixels_per_step": int(np.mean(px_s)),
                    **extra,
                }
            )
            r = rows[-1]
            print(
                f"{map_name:22s} games={g:4d} env-steps/s={r['env_steps_per_s']:>9,.0f} "
                f"bound={r['bound_env_steps_per_s']:>10,.0f} ratio={r['ratio']:.3f} | per CPU-s: "
                f"{r['env_steps_per_cpu_s']:>9,.0f} bound={r['bound_env_steps_per_cpu_s']:>10,.0f} "
                f"ratio={r['ratio_cpu']:.3f} | copy=False: {r['no_copy_env_steps_per_s']:>9,.0f} "
                f"per CPU-s {r['no_copy_env_steps_per_cpu_s']:>9,.0f} "
                f"ratio={r['no_copy_ratio_cpu']:.3f} | vs int32 bound "
                f"{r['int32_bound_env_steps_per_cpu_s']:>9,.0f}: "
                f"ratio={r['ratio_cpu_vs_int32_bound']:.3f} "
                f"(copy=False {r['no_copy_ratio_cpu_vs_int32_bound']:.3f})"
                + (
                    f" | numpy path copy=False per CPU-s "
                    f"{r['numpy_no_copy_env_steps_per_cpu_s']:>9,.0f} "
                    f"ratio={r['numpy_no_copy_ratio_cpu']:.3f} (numba x{r['jit_speedup_cpu']:.2f})"
                    if extra
                    else ""
                ),
                flush=True,
            )
    melee64 = [r for r in rows if r["games"] == 64 and r["map"] in MELEE]
    if melee64:
        print(
            f"melee at 64 games (headline: copy=False per CPU-second): "
            f"ratio={min(r['no_copy_ratio_cpu'] for r in melee64):.3f} (target >= 0.25); "
            f"copy=True: ratio={min(r['ratio_cpu'] for r in melee64):.3f} CPU, "
            f"{min(r['ratio'] for r in melee64):.3f} wall"
        )
    at64 = [r for r in rows if r["games"] == 64 and r["map"] not in MELEE]
    if at64:
        print(
            f"at 64 games (headline: copy=False per CPU-second): min env-steps/s="
            f"{min(r['no_copy_env_steps_per_cpu_s'] for r in at64):,.0f} (target >= 20,000), "
            f"min ratio={min(r['no_copy_ratio_cpu'] for r in at64):.3f} (target >= 0.25); "
            f"copy=True: {min(r['env_steps_per_cpu_s'] for r in at64):,.0f} per CPU-second, "
            f"{min(r['env_steps_per_s'] for r in at64):,.0f} wall, min ratio="
            f"{min(r['ratio_cpu'] for r in at64):.3f} CPU, {min(r['ratio'] for r in at64):.3f} wall"
        )
        print(
            f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall figures "
            "suffer on a shared machine; per-CPU-second figures are what one free core gives)"
        )
    if a.json:
        path = pathlib.Path(a.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"benchmark": "sim_throughput", "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
