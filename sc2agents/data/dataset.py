"""Sharded, memory-mappable offline datasets: `DatasetWriter`, `open_dataset`, `ShardedDataset`.

Layout of a dataset directory::

    manifest.json                  format/version, key specs, shards, builds, maps, provenance
    shard_00000/                   one directory per shard; episodes are never split across shards
        episodes.length.npy        int64 [E]   steps per episode (T_e)
        episodes.terminated.npy    bool  [E]
        episodes.truncated.npy     bool  [E]
        episodes.info.json         list of E info dicts
        actions.function.npy       int16 [N]   N = sum T_e
        actions.args.npy           int32 [N, 13]
        rewards.npy                float32 [N]
        obs.<key>.npy              "raw" codec: [M, ...], M = sum (T_e + 1) observation rows
        obs.<key>.key.npy          "keyframe" codec (see below)
        obs.<key>.kid.npy / .ptr.npy / .pos.npy / .val.npy

Every file is a plain ``.npy`` opened with ``np.load(mmap_mode="r")``. Each episode stores ``T+1``
observations (the last is the final one), so no ``next_observations`` copy is kept.

**Observation compression ("keyframe" codec).** Integer and bool observation layers (minimap,
screen, unit_type, available_actions) are stored as a *keyframe plus sparse difference*: every row
points (``kid``) to a dense keyframe row (``key``) and lists the flat positions (``pos``, uint16
when the frame has at most 65536 elements, else uint32) and values (``val``) where it differs,
CSR-style (``ptr``, int64 ``[M+1]``). The first row of every episode is a keyframe; a new keyframe
starts when a row's difference costs more than the average bytes per row of the current keyframe
segment (near-optimal segment lengths, see `encode_keyframe`) or more than ``keyframe_threshold``
(default 0.25) of a dense row. Why this codec and not zlib/zstd blocks:

* SC2 feature layers are mostly static between steps (terrain, pathing, visibility, camera,
  available actions change little) and mostly zero, so the difference to a keyframe is a few
  percent of the frame. Measured: simulator minigame datasets (full screen + minimap) take 1-4% of
  their raw uint8 size, replay conversions (minimap + unit counts) ~1.7%, and the deliberately
  busier synthetic minimaps of `benchmarks/sampler.py` 9% (~4.5 kB per 50 kB minimap row).
* Decoding is random access and vectorised over a batch: one gather of the (few, hot,
  cache-resident) keyframes plus one scatter of the differences; there is no decompressor call
  per row and no decode cache to size. The only compressors we can rely on are zlib and lzma
  (zstd/lz4/blosc are not dependencies): zlib level 1 per row compresses the benchmark's minimaps
  a little better (5.8% of raw) but decodes at 0.59 GB/s, i.e. ~14k rows/s on one core, a third
  of this codec's measured ~45k rows/s for observation *and* next observation (see the benchmark).
* Float keys (``player``) are tiny and stored raw.
* An observation given as a `sc2agents.data.episodes.CodedArray` (channels = lookup tables of one
  small code per cell, as replay conversions produce) is encoded from its codes (`_encode_coded`)
  into exactly the bytes its dense array would give, without materialising it.

The worst case (every row changes more than the threshold) degrades to one keyframe per row, i.e.
the raw size plus 12 bytes per row: compression is never worse than ~raw.

**Atomicity.** A shard is written into ``.tmp-<name>-<pid>/`` and renamed into place when complete;
the manifest is rewritten (temp file + ``os.replace``) after each shard, so a killed writer leaves
a dataset of whole shards, and a new `DatasetWriter` on the same directory appends to it (stale
temporary directories are removed). ``manifest.json`` records each file's byte size and sha256:
`open_dataset` checks presence, sizes and ``.npy`` headers (cheap), `ShardedDataset.verify` checks
every checksum.

Example:
    >>> w = DatasetWriter("/tmp/ds", metadata={"map": "MoveToBeacon"})  # doctest: +SKIP
    >>> w.add_episode(episode)  # doctest: +SKIP
    >>> w.close()  # doctest: +SKIP
    >>> ds = open_dataset("/tmp/ds")  # doctest: +SKIP
    >>> ds.num_steps, ds.observation_spec["minimap"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import pathlib
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from absl import logging

from sc2agents.data.episodes import ACTION_DTYPES, CodedArray, Episode

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "DatasetError",
    "DatasetWriter",
    "Shard",
    "ShardedDataset",
    "ShardStream",
    "open_dataset",
]

FORMAT_NAME = "sc2agents-dataset"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
_KEEP_OPEN = 64  # shards kept memory-mapped from open_dataset on (others: on first use)
_HEADER_LEN = 256  # fixed .npy v1 header length so that the shape can be rewritten after appending


class DatasetError(ValueError):
    """A dataset on disk is unusable: wrong version, missing/damaged/truncated shard or file."""


# --------------------------------------------------------------------------------------------
# Low-level .npy appending (episodes are streamed to disk: a shard never has to fit in memory).
# --------------------------------------------------------------------------------------------
def _npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    d = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": shape}
    body = repr(d).encode("latin1")
    pre = np.lib.format.MAGIC_PREFIX + bytes([1, 0])
    total = _HEADER_LEN
    n = total - len(pre) - 2
    if len(body) + 1 > n:
        raise ValueError(f"npy header too long for shape {shape}")
    body = body + b" " * (n - len(body) - 1) + b"\n"
    return pre + n.to_bytes(2, "little") + body


class _NpyAppender:
    """Appends rows to a ``.npy`` file and fixes up its header (shape) on close.

    numpy has no append mode for ``.npy``; we write a fixed-length v1 header (``_HEADER_LEN``
    bytes, which numpy reads like any other) and rewrite it with the final row count.
    """

    def __init__(self, path: pathlib.Path, dtype: np.dtype, row_shape: tuple[int, ...]) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.row_shape = tuple(int(s) for s in row_shape)
        self.rows = 0
        self.nbytes = 0
        self._f = open(path, "wb")  # noqa: SIM115 - closed in close()
        self._f.write(_npy_header(self.dtype, (0, *self.row_shape)))

    def append(self, arr: np.ndarray) -> None:
        a = np.ascontiguousarray(arr, dtype=self.dtype)
        if a.shape[1:] != self.row_shape:
            raise ValueError(f"{self.path.name}: row shape {a.shape[1:]} != {self.row_shape}")
        self._f.write(a.tobytes())
        self.rows += a.shape[0]
        self.nbytes += a.nbytes

    def close(self) -> None:
        self._f.seek(0)
        self._f.write(_npy_header(self.dtype, (self.rows, *self.row_shape)))
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()


def _lock_dir(path: pathlib.Path) -> Any:
    """Take the dataset's writer lock (``.writer.lock``, ``flock``; released on exit or kill).

    Raises:
        DatasetError: another live process is writing this dataset.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    f = open(path / ".writer.lock", "a+")  # noqa: SIM115 - held for the writer's lifetime
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        f.seek(0)
        owner = f.read().strip() or "another process"
        f.close()
        raise DatasetError(
            f"dataset {path} is being written by {owner}; wait for it or stop it"
        ) from e
    f.seek(0)
    f.truncate()
    f.write(f"pid {os.getpid()}")
    f.flush()
    return f


