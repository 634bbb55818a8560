"""Shared fixtures and marker handling.

Markers (declared in pyproject.toml): ``slow`` (separate CI step), ``sc2`` (needs the game binary,
skipped cleanly without one), ``ray`` (skipped when ray is not installed), ``gpu`` (needs CUDA).
"""

from __future__ import annotations

import importlib.util
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_REPLAYS = REPO.parent / "shared" / "replays"
REPLAYS = REPO / "replays"


def _sc2_available() -> bool:
    path = os.environ.get("SC2PATH", "")
    return bool(path) and pathlib.Path(path, "Versions").is_dir()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_sc2 = pytest.mark.skip(
        reason="needs the StarCraft II binary: set SC2PATH to a game install"
    )
    skip_ray = pytest.mark.skip(reason="ray is not installed (pip install sc2agents[ray])")
    skip_gpu = pytest.mark.skip(reason="no CUDA device")
    has_ray = importlib.util.find_spec("ray") is not None
    has_gpu = False
    if any("gpu" in item.keywords for item in items):
        import torch

        has_gpu = torch.cuda.is_available()
    for item in items:
        if "sc2" in item.keywords and not _sc2_available():
            item.add_marker(skip_sc2)
        if "ray" in item.keywords and not has_ray:
            item.add_marker(skip_ray)
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)


@pytest.fixture
def replays_dir() -> pathlib.Path:
    """The small replay fixtures checked into the repo."""
    return REPLAYS
