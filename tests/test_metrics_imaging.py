"""The PacGAN toy metric, and pictures (grids, scatter plots, PNG and GIF files)."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from ganplay import imaging
from ganplay.metrics import toy_mode_stats
from ganplay.sources import ring_modes


def test_toy_metric_counts_modes_quality_and_balance():
    modes = ring_modes(8)
    perfect = modes.repeat(100, 1) + 0.005 * torch.randn(800, 2, generator=torch.Generator().manual_seed(0))
    stats = toy_mode_stats(perfect, modes, 0.01)
    assert (stats.modes_covered, stats.num_modes, stats.high_quality) == (8, 8, 1.0) and stats.kl_to_uniform < 1e-6
    collapsed = modes[:1].repeat(500, 1)  # every point on one mode
    one = toy_mode_stats(collapsed, modes, 0.01)
    assert one.modes_covered == 1 and one.high_quality == 1.0 and math.isclose(one.kl_to_uniform, math.log(8))
    between = torch.zeros(100, 2)  # the centre is far from every mode
    assert toy_mode_stats(between, modes, 0.01).modes_covered == 0
    half = torch.cat([modes[:4].repeat(25, 1), torch.full((100, 2), 5.0), torch.full((10, 2), float("nan"))])
    stats = toy_mode_stats(half, modes, 0.01)
    assert stats.modes_covered == 4 and math.isclose(stats.high_quality, 100 / 210)
    assert "4/8 modes, 47.6% high quality" in stats.summary()


def test_image_grid_layout_and_range():
    x = torch.stack([torch.full((1, 4, 4), v) for v in (-1.0, 0.0, 1.0)])
    grid = imaging.image_grid(x, nrow=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 1) and grid.dtype == np.uint8
    assert grid[1, 1, 0] == 0 and grid[1, 6, 0] == 128 and grid[6, 1, 0] == 255
    assert imaging.image_strip(x, padding=0).shape == (4, 12, 1)


def test_scatter_and_files(tmp_path):
    pic = imaging.scatter_image(np.array([[0.0, 0.0], [1.0, 1.0]]), modes=ring_modes(8).numpy(), size=64)
    assert pic.shape == (64, 64, 3) and (pic != 255).any()
    png = imaging.save_png(pic, tmp_path / "a" / "scatter.png")
    assert Image.open(png).size == (64, 64)
    frames = [imaging.upscale(imaging.image_grid(torch.rand(1, 1, 4, 4) * 2 - 1, padding=0), 3) for _ in range(4)]
    gif = imaging.save_gif(frames, tmp_path / "walk.gif", fps=10)
    with Image.open(gif) as img:
        assert img.n_frames == 4 and img.size == (12, 12)
    assert not list(tmp_path.rglob("*.tmp"))  # atomic writes leave no temp files