def _sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _read_npy_header(path: pathlib.Path) -> tuple[tuple[int, ...], np.dtype, int]:
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        offset = f.tell()
    if fortran:
        raise ValueError("fortran-order arrays are not supported")
    return tuple(shape), np.dtype(dtype), offset


# --------------------------------------------------------------------------------------------
# Codecs
# --------------------------------------------------------------------------------------------
def _codec_for(dtype: np.dtype, row_shape: tuple[int, ...]) -> str:
    size = int(np.prod(row_shape)) if row_shape else 1
    if (np.issubdtype(dtype, np.integer) or dtype == np.bool_) and size >= 64:
        return "keyframe"
    return "raw"


def _pos_dtype(frame_elems: int) -> np.dtype:
    return np.dtype(np.uint16) if frame_elems <= 65536 else np.dtype(np.uint32)


def _store_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.uint8) if dtype == np.bool_ else dtype


def encode_keyframe(
    x: np.ndarray | CodedArray, threshold: float = 0.25, window: int = 64
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Encode rows ``x [M, ...]`` as keyframes plus sparse differences.

    Keyframe placement minimises the bytes per row of each keyframe segment: a row starts a new
    keyframe as soon as its difference would cost more than the segment's average bytes per row
    so far (keyframe included). For differences that grow with the distance to the keyframe this
    stops near the optimal segment length ``sqrt(2 F / (e d))`` (frame bytes F, entry bytes e,
    drift d entries/row) and also keeps decoding work small. A row whose difference exceeds
    ``threshold`` of a dense row always becomes a keyframe.

    A `CodedArray` is encoded from its codes (`_encode_coded`): same result, byte for byte.

    Args:
        x: the rows of one episode (any integer/bool dtype), dense or a `CodedArray`.
        threshold: hard cap on a row's difference, as a fraction of a dense row's bytes.
        window: rows compared against the current keyframe per vectorised step.

    Returns:
        ``(keys [K, F], kid [M] int32 (local, 0-based), counts [M] int64, pos [P], val [P])``.
    """
    if isinstance(x, CodedArray):
        return _encode_coded(x, threshold, window)
    m = x.shape[0]
    flat = x.reshape(m, -1)
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    f = flat.shape[1]
    pdt = _pos_dtype(f)
    entry_bytes = pdt.itemsize + flat.dtype.itemsize
    frame_bytes = f * flat.dtype.itemsize
    max_nnz = int(threshold * frame_bytes / entry_bytes)
    keys: list[int] = []
    kid = np.empty(m, np.int32)
    counts = np.zeros(m, np.int64)
    pos_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    i = 0
    while i < m:
        keys.append(i)
        kid[i] = len(keys) - 1
        key = flat[i]
        seg_entries = 0  # difference entries in the segment so far
        j = i + 1
        while j < m:
            w = flat[j : j + window]
            d = w != key
            nnz = np.count_nonzero(d, axis=1)
            # Rows in the segment before each candidate row (keyframe included) and their bytes.
            before = np.cumsum(nnz) - nnz + seg_entries
            rows_before = (j - i) + np.arange(w.shape[0])
            avg = (frame_bytes + entry_bytes * before) / rows_before
            bad = (nnz > max_nnz) | (entry_bytes * nnz > avg)
            n_ok = int(np.argmax(bad)) if bad.any() else w.shape[0]
            if n_ok:
                # 1-D flatnonzero is several times faster than 2-D np.nonzero here.
                flat_i = np.flatnonzero(d[:n_ok])
                pos_parts.append((flat_i % f).astype(pdt))
                val_parts.append(w[:n_ok].reshape(-1)[flat_i])
                counts[j : j + n_ok] = nnz[:n_ok]
                kid[j : j + n_ok] = len(keys) - 1
                seg_entries += int(nnz[:n_ok].sum())
            j += n_ok
            if n_ok < w.shape[0]:
                break
        i = j
    pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, pdt)
    val = np.concatenate(val_parts) if val_parts else np.zeros(0, flat.dtype)
    return flat[keys], kid, counts, pos, val


def _encode_coded(
    x: CodedArray, threshold: float, window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`encode_keyframe` of a `CodedArray` without materialising it: the same bytes.

    Rows are compared on their codes (``S`` per row instead of ``C * S`` dense elements): a cell
    whose code equals the keyframe's has no difference in any channel; where the codes differ,
    the tables give each channel's values, hence the differing channels. Keyframe placement,
    counts and the row-major order of ``pos``/``val`` are exactly `encode_keyframe`'s.
    """
    m = x.shape[0]
    code = x.code.reshape(m, -1)
    S = code.shape[1]
    luts = x.luts.view(np.uint8) if x.luts.dtype == np.bool_ else x.luts
    f = luts.shape[0] * S
    pdt = _pos_dtype(f)
    entry_bytes = pdt.itemsize + luts.dtype.itemsize
    frame_bytes = f * luts.dtype.itemsize
    max_nnz = int(threshold * frame_bytes / entry_bytes)
    # Channels whose table is constant never differ (e.g. layers a source cannot give).
    active = [c for c in range(luts.shape[0]) if (luts[c] != luts[c, 0]).any()]
    K = luts.shape[1]
    # Small codes: per (code, keyframe code) pair, which channels differ and how many.
    pair_dif = None
    if K <= 256:
        la = luts[active]
        pair_dif = (la[:, :, None] != la[:, None, :]).reshape(len(active), K * K)
        pair_cnt = pair_dif.sum(axis=0, dtype=np.int64)
    keys: list[int] = []
    kid = np.empty(m, np.int32)
    counts = np.zeros(m, np.int64)
    pos_parts: list[np.ndarray] = []
    val_parts: list[np.ndarray] = []
    i = 0
    while i < m:
        keys.append(i)
        kid[i] = len(keys) - 1
        key = code[i]
        seg_entries = 0
        j = i + 1
        while j < m:
            w = code[j : j + window]
            n = w.shape[0]
            flat_i = np.flatnonzero(w != key)
            if S & (S - 1) == 0:  # shifts and masks: several times cheaper than division
                r, cell = flat_i >> (S.bit_length() - 1), flat_i & (S - 1)
            else:
                r, cell = np.divmod(flat_i, S)
            a, b = w.reshape(-1)[flat_i], key[cell]
            if pair_dif is not None:
                pair = a.astype(np.intp) * K + b
                per_cell = pair_cnt[pair]
            else:
                per_cell = np.zeros(len(r), np.int64)
                for c in active:
                    per_cell += luts[c, a] != luts[c, b]
            nnz = np.bincount(r, weights=per_cell, minlength=n).astype(np.int64)
            before = np.cumsum(nnz) - nnz + seg_entries
            rows_before = (j - i) + np.arange(n)
            avg = (frame_bytes + entry_bytes * before) / rows_before
            bad = (nnz > max_nnz) | (entry_bytes * nnz > avg)
            n_ok = int(np.argmax(bad)) if bad.any() else n
            if n_ok:
                e = int(np.searchsorted(r, n_ok))  # r is sorted: the accepted rows' cells
                rows, ps, vs = [], [], []
                for ci, c in enumerate(active):
                    if pair_dif is not None:
                        d = pair_dif[ci][pair[:e]]
                    else:
                        d = luts[c, a[:e]] != luts[c, b[:e]]
                    sel = np.flatnonzero(d)
                    rows.append(r[sel])
                    ps.append(cell[sel] + c * S)
                    vs.append(luts[c, a[sel]])
                # Channel-major parts, stably sorted by row: row-major flat order, as dense.
                # (Rows are window-local: a small-int key, which numpy radix-sorts.)
                rdt = np.uint8 if n <= 256 else np.int64
                order = np.argsort(np.concatenate(rows).astype(rdt), kind="stable") if rows else []
                pos_parts.append(np.concatenate(ps)[order].astype(pdt) if ps else np.zeros(0, pdt))
                val_parts.append(np.concatenate(vs)[order] if vs else np.zeros(0, luts.dtype))
                counts[j : j + n_ok] = nnz[:n_ok]
                kid[j : j + n_ok] = len(keys) - 1
                seg_entries += int(nnz[:n_ok].sum())
            j += n_ok
            if n_ok < n:
                break
        i = j
    pos = np.concatenate(pos_parts) if pos_parts else np.zeros(0, pdt)
    val = np.concatenate(val_parts) if val_parts else np.zeros(0, luts.dtype)
    kx = np.asarray(CodedArray(x.code[keys], x.luts, x.channel_axis)).reshape(len(keys), -1)
    return (kx.view(np.uint8) if kx.dtype == np.bool_ else kx), kid, counts, pos, val


def decode_keyframe(
    rows: np.ndarray,
    key: np.ndarray,
    kid: np.ndarray,
    ptr: np.ndarray,
    pos: np.ndarray,
    val: np.ndarray,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Decode ``rows`` (any order, repeats allowed) of a keyframe-coded array into ``[B, F]``.

    One gather of the keyframes (``np.take``, straight into ``out`` when given) and one scatter
    of all differences. Each row's differences are one contiguous slice of ``pos``/``val``, so
    they are read as ``B`` slices and concatenated: for the few hundred rows of a batch this is
    several times faster than building a per-entry index (repeat + arange) and gathering with it.
    """
    rows = np.asarray(rows, dtype=np.int64)
    b = rows.shape[0]
    f = key.shape[1]
    if out is None:
        out = np.empty((b, f), dtype=key.dtype)
    np.take(key, kid[rows], axis=0, out=out, mode="clip")  # 'raise' buffers `out`
    starts = np.asarray(ptr[rows])
    ends = np.asarray(ptr[rows + 1])
    lens = ends - starts
    total = int(lens.sum())
    if total:
        p = np.concatenate([pos[a:e] for a, e in zip(starts.tolist(), ends.tolist(), strict=True)])
        v = np.concatenate([val[a:e] for a, e in zip(starts.tolist(), ends.tolist(), strict=True)])
        flat_idx = np.repeat(np.arange(b, dtype=np.intp) * f, lens)  # intp: no index cast
        flat_idx += p
        out.reshape(-1)[flat_idx] = v
    return out


# --------------------------------------------------------------------------------------------
# Writer
# --------------------------------------------------------------------------------------------
def _json_safe(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if isinstance(x, pathlib.Path):
        return str(x)
    return repr(x)


def _package_version() -> str:
    try:
        from importlib.metadata import version

        return version("sc2agents")
    except Exception:  # noqa: BLE001 - not installed (source checkout)
        import sc2agents

        return str(getattr(sc2agents, "__version__", "unknown"))


def _write_json_atomic(path: pathlib.Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, sort_keys=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class _ShardBuilder:
    """Streams the episodes of one shard into a temporary directory."""

    def __init__(
        self, tmp: pathlib.Path, obs_spec: Mapping[str, dict[str, Any]], threshold: float
    ) -> None:
        self.tmp = tmp
        tmp.mkdir(parents=True)
        self.spec = obs_spec
        self.threshold = threshold
        self.files: dict[str, _NpyAppender] = {}
        self.lengths: list[int] = []
        self.terminated: list[bool] = []
        self.truncated: list[bool] = []
        self.infos: list[dict[str, Any]] = []
        self.num_steps = 0
        self.num_obs = 0
        self.key_rows: dict[str, int] = {}
        self.ptr_last: dict[str, int] = {}
        self.raw_bytes = 0
        # Per key: the last array encoded and its encoding (a layer shared by both points of
        # view of a replay is encoded once; a reference is kept so the identity stays valid).
        self._last_encoded: dict[str, tuple[Any, tuple[np.ndarray, ...]]] = {}

    @property
    def nbytes(self) -> int:
        """Bytes appended so far (headers excluded)."""
        return sum(a.nbytes for a in self.files.values())

    def _app(self, name: str, dtype: np.dtype, row_shape: tuple[int, ...]) -> _NpyAppender:
        if name not in self.files:
            self.files[name] = _NpyAppender(self.tmp / name, dtype, row_shape)
        return self.files[name]

    def add(self, ep: Episode) -> None:
        T = ep.num_steps
        for k, s in self.spec.items():
            x = ep.observations[k]
            dtype = np.dtype(s["dtype"])
            shape = tuple(s["shape"])
            if s["codec"] == "raw":
                self._app(f"obs.{k}.npy", dtype, shape).append(np.asarray(x))
            else:
                cached = self._last_encoded.get(k)
                if cached is not None and cached[0] is x:
                    keys, kid, counts, pos, val = cached[1]
                else:
                    keys, kid, counts, pos, val = encode_keyframe(x, self.threshold)
                    self._last_encoded[k] = (x, (keys, kid, counts, pos, val))
                f = int(np.prod(shape))
                sdt = _store_dtype(dtype)
                base = self.key_rows.get(k, 0)
                self._app(f"obs.{k}.key.npy", sdt, (f,)).append(keys)
                self._app(f"obs.{k}.kid.npy", np.dtype(np.int32), ()).append(kid + base)
                ptr_app = self._app(f"obs.{k}.ptr.npy", np.dtype(np.int64), ())
                last = self.ptr_last.get(k, 0)
                if ptr_app.rows == 0:
                    ptr_app.append(np.zeros(1, np.int64))
                ends = last + np.cumsum(counts)
                ptr_app.append(ends)
                self.ptr_last[k] = int(ends[-1]) if len(ends) else last
                self._app(f"obs.{k}.pos.npy", _pos_dtype(f), ()).append(pos)
                self._app(f"obs.{k}.val.npy", sdt, ()).append(val)
                self.key_rows[k] = base + keys.shape[0]
            self.raw_bytes += x.nbytes
        self._app("actions.function.npy", ACTION_DTYPES["function"], ()).append(
            ep.actions["function"]
        )
        self._app("actions.args.npy", ACTION_DTYPES["args"], (ep.actions["args"].shape[1],)).append(
            ep.actions["args"]
        )
        self._app("rewards.npy", np.dtype(np.float32), ()).append(ep.rewards)
        self.lengths.append(T)
        self.terminated.append(ep.terminated)
        self.truncated.append(ep.truncated)
        self.infos.append(_json_safe(ep.info))
        self.num_steps += T
        self.num_obs += T + 1

    def finish(self) -> dict[str, Any]:
        """Close every file and return the shard's manifest entry (name filled by the caller)."""
        self._app("episodes.length.npy", np.dtype(np.int64), ()).append(np.asarray(self.lengths))
        self._app("episodes.terminated.npy", np.dtype(np.bool_), ()).append(
            np.asarray(self.terminated, bool)
        )
        self._app("episodes.truncated.npy", np.dtype(np.bool_), ()).append(
            np.asarray(self.truncated, bool)
        )
        for a in self.files.values():
            a.close()
        with open(self.tmp / "episodes.info.json", "w", encoding="utf-8") as f:
            json.dump(self.infos, f)
            f.flush()
            os.fsync(f.fileno())
        files = {}
        for p in sorted(self.tmp.iterdir()):
            files[p.name] = {"bytes": p.stat().st_size, "sha256": _sha256(p)}
        sources = sorted({str(i["source"]) for i in self.infos if "source" in i})
        return {
            "num_steps": self.num_steps,
            "num_episodes": len(self.lengths),
            "num_obs": self.num_obs,
            "raw_bytes": self.raw_bytes,
            "stored_bytes": sum(v["bytes"] for v in files.values()),
            "sources": sources,
            "files": files,
        }


class DatasetWriter:
    """Writes `Episode`s into a sharded dataset directory (appending if it already exists).

    Args:
        out_dir: dataset directory (created if missing). If it holds a dataset, new shards are
            appended after the existing ones (resume); key specs must match.
        shard_size: a shard is closed once it holds at least this many steps. Episodes are never
            split, so a shard may exceed it by one episode (or one `add_episodes` group).
        max_shard_bytes: a shard is also closed once its files reach this many bytes, which
            bounds the memory a streamed (`ShardStream`) shard needs whatever the data.
        metadata: free-form JSON-serialisable metadata stored in the manifest (``source``,
            ``build``, ``map``, flags, ...). ``builds``/``maps`` are also collected from episode
            ``info["build"]`` / ``info["map"]``.
        keyframe_threshold: see the module docstring.
        command: the command line recorded in the provenance (default: ``sys.argv``).

    The writer is a context manager; `close` flushes the last partial shard.
    """

    def __init__(
        self,
        out_dir: str | os.PathLike[str],
        *,
        shard_size: int = 20_000,
        max_shard_bytes: int = 512 * 2**20,
        metadata: Mapping[str, Any] | None = None,
        keyframe_threshold: float = 0.25,
        command: Sequence[str] | None = None,
    ) -> None:
        if shard_size < 1 or max_shard_bytes < 1:
            raise ValueError(
                f"shard_size and max_shard_bytes must be >= 1, got {shard_size}, {max_shard_bytes}"
            )
        self.out_dir = pathlib.Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = _lock_dir(self.out_dir)
        self.shard_size = int(shard_size)
        self.max_shard_bytes = int(max_shard_bytes)
        self.threshold = float(keyframe_threshold)
        self._closed = False
        self._builder: _ShardBuilder | None = None
        for stale in self.out_dir.glob(".tmp-*"):
            logging.info("removing half-written shard %s", stale)
            shutil.rmtree(stale, ignore_errors=True)
        mpath = self.out_dir / MANIFEST
        if mpath.exists():
            self.manifest = _load_manifest(self.out_dir)
            # Drop shard directories the manifest does not know (renamed but not yet recorded).
            known = {s["name"] for s in self.manifest["shards"]}
            for d in self.out_dir.glob("shard_*"):
                if d.is_dir() and d.name not in known:
                    logging.warning("removing shard %s missing from the manifest", d)
                    shutil.rmtree(d, ignore_errors=True)
            if metadata:
                self.manifest["metadata"].update(_json_safe(dict(metadata)))
        else:
            self.manifest = {
                "format": FORMAT_NAME,
                "format_version": FORMAT_VERSION,
                "keys": None,
                "num_steps": 0,
                "num_episodes": 0,
                "raw_bytes": 0,
                "stored_bytes": 0,
                "builds": [],
                "maps": [],
                "metadata": _json_safe(dict(metadata or {})),
                "provenance": [],
                "shards": [],
            }
        self.manifest["provenance"].append(
            {
                "command": list(command if command is not None else sys.argv),
                "time": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "package_version": _package_version(),
                "numpy_version": np.__version__,
            }
        )

    # -- public API --
    @property
    def existing_sources(self) -> set[str]:
        """``info["source"]`` of every episode already committed (for resuming a build)."""
        return {s for sh in self.manifest["shards"] for s in sh.get("sources", [])}

    @property
    def num_steps(self) -> int:
        """Steps committed so far plus those in the open shard."""
        return int(self.manifest["num_steps"]) + (self._builder.num_steps if self._builder else 0)

    def add_episode(self, episode: Episode) -> None:
        """Append one episode (closes the shard if it reaches ``shard_size``)."""
        self.add_episodes([episode])

    def add_episodes(self, episodes: Iterable[Episode]) -> None:
        """Append a group of episodes that is guaranteed to land in the same shard.

        Use it for the two points of view of a replay, so that resuming after a kill never finds
        one half committed.
        """
        if self._closed:
            raise RuntimeError("DatasetWriter is closed")
        eps = list(episodes)
        for ep in eps:
            ep.validate()
            self._check_spec(ep)
        if self._builder is None and eps:
            self._builder = self._new_builder()
        for ep in eps:
            assert self._builder is not None
            self._builder.add(ep)
            for field, key in (("build", "builds"), ("map", "maps")):
                v = ep.info.get(field)
                if v is not None and _json_safe(v) not in self.manifest[key]:
                    self.manifest[key].append(_json_safe(v))
        b = self._builder
        if b is not None and (b.num_steps >= self.shard_size or b.nbytes >= self.max_shard_bytes):
            self._flush()

    def close(self) -> None:
        """Commit the last (partial) shard and the manifest."""
        if self._closed:
            return
        if self._builder is not None and self._builder.lengths:
            self._flush()
        elif self._builder is not None:
            shutil.rmtree(self._builder.tmp, ignore_errors=True)
            self._builder = None
        _write_json_atomic(self.out_dir / MANIFEST, self.manifest)
        self._closed = True
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    def abort(self) -> None:
        """Drop the open shard without committing it (committed shards stay)."""
        if self._builder is not None:
            for a in self._builder.files.values():
                with contextlib.suppress(Exception):
                    a._f.close()
            shutil.rmtree(self._builder.tmp, ignore_errors=True)
            self._builder = None
        self._closed = True
        self._release()

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- internals --
    def _check_spec(self, ep: Episode) -> None:
        spec = {
            k: {"shape": list(v.shape[1:]), "dtype": np.dtype(v.dtype).str}
            for k, v in sorted(ep.observations.items())
        }
        if self.manifest["keys"] is None:
            obs = {
                k: {**s, "codec": _codec_for(np.dtype(s["dtype"]), tuple(s["shape"]))}
                for k, s in spec.items()
            }
            self.manifest["keys"] = {
                "observations": obs,
                "actions": {
                    "function": {"shape": [], "dtype": ACTION_DTYPES["function"].str},
                    "args": {
                        "shape": [ep.actions["args"].shape[1]],
                        "dtype": ACTION_DTYPES["args"].str,
                    },
                },
                "rewards": {"shape": [], "dtype": np.dtype(np.float32).str},
            }
            return
        have = {
            k: {"shape": s["shape"], "dtype": s["dtype"]}
            for k, s in self.manifest["keys"]["observations"].items()
        }
        if have != spec:
            src = ep.info.get("source", "?")
            diff = sorted(k for k in set(have) | set(spec) if have.get(k) != spec.get(k))
            raise ValueError(
                f"episode (source={src}) does not match the dataset's observation keys at {diff}: "
                f"dataset {[have.get(k) for k in diff]}, episode {[spec.get(k) for k in diff]}"
            )

    def _new_builder(self) -> _ShardBuilder:
        idx = len(self.manifest["shards"])
        tmp = self.out_dir / f".tmp-shard_{idx:05d}-{os.getpid()}"
        return _ShardBuilder(tmp, self.manifest["keys"]["observations"], self.threshold)

    def _flush(self) -> None:
        b = self._builder
        assert b is not None
        entry = b.finish()
        name = f"shard_{len(self.manifest['shards']):05d}"
        final = self.out_dir / name
        if final.exists():  # left from a crash between rename and manifest write
            shutil.rmtree(final)
        os.rename(b.tmp, final)
        self.manifest["shards"].append({"name": name, **entry})
        for k in ("num_steps", "num_episodes", "raw_bytes", "stored_bytes"):
            self.manifest[k] += entry[k]
        _write_json_atomic(self.out_dir / MANIFEST, self.manifest)
        self._builder = None
        logging.info(
            "wrote %s: %d episodes, %d steps, %.1f MB (%.1f%% of raw)",
            final, entry["num_episodes"], entry["num_steps"], entry["stored_bytes"] / 1e6,
            100.0 * entry["stored_bytes"] / max(entry["raw_bytes"], 1),
        )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Reader
# --------------------------------------------------------------------------------------------
def _load_manifest(root: pathlib.Path) -> dict[str, Any]:
    mpath = root / MANIFEST
    if not mpath.exists():
        raise DatasetError(f"dataset {root}: no {MANIFEST} (not a dataset, or never closed)")
    try:
        with open(mpath, encoding="utf-8") as f:
            m = json.load(f)
    except json.JSONDecodeError as e:
        raise DatasetError(f"dataset {root}: {MANIFEST} is damaged: {e}") from e
    if m.get("format") != FORMAT_NAME:
        raise DatasetError(
            f"dataset {root}: {MANIFEST} has format {m.get('format')!r}, not {FORMAT_NAME!r}"
        )
    if m.get("format_version") != FORMAT_VERSION:
        raise DatasetError(
            f"dataset {root}: format version {m.get('format_version')} but this sc2agents reads "
            f"version {FORMAT_VERSION}; rebuild the dataset or use a matching sc2agents version"
        )
    return m


class Shard:
    """One shard, memory-mapped (default) or loaded into memory.

    Attributes:
        name: shard directory name.
        num_steps / num_episodes / num_obs: counts.
        lengths: int64 ``[E]`` episode lengths; ``step_start`` / ``obs_start``: int64 ``[E+1]``
            offsets of each episode's first step / observation row.
        terminated / truncated: bool ``[E]``.
        function / args / rewards: per-step arrays (memmaps unless ``in_memory``).
    """

    def __init__(
        self,
        root: pathlib.Path,
        entry: Mapping[str, Any],
        keys: Mapping[str, Any],
        *,
        in_memory: bool = False,
        obs_keys: Sequence[str] | None = None,
    ) -> None:
        self.root = root
        self.name = str(entry["name"])
        self.dir = root / self.name
        self.entry = entry
        self.num_steps = int(entry["num_steps"])
        self.num_episodes = int(entry["num_episodes"])
        self.num_obs = int(entry["num_obs"])
        self.obs_spec = dict(keys["observations"])
        self.obs_keys = list(obs_keys) if obs_keys is not None else list(self.obs_spec)
        for k in self.obs_keys:
            if k not in self.obs_spec:
                raise KeyError(
                    f"dataset {root}: no observation key {k!r} (have {sorted(self.obs_spec)})"
                )
        self.in_memory = in_memory
        self._infos: list[dict[str, Any]] | None = None
        if not self.dir.is_dir():
            raise DatasetError(f"dataset {root}: shard {self.name} is missing ({self.dir})")
        for fname, meta in entry["files"].items():
            p = self.dir / fname
            if not p.exists():
                raise DatasetError(f"dataset {root}: shard {self.name}: file {fname} is missing")
            size = p.stat().st_size
            if size != int(meta["bytes"]):
                raise DatasetError(
                    f"dataset {root}: shard {self.name}: file {fname} is "
                    f"{'truncated' if size < meta['bytes'] else 'damaged'} "
                    f"({size} bytes, manifest says {meta['bytes']})"
                )
        self.lengths = self._load("episodes.length.npy", (self.num_episodes,), np.int64, force=True)
        self.terminated = self._load(
            "episodes.terminated.npy", (self.num_episodes,), np.bool_, True
        )
        self.truncated = self._load("episodes.truncated.npy", (self.num_episodes,), np.bool_, True)
        if int(self.lengths.sum()) != self.num_steps:
            raise DatasetError(
                f"dataset {root}: shard {self.name}: episode lengths sum to "
                f"{int(self.lengths.sum())}, "
                f"manifest says {self.num_steps} steps"
            )
        self.step_start = np.concatenate([[0], np.cumsum(self.lengths)]).astype(np.int64)
        self.obs_start = self.step_start + np.arange(self.num_episodes + 1, dtype=np.int64)
        n = self.num_steps
        self.function = self._load("actions.function.npy", (n,), ACTION_DTYPES["function"])
        nargs = int(keys["actions"]["args"]["shape"][0])
        self.args = self._load("actions.args.npy", (n, nargs), ACTION_DTYPES["args"])
        self.rewards = self._load("rewards.npy", (n,), np.float32)
        self._obs: dict[str, Any] = {}
        for k in self.obs_keys:
            s = self.obs_spec[k]
            shape = tuple(s["shape"])
            dtype = np.dtype(s["dtype"])
            m = self.num_obs
            if s["codec"] == "raw":
                self._obs[k] = ("raw", self._load(f"obs.{k}.npy", (m, *shape), dtype))
            else:
                f = int(np.prod(shape))
                sdt = _store_dtype(dtype)
                kid = self._load(f"obs.{k}.kid.npy", (m,), np.int32)
                ptr = self._load(f"obs.{k}.ptr.npy", (m + 1,), np.int64)
                key = self._load(f"obs.{k}.key.npy", None, sdt)
                pos = self._load(f"obs.{k}.pos.npy", (int(ptr[-1]),), _pos_dtype(f))
                val = self._load(f"obs.{k}.val.npy", (int(ptr[-1]),), sdt)
                if key.ndim != 2 or key.shape[1] != f:
                    raise DatasetError(
                        f"dataset {root}: shard {self.name}: obs.{k}.key.npy has shape "
                        f"{key.shape}, "
                        f"expected [K, {f}]"
                    )
                if in_memory and m and int(kid.max()) >= key.shape[0]:  # mmap: see verify()
                    raise DatasetError(
                        f"dataset {root}: shard {self.name}: obs.{k}.kid.npy is damaged"
                    )
                self._obs[k] = ("keyframe", (key, kid, ptr, pos, val))

    def _load(
        self, fname: str, shape: tuple[int, ...] | None, dtype: Any, force: bool = False
    ) -> np.ndarray:
        p = self.dir / fname
        if fname not in self.entry["files"]:
            raise DatasetError(f"dataset {self.root}: shard {self.name}: manifest lists no {fname}")
        try:
            hshape, hdtype, offset = _read_npy_header(p)
        except Exception as e:  # noqa: BLE001 - anything numpy raises on a bad header
            raise DatasetError(
                f"dataset {self.root}: shard {self.name}: {fname} is damaged: {e}"
            ) from e
        if hdtype != np.dtype(dtype) or (shape is not None and tuple(hshape) != tuple(shape)):
            raise DatasetError(
                f"dataset {self.root}: shard {self.name}: {fname} holds {hdtype}{list(hshape)}, "
                f"expected {np.dtype(dtype)}{list(shape) if shape is not None else ''}"
            )
        expect = offset + int(np.prod(hshape)) * hdtype.itemsize
        if p.stat().st_size < expect:
            raise DatasetError(
                f"dataset {self.root}: shard {self.name}: {fname} is truncated "
                f"({p.stat().st_size} of {expect} bytes)"
            )
        if self.in_memory or force or int(np.prod(hshape)) == 0:
            return np.load(p, allow_pickle=False)
        # A plain ndarray view of the map: np.memmap's __getitem__ costs ~3 us per call, which
        # adds up over the per-row slices of `decode_keyframe`.
        return np.load(p, mmap_mode="r", allow_pickle=False).view(np.ndarray)

    @property
    def nbytes(self) -> int:
        """Bytes of this shard's files (what `in_memory` costs)."""
        return int(self.entry["stored_bytes"])

    def observations(
        self,
        rows: np.ndarray,
        keys: Sequence[str] | None = None,
        out: Mapping[str, np.ndarray] | None = None,
    ) -> dict[str, np.ndarray]:
        """Decode observation ``rows`` (shard-local row indices, any order) of ``keys``.

        Args:
            rows: shard-local observation rows.
            keys: observation keys (default: the shard's).
            out: optional preallocated C-contiguous ``[len(rows), ...]`` arrays to decode into.
        """
        rows = np.asarray(rows, dtype=np.int64)
        n = rows.shape[0]
        res = {}
        for k in keys if keys is not None else self.obs_keys:
            s = self.obs_spec[k]
            dtype = np.dtype(s["dtype"])
            dst = out[k] if out is not None else np.empty((n, *s["shape"]), dtype)
            codec, data = self._obs[k]
            if codec == "raw":
                np.take(data, rows, axis=0, out=dst, mode="clip")
            else:
                flat = dst.reshape(n, -1)
                decode_keyframe(rows, *data, out=flat.view(np.uint8) if dtype == np.bool_ else flat)
            res[k] = dst
        return res

    def episode(self, e: int) -> Episode:
        """Read back episode ``e`` of this shard."""
        if not 0 <= e < self.num_episodes:
            raise IndexError(f"shard {self.name} has {self.num_episodes} episodes, asked for {e}")
        s0, s1 = int(self.step_start[e]), int(self.step_start[e + 1])
        o0, o1 = int(self.obs_start[e]), int(self.obs_start[e + 1])
        infos = self.infos()
        return Episode(
            observations=self.observations(np.arange(o0, o1)),
            actions={
                "function": np.array(self.function[s0:s1]),
                "args": np.array(self.args[s0:s1]),
            },
            rewards=np.array(self.rewards[s0:s1]),
            terminated=bool(self.terminated[e]),
            truncated=bool(self.truncated[e]),
            info=infos[e],
        )

    def infos(self) -> list[dict[str, Any]]:
        """The ``info`` dict of every episode (read once, then cached)."""
        if self._infos is None:
            try:
                with open(self.dir / "episodes.info.json", encoding="utf-8") as f:
                    self._infos = json.load(f)
            except json.JSONDecodeError as e:
                raise DatasetError(
                    f"dataset {self.root}: shard {self.name}: episodes.info.json is damaged: {e}"
                ) from e
        return self._infos


class ShardedDataset:
    """An opened dataset (see `open_dataset`)."""

    def __init__(self, path: str | os.PathLike[str], obs_keys: Sequence[str] | None = None) -> None:
        self.path = pathlib.Path(path)
        self.manifest = _load_manifest(self.path)
        if self.manifest["keys"] is None or not self.manifest["shards"]:
            raise DatasetError(f"dataset {self.path}: holds no episodes")
        self.obs_keys = list(obs_keys) if obs_keys is not None else None
        self._shards: dict[int, Shard] = {}
        # Cheap checks of every shard now (presence, sizes, .npy headers), so errors surface at
        # open. Memory maps are kept for the first `_KEEP_OPEN` shards only; larger datasets
        # map a shard when it is first used (`shard`), keeping the number of maps bounded for
        # streaming through `ShardStream`.
        for i in range(self.num_shards):
            sh = Shard(
                self.path, self.manifest["shards"][i], self.manifest["keys"], obs_keys=obs_keys
            )
            if i < _KEEP_OPEN:
                self._shards[i] = sh

    @property
    def num_shards(self) -> int:
        return len(self.manifest["shards"])

    @property
    def num_steps(self) -> int:
        return int(self.manifest["num_steps"])

    @property
    def num_episodes(self) -> int:
        return int(self.manifest["num_episodes"])

    @property
    def observation_spec(self) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
        """``{key: (shape, dtype)}`` per observation row (the learners' ``obs_spec``)."""
        keys = self.obs_keys or list(self.manifest["keys"]["observations"])
        obs = self.manifest["keys"]["observations"]
        return {k: (tuple(obs[k]["shape"]), np.dtype(obs[k]["dtype"])) for k in keys}

    @property
    def key_specs(self) -> dict[str, Any]:
        """Shapes, dtypes and codecs of every stored key, as in the manifest."""
        return self.manifest["keys"]

    @property
    def compression(self) -> float:
        """Stored observation+action bytes / raw uint8 observation bytes."""
        return float(self.manifest["stored_bytes"]) / max(float(self.manifest["raw_bytes"]), 1.0)

    def shard(self, i: int, *, in_memory: bool = False) -> Shard:
        """Shard ``i``, memory-mapped, or loaded fully into memory with ``in_memory``."""
        if not 0 <= i < self.num_shards:
            raise IndexError(f"dataset {self.path} has {self.num_shards} shards, asked for {i}")
        if in_memory:
            return Shard(
                self.path, self.manifest["shards"][i], self.manifest["keys"],
                in_memory=True, obs_keys=self.obs_keys,
            )  # fmt: skip
        if i not in self._shards:
            self._shards[i] = Shard(
                self.path, self.manifest["shards"][i], self.manifest["keys"], obs_keys=self.obs_keys
            )
        return self._shards[i]

    @property
    def shards(self) -> list[Shard]:
        return [self.shard(i) for i in range(self.num_shards)]

    def episode(self, i: int) -> Episode:
        """Episode ``i`` in dataset order (shard by shard)."""
        if not 0 <= i < self.num_episodes:
            raise IndexError(f"dataset {self.path} has {self.num_episodes} episodes, asked for {i}")
        for j, entry in enumerate(self.manifest["shards"]):
            n = int(entry["num_episodes"])
            if i < n:
                return self.shard(j).episode(i)
            i -= n
        raise AssertionError("unreachable")

    def episodes(self) -> Iterator[Episode]:
        """Every episode, in order."""
        for sh in self.shards:
            for e in range(sh.num_episodes):
                yield sh.episode(e)

    def verify(self, progress: bool = True) -> None:
        """Check the sha256 of every file against the manifest.

        Raises:
            DatasetError: listing every shard/file that is missing or whose checksum differs.
        """
        from tqdm.auto import tqdm

        problems = []
        items = [(s["name"], f, m) for s in self.manifest["shards"] for f, m in s["files"].items()]
        total = sum(int(m["bytes"]) for _, _, m in items)
        with tqdm(
            total=total, unit="B", unit_scale=True, desc="verify", disable=not progress
        ) as bar:
            for name, fname, meta in items:
                p = self.path / name / fname
                if not p.exists():
                    problems.append(f"shard {name}: file {fname} is missing")
                    continue
                digest = _sha256(p)
                if digest != meta["sha256"]:
                    problems.append(f"shard {name}: file {fname} is damaged (sha256 mismatch)")
                bar.update(int(meta["bytes"]))
        if problems:
            raise DatasetError(f"dataset {self.path}: " + "; ".join(problems))

    def stream(
        self, resident_shards: int = 2, replace_interval: int = 1000, seed: int | None = None
    ) -> ShardStream:
        """A bounded-memory shard-swapping view (see `ShardStream`)."""
        return ShardStream(self, resident_shards, replace_interval, seed)

    def __repr__(self) -> str:
        return (
            f"ShardedDataset({str(self.path)!r}, shards={self.num_shards}, "
            f"episodes={self.num_episodes}, steps={self.num_steps})"
        )


class ShardStream:
    """A bounded-memory view: ``resident_shards`` shards in memory, one swapped per interval.

    One shard is swapped every ``replace_interval`` samples (the horizon-reduction
    ``dataset_replace_interval`` scheme, generalised to k resident shards).

    Samplers built on a stream call `tick(n)` after drawing ``n`` samples; when a swap happens
    `version` increases and they rebuild their index over `resident`. Memory is bounded by
    ``resident_shards + 1`` shards (the stream drops the old shard before loading the new one; a
    sampler holds on to it until its next batch) plus the samplers' per-step index (~8 bytes per
    resident step).
    """

    def __init__(
        self, dataset: ShardedDataset, resident_shards: int, replace_interval: int, seed: int | None
    ) -> None:
        if resident_shards < 1:
            raise ValueError(f"resident_shards must be >= 1, got {resident_shards}")
        if replace_interval < 1:
            raise ValueError(f"replace_interval must be >= 1, got {replace_interval}")
        self.dataset = dataset
        self.k = min(resident_shards, dataset.num_shards)
        self.replace_interval = int(replace_interval)
        self.rng = np.random.default_rng(seed)
        ids = self.rng.permutation(dataset.num_shards)[: self.k]
        self.resident_ids: list[int] = [int(i) for i in ids]
        self.resident: list[Shard] = [dataset.shard(i, in_memory=True) for i in self.resident_ids]
        self._queue: list[int] = []
        self.version = 0
        self._since = 0
        self.swaps = 0

    def tick(self, num_samples: int) -> None:
        """Count ``num_samples`` drawn; swap a shard when ``replace_interval`` is reached."""
        self._since += int(num_samples)
        while self._since >= self.replace_interval:
            self._since -= self.replace_interval
            self.swap()

    def swap(self) -> None:
        """Replace one random resident shard by the next shard of a shuffled pass.

        Shards enter in passes over a random permutation (like epochs), so every shard is
        visited once per ``num_shards - k`` swaps instead of at random.
        """
        if self.dataset.num_shards <= self.k:
            return
        while True:
            if not self._queue:
                self._queue = [int(i) for i in self.rng.permutation(self.dataset.num_shards)]
            new = self._queue.pop()
            if new not in self.resident_ids:
                break
        out_slot = int(self.rng.integers(self.k))
        self.resident[out_slot] = None  # type: ignore[call-overload]  # free before loading
        self.resident[out_slot] = self.dataset.shard(new, in_memory=True)
        self.resident_ids[out_slot] = new
        self.version += 1
        self.swaps += 1


def open_dataset(
    path: str | os.PathLike[str], *, obs_keys: Sequence[str] | None = None
) -> ShardedDataset:
    """Open a dataset directory written by `DatasetWriter`.

    Args:
        path: the dataset directory.
        obs_keys: observation keys to read (default: all), e.g. ``["minimap", "player"]``.

    Raises:
        DatasetError: no manifest, a format-version mismatch, a missing shard or file, a file whose
            size or header does not match the manifest (truncated/damaged), naming the shard.
    """
    return ShardedDataset(path, obs_keys=obs_keys)
