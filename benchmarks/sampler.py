"""Sampler throughput vs the raw ``np.memmap`` fancy-index gather of the same rows.

Builds (once, cached under ``--dir``) a synthetic dataset of 64x64 minimap observations
(``minimap`` uint8 [10, 64, 64], ``minimap_unit_type`` uint16 [64, 64], ``player`` float32 [11])
that looks like SC2 minimaps (static terrain layers, ~40 moving units, a moving camera, visibility
following the units), written twice from the same episodes:

* with `DatasetWriter` (keyframe + sparse codec), and
* as plain uncompressed ``.npy`` arrays of every observation row (the raw uint8 baseline).

Then, for uniform and n-step sampling at batch 256, it times ``Sampler.batch_at(idx)`` on the
sorted uniform step indices that ``Sampler.sample`` draws (all observations and next observations
decoded, plus actions, rewards and flags) against the raw ``np.memmap`` fancy-index gather of
exactly the same observation and next-observation rows.
``ratio`` = sampler rows/s / gather rows/s (target >= 0.5).

Two regimes are measured, each with fresh memory maps:

* ``cold``: every dataset file is evicted from the page cache first
  (``posix_fadvise(DONTNEED)``, per file, so other users' caches are untouched), so the raw gather
  reads the disk; this is the regime of a dataset larger than the page cache we can afford.
* ``warm``: after a warm-up pass, everything is cached (the CPU-bound regime).

Usage: ``python benchmarks/sampler.py [--quick] [--json=PATH] [--dir=/tmp/...]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pathlib
import sys
import time

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from sc2agents.data.dataset import DatasetWriter, _NpyAppender, open_dataset  # noqa: E402
from sc2agents.data.episodes import Episode  # noqa: E402
from sc2agents.data.samplers import nstep_sampler, uniform_sampler  # noqa: E402

SIZE = 64
OBS_KEYS = ("minimap", "minimap_unit_type", "player")


def synthetic_episode(rng: np.random.Generator, T: int) -> Episode:
    """A minimap-like episode (see the module docstring)."""
    s = SIZE
    mm = np.zeros((T + 1, 10, s, s), np.uint8)
    ut = np.zeros((T + 1, s, s), np.uint16)
    blocks = rng.integers(0, 255, (s // 8, s // 8), dtype=np.uint8)
    mm[:, 0] = blocks.repeat(8, 0).repeat(8, 1)  # height_map
    pathable = (rng.random((s // 4, s // 4)) < 0.8).repeat(4, 0).repeat(4, 1)
    mm[:, 8] = pathable  # pathable
    mm[:, 9] = pathable & (rng.random((s, s)) < 0.7)  # buildable
    mm[:, 2, : s // 3, : s // 3] = 1  # creep
    n_units = 40
    pos = rng.integers(0, s, (n_units, 2))
    owner = 1 + (np.arange(n_units) >= n_units // 2)
    types = rng.integers(1, 300, n_units).astype(np.uint16)
    explored = np.zeros((s // 8, s // 8), bool)
    cam = rng.integers(0, s - 16, 2)
    for t in range(T + 1):
        moving = rng.random(n_units) < 0.5
        pos = np.clip(pos + moving[:, None] * rng.integers(-1, 2, pos.shape), 0, s - 1)
        if t % 6 == 0:
            cam = np.clip(cam + rng.integers(-4, 5, 2), 0, s - 16)
        own = pos[owner == 1]
        vis_blocks = np.zeros((s // 8, s // 8), bool)
        vis_blocks[own[:, 1] // 8, own[:, 0] // 8] = True
        explored |= vis_blocks
        mm[t, 1] = (explored.astype(np.uint8) + vis_blocks).repeat(8, 0).repeat(8, 1)
        mm[t, 3, cam[1] : cam[1] + 16, cam[0] : cam[0] + 16] = 1
        mm[t, 4, pos[:, 1], pos[:, 0]] = owner
        mm[t, 5, pos[:, 1], pos[:, 0]] = np.where(owner == 1, 1, 4)
        mm[t, 6, own[:5, 1], own[:5, 0]] = 1  # selected
        ut[t, pos[:, 1], pos[:, 0]] = types
    player = np.zeros((T + 1, 11), np.float32)
    player[:, 1] = np.arange(T + 1) * 5
    return Episode(
        observations={"minimap": mm, "minimap_unit_type": ut, "player": player},
        actions={"function": rng.integers(0, 573, T), "args": rng.integers(-1, 4096, (T, 13))},
        rewards=(rng.random(T) < 0.05).astype(np.float32),
        terminated=bool(rng.random() < 0.5),
        truncated=False,
        info={"source": "synthetic", "map": "synthetic64"},
    )


def build(root: pathlib.Path, target_rows: int, seed: int = 0) -> None:
    """Write the compressed dataset and the raw baseline arrays (skipped if already complete)."""
    done = root / "DONE"
    if done.exists() and json.loads(done.read_text()).get("rows") == target_rows:
        return
    import shutil

    shutil.rmtree(root, ignore_errors=True)
    (root / "raw").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    raw = {
        "minimap": _NpyAppender(root / "raw" / "minimap.npy", np.dtype(np.uint8), (10, SIZE, SIZE)),
        "minimap_unit_type": _NpyAppender(
            root / "raw" / "minimap_unit_type.npy", np.dtype(np.uint16), (SIZE, SIZE)
        ),
        "player": _NpyAppender(root / "raw" / "player.npy", np.dtype(np.float32), (11,)),
    }
    rows = 0
    with (
        DatasetWriter(root / "ds", shard_size=20_000) as w,
        tqdm(total=target_rows, desc="building dataset", unit="row") as bar,
    ):
        while rows < target_rows:
            ep = synthetic_episode(rng, int(rng.integers(150, 450)))
            w.add_episode(ep)
            for k, a in raw.items():
                a.append(ep.observations[k])
            rows += ep.num_steps + 1
            bar.update(ep.num_steps + 1)
    for a in raw.values():
        a.close()
    done.write_text(json.dumps({"rows": target_rows}))


def evict(root: pathlib.Path) -> None:
    """Drop every file under ``root`` from the page cache (no global drop_caches)."""
    gc.collect()
    for p in root.rglob("*.npy"):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _total_bytes(root: pathlib.Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.npy"))


def _cached_bytes(root: pathlib.Path) -> int | None:
    """Bytes of ``root``'s files in the page cache (util-linux ``fincore``; None without it)."""
    import shutil
    import subprocess

    if shutil.which("fincore") is None:
        return None
    files = [str(p) for p in root.rglob("*.npy")]
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--raw", "--output", "RES", *files],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return sum(int(x) for x in out.stdout.split()) if out.returncode == 0 else None


