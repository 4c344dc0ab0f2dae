"""What a dataset is once loaded: the DataSource interface, the 2-D toy sources and their geometry (modes, the
spiral), and in-memory image sets on the training device."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganplay.seeding import seeded_generator


@dataclass
class DataSource:
    """Real data for training: `batch(draw, B)` is a pure function of (seed, draw), so resume is exact."""

    name: str
    title: str
    kind: str  # "toy" (2-D points) or "image"
    shape: tuple[int, ...]  # (2,) or (C, H, W)
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    note: str = ""  # where the data came from, shown beside the run
    scale: float = 1.0  # typical coordinate size (images: 1, pixels in [-1, 1]; grid25: 4)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # Self-conditioning: each label's share of the data, so fake labels follow the real ones; () is uniform.
    label_prior: tuple[float, ...] = ()

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """n real examples on the CPU (float, like `batch`) and their labels, chosen by `seed`."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


# -- 2-D toys --------------------------------------------------------------------------------------


@dataclass
class DrawnToy(DataSource):
    """A 2-D toy whose points are drawn fresh each time by `_draw(n, generator)`: an endless seeded stream."""

    def _draw(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        points, labels = self._draw(batch_size, seeded_generator(self.seed, draw))
        return points.to(self.device), labels.to(self.device)

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        return self._draw(n, seeded_generator(self.seed, seed, 0x5EED))

    def __len__(self) -> int:
        return 0  # an endless stream


@dataclass
class ToyMixture(DrawnToy):
    """A Gaussian mixture in the plane: fresh samples every draw; the label is the mode's index."""

    modes: Tensor = field(default_factory=lambda: torch.zeros(1, 2))  # (K, 2)
    sigma: float = 0.01

    def _draw(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        labels = torch.randint(len(self.modes), (n,), generator=gen)
        points = self.modes[labels] + self.sigma * torch.randn(n, 2, generator=gen)  # (n, 2)
        return points, labels


@dataclass
class ToyCurve(DataSource):
    """Points near a continuous curve (no discrete modes): `sampler(n, gen)` returns (n, 2)."""

    sampler: Callable[[int, torch.Generator], Tensor] | None = None

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        points = self.sampler(batch_size, seeded_generator(self.seed, draw))
        return points.to(self.device), torch.zeros(batch_size, dtype=torch.long, device=self.device)

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        return self.sampler(n, seeded_generator(self.seed, seed, 0x5EED)), torch.zeros(n, dtype=torch.long)

    def __len__(self) -> int:
        return 0


@dataclass
class PointCloud(DrawnToy):
    """The user's own points (points:FILE.csv), a fixed set in [-1, 1]: each real point drawn is one of them, picked
    uniformly with replacement, plus Gaussian noise of sigma `jitter`, so that a few dozen drawn points make a
    distribution rather than a set to memorise; the label is that point's."""

    points: Tensor = field(default_factory=lambda: torch.zeros(1, 2))  # (N, 2) float32
    labels: Tensor = field(default_factory=lambda: torch.zeros(1, dtype=torch.long))  # (N,)
    jitter: float = 0.01  # ring8's sigma, in the same units
    table: Any = None  # the point_files.PointTable read, in the file's units: what a run keeps a copy of

    def _draw(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        index = torch.randint(len(self.points), (n,), generator=gen)
        return self.points[index] + self.jitter * torch.randn(n, 2, generator=gen), self.labels[index]  # (n, 2)


def ring_modes(k: int = 8, radius: float = 1.0) -> Tensor:
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return (radius * torch.stack([angles.cos(), angles.sin()], 1)).float()  # (k, 2)


def grid_modes(values: tuple[float, ...] = (-4, -2, 0, 2, 4)) -> Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    return torch.cartesian_prod(v, v)  # (25, 2)


def spiral_points(n: int, gen: torch.Generator) -> Tensor:
    """Two interleaved spiral arms of radius up to 1, with a little noise."""
    t = torch.rand(n, generator=gen).sqrt() * 3 * math.pi  # sqrt: even density along the arm
    arm = torch.randint(2, (n,), generator=gen) * math.pi
    r = t / (3 * math.pi)
    points = torch.stack([r * (t + arm).cos(), r * (t + arm).sin()], 1)
    return points + 0.02 * torch.randn(n, 2, generator=gen)


# name -> (modes, sigma); the PacGAN protocol needs both.
TOY_MODES: dict[str, Callable[[], tuple[Tensor, float]]] = {
    "ring8": lambda: (ring_modes(8), 0.01),
    "grid25": lambda: (grid_modes(), 0.05),
}


def toy_modes(name: str) -> tuple[Tensor, float]:
    """The mixture's means (K, 2) and sigma; ValueError for toys without discrete modes."""
    if name not in TOY_MODES:
        raise ValueError(f"{name!r} has no discrete modes")
    return TOY_MODES[name]()


def toy_modes_or_none(name: str) -> tuple[np.ndarray, float] | None:
    """The mixture's means as a (K, 2) array and sigma, or None for a toy without discrete modes (or no toy)."""
    if name not in TOY_MODES:
        return None
    modes, sigma = TOY_MODES[name]()
    return modes.numpy(), sigma


# -- in-memory image sets --------------------------------------------------------------------------


@dataclass
class ImageTensorData(DataSource):
    """All images as one uint8 tensor (N, C, H, W), on the training device when it fits.

    Batches follow one random permutation per epoch, chosen by (seed, epoch): the i-th image drawn
    overall is perm[epoch][i % N] with i = draw * B + j, so any draw can be recomputed after a resume.
    """

    images: Tensor | None = None  # (N, C, H, W) uint8
    labels: Tensor | None = None  # (N,) int64
    _perms: dict[int, Tensor] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.images.shape[0]

    def _permutation(self, epoch: int) -> Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = torch.randperm(len(self), generator=seeded_generator(self.seed, epoch)).to(
                self.images.device
            )
        return self._perms[epoch]

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        first = draw * batch_size
        epoch, offset = divmod(first, n)
        if offset + batch_size <= n:
            index = self._permutation(epoch)[offset : offset + batch_size]
        else:  # the batch spans an epoch boundary (or the set is smaller than a batch)
            parts, taken, i = [], 0, first
            while taken < batch_size:
                e, o = divmod(i, n)
                take = min(n - o, batch_size - taken)
                parts.append(self._permutation(e)[o : o + take])
                taken, i = taken + take, i + take
            index = torch.cat(parts)
        x = self.images[index].to(self.device, non_blocking=True)
        y = self.labels[index].to(self.device, non_blocking=True)
        return to_float(x), y

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        index = torch.randperm(len(self), generator=seeded_generator(self.seed, seed, 0x5EED))[:n]
        if n > len(self):
            index = torch.randint(len(self), (n,), generator=seeded_generator(self.seed, seed, 0x5EED))
        index = index.to(self.images.device)
        return to_float(self.images[index]).cpu(), self.labels[index].cpu()


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the generator's tanh range."""
    return images.float().div_(127.5).sub_(1.0)


def place_images(images: Tensor, device: torch.device) -> Tensor:
    """Put the image tensor on the training device when it takes under a quarter of the free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if images.numel() < free // 4:
            return images.to(device)
        return images.pin_memory()
    if device.type == "mps":
        return images.to(device)
    return images
