"""Architectures fit 28/32/64 px and 1/3 channels, conditional and packed; losses behave as defined."""

from __future__ import annotations

import pytest
import torch

from ganplay.losses import LOSSES, gradient_penalty
from ganplay.models import build_models, pack, upsampling_plan
from ganplay.presets import make_config


@pytest.mark.parametrize("size", [8, 28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("conditional", [False, True])
def test_dcgan_shapes(size, channels, conditional):
    cfg = make_config(dataset="mnist-bundled", image_size=size, ngf=8, ndf=8, z_dim=4, conditional=conditional, pac=2)
    g, d = build_models(cfg, (channels, size, size), 10)
    z = torch.randn(4, 4)
    y = torch.tensor([0, 3, 9, 1]) if conditional else None
    x = g(z, y)
    assert x.shape == (4, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1
    assert d(x, y).shape == (2,)  # packed in pairs


def test_upsampling_plan_avoids_divisible_by_16():
    assert upsampling_plan(28) == (7, 2)
    assert upsampling_plan(32) == (4, 3)
    assert upsampling_plan(64) == (4, 4)
    with pytest.raises(ValueError, match="even size"):
        upsampling_plan(27)


def test_mlp_on_points_and_soft_labels():
    cfg = make_config(dataset="ring8", conditional=True, pac=4, spectral_norm=True, d_dropout=0.2)
    g, d = build_models(cfg, (2,), 8)
    z = torch.randn(8, cfg.z_dim)
    soft = torch.full((8, 8), 1 / 8)
    assert g(z, soft).shape == (8, 2)
    assert d(g(z, torch.arange(8)), torch.arange(8)).shape == (2,)
    with pytest.raises(ValueError, match="conditional"):
        g(z)


def test_pack_groups_neighbours():
    x = torch.arange(8.0).view(4, 2)
    assert pack(x, 2).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7]]
    with pytest.raises(ValueError, match="cannot be packed"):
        pack(torch.zeros(3, 2), 2)


def test_losses_reward_the_right_side():
    good_d = (torch.full((16,), 5.0), torch.full((16,), -5.0))  # D sure of itself, and right
    bad_d = (torch.full((16,), -5.0), torch.full((16,), 5.0))
    for name in LOSSES.names():
        loss = LOSSES.get(name)
        assert loss.d_loss(*good_d) < loss.d_loss(*bad_d), name
        assert loss.g_loss(torch.full((16,), 5.0)) < loss.g_loss(torch.full((16,), -5.0)), name


def test_minimax_saturates_where_nsgan_does_not():
    fake = torch.full((4,), -8.0, requires_grad=True)  # D confidently rejects G's samples
    (g_mm,) = torch.autograd.grad(LOSSES.get("minimax").g_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(LOSSES.get("nsgan").g_loss(fake), fake)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().max()


def test_gradient_penalty_is_zero_for_unit_gradient():
    critic = lambda x: x.flatten(1).sum(1) / (x[0].numel() ** 0.5)
    gen = torch.Generator().manual_seed(0)
    gp = gradient_penalty(critic, torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4), gen)
    assert gp.item() == pytest.approx(0.0, abs=1e-8)