def timed(fn, batches: list[np.ndarray]) -> tuple[float, int]:
    """Seconds and bytes delivered for ``fn(idx)`` over all batches."""
    nbytes = 0
    t0 = time.perf_counter()
    for idx in batches:
        nbytes += fn(idx)
    return time.perf_counter() - t0, nbytes


def _transition_rows(ix, idx: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    ep = ix.ep[idx].astype(np.int64)
    left = ix.lengths[ep] - (idx - ix.step_start[ep])
    return idx + ep, idx + ep + np.minimum(k, left)


def measure(root: pathlib.Path, mode: str, n: int, batches: int, batch: int, cold: bool) -> dict:
    def open_all():
        ds = open_dataset(root / "ds", obs_keys=OBS_KEYS)
        s = (
            uniform_sampler(ds, seed=0)
            if mode == "uniform"
            else nstep_sampler(ds, n=n, gamma=0.99, seed=0)
        )
        raw = {k: np.load(root / "raw" / f"{k}.npy", mmap_mode="r") for k in OBS_KEYS}
        return ds, s, raw

    ds, s, raw = open_all()
    rng = np.random.default_rng(1)
    # Sorted, as `Sampler.sample` draws them; the gather baseline reads exactly the same rows.
    idx_batches = [np.sort(rng.integers(0, s.num_steps, batch)) for _ in range(batches)]
    # The observation rows a transition needs (obs and next obs), computed like the sampler does.
    row_batches = [
        _transition_rows(s._index, i, 1 if mode == "uniform" else n) for i in idx_batches
    ]

    def run_sampler(idx):
        b = s.batch_at(idx)
        return sum(v.nbytes for v in b.observations.values()) + sum(
            v.nbytes for v in b.next_observations.values()
        )

    def run_gather(rows):
        o, nx = rows
        out = [raw[key][o] for key in OBS_KEYS] + [raw[key][nx] for key in OBS_KEYS]
        return sum(a.nbytes for a in out)

    res = {}
    for name in ("sampler", "gather"):
        if cold:
            del ds, s, raw
            evict(root)
            ds, s, raw = open_all()
            cached = _cached_bytes(root)
            if cached is not None and cached > 0.05 * _total_bytes(root):
                print(f"warning: eviction left {cached / 1e6:.0f} MB cached", flush=True)
        elif name == "sampler":  # warm-up pass over the same rows
            timed(run_sampler, idx_batches)
        else:
            timed(run_gather, row_batches)
        if name == "sampler":
            sec, nbytes = timed(run_sampler, idx_batches)
        else:
            sec, nbytes = timed(run_gather, row_batches)
        res[name] = {
            "rows_per_s": batches * batch / sec,
            "gb_per_s": nbytes / sec / 1e9,
            "seconds": sec,
        }
    res["ratio"] = res["sampler"]["rows_per_s"] / res["gather"]["rows_per_s"]
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small dataset, fewer batches (~1 min)")
    ap.add_argument("--json", default=None, help="write results to this JSON file")
    ap.add_argument("--dir", default="/tmp/sc2agents_bench_sampler", help="dataset cache dir")
    ap.add_argument("--rows", type=int, default=None, help="observation rows (default 60k/12k)")
    ap.add_argument("--batches", type=int, default=None)
    ap.add_argument("--batch_size", type=int, default=256)
    ap.add_argument("--n_step", type=int, default=10)
    args = ap.parse_args()
    rows = args.rows or (12_000 if args.quick else 60_000)
    batches = args.batches or (20 if args.quick else 60)
    root = pathlib.Path(args.dir) / f"rows{rows}"
    t0 = time.perf_counter()
    build(root, rows)
    build_s = time.perf_counter() - t0
    ds = open_dataset(root / "ds")
    raw_bytes = sum(p.stat().st_size for p in (root / "raw").glob("*.npy"))
    obs_stored = sum(
        m["bytes"]
        for sh in ds.manifest["shards"]
        for f, m in sh["files"].items()
        if f.startswith("obs.")
    )
    out = {
        "dataset": {
            "rows": rows,
            "steps": ds.num_steps,
            "raw_obs_bytes": raw_bytes,
            "stored_obs_bytes": obs_stored,
            "stored_total_bytes": ds.manifest["stored_bytes"],
            "obs_compression": obs_stored / raw_bytes,
            "build_seconds": build_s,
        },
        "load_average": os.getloadavg(),
        "batch_size": args.batch_size,
        "n_step": args.n_step,
    }
    del ds
    for regime in ("cold", "warm"):
        for mode in ("uniform", "nstep"):
            r = measure(root, mode, args.n_step, batches, args.batch_size, regime == "cold")
            out[f"{mode}_{regime}"] = r
            print(
                f"{mode:8s} {regime}: sampler {r['sampler']['rows_per_s']:9.0f} rows/s "
                f"{r['sampler']['gb_per_s']:.2f} GB/s | raw gather "
                f"{r['gather']['rows_per_s']:9.0f} rows/s {r['gather']['gb_per_s']:.2f} GB/s | "
                f"ratio {r['ratio']:.2f}",
                flush=True,
            )
    out["ratio_uniform"] = out["uniform_cold"]["ratio"]
    out["ratio_nstep"] = out["nstep_cold"]["ratio"]
    print(
        f"observation storage: {obs_stored / 1e6:.1f} MB vs raw {raw_bytes / 1e6:.1f} MB "
        f"({100 * obs_stored / raw_bytes:.1f}%)"
    )
    print(
        f"ratio (cold, target >= 0.5): uniform {out['ratio_uniform']:.2f}, "
        f"n-step {out['ratio_nstep']:.2f}"
    )
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
