"""Run these small-tensor tests single-threaded: on shared, loaded CPUs torch's intra-op threads
spin-wait and make tiny updates 10-30x slower (measured: 20 ms vs 600 ms per DQN update)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread() -> Iterator[None]:
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)
