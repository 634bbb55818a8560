from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sc2agents.envs import features
from sc2agents.networks import presets, spatial
from sc2agents.utils.torch_utils import obs_to_torch


@pytest.mark.parametrize("preset", ["fullyconv_tiny", "atari_tiny", "resnet_tiny"])
@pytest.mark.parametrize(("screen", "minimap"), [(8, 8), (None, 8), (8, None), (16, 8)])
def test_shapes_any_streams(preset: str, screen: int | None, minimap: int | None) -> None:
    spec = spatial.example_obs_spec(screen, minimap, unit_counts=3)
    act_screen, act_minimap = screen or 8, minimap or 8
    enc = spatial.SpatialEncoder(presets.get(preset), spec, act_screen, act_minimap)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 3, np.random.default_rng(0)), "cpu")
    out = enc(obs)
    assert out.vector.shape == (3, enc.vector_dim)
    assert out.maps["screen"].shape == (3, enc.map_channels, act_screen, act_screen)
    assert out.maps["minimap"].shape == (3, enc.map_channels, act_minimap, act_minimap)
    out.vector.sum().backward()  # Differentiable end to end from uint8 inputs.
    assert enc.embed[enc.streams[0]].embedding.grad is not None


def test_tiny_and_full_presets_share_interface() -> None:
    spec = spatial.example_obs_spec(16, 16)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 2, np.random.default_rng(0)), "cpu")
    for torso in ("fullyconv", "atari", "resnet"):
        names = [n for n in presets.PRESETS if n.startswith(torso)]
        outs = [spatial.SpatialEncoder(presets.get(n), spec, 16, 16)(obs) for n in names]
        assert {tuple(o.maps) for o in outs} == {("screen", "minimap")}
        assert all(o.vector.dim() == 2 for o in outs)


def test_literal_fullyconv_flattens() -> None:
    spec = spatial.example_obs_spec(None, 16)
    lite = spatial.SpatialEncoder(presets.get("fullyconv_lite"), spec, 16, 16)
    full = spatial.SpatialEncoder(presets.get("fullyconv_full"), spec, 16, 16)
    assert full.fc.in_features == 32 * 16 * 16 + 64
    assert lite.fc.in_features == 32 * 4 * 4 + 64


def test_categorical_embedding_is_one_hot_then_1x1_conv() -> None:
    """SC2LE's definition, computed directly, equals the embedding_bag implementation."""
    emb = spatial.LayerEmbedding("minimap", 5)
    rng = np.random.default_rng(0)
    spec = spatial.example_obs_spec(None, 6)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 2, rng), "cpu")
    got = emb(obs["minimap"], obs["minimap_unit_type"])
    chans = features.storage_channels(features.MINIMAP_LAYERS)
    planes, k = [], 0
    for i, s in enumerate(chans):
        if s.categorical:
            planes.append(F.one_hot(obs["minimap"][:, i].long(), s.storage_scale))
    planes.append(F.one_hot(obs["minimap_unit_type"].long(), len(features.UNIT_TYPE_VOCAB)))
    one_hot = torch.cat(planes, dim=-1).float().permute(0, 3, 1, 2)  # [B, sum K, H, W]
    k = one_hot.shape[1]
    assert k == emb.num_categories
    conv = F.conv2d(one_hot, emb.embedding.T[:, :, None, None])
    torch.testing.assert_close(got[:, :5], conv)


def test_scalar_layers_log_scaled_per_feature_table() -> None:
    emb = spatial.LayerEmbedding("screen", 2)
    chans = features.storage_channels(features.SCREEN_LAYERS)
    layers = torch.zeros(1, len(chans), 1, 1, dtype=torch.uint8)
    hp = next(i for i, s in enumerate(chans) if s.name == "unit_hit_points")
    dens = next(i for i, s in enumerate(chans) if s.name == "unit_density")
    raw_hp = 300
    layers[0, hp] = int(features.layer_to_storage(features.SCREEN["unit_hit_points"], raw_hp))
    layers[0, dens] = 5
    out = emb(layers, torch.zeros(1, 1, 1, dtype=torch.int32))[0, 2:, 0, 0]
    scal = [s for s in chans if not s.categorical]
    got = dict(zip([s.name for s in scal], out.tolist(), strict=True))
    assert got["unit_hit_points"] == pytest.approx(math.log1p(raw_hp) / math.log1p(1600), abs=3e-3)
    assert got["unit_density"] == pytest.approx(math.log1p(5) / math.log1p(16), abs=1e-6)
    assert got["height_map"] == 0.0


