"""Dataset storage: round trip, compression, atomicity/resume, clear errors, bounded streaming."""

from __future__ import annotations

import json
import os
import shutil
import tracemalloc

import numpy as np
import pytest

from sc2agents.data import dataset as dsmod
from sc2agents.data.dataset import DatasetError, DatasetWriter, decode_keyframe, open_dataset
from sc2agents.data.episodes import Episode, stack_observations
from sc2agents.data.samplers import uniform_sampler


def synthetic_minimap_episode(
    rng: np.random.Generator, T: int, size: int = 64, units: int = 30, source: str = "x"
) -> Episode:
    """A minimap-like episode: static terrain layers, moving units, a moving camera."""
    mm = np.zeros((T + 1, 10, size, size), np.uint8)
    ut = np.zeros((T + 1, size, size), np.uint16)
    height = rng.integers(0, 255, (size // 8, size // 8)).repeat(8, 0).repeat(8, 1)
    mm[:, 0] = height  # height_map: static, dense
    mm[:, 1] = 2  # visibility
    pos = rng.integers(0, size, (units, 2))
    for t in range(T + 1):
        pos = np.clip(pos + rng.integers(-1, 2, pos.shape), 0, size - 1)
        cx = (t // 4) % (size - 16)
        mm[t, 3, 8:24, cx : cx + 16] = 1  # camera rectangle
        mm[t, 4, pos[:, 1], pos[:, 0]] = 1 + (np.arange(units) % 2)  # player_id
        mm[t, 5, pos[:, 1], pos[:, 0]] = 1 + 3 * (np.arange(units) % 2)  # player_relative
        ut[t, pos[:, 1], pos[:, 0]] = 100 + np.arange(units)
    avail = np.zeros((T + 1, 573), bool)
    avail[:, :10] = True
    avail[::3, 331] = True
    return Episode(
        observations={
            "minimap": mm,
            "minimap_unit_type": ut,
            "player": rng.random((T + 1, 11)).astype(np.float32),
            "available_actions": avail,
        },
        actions={
            "function": rng.integers(0, 573, T),
            "args": rng.integers(-1, 4096, (T, 13)),
        },
        rewards=rng.standard_normal(T).astype(np.float32),
        terminated=bool(rng.integers(2)),
        truncated=False,
        info={"source": source, "map": "Simple64", "build": 80188, "player": 1},
    )


def write(path, episodes, **kw):
    with DatasetWriter(path, **kw) as w:
        for ep in episodes:
            w.add_episode(ep)
    return path


@pytest.fixture(scope="module")
def episodes():
    rng = np.random.default_rng(0)
    return [
        synthetic_minimap_episode(rng, int(T), source=f"r{i}")
        for i, T in enumerate([40, 3, 70, 25])
    ]


def assert_same(a: Episode, b: Episode) -> None:
    assert set(a.observations) == set(b.observations)
    for k in a.observations:
        assert a.observations[k].dtype == b.observations[k].dtype, k
        assert np.array_equal(a.observations[k], b.observations[k]), k
    for k in a.actions:
        assert np.array_equal(a.actions[k], b.actions[k]), k
    assert np.array_equal(a.rewards, b.rewards)
    assert (a.terminated, a.truncated) == (b.terminated, b.truncated)
    assert a.info == b.info


def test_round_trip_and_manifest(tmp_path, episodes):
    write(tmp_path, episodes, shard_size=60, metadata={"policy": "expert"})
    ds = open_dataset(tmp_path)
    assert ds.num_episodes == 4 and ds.num_steps == sum(e.num_steps for e in episodes)
    for a, b in zip(episodes, ds.episodes(), strict=True):
        assert_same(a, b)
    assert_same(episodes[3], ds.episode(3))  # global index into the second shard
    with pytest.raises(IndexError):
        ds.episode(4)
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["format_version"] == dsmod.FORMAT_VERSION
    assert m["maps"] == ["Simple64"] and m["builds"] == [80188]
    assert m["metadata"]["policy"] == "expert"
    prov = m["provenance"][0]
    assert {"command", "time", "package_version"} <= set(prov)
    # Episodes never split: shard step counts are sums of whole episodes, >= shard_size but last.
    per_shard = [s["num_steps"] for s in m["shards"]]
    assert per_shard == [40 + 3 + 70, 25]
    for s in m["shards"]:
        for f in s["files"].values():
            assert len(f["sha256"]) == 64 and f["bytes"] > 0
    assert ds.observation_spec["minimap"] == ((10, 64, 64), np.dtype(np.uint8))
    assert ds.observation_spec["minimap_unit_type"] == ((64, 64), np.dtype(np.uint16))
    assert m["keys"]["observations"]["minimap"]["codec"] == "keyframe"
    assert m["keys"]["observations"]["player"]["codec"] == "raw"
    # Memory-mapped .npy files, one per key per shard.
    assert isinstance(ds.shards[0]._obs["minimap"][1][3].base, np.memmap)
    assert np.load(tmp_path / "shard_00000" / "rewards.npy", mmap_mode="r").shape == (113,)
    ds.verify(progress=False)


def test_compression_below_quarter_of_raw(tmp_path, episodes):
    write(tmp_path, episodes)
    ds = open_dataset(tmp_path)
    raw_obs = sum(v.nbytes for e in episodes for v in e.observations.values())
    assert ds.manifest["raw_bytes"] == raw_obs
    assert ds.compression < 0.25, ds.compression


def test_keyframe_codec_worst_case_and_random_access():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (50, 3, 20, 20), dtype=np.uint8)  # incompressible: keyframe per row
    keys, kid, counts, pos, val = dsmod.encode_keyframe(x)
    assert keys.shape[0] == 50 and counts.sum() == 0
    y = x.copy()
    y[10:] = y[10]  # static tail: one keyframe, empty differences
    y[20, 0, 5, 5] ^= 1
    keys, kid, counts, pos, val = dsmod.encode_keyframe(y)
    assert keys.shape[0] == 11 and counts[20] == 1
    ptr = np.concatenate([[0], np.cumsum(counts)])
    rows = rng.integers(0, 50, 200)
    assert np.array_equal(decode_keyframe(rows, keys, kid, ptr, pos, val), y.reshape(50, -1)[rows])


def test_bool_and_uint16_roundtrip_via_sampler(tmp_path, episodes):
    write(tmp_path, episodes[:1])
    b = uniform_sampler(open_dataset(tmp_path), seed=0).sample(32)
    assert b.observations["available_actions"].dtype == np.bool_
    assert b.observations["minimap_unit_type"].dtype == np.uint16


def test_version_mismatch(tmp_path, episodes):
    write(tmp_path, episodes[:1])
    m = json.loads((tmp_path / "manifest.json").read_text())
    m["format_version"] = 999
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(DatasetError, match="format version 999"):
        open_dataset(tmp_path)


def test_not_a_dataset_and_damaged_manifest(tmp_path):
    with pytest.raises(DatasetError, match="no manifest.json"):
        open_dataset(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(DatasetError, match="manifest.json is damaged"):
        open_dataset(tmp_path)


def test_missing_shard_and_file(tmp_path, episodes):
    write(tmp_path, episodes, shard_size=1)
    shutil.rmtree(tmp_path / "shard_00002")
    with pytest.raises(DatasetError, match="shard shard_00002 is missing"):
        open_dataset(tmp_path)
    os.remove(tmp_path / "shard_00001" / "obs.minimap.pos.npy")
    with pytest.raises(DatasetError, match="shard_00001: file obs.minimap.pos.npy is missing"):
        open_dataset(tmp_path)


def test_truncated_file(tmp_path, episodes):
    write(tmp_path, episodes, shard_size=1)
    p = tmp_path / "shard_00003" / "obs.minimap.key.npy"
    with open(p, "r+b") as f:
        f.truncate(p.stat().st_size - 100)
    with pytest.raises(DatasetError, match=r"shard_00003: file obs.minimap.key.npy is truncated"):
        open_dataset(tmp_path)


def test_damaged_file_found_by_verify(tmp_path, episodes):
    write(tmp_path, episodes, shard_size=1)
    p = tmp_path / "shard_00000" / "obs.minimap.val.npy"
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF  # same size: only the checksum can tell
    p.write_bytes(bytes(data))
    ds = open_dataset(tmp_path)
    with pytest.raises(
        DatasetError, match=r"shard shard_00000: file obs.minimap.val.npy is damaged"
    ):
        ds.verify(progress=False)


def test_damaged_header(tmp_path, episodes):
    write(tmp_path, episodes[:1])
    p = tmp_path / "shard_00000" / "rewards.npy"
    data = bytearray(p.read_bytes())
    data[:6] = b"garbag"
    p.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="shard_00000: rewards.npy is damaged"):
        open_dataset(tmp_path)


def test_half_written_shard_is_invisible_and_resume_appends(tmp_path, episodes):
    w = DatasetWriter(tmp_path, shard_size=50)
    w.add_episodes(episodes[:3])  # 113 steps -> one committed shard
    w.add_episode(episodes[3])  # open shard, never closed ("killed")
    tmp_dirs = list(tmp_path.glob(".tmp-*"))
    assert len(tmp_dirs) == 1
    ds = open_dataset(tmp_path)
    assert ds.num_episodes == 3 and ds.num_shards == 1
    # While it lives, nobody else may write there.
    with pytest.raises(DatasetError, match=f"being written by pid {os.getpid()}"):
        DatasetWriter(tmp_path)
    w._lock.close()  # what the kernel does when the writer process dies
    # A writer killed between the rename and the manifest update leaves an unknown shard dir.
    (tmp_path / "shard_00001").mkdir()
    w2 = DatasetWriter(tmp_path, shard_size=50)
    assert not list(tmp_path.glob(".tmp-*")) and not (tmp_path / "shard_00001").exists()
    assert w2.existing_sources == {"r0", "r1", "r2"}
    w2.add_episode(episodes[3])
    w2.close()
    ds = open_dataset(tmp_path)
    assert ds.num_episodes == 4 and ds.num_shards == 2
    assert len(ds.manifest["provenance"]) == 2
    assert_same(episodes[3], ds.shard(1).episode(0))
    ds.verify(progress=False)


def test_max_shard_bytes(tmp_path, episodes):
    write(tmp_path, episodes, shard_size=10**6, max_shard_bytes=1)
    ds = open_dataset(tmp_path)
    assert [s["num_episodes"] for s in ds.manifest["shards"]] == [1, 1, 1, 1]


def test_group_stays_in_one_shard(tmp_path, episodes):
    write(tmp_path, [], shard_size=1)  # empty writer: no manifest shards
    with DatasetWriter(tmp_path, shard_size=1) as w:
        w.add_episodes(episodes[:2])
        w.add_episodes(episodes[2:])
    ds = open_dataset(tmp_path)
    assert [s["num_episodes"] for s in ds.manifest["shards"]] == [2, 2]


def test_writer_rejects_bad_episodes(tmp_path, episodes):
    with DatasetWriter(tmp_path) as w:
        w.add_episode(episodes[0])
        other = synthetic_minimap_episode(np.random.default_rng(0), 3, size=32)
        with pytest.raises(
            ValueError, match=r"observation keys at \['minimap', 'minimap_unit_type'\]"
        ):
            w.add_episode(other)
    with pytest.raises(ValueError, match=r"observations\['player'\] must have T\+1"):
        Episode(
            observations={"player": np.zeros((3, 11), np.float32)},
            actions={"function": np.zeros(3, np.int16), "args": np.zeros((3, 13), np.int32)},
            rewards=np.zeros(3, np.float32),
            terminated=True,
            truncated=False,
        )
    with pytest.raises(ValueError, match="both set"):
        Episode(
            observations={"player": np.zeros((2, 11), np.float32)},
            actions={"function": np.zeros(1, np.int16), "args": np.zeros((1, 13), np.int32)},
            rewards=np.zeros(1, np.float32),
            terminated=True,
            truncated=True,
        )


def test_stack_observations():
    obs = [{"a": np.full(3, t), "b": np.zeros(2)} for t in range(4)]
    st = stack_observations(obs)
    assert st["a"].shape == (4, 3) and st["a"][2, 0] == 2
    with pytest.raises(ValueError, match="step 1"):
        stack_observations([{"a": 1}, {"b": 2}])


def test_streaming_memory_is_bounded(tmp_path):
    """Iterate a 16-shard dataset with 2 resident shards: allocation peak ~ 2-3 shards, not 16."""
    rng = np.random.default_rng(0)
    T, n_shards = 60, 16
    for i in range(n_shards):
        # Incompressible frames so every shard costs ~ its raw size (about 1.2 MB).
        mm = rng.integers(0, 256, (T + 1, 5, 64, 64), dtype=np.uint8)
        ep = Episode(
            observations={"minimap": mm},
            actions={"function": np.zeros(T, np.int16), "args": np.zeros((T, 13), np.int32)},
            rewards=np.zeros(T, np.float32),
            terminated=False,
            truncated=True,
            info={"source": f"s{i}"},
        )
        with DatasetWriter(tmp_path, shard_size=1) as w:
            w.add_episode(ep)
    ds = open_dataset(tmp_path)
    assert ds.num_shards == n_shards
    shard_bytes = max(s["stored_bytes"] for s in ds.manifest["shards"])
    total = sum(s["stored_bytes"] for s in ds.manifest["shards"])
    tracemalloc.start()
    try:
        stream = ds.stream(resident_shards=2, replace_interval=64, seed=0)
        sampler = uniform_sampler(stream, seed=0, next_observations=False)
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        seen = set()
        for _ in range(200):
            sampler.sample(16)
            seen.update(stream.resident_ids)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.swaps >= 40 and len(seen) == n_shards  # really streamed the whole dataset
    batch_bytes = 16 * 5 * 64 * 64 * 2
    assert peak - base < 3 * shard_bytes + 4 * batch_bytes, (peak - base, shard_bytes, total)
    assert current - base < 3 * shard_bytes
    assert total > 5 * (peak - base)


KILL_SCRIPT = """
import sys, time
import numpy as np
from sc2agents.data.dataset import DatasetWriter
from sc2agents.data.episodes import Episode
w = DatasetWriter(sys.argv[1], shard_size=10)
for i in range(1000):
    T = 10
    w.add_episode(Episode(
        observations={"minimap": np.full((T + 1, 2, 8, 8), i % 256, np.uint8)},
        actions={"function": np.zeros(T, np.int16), "args": np.zeros((T, 13), np.int32)},
        rewards=np.full(T, i, np.float32), terminated=True, truncated=False,
        info={"source": f"s{i}"},
    ))
    print(i, flush=True)
    time.sleep(0.02)
"""


def test_sigkill_mid_build_leaves_a_usable_dataset(tmp_path):
    import signal
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": repo},
    )
    try:
        for line in proc.stdout:
            if int(line) >= 5:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    ds = open_dataset(tmp_path)
    ds.verify(progress=False)
    n = ds.num_episodes
    assert n >= 5
    for i, ep in enumerate(ds.episodes()):
        assert np.all(ep.rewards == i) and np.all(ep.observations["minimap"] == i)
    with DatasetWriter(tmp_path, shard_size=10) as w:
        assert w.existing_sources == {f"s{i}" for i in range(n)}
        w.add_episode(next(iter(ds.episodes())))
    assert open_dataset(tmp_path).num_episodes == n + 1
    assert not list(tmp_path.glob(".tmp-*"))


def test_many_shards_are_mapped_lazily_but_checked_at_open(tmp_path, episodes, monkeypatch):
    write(tmp_path, episodes, shard_size=1)
    monkeypatch.setattr(dsmod, "_KEEP_OPEN", 1)
    ds = open_dataset(tmp_path)
    assert list(ds._shards) == [0]
    b = uniform_sampler(ds, seed=0).sample(64)  # maps the others on first use
    assert len(ds._shards) == 4 and b.observations["minimap"].shape == (64, 10, 64, 64)
    os.remove(tmp_path / "shard_00003" / "rewards.npy")
    with pytest.raises(DatasetError, match="shard_00003: file rewards.npy is missing"):
        open_dataset(tmp_path)


@pytest.mark.parametrize("seed", range(4))
def test_keyframe_codec_round_trips_random_edits(seed):
    """Random dtypes/shapes, random sparse and dense edits, random row order with repeats."""
    rng = np.random.default_rng(seed)
    dtype = [np.uint8, np.uint16, np.bool_, np.int32][seed]
    shape = [(3, 9, 9), (17, 5), (573,), (2, 40, 40)][seed]
    m = int(rng.integers(20, 120))
    base = rng.integers(0, 2 if dtype == np.bool_ else 200, shape).astype(dtype)
    x = np.repeat(base[None], m, axis=0)
    for t in range(1, m):
        x[t] = x[t - 1]
        flat = x[t].reshape(-1)
        n_edit = int(rng.choice([0, 1, 5, flat.size // 3, flat.size]))
        where = rng.choice(flat.size, n_edit, replace=False)
        flat[where] = rng.integers(0, 2 if dtype == np.bool_ else 200, n_edit).astype(dtype)
    keys, kid, counts, pos, val = dsmod.encode_keyframe(x, threshold=float(rng.uniform(0.05, 0.5)))
    ptr = np.concatenate([[0], np.cumsum(counts)])
    rows = rng.integers(0, m, 300)
    flat_x = x.reshape(m, -1)
    view = flat_x.view(np.uint8) if dtype == np.bool_ else flat_x
    assert np.array_equal(decode_keyframe(rows, keys, kid, ptr, pos, val), view[rows])
    stored = keys.nbytes + kid.nbytes + ptr.nbytes + pos.nbytes + val.nbytes
    assert stored <= x.nbytes * 1.05 + 16 * m  # never much worse than raw
