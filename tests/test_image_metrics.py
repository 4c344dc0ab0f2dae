"""Image metrics in feature space: the real-versus-real floor is low, noise is far, one class covers 1 of 10."""

from __future__ import annotations

import pytest
import torch

from ganplay.metrics import class_stats, frechet_distance, kernel_inception_distance, precision_recall


def gaussian(n: int, shift: float = 0.0, seed: int = 0, dim: int = 16) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed)) + shift


def test_frechet_distance_matches_the_closed_form_and_orders_sets():
    a, b = gaussian(4000, seed=1), gaussian(4000, seed=2)
    floor = frechet_distance(a, b)
    assert floor < 0.2
    assert frechet_distance(a, gaussian(4000, shift=1.0, seed=3)) == pytest.approx(16.0, rel=0.05)  # 16 dims x 1^2
    scaled = gaussian(4000, seed=4) * 2  # same mean, covariance 4I: trace term 16 * (1 + 4 - 2 * 2) = 16
    assert frechet_distance(a, scaled) == pytest.approx(16.0, rel=0.1)


def test_kid_is_near_zero_for_the_same_distribution_and_positive_otherwise():
    a, b = gaussian(2000, seed=1), gaussian(2000, seed=2)
    assert abs(kernel_inception_distance(a, b, subsets=5, subset_size=500)) < 0.05
    assert kernel_inception_distance(a, gaussian(2000, shift=1.0, seed=3), subsets=5, subset_size=500) > 0.5


def test_precision_and_recall_separate_quality_from_coverage():
    real = gaussian(1000, seed=1, dim=2)
    assert min(precision_recall(real, gaussian(1000, seed=2, dim=2))) > 0.9
    collapsed = real[:1].repeat(1000, 1) + 0.01 * gaussian(1000, seed=3, dim=2)  # good samples, one spot
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.9 and recall < 0.1
    far = gaussian(1000, shift=10.0, seed=4, dim=2)
    assert precision_recall(real, far) == (0.0, 0.0)


def test_class_stats_detect_a_one_class_generator():
    balanced = torch.nn.functional.one_hot(torch.arange(1000) % 10, 10).float()
    stats = class_stats(balanced)
    assert (stats.covered, stats.min_share, stats.mean_confidence) == (10, 0.1, 1.0)
    assert stats.kl_to_uniform == pytest.approx(0.0, abs=1e-9)
    one_class = torch.nn.functional.one_hot(torch.full((500,), 3), 10).float()
    collapsed = class_stats(one_class)
    assert collapsed.covered == 1 and collapsed.kl_to_uniform == pytest.approx(torch.log(torch.tensor(10.0)).item())
