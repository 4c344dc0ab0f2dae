"""GAN Lab's grid KL and JS: the definition on hand-made histograms, the real-versus-real floor, and the numbers
every 2-D run (live) and every 2-D checkpoint (eval) now gets, with or without known modes."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_toy_config

from ganplay.data import load_dataset
from ganplay.evaluation import EvalRequest, evaluate_checkpoint
from ganplay.grid_divergence import GRID_BINS, REFERENCE_POINTS, SMOOTHING, GridReference, divergences, grid_histogram
from ganplay.health import check_health
from ganplay.runs import Run
from ganplay.toylab import plane_extent

SHIPPED_RING8 = Path(__file__).resolve().parent.parent / "checkpoints" / "ring8-mlp.pt"


def test_the_histogram_cells_border_and_non_finite_points():
    points = np.array([[-0.9, -0.9], [0.9, -0.9], [0.9, 0.9], [5.0, -0.1], [-1e300, 7.0], [np.nan, 0.0]])
    shares = grid_histogram(points, extent=1.0, bins=2)  # cells: (0,0) bottom left, (1,0), (0,1), (1,1), non-finite
    assert shares.tolist() == pytest.approx([1 / 6, 2 / 6, 1 / 6, 1 / 6, 1 / 6])
    assert grid_histogram(np.zeros((3, 2)), 1.0, 30).sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least one point"):
        grid_histogram(np.zeros((0, 2)), 1.0)


def test_kl_and_js_are_the_stated_formulas_in_bits():
    real = np.array([0.5, 0.5, 0.0, 0.0, 0.0])  # two cells, nothing non-finite
    fake = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
    p = (real + SMOOTHING) / (real + SMOOTHING).sum()
    q = (fake + SMOOTHING) / (fake + SMOOTHING).sum()
    m = (p + q) / 2
    kl, js = divergences(real, fake)
    assert kl == pytest.approx(sum(p * np.log2(p / q)))
    assert js == pytest.approx((sum(p * np.log2(p / m)) + sum(q * np.log2(q / m))) / 2)
    # half the real mass where G has all of it, half where G has none but the smoothing
    assert kl == pytest.approx(0.5 * math.log2(0.5 / 1.0) + 0.5 * math.log2(0.5 / SMOOTHING), rel=0.01)
    assert divergences(real, real) == (0.0, 0.0)
    assert divergences(real, fake)[1] == pytest.approx(divergences(fake, real)[1])  # JS is symmetric, KL is not
    disjoint = divergences(np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    assert disjoint[1] == pytest.approx(1.0, abs=0.01) and disjoint[1] <= 1.0  # JS tops out at one bit


def test_a_collapsed_generator_scores_far_above_the_real_floor():
    data = load_dataset("ring8", seed=0)
    reference = GridReference(data)
    assert reference.extent == plane_extent(1.0) and reference.num_real == REFERENCE_POINTS
    real, _ = data.real_samples(1000, seed=7)
    fair = reference.score(real)  # a perfect G, as good as the real points themselves
    collapsed = reference.score(real[(real[:, 0] > 0.9)])  # every point on one mode of eight
    assert fair.kl < 0.05 and fair.js < 0.02 and fair.bins == GRID_BINS and fair.num_generated == 1000
    assert collapsed.kl > 2.0 and collapsed.js > 0.5  # seven eighths of the real mass missed
    assert collapsed.kl_floor > fair.kl_floor  # fewer points (about 125) leave a higher floor
    assert fair.kl_floor < 0.05 and fair.kl_floor == reference.floor(1000)[0]
    spread = reference.score(torch.rand(1000, 2) * 3 - 1.5)  # uniform noise over the plane
    assert spread.js > 0.5 and spread.kl > 1.0


def test_every_toy_run_has_grid_numbers_live_and_health_reads_them(tmp_path):
    for dataset in ("spiral", "ring8"):
        run = Run(tmp_path / dataset, tiny_toy_config(dataset=dataset, steps=4, sample_every=2, num_samples=256))
        run.prepare()
        for _ in range(4):
            run.advance()
        snap = run.snapshot()
        stats = snap.toy_stats
        assert {"grid_kl", "grid_js", "grid_kl_floor", "grid_js_floor"} <= set(stats)
        assert stats["grid_points"] == 256 and 0 <= stats["grid_js"] <= 1 and stats["grid_kl"] > stats["grid_kl_floor"]
        assert ("modes_covered" in stats) == (dataset == "ring8")  # PacGAN numbers only where there are modes
        alarms = check_health(snap.history, "", [(4, 1.0)], stats)  # once a KeyError for a toy without modes
        assert dataset == "ring8" or not [a for a in alarms if a.kind == "mode_collapse"]
        run.recorder.close()


def test_eval_scores_a_toy_without_modes_and_puts_the_grid_beside_pacgan(tmp_path):
    run = Run(tmp_path / "spiral", tiny_toy_config(dataset="spiral", steps=4, checkpoint_every=4))
    run.prepare()
    for _ in range(4):
        run.advance()
    run.save_checkpoint()
    run.recorder.close()
    spiral = evaluate_checkpoint(EvalRequest(tmp_path / "spiral"))  # refused as "no discrete modes" before
    assert spiral["grid_points"] == 2500 and spiral["grid_kl"] > spiral["grid_kl_floor"]
    assert "30x30 cells over [-1.55, 1.55]^2" in spiral["grid protocol"] and "modes_covered" not in spiral
    shipped = evaluate_checkpoint(EvalRequest(SHIPPED_RING8))
    assert shipped["modes_covered"] == 8 and "PacGAN" in shipped["protocol"]
    assert shipped["grid_kl_floor"] < shipped["grid_kl"] < 0.5  # a trained ring: close, not perfect
    assert spiral["grid_kl"] > shipped["grid_kl"]  # four steps of training are far from the spiral
