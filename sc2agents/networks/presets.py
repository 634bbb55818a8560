"""Named encoder architectures: ``tiny`` for tests, ``lite`` defaults, ``full`` for real runs.

Every preset of a torso has the same interface (an `EncoderConfig` for `SpatialEncoder`), so a test
on ``*_tiny`` exercises exactly the code a ``*_full`` run uses (AlphaStar's dummy/lite/full idea).

| preset | what |
|---|---|
| ``fullyconv_tiny`` | FullyConv, 4/8 channels, pool 2, FC 32: tests |
| ``fullyconv_lite`` | SC2LE FullyConv widths (16, 32), avg-pool to 4x4 before FC 256: **default** |
| ``fullyconv_full`` | SC2LE's literal FullyConv: flatten 32xHxW per stream into FC 256 |
| ``atari_tiny`` / ``atari_full`` | SC2LE Atari-net (16, 32 filters, FC 256) |
| ``resnet_tiny/full/large`` | IMPALA ResNet, widths (8,8) / (16,32,32) / (64,128,128) |

Example:
    >>> get("fullyconv_lite").fc_dim
    256
    >>> get("resnet_full", resnet_blocks=4).resnet_blocks
    4
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sc2agents.networks.spatial import EncoderConfig

__all__ = ["DEFAULT", "PRESETS", "get"]

PRESETS: Mapping[str, EncoderConfig] = {
    "fullyconv_tiny": EncoderConfig(
        torso="fullyconv", embed_dim=4, nonspatial_dim=16, conv_channels=(4, 8), fc_dim=32,
        pool_size=2,
    ),
    "fullyconv_lite": EncoderConfig(torso="fullyconv", pool_size=4),
    "fullyconv_full": EncoderConfig(torso="fullyconv", pool_size=None),
    "atari_tiny": EncoderConfig(
        torso="atari", embed_dim=4, nonspatial_dim=16, conv_channels=(4, 8), fc_dim=32,
        map_channels=4,
    ),
    "atari_full": EncoderConfig(torso="atari", map_channels=8),
    "resnet_tiny": EncoderConfig(
        torso="resnet", embed_dim=4, nonspatial_dim=16, fc_dim=32, pool_size=2,
        resnet_channels=(8, 8), resnet_blocks=1, map_channels=8,
    ),
    "resnet_full": EncoderConfig(
        torso="resnet", embed_dim=16, nonspatial_dim=64, fc_dim=256, pool_size=4,
        resnet_channels=(16, 32, 32), resnet_blocks=2, map_channels=32, norm="group",
    ),
    "resnet_large": EncoderConfig(
        torso="resnet", embed_dim=32, nonspatial_dim=256, fc_dim=1024, pool_size=4,
        resnet_channels=(64, 128, 128), resnet_blocks=4, map_channels=64, norm="group",
    ),
}  # fmt: skip
DEFAULT = "fullyconv_lite"


def get(name: str, **overrides: Any) -> EncoderConfig:
    """The preset ``name`` with field ``overrides``.

    Raises:
        ValueError: unknown preset name or unknown field, naming it and the known ones.
    """
    if name not in PRESETS:
        raise ValueError(f"encoder preset {name!r} unknown; known: {', '.join(sorted(PRESETS))}")
    fields = {f.name for f in dataclasses.fields(EncoderConfig)}
    bad = sorted(set(overrides) - fields)
    if bad:
        raise ValueError(f"encoder override {bad[0]!r} unknown; EncoderConfig has {sorted(fields)}")
    return dataclasses.replace(PRESETS[name], **overrides)
