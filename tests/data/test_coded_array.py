"""`CodedArray` (observations as lookup tables of one code): array behaviour, and a dataset written
from it is byte-identical to one written from the dense array (replay conversions depend on it)."""

from __future__ import annotations

import json
import pathlib
import pickle

import numpy as np
import pytest

from sc2agents.data import replay_convert as rc
from sc2agents.data.dataset import DatasetWriter, encode_keyframe, open_dataset
from sc2agents.data.episodes import CodedArray, Episode

REPLAYS = pathlib.Path(__file__).resolve().parents[2] / "replays"
ZVP = REPLAYS / "lotv_5_0_15_ZvP_10000feet_zhcn_06.SC2Replay"


def drifting_codes(rng, n, s, k, rate):
    """Codes that change in a fraction ``rate`` of the cells per row (like game frames)."""
    code = np.zeros((n, s), np.uint8 if k <= 256 else np.uint16)
    cur = rng.integers(0, k, s)
    for t in range(n):
        cur = np.where(rng.random(s) < rate, rng.integers(0, k, s), cur)
        code[t] = cur
    return code


@pytest.mark.parametrize("seed", range(6))
def test_encoding_equals_the_dense_arrays(seed):
    rng = np.random.default_rng(seed)
    n, s = int(rng.integers(2, 200)), [16, 64, 4096][seed % 3]
    k = [4, 256, 1024][seed % 3]  # 1024: no pair tables (wide codes)
    c = 1 + seed % 4
    dtype = [np.uint8, np.uint16, np.bool_][seed % 3]
    luts = rng.integers(0, 3, (c, k)).astype(dtype)
    luts[0] = 0  # a channel the source cannot give: never differs
    x = CodedArray(drifting_codes(rng, n, s, k, [0.002, 0.05, 0.4][seed % 3]), luts, c > 1)
    dense = np.asarray(x)
    assert dense.shape == x.shape and dense.dtype == x.dtype
    for threshold in (0.25, 0.02):
        got, want = encode_keyframe(x, threshold), encode_keyframe(dense, threshold)
        for name, g, w in zip(("keys", "kid", "counts", "pos", "val"), got, want, strict=True):
            assert g.dtype == w.dtype and np.array_equal(g, w), name


def test_behaves_like_the_dense_array():
    rng = np.random.default_rng(0)
    luts = np.zeros((10, 256), np.uint8)
    luts[3], luts[5] = np.arange(256) % 7, np.arange(256) // 64
    x = CodedArray(drifting_codes(rng, 5, 16, 256, 0.3).reshape(5, 4, 4), luts)
    d = np.asarray(x)
    assert x.shape == (5, 10, 4, 4) == d.shape and x.nbytes == d.nbytes and len(x) == 5
    assert (d[:, [0, 1, 2, 4, 6, 7, 8, 9]] == 0).all() and d[:, 3].any()
    for idx in (0, -1, slice(1, 3), (slice(None), 3), (2, 5), (slice(None), 5, 1), d > 2, [0, 2]):
        assert np.array_equal(x[idx], d[idx]), idx
    assert np.array_equal(x == 1, d == 1) and np.array_equal(x[:, 3] + 1, d[:, 3] + 1)
    assert x.sum() == d.sum() and x.max() == d.max() and x.reshape(5, -1).shape == (5, 160)
    assert np.array_equal(np.unique(x), np.unique(d)) and np.array_equal(np.stack([x, x])[1], d)
    assert np.array_equal(pickle.loads(pickle.dumps(x)), d)  # Ray workers pickle episodes
    codes = np.array([[1, 2], [3, 0]], np.uint8)
    one = CodedArray(codes, np.arange(4, dtype=np.uint16)[None], channel_axis=False)
    assert one.shape == (2, 2) and np.array_equal(one, [[1, 2], [3, 0]]) and one.dtype == np.uint16


def test_bad_codes_and_tables_are_rejected():
    with pytest.raises(ValueError, match="unsigned"):
        CodedArray(np.zeros((2, 3), np.int32), np.zeros((1, 4), np.uint8))
    with pytest.raises(ValueError, match="outside tables"):
        CodedArray(np.full((2, 3), 9, np.uint8), np.zeros((1, 4), np.uint8))
    with pytest.raises(ValueError, match="luts"):
        CodedArray(np.zeros((2, 3), np.uint8), np.zeros((2, 4), np.uint8), channel_axis=False)


def _shard_files(path):
    m = json.loads((path / "manifest.json").read_text())
    return [s["files"] for s in m["shards"]], m["keys"]


def test_converted_replay_writes_the_same_dataset_as_its_dense_arrays(tmp_path):
    eps = rc.convert_replay(ZVP)
    assert isinstance(eps[0].observations["minimap"], CodedArray)
    dense = [
        Episode(
            observations={k: np.asarray(v) for k, v in ep.observations.items()},
            actions=ep.actions,
            rewards=ep.rewards,
            terminated=ep.terminated,
            truncated=ep.truncated,
            info=ep.info,
        )
        for ep in eps
    ]
    for name, group in (("coded", eps), ("dense", dense)):
        with DatasetWriter(tmp_path / name) as w:
            w.add_episodes(group)
    assert _shard_files(tmp_path / "coded") == _shard_files(tmp_path / "dense")
    ds = open_dataset(tmp_path / "coded")
    ds.verify()
    back = ds.episode(1).observations["minimap"]
    assert np.array_equal(back, dense[1].observations["minimap"])
