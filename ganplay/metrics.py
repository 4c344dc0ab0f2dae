"""Quality metrics. For the 2-D mixtures: the PacGAN/VEEGAN mode-coverage protocol."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import Tensor

PACGAN_PROTOCOL_SAMPLES = 2500  # generated points per evaluation in the PacGAN paper
HQ_SIGMAS = 3.0  # a point is high quality within this many sigmas of its nearest mode


@dataclass(frozen=True)
class ToyModeStats:
    modes_covered: int  # modes that are the nearest mode of at least one high-quality point
    num_modes: int
    high_quality: float  # fraction of points within 3 sigma of their nearest mode
    kl_to_uniform: float  # KL(histogram of high-quality points over modes || uniform); 0 is perfect balance
    num_samples: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.modes_covered}/{self.num_modes} modes, {100 * self.high_quality:.1f}% high quality, "
                f"KL to uniform {self.kl_to_uniform:.3f} ({self.num_samples:,} samples)")


def toy_mode_stats(points: Tensor | np.ndarray, modes: Tensor | np.ndarray, sigma: float,
                   threshold_sigmas: float = HQ_SIGMAS) -> ToyModeStats:
    """Modes covered, high-quality fraction and KL to uniform of (N, 2) points against (K, 2) modes."""
    pts = torch.as_tensor(np.asarray(points), dtype=torch.float64).reshape(-1, 2)
    means = torch.as_tensor(np.asarray(modes), dtype=torch.float64).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("need at least one point to evaluate")
    finite = torch.isfinite(pts).all(1)
    dist = torch.cdist(pts[finite], means)  # (N', K)
    nearest_dist, nearest = dist.min(1)
    good = nearest_dist <= threshold_sigmas * sigma
    counts = torch.bincount(nearest[good], minlength=len(means)).double()  # (K,)
    covered = int((counts > 0).sum())
    kl = math.inf
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        kl = float((p[nz] * (p[nz] * len(means)).log()).sum())
    return ToyModeStats(covered, len(means), float(good.sum()) / len(pts), kl, len(pts))


def evaluate_toy_checkpoint(generator: torch.nn.Module, ckpt: dict, num_samples: int = PACGAN_PROTOCOL_SAMPLES,
                            seed: int = 12345) -> ToyModeStats:
    """The PacGAN protocol on a 2-D checkpoint: `num_samples` points from latents fixed by `seed`."""
    from ganplay.sampling import sample

    meta = ckpt["data"]
    if meta.get("kind") != "toy" or "modes" not in meta:
        raise ValueError(f"{ckpt.get('path', 'this checkpoint')}: mode coverage needs a 2-D mixture with modes "
                         f"(ring8, grid25); this model was trained on {meta.get('name')}")
    points = sample(generator, ckpt, num_samples, seed=seed)
    return toy_mode_stats(points, meta["modes"], meta["sigma"])