def test_out_of_range_categories_clamp_instead_of_crashing() -> None:
    emb = spatial.LayerEmbedding("minimap", 3)
    layers = torch.full((1, 10, 2, 2), 255, dtype=torch.uint8)
    out = emb(layers, torch.full((1, 2, 2), 60000, dtype=torch.int32))
    assert torch.isfinite(out).all()


def test_bad_obs_spec_names_the_key() -> None:
    spec = spatial.example_obs_spec(8, 8)
    spec["screen"] = ((25, 8, 8), np.uint8)
    with pytest.raises(ValueError, match=r"obs_spec\['screen'\]"):
        spatial.validate_obs_spec(spec)
    with pytest.raises(ValueError, match="needs 'screen' and/or 'minimap'"):
        spatial.validate_obs_spec({"player": ((11,), np.float32)})
    spec = spatial.example_obs_spec(8, None)
    del spec["screen_unit_type"]
    with pytest.raises(ValueError, match="screen_unit_type"):
        spatial.validate_obs_spec(spec)
    with pytest.raises(ValueError, match="encoder preset 'huge'"):
        presets.get("huge")


def test_goal_conditioned_encoder_uses_goal() -> None:
    spec = spatial.example_obs_spec(None, 8)
    enc = spatial.SpatialEncoder(presets.get("fullyconv_tiny"), spec, 8, 8, goal_conditioned=True)
    rng = np.random.default_rng(0)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 2, rng), "cpu")
    g1 = obs_to_torch(spatial.random_storage_obs(spec, 2, rng), "cpu")
    g2 = obs_to_torch(spatial.random_storage_obs(spec, 2, rng), "cpu")
    assert not torch.allclose(enc(obs, g1).vector, enc(obs, g2).vector)
    with pytest.raises(ValueError, match="goal"):
        enc(obs)


def test_shared_preprocessing_is_exact_and_computed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two encoders on the same tensors inside `shared_preprocessing`: outputs and gradients equal
    to separate computation, the weight-free part prepared once per stream and input; an in-place
    change of an input or another tensor is not served from the cache."""
    spec = spatial.example_obs_spec(8, 8)
    obs = obs_to_torch(spatial.random_storage_obs(spec, 3, np.random.default_rng(0)), "cpu")
    torch.manual_seed(0)
    encs = [spatial.SpatialEncoder(presets.get("fullyconv_tiny"), spec, 8, 8) for _ in range(2)]

    def run() -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        for e in encs:
            e.zero_grad(set_to_none=True)
        outs = [e(obs).vector for e in encs]
        sum(o.sum() for o in outs).backward()
        return [o.detach() for o in outs], [e.embed["screen"].embedding.grad for e in encs]

    calls = []
    real = spatial.LayerEmbedding._prepare
    monkeypatch.setattr(
        spatial.LayerEmbedding, "_prepare", lambda self, *a: calls.append(1) or real(self, *a)
    )
    ref_out, ref_grad = run()
    assert len(calls) == 4  # 2 encoders x 2 streams
    calls.clear()
    with spatial.shared_preprocessing():
        out, grad = run()
        assert len(calls) == 2  # once per stream
        obs["screen"][0, 0, 0, 0] += 1  # in place: version changes, no stale hit
        encs[0](obs)
        assert len(calls) == 3
        other = {k: v.clone() for k, v in obs.items()}  # equal values, another tensor
        encs[0](other)
        assert len(calls) == 5
    for a, b in zip(out + grad, ref_out + ref_grad, strict=True):
        assert torch.equal(a, b)
    assert getattr(spatial._SHARED, "cache", None) is None  # noqa: SLF001 - dropped on exit
