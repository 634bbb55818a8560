"""Prefetcher: same batches as the sampler, torch dtypes, errors propagate, clean shutdown."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from sc2agents.data.batch import Batch
from sc2agents.data.prefetch import Prefetcher


class FakeSampler:
    def __init__(self, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.calls = 0
        self.fail_at = fail_at
        self.delay = delay
        self.threads = set()

    def sample(self, batch_size: int) -> Batch:
        self.threads.add(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        i = self.calls
        self.calls += 1
        if self.fail_at is not None and i == self.fail_at:
            raise RuntimeError(f"sampler broke at call {i}")
        return Batch(
            observations={
                "minimap": np.full((batch_size, 2, 4, 4), i, np.uint8),
                "minimap_unit_type": np.full((batch_size, 4, 4), 300 + i, np.uint16),
            },
            actions={
                "function": np.full(batch_size, i, np.int64),
                "args": np.zeros((batch_size, 13)),
            },
            rewards=np.full(batch_size, i, np.float32),
        )


def test_batches_in_order_as_torch():
    s = FakeSampler()
    with Prefetcher(s, batch_size=8, num_batches_ahead=2) as p:
        for i, b in zip(range(5), p, strict=False):
            assert isinstance(b.observations["minimap"], torch.Tensor)
            assert b.observations["minimap"].dtype == torch.uint8
            assert b.observations["minimap_unit_type"].dtype == torch.int32
            assert int(b.observations["minimap_unit_type"][0, 0, 0]) == 300 + i
            assert torch.all(b.actions["function"] == i) and b.rewards.shape == (8,)
    assert s.threads == {"sc2agents-prefetch"}
    assert not p._thread.is_alive()
    assert s.calls <= 5 + 3  # bounded read-ahead: queue of 2 plus one in flight


def test_exception_propagates_to_consumer():
    p = Prefetcher(FakeSampler(fail_at=2), batch_size=4)
    next(p)
    next(p)
    with pytest.raises(RuntimeError, match="broke at call 2"):
        next(p)
    with pytest.raises(StopIteration):
        next(p)
    assert not p._thread.is_alive()


def test_close_with_full_queue_and_slow_sampler():
    p = Prefetcher(FakeSampler(), batch_size=4, num_batches_ahead=1)
    time.sleep(0.2)  # producer blocks on the full queue
    t0 = time.perf_counter()
    p.close()
    assert not p._thread.is_alive() and time.perf_counter() - t0 < 5


def test_wait_fraction_reflects_who_is_slow():
    with Prefetcher(FakeSampler(delay=0.05), batch_size=4) as slow_producer:
        for _ in zip(range(6), slow_producer, strict=False):
            pass
        assert slow_producer.wait_fraction > 0.5
    with Prefetcher(FakeSampler(), batch_size=4) as fast_producer:
        for _ in zip(range(6), fast_producer, strict=False):
            time.sleep(0.05)  # the "learner" is the slow side
        assert fast_producer.wait_fraction < 0.5


@pytest.mark.gpu
def test_cuda_pinned_transfer():
    with Prefetcher(FakeSampler(), batch_size=16, device="cuda") as p:
        for i, b in zip(range(4), p, strict=False):
            x = b.observations["minimap"]
            assert x.is_cuda and x.dtype == torch.uint8
            assert int(x.float().mean().item()) == i


def test_with_a_real_sampler(tmp_path):
    from sc2agents.data.dataset import DatasetWriter, open_dataset
    from sc2agents.data.episodes import Episode
    from sc2agents.data.samplers import nstep_sampler

    T = 30
    mm = np.zeros((T + 1, 10, 16, 16), np.uint8)
    mm[:, 5, 3, :] = np.arange(T + 1)[:, None]
    with DatasetWriter(tmp_path) as w:
        w.add_episode(
            Episode(
                observations={"minimap": mm, "player": np.zeros((T + 1, 11), np.float32)},
                actions={"function": np.zeros(T, np.int16), "args": np.zeros((T, 13), np.int32)},
                rewards=np.ones(T, np.float32),
                terminated=True,
                truncated=False,
            )
        )
    sampler = nstep_sampler(open_dataset(tmp_path), n=3, gamma=0.5, seed=0)
    with Prefetcher(sampler, batch_size=64) as p:
        for _, b in zip(range(3), p, strict=False):
            obs, nxt = b.observations["minimap"], b.next_observations["minimap"]
            assert obs.dtype == torch.uint8 and obs.shape == (64, 10, 16, 16)
            t, t2 = obs[:, 5, 3, 0].long(), nxt[:, 5, 3, 0].long()
            assert torch.all(t2 == torch.clamp(t + 3, max=T))
            k = (t2 - t).float()
            assert torch.allclose(b.rewards, (1 - 0.5**k) / (1 - 0.5))


def test_uint16_travels_as_int16_and_widens_losslessly():
    from sc2agents.data.prefetch import _widen_u16

    a = np.array([0, 1, 1962, 32767, 32768, 65535], np.uint16)
    assert _widen_u16(torch.from_numpy(a.view(np.int16))).tolist() == a.astype(int).tolist()
    p = Prefetcher(FakeSampler(), batch_size=2, device="meta", pin_memory=False)
    try:
        b = next(p)
        ut = b.observations["minimap_unit_type"]
        assert ut.device.type == "meta" and ut.dtype == torch.int32 and ut.shape == (2, 4, 4)
        assert b.observations["minimap"].dtype == torch.uint8
    finally:
        p.close()
