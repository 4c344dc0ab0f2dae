"""Seeded randomness for data and labels: generators keyed by integers, and label draws from a prior."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (splitmix64 steps), so nearby inputs give unrelated streams."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF


def seeded_generator(*values: int) -> torch.Generator:
    """A CPU generator for (seed, draw, ...): the same values give the same stream, after a resume too."""
    gen = torch.Generator()
    gen.manual_seed(_mix(*values))
    return gen


def prior_labels(
    prior: Sequence[float], n: int, generator: torch.Generator, device: torch.device | str = "cpu"
) -> Tensor:
    """(n,) labels drawn from prior's shares by inverse CDF: row i is the same whatever n is."""
    return labels_from_cdf(label_cdf(prior, device), n, generator)


def label_cdf(prior: Sequence[float], device: torch.device | str = "cpu") -> Tensor:
    """(K,) float64 cumulative shares, made once by a trainer that draws labels at every step."""
    return torch.tensor(prior, dtype=torch.float64, device=device).cumsum(0)


def labels_from_cdf(cdf: Tensor, n: int, generator: torch.Generator) -> Tensor:
    """(n,) labels for uniform draws against cdf; the last label takes any rounding at the top."""
    u = torch.rand(n, generator=generator, device=cdf.device, dtype=torch.float64) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=len(cdf) - 1)
