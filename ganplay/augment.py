"""Differentiable augmentation of everything D sees (DiffAugment, Zhao et al. 2020).

On a small dataset (the bundled MNIST has 10,000 digits) D learns the training images by heart and
stops teaching G. Random shifts and cut-outs, applied alike to real and generated images in both the D
and the G update, and differentiable so that G's gradients pass through them, keep D on the shapes
rather than on the exact pixels. G never sees an augmented image: its samples are unchanged in kind.

A policy names registered augmentations joined by '+', applied in that order: "translation+cutout".
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganplay.registry import Registry

Augmentation = Callable[[Tensor, torch.Generator], Tensor]
AUGMENTS: Registry[Augmentation] = Registry("augmentation")
NO_AUGMENT = "none"
BACKGROUND = -1.0  # images live in [-1, 1]: shifted-in and cut-out pixels are black, like MNIST's background


def parse_policy(policy: str) -> list[str]:
    """'translation+cutout' -> ['translation', 'cutout']; 'none' -> []. Unknown names raise a ValueError."""
    if policy == NO_AUGMENT:
        return []
    names = [name.strip() for name in policy.split("+")]
    for name in names:
        AUGMENTS.get(name)
    return names


def policy_choices() -> list[str]:
    """What the form offers: none, each augmentation alone, and all of them together."""
    names = AUGMENTS.names()
    return [NO_AUGMENT, *names, "+".join(names)]


def make_augmenter(policy: str, generator: torch.Generator) -> Callable[[Tensor], Tensor]:
    """x (B, C, H, W) -> the same batch augmented with draws from `generator` (the run's own stream)."""
    steps = [AUGMENTS.get(name) for name in parse_policy(policy)]

    def augment(x: Tensor) -> Tensor:
        for step in steps:
            x = step(x, generator)
        return x

    return augment


@AUGMENTS.register("translation", title="shift each image by up to 1/8 of its side")
def translate(x: Tensor, generator: torch.Generator) -> Tensor:
    b, _, h, w = x.shape
    reach = max(1, h // 8)  # 28 px: up to 3 px each way
    shift = torch.randint(-reach, reach + 1, (2, b, 1, 1), device=x.device, generator=generator)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + shift[0] + reach  # (B, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) + shift[1] + reach  # (B, 1, W)
    padded = F.pad(x, (reach, reach, reach, reach), value=BACKGROUND).permute(0, 2, 3, 1)  # (B, H+2r, W+2r, C)
    batch = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[batch, rows, cols].permute(0, 3, 1, 2).contiguous()  # (B, C, H, W)


@AUGMENTS.register("cutout", title="blank a square of half the side at a random place")
def cutout(x: Tensor, generator: torch.Generator) -> Tensor:
    b, _, h, w = x.shape
    centre = torch.rand(2, b, 1, 1, 1, device=x.device, generator=generator)  # (2, B, 1, 1, 1) in [0, 1)
    top = (centre[0] * h).long() - h // 4  # the square may hang over an edge, as in DiffAugment
    left = (centre[1] * w).long() - w // 4
    ys = torch.arange(h, device=x.device).view(1, 1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, 1, w)
    inside = (ys >= top) & (ys < top + h // 2) & (xs >= left) & (xs < left + w // 2)  # (B, 1, H, W)
    return x.masked_fill(inside, BACKGROUND)
