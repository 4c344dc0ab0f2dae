"""GAN Lab's grid divergences: KL and JS between real and generated 2-D points binned on a grid over the lab's
plane. They need no known modes, so every 2-D dataset (ring8, grid25, spiral, drawn points, a CSV) gets them.

The definition, exactly:
- the plane is [-E, E]^2 with E = toylab.plane_extent(data scale), the square the lab draws (1.55 for ring8, the
  spiral and points files, which are scaled into [-1, 1]; 5.6 for grid25), cut into B x B equal square cells
  (B = GRID_BINS = 30). A point outside the square counts in the border cell nearest to it; a NaN or infinite
  point counts in one extra cell of its own, where real points never are.
- each side's counts are divided by its number of points, SMOOTHING (1e-4) is added to every cell and the result
  is renormalised to sum to 1, so that no cell is empty and both are distributions (GAN Lab adds its 1e-4 without
  renormalising).
- KL = sum_i p_i log2(p_i / q_i), p real and q generated: it grows when G misses a region that real points fill.
  JS = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2: symmetric, it also grows when G puts points where no real
  point is, and lies between 0 and 1. Both are in bits (logarithms base 2), as in GAN Lab.
- finite samples keep both above 0 even for a perfect G, so every figure comes with its floor: a second,
  independent draw of as many real points, scored against the same reference.
The reference is REFERENCE_POINTS real points (seed REFERENCE_SEED), the floor's draw uses FLOOR_SEED.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ganplay.toylab import plane_extent

if TYPE_CHECKING:
    from ganplay.checkpoint_format import Checkpoint
    from ganplay.sources import DataSource

GRID_BINS = 30  # cells per side
SMOOTHING = 1e-4  # added to every cell's share before renormalising
REFERENCE_POINTS = 20_000  # real points in the reference histogram
REFERENCE_SEED, FLOOR_SEED = 0, 1  # of the reference draw and of the floor's second real draw
EVAL_SEED = 12345  # of the generated points' latents in `eval`, as the PacGAN numbers use


def grid_histogram(points: np.ndarray, extent: float, bins: int = GRID_BINS) -> np.ndarray:
    """(bins * bins + 1,) share of the points in each cell, row by row from (-extent, -extent); the last entry is
    the share of non-finite points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("a grid histogram needs at least one point")
    finite = np.isfinite(pts).all(1)
    # clipped as floats first: a point at 1e300 would overflow the integer cast
    cells = np.clip(np.floor((pts[finite] + extent) / (2 * extent) * bins), 0, bins - 1).astype(np.int64)
    counts = np.bincount(cells[:, 1] * bins + cells[:, 0], minlength=bins * bins + 1).astype(np.float64)
    counts[-1] = np.count_nonzero(~finite)
    return counts / len(pts)


def _smoothed(shares: np.ndarray) -> np.ndarray:
    shares = shares + SMOOTHING
    return shares / shares.sum()


def _kl_bits(p: np.ndarray, q: np.ndarray) -> float:
    return float(np.sum(p * np.log2(p / q)))


def divergences(real_shares: np.ndarray, fake_shares: np.ndarray) -> tuple[float, float]:
    """(KL(real || generated), JS) in bits, of two grid_histogram results."""
    p, q = _smoothed(real_shares), _smoothed(fake_shares)
    m = (p + q) / 2
    return max(_kl_bits(p, q), 0.0), max((_kl_bits(p, m) + _kl_bits(q, m)) / 2, 0.0)  # rounding can dip below 0


@dataclass(frozen=True)
class GridScore:
    kl: float  # KL(real || generated), bits
    js: float  # JS(real, generated), bits, in [0, 1]
    kl_floor: float  # the same for a second real draw of as many points
    js_floor: float
    bins: int
    extent: float  # the grid spans [-extent, extent]^2
    num_generated: int
    num_real: int  # points in the real reference

    def as_dict(self) -> dict[str, float]:
        return {
            "grid_kl": self.kl,
            "grid_js": self.js,
            "grid_kl_floor": self.kl_floor,
            "grid_js_floor": self.js_floor,
            "grid_bins": self.bins,
            "grid_points": self.num_generated,
        }

    def protocol(self) -> str:
        return (
            f"{self.bins}x{self.bins} cells over [-{self.extent:.3g}, {self.extent:.3g}]^2, smoothing {SMOOTHING:g}, "
            f"bits; {self.num_generated:,} generated points against {self.num_real:,} real ones; the floor is "
            f"{self.num_generated:,} other real points against the same {self.num_real:,}"
        )


class GridReference:
    """The real points' histogram of one dataset, drawn once, and the real-versus-real floor per point count."""

    def __init__(self, data: DataSource, num_real: int = REFERENCE_POINTS, bins: int = GRID_BINS):
        if data.kind != "toy":
            raise ValueError(f"grid divergences compare 2-D points; {data.name} is a set of images")
        self.data, self.bins, self.num_real = data, bins, num_real
        self.extent = plane_extent(data.scale)
        self.real_shares = self._shares(data.real_samples(num_real, seed=REFERENCE_SEED)[0])
        self._floors: dict[int, tuple[float, float]] = {}

    def _shares(self, points: torch.Tensor | np.ndarray) -> np.ndarray:
        values = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else points
        return grid_histogram(values, self.extent, self.bins)

    def floor(self, n: int) -> tuple[float, float]:
        """(KL, JS) of n other real points against the reference: the best that n generated points can show."""
        if n not in self._floors:
            self._floors[n] = divergences(self.real_shares, self._shares(self.data.real_samples(n, FLOOR_SEED)[0]))
        return self._floors[n]

    def score(self, generated: torch.Tensor | np.ndarray) -> GridScore:
        shares = self._shares(generated)
        n = len(generated)
        kl, js = divergences(self.real_shares, shares)
        kl_floor, js_floor = self.floor(n)
        return GridScore(kl, js, kl_floor, js_floor, self.bins, self.extent, n, self.num_real)


# -- a saved model ---------------------------------------------------------------------------------


def real_data_of(ckpt: Checkpoint) -> DataSource:
    """The real points a 2-D checkpoint learned: for a points file, the run's own copy beside the checkpoint when
    there is one (the file itself may have changed since)."""
    from ganplay.data import load_dataset
    from ganplay.point_files import POINTS_PREFIX, RUN_COPY

    cfg = ckpt.config
    name = cfg.dataset
    if name.startswith(POINTS_PREFIX) and ckpt.path and (Path(ckpt.path).parent / RUN_COPY).is_file():
        name = f"{POINTS_PREFIX}{Path(ckpt.path).parent / RUN_COPY}"
    return load_dataset(name, seed=cfg.seed, data_dir=cfg.data_dir or None, download=False)


def checkpoint_grid_score(
    generator: torch.nn.Module, ckpt: Checkpoint, num_samples: int = 2500, seed: int = EVAL_SEED
) -> GridScore:
    """The grid divergences of a 2-D checkpoint: `num_samples` points from latents fixed by `seed`."""
    from ganplay.sampling import sample

    if ckpt.data.get("kind") != "toy":
        raise ValueError(f"{ckpt.path or 'this checkpoint'}: grid divergences need a model of 2-D points")
    reference = GridReference(real_data_of(ckpt))
    return reference.score(sample(generator, ckpt, num_samples, seed=seed))
