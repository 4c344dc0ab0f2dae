"""DiffAugment: shifts and cut-outs of what D sees, differentiable, drawn from the run's own stream."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay.augment import BACKGROUND, cutout, make_augmenter, policy_choices, translate
from ganplay.config import ConfigError


def numbered_images(n: int, size: int = 28) -> torch.Tensor:
    """(n, 1, size, size) whose pixel values are their own flat positions (0..size^2-1): shifts are legible."""
    return torch.arange(size * size, dtype=torch.float32).view(1, 1, size, size).repeat(n, 1, 1, 1)


def test_translation_shifts_each_image_by_at_most_an_eighth():
    images = numbered_images(32)
    shifted = translate(images, torch.Generator().manual_seed(0))
    offsets = set()
    for out in shifted[:, 0]:
        kept = (out != BACKGROUND).nonzero()
        rows, cols = kept[:, 0], kept[:, 1]
        source = out[rows, cols].long()  # the position each kept pixel came from
        d_row, d_col = source // 28 - rows, source % 28 - cols
        assert (d_row == d_row[0]).all() and (d_col == d_col[0]).all()  # one rigid shift per image
        assert abs(int(d_row[0])) <= 3 and abs(int(d_col[0])) <= 3
        assert len(kept) == (28 - abs(int(d_row[0]))) * (28 - abs(int(d_col[0])))  # the rest is background
        offsets.add((int(d_row[0]), int(d_col[0])))
    assert len(offsets) > 5  # images get their own shifts


def test_cutout_blanks_one_square_of_at_most_half_the_side():
    images = torch.ones(16, 3, 28, 28)
    out = cutout(images, torch.Generator().manual_seed(0))
    for image in out:
        blank = image[0] == BACKGROUND
        assert torch.equal(blank, image[1] == BACKGROUND)  # every channel alike
        rows, cols = blank.any(1).nonzero().flatten(), blank.any(0).nonzero().flatten()
        assert 0 < len(rows) <= 14 and 0 < len(cols) <= 14
        assert blank.sum() == len(rows) * len(cols)  # a rectangle, clipped at the edges
        assert (image[:, ~blank] == 1).all()


def test_augmentation_passes_gradients_and_repeats_with_the_seed():
    x = torch.randn(8, 1, 28, 28, requires_grad=True)
    augment = make_augmenter("translation+cutout", torch.Generator().manual_seed(3))
    augment(x).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    first, second = (
        make_augmenter("translation+cutout", torch.Generator().manual_seed(3))(x.detach()) for _ in range(2)
    )
    assert torch.equal(first, second)
    assert torch.equal(make_augmenter("none", torch.Generator())(x), x)


def test_policy_is_validated_with_a_specific_message():
    assert policy_choices() == ["none", "translation", "cutout", "translation+cutout"]
    with pytest.raises(ConfigError) as err:
        tiny_image_config(augment="translation+flip")
    assert "unknown augmentation 'flip'" in err.value.errors["augment"]
    with pytest.raises(ConfigError) as err:
        tiny_toy_config(augment="translation")
    assert "2-D points" in err.value.errors["augment"]
