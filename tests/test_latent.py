"""Latent tools: seeded z, truncation, lerp and slerp, keyframe paths, corner grids, class paths."""

from __future__ import annotations

import pytest
import torch

from ganplay.latent import class_path, corner_grid, keyframe_path, lerp, slerp, z_from_seed


def test_seeded_latents_are_stable_and_prefix_consistent():
    assert torch.equal(z_from_seed(7, 4, 16), z_from_seed(7, 4, 16))
    assert torch.equal(z_from_seed(7, 10, 16)[:4], z_from_seed(7, 4, 16))
    assert not torch.equal(z_from_seed(7, 4, 16), z_from_seed(8, 4, 16))


def test_truncation_resamples_instead_of_clipping():
    z = z_from_seed(0, 2000, 32, truncation=0.5)
    assert z.abs().max() <= 0.5
    assert (z.abs() > 0.49).float().mean() < 0.05  # clipping would pile values up at the edge
    with pytest.raises(ValueError, match="truncation must be positive"):
        z_from_seed(0, 1, 4, truncation=0)


def test_lerp_and_slerp_endpoints_and_norms():
    a, b = z_from_seed(1, 1, 64)[0], z_from_seed(2, 1, 64)[0]
    for fn in (lerp, slerp):
        assert torch.allclose(fn(a, b, 0.0), a, atol=1e-5) and torch.allclose(fn(a, b, 1.0), b, atol=1e-5)
    mid_l, mid_s = lerp(a, b, 0.5), slerp(a, b, 0.5)
    assert mid_l.norm() < 0.8 * mid_s.norm()  # the straight line cuts through the low-density centre
    assert torch.isclose(mid_s.norm(), (a.norm() + b.norm()) / 2, rtol=1e-4)
    assert torch.allclose(slerp(a, a, 0.3), a, atol=1e-5)  # parallel vectors do not divide by zero
    assert slerp(a, b, torch.linspace(0, 1, 5)).shape == (5, 64)


def test_keyframe_path_passes_through_every_keyframe():
    keys = z_from_seed(3, 3, 8)
    path = keyframe_path(keys, 9, "slerp")  # frames 0, 4, 8 sit on the keyframes
    assert path.shape == (9, 8)
    for frame, key in ((0, 0), (4, 1), (8, 2)):
        assert torch.allclose(path[frame], keys[key], atol=1e-5)
    looped = keyframe_path(keys, 6, "lerp", loop=True)
    assert torch.allclose(looped[0], keys[0]) and torch.allclose(looped[2], keys[1], atol=1e-6)
    with pytest.raises(ValueError, match="at least two keyframes"):
        keyframe_path(keys[:1], 4)


def test_corner_grid_and_class_path():
    corners = z_from_seed(4, 4, 8)
    grid = corner_grid(corners, 3, 4, "lerp")
    assert grid.shape == (12, 8)
    assert torch.allclose(grid[0], corners[0]) and torch.allclose(grid[3], corners[1])
    assert torch.allclose(grid[8], corners[2]) and torch.allclose(grid[11], corners[3])
    path = class_path(1, 7, 10, 5)
    assert path.shape == (5, 10) and torch.allclose(path.sum(1), torch.ones(5))
    assert path[0, 1] == 1 and path[-1, 7] == 1 and path[2, 1] == path[2, 7] == 0.5


def test_nearest_real_finds_copies_first():
    from ganplay.sampling import nearest_real

    real = torch.rand(50, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    samples = torch.stack([real[7], real[31] + 0.01])
    dist, index = nearest_real(samples, real, k=3)
    assert index[:, 0].tolist() == [7, 31] and dist.shape == (2, 3)
    assert dist[0, 0] < 1e-2 and (dist[:, 1:] > dist[:, :1]).all()  # cdist's fast path is not exact at 0


def test_path_norms_show_lerps_dip_and_slerps_constant_norm():
    from ganplay.latent import path_norms, typical_norm

    keys = z_from_seed(5, 2, 1000)  # independent draws: nearly orthogonal in many dimensions
    norms = path_norms(keys, 9)
    assert set(norms) == {"lerp", "slerp"} and norms["lerp"].shape == (9,)
    assert torch.allclose(norms["lerp"][[0, -1]], keys.norm(dim=1)) and torch.allclose(
        norms["slerp"][[0, -1]], keys.norm(dim=1)
    )
    assert float(norms["lerp"][4] / norms["slerp"][4]) == pytest.approx(2**-0.5, rel=0.05)  # halfway: 1/sqrt(2)
    assert norms["slerp"].min() > 0.95 * typical_norm(1000)
    assert torch.allclose(norms["slerp"], torch.linspace(*keys.norm(dim=1).tolist(), 9), rtol=1e-4)
    assert path_norms(keys, 6, loop=True)["lerp"].shape == (6,)


def test_typical_norm_matches_the_draws_with_and_without_truncation():
    from ganplay.latent import typical_norm

    assert typical_norm(100) == 10.0
    for t in (0.5, 1.0, 2.0):
        z = z_from_seed(0, 4000, 64, truncation=t)
        assert typical_norm(64, t) == pytest.approx(z.pow(2).sum(1).mean().sqrt().item(), rel=0.01)
    with pytest.raises(ValueError, match="truncation must be positive, got -1"):
        typical_norm(8, -1)
    with pytest.raises(ValueError, match="z_dim must be at least 1, got 0"):
        typical_norm(0)
