"""The 2-D lab's views of a toy run: D's output over the plane and G's image of a grid of noise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

HEATMAP_RESOLUTION = 64  # cells per side of the discriminator's heat map
MANIFOLD_LINES = 21  # noise grid lines per side
MANIFOLD_RANGE = 2.5  # the noise grid spans [-2.5, 2.5] in the first two latent dimensions


@dataclass(frozen=True)
class ToyView:
    xs: np.ndarray  # (R,) heat-map column centres
    ys: np.ndarray  # (R,) heat-map row centres
    d_values: np.ndarray  # (R, R) D's output: a probability for BCE losses, a raw score otherwise
    probabilistic: bool
    manifold: np.ndarray  # (L, L, 2) G(z) for z on a regular grid in its first two dimensions
    extent: float  # the plane shown is [-extent, extent]^2


def plane_extent(data_scale: float) -> float:
    """Room around the data: ring8 (scale 1) gives 1.55, grid25 (scale 4) 5.6."""
    return 1.35 * data_scale + 0.2


@torch.no_grad()
def toy_view(generator: nn.Module, discriminator: nn.Module, probabilistic: bool, z_dim: int, pac: int,
             data_scale: float, modes: np.ndarray | None = None, device: torch.device | str = "cpu",
             resolution: int = HEATMAP_RESOLUTION, lines: int = MANIFOLD_LINES) -> ToyView:
    """Both views in eval mode (no dropout, no batch-norm updates); training modes are restored after."""
    extent = plane_extent(data_scale)
    was_training = generator.training, discriminator.training
    generator.eval()
    discriminator.eval()
    try:
        xs = np.linspace(-extent, extent, resolution, dtype=np.float32)
        grid = torch.from_numpy(np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)).to(device)  # (R*R, 2), row = y
        d_values = _discriminator_field(discriminator, grid, pac, probabilistic, modes)
        manifold = generator(_noise_grid(lines, z_dim, device), *_labels_for(generator, lines * lines))
    finally:
        generator.train(was_training[0])
        discriminator.train(was_training[1])
    return ToyView(xs, xs.copy(), d_values.reshape(resolution, resolution).cpu().numpy(), probabilistic,
                   manifold.reshape(lines, lines, 2).float().cpu().numpy(), extent)


def _discriminator_field(discriminator: nn.Module, points: Tensor, pac: int, probabilistic: bool,
                         modes: np.ndarray | None) -> Tensor:
    # A packing D judges pac samples at once: show it pac copies of each point.
    packed = points.repeat_interleave(pac, dim=0)  # (N * pac, 2)
    labels = None
    if getattr(discriminator, "num_classes", 0):
        labels = _nearest_mode(packed, modes, discriminator.num_classes)
    logits = discriminator(packed, labels)  # (N,)
    return torch.sigmoid(logits) if probabilistic else logits


def _noise_grid(lines: int, z_dim: int, device: torch.device | str) -> Tensor:
    ticks = torch.linspace(-MANIFOLD_RANGE, MANIFOLD_RANGE, lines)
    yy, xx = torch.meshgrid(ticks, ticks, indexing="ij")
    z = torch.zeros(lines * lines, z_dim)
    z[:, 0] = xx.reshape(-1)
    if z_dim > 1:
        z[:, 1] = yy.reshape(-1)
    return z.to(device)  # (L*L, z_dim); the other dimensions stay at their mean, 0


def _labels_for(generator: nn.Module, n: int) -> tuple[Tensor, ...]:
    """A conditional G maps the grid for class 0; an unconditional one takes no labels."""
    if not getattr(generator, "num_classes", 0):
        return ()
    device = next(generator.parameters()).device
    return (torch.zeros(n, dtype=torch.long, device=device),)


def _nearest_mode(points: Tensor, modes: np.ndarray | None, num_classes: int) -> Tensor:
    if modes is None or len(modes) != num_classes:
        return torch.zeros(len(points), dtype=torch.long, device=points.device)
    means = torch.as_tensor(modes, dtype=points.dtype, device=points.device)
    return torch.cdist(points, means).argmin(1)


def toy_view_from_checkpoint(path: str | Path, num_points: int = 1000, seed: int = 0) -> tuple[ToyView, np.ndarray]:
    """The lab's views of a saved toy model (no live run needed): the view and `num_points` samples."""
    from ganplay.checkpoints import CheckpointError, load_models
    from ganplay.losses import LOSSES
    from ganplay.sampling import sample

    generator, discriminator, ckpt = load_models(path)
    cfg, meta = ckpt["config"], ckpt["data"]
    if meta["kind"] != "toy":
        raise CheckpointError(f"{ckpt['path']}: the 2-D lab needs a model of 2-D points; this one makes images")
    modes = np.asarray(meta["modes"]) if "modes" in meta else None
    view = toy_view(generator, discriminator, LOSSES.get(cfg.loss).probabilistic, cfg.z_dim, cfg.pac,
                    meta.get("scale", 1.0), modes)
    return view, sample(generator, ckpt, num_points, seed).numpy()
