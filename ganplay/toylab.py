"""The 2-D lab's views of a toy run: D's output over the plane and G's image of a grid of noise."""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint, CheckpointError, load_checkpoint, load_models
from ganplay.losses import LOSSES
from ganplay.safe_files import atomic_write_bytes
from ganplay.sampling import sample

HEATMAP_RESOLUTION = 64  # cells per side of the discriminator's heat map
MANIFOLD_LINES = 21  # noise grid lines per side
MANIFOLD_RANGE = 2.5  # the noise grid spans [-2.5, 2.5] in the first two latent dimensions
SNAPSHOT_NAME = re.compile(r"^step_(\d{8})\.npz$")  # beside each snapshot's step_XXXXXXXX.png
SNAPSHOT_KEYS = ("points", "xs", "ys", "manifold", "extent", "probabilistic", "loss")  # + d_values, forces
FORCE_POINTS = 200  # generated points that get an arrow: enough to see the flow, few enough to read it


@dataclass(frozen=True)
class ToyView:
    xs: np.ndarray  # (R,) heat-map column centres
    ys: np.ndarray  # (R,) heat-map row centres
    d_values: np.ndarray | None  # (R, R) D's output (a probability for BCE losses, a raw score otherwise); None: no D
    probabilistic: bool
    manifold: np.ndarray  # (L, L, 2) G(z) for z on a regular grid in its first two dimensions
    extent: float  # the plane shown is [-extent, extent]^2
    loss: str | None = None  # the run's loss, which says what D's values mean; None: not known
    forces: np.ndarray | None = None  # (K, 2) -grad of G's loss at the first K generated points; None: no D

    def save(self, path: str | Path, points: np.ndarray) -> Path:
        """This view and the snapshot's fixed-noise points as a small compressed .npz (plain arrays, no pickle)."""
        buffer = io.BytesIO()
        heat = {"d_values": self.d_values} if self.d_values is not None else {}
        if self.forces is not None:
            heat["forces"] = self.forces
        np.savez_compressed(
            buffer,
            points=np.asarray(points, np.float32),
            xs=self.xs,
            ys=self.ys,
            **heat,
            manifold=self.manifold,
            extent=np.float32(self.extent),
            probabilistic=np.bool_(self.probabilistic),
            loss=np.str_(self.loss or ""),
        )
        return atomic_write_bytes(path, buffer.getvalue())  # a page may read it while the run writes the next


def load_toy_snapshot(path: str | Path) -> tuple[ToyView, np.ndarray]:
    """(view, fixed-noise points (N, 2)) saved by ToyView.save; a broken file raises ValueError naming it."""
    try:
        with np.load(path, allow_pickle=False) as saved:
            arrays = {key: saved[key] for key in saved.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path}: not a readable toy snapshot ({err})") from None
    missing = [key for key in SNAPSHOT_KEYS if key not in arrays]
    if missing:
        raise ValueError(f"{path}: not a toy snapshot, missing {', '.join(missing)}")
    view = ToyView(
        arrays["xs"],
        arrays["ys"],
        arrays.get("d_values"),
        bool(arrays["probabilistic"]),
        arrays["manifold"],
        float(arrays["extent"]),
        str(arrays["loss"]) or None,
        arrays.get("forces"),
    )
    return view, arrays["points"]


def toy_snapshots(folder: str | Path) -> dict[int, Path]:
    """step -> samples/step_XXXXXXXX.npz of a run folder, oldest first; empty for runs saved before these files."""
    found = {}
    for path in sorted((Path(folder) / "samples").glob("step_*.npz")):
        match = SNAPSHOT_NAME.match(path.name)
        if match:
            found[int(match.group(1))] = path
    return found


def plane_extent(data_scale: float) -> float:
    """Room around the data: ring8 (scale 1) gives 1.55, grid25 (scale 4) 5.6."""
    return 1.35 * data_scale + 0.2


@torch.no_grad()
def toy_view(
    generator: nn.Module,
    discriminator: nn.Module | None,
    probabilistic: bool,
    z_dim: int,
    pac: int,
    data_scale: float,
    modes: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    resolution: int = HEATMAP_RESOLUTION,
    lines: int = MANIFOLD_LINES,
    loss: str | None = None,
    points: Tensor | None = None,
) -> ToyView:
    """Both views in eval mode (no dropout, no batch-norm updates); training modes are restored after.
    With generated `points` (N, 2) and a loss, also the force on the first FORCE_POINTS of them.

    Without a discriminator (a generator-only file) the view has G's noise grid and no heat map.
    """
    extent = plane_extent(data_scale)
    players = [m for m in (generator, discriminator) if m is not None]
    was_training = [m.training for m in players]
    for m in players:
        m.eval()
    try:
        xs = np.linspace(-extent, extent, resolution, dtype=np.float32)
        d_values, forces = None, None
        if discriminator is not None:
            grid = torch.from_numpy(np.stack(np.meshgrid(xs, xs), -1).reshape(-1, 2)).to(device)  # (R*R, 2), row = y
            d_values = _discriminator_field(discriminator, grid, pac, probabilistic, modes)
            d_values = d_values.reshape(resolution, resolution).cpu().numpy()
            if points is not None and loss is not None:
                forces = generator_forces(discriminator, loss, points[:FORCE_POINTS].to(device), pac, modes)
        manifold = generator(_noise_grid(lines, z_dim, device), *_labels_for(generator, lines * lines))
    finally:
        for m, training in zip(players, was_training):
            m.train(training)
    manifold = manifold.reshape(lines, lines, 2).float().cpu().numpy()
    return ToyView(xs, xs.copy(), d_values, probabilistic, manifold, extent, loss, forces)


def generator_forces(
    discriminator: nn.Module, loss: str, points: Tensor, pac: int = 1, modes: np.ndarray | None = None
) -> np.ndarray:
    """(N, 2) minus the gradient of G's loss at each generated point: the way G's next update would move it, if G
    could move points freely (it moves them through its weights). A packing D judges consecutive groups of pac
    points, as in training, so N is cut to a multiple of pac. Each pack's own loss, so the size of an arrow does
    not shrink with the number of points."""
    g_loss = LOSSES.get(loss).g_loss
    x = points[: len(points) - len(points) % pac].detach().float().clone().requires_grad_(True)
    labels = _nearest_mode(x, modes, discriminator.num_classes) if getattr(discriminator, "num_classes", 0) else None
    with torch.enable_grad():
        logits = discriminator(x, labels)  # (N / pac,)
        (grad,) = torch.autograd.grad(g_loss(logits) * len(logits), x)  # into x alone: D's gradients stay as they are
    return (-grad).cpu().numpy()


def _discriminator_field(
    discriminator: nn.Module, points: Tensor, pac: int, probabilistic: bool, modes: np.ndarray | None
) -> Tensor:
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
    """The lab's views of a saved toy model (no live run needed): the view and `num_points` samples.

    A generator-only file keeps no D and raises; saved_toy_view shows G's half of such a file.
    """
    generator, discriminator, ckpt = load_models(path)
    return _view_and_points(generator, discriminator, ckpt, num_points, seed)


def saved_toy_view(path: str | Path, num_points: int = 1000, seed: int = 0) -> tuple[ToyView, np.ndarray, Checkpoint]:
    """(view, samples, checkpoint) of any saved 2-D model; a generator-only file (no D) gives a view
    with no heat map (d_values None)."""
    generator, discriminator, ckpt = load_models(path, need_d=False)  # one read of the file
    return (*_view_and_points(generator, discriminator, ckpt, num_points, seed), ckpt)


def _view_and_points(
    generator: nn.Module, discriminator: nn.Module | None, ckpt: Checkpoint, num_points: int, seed: int
) -> tuple[ToyView, np.ndarray]:
    cfg, meta = ckpt.config, ckpt.data
    if meta["kind"] != "toy":
        raise CheckpointError(f"{ckpt.path}: the 2-D lab needs a model of 2-D points; this one makes images")
    modes = np.asarray(meta["modes"]) if "modes" in meta else None
    points = sample(generator, ckpt, num_points, seed)
    view = toy_view(
        generator,
        discriminator,
        LOSSES.get(cfg.loss).probabilistic,
        cfg.z_dim,
        cfg.pac,
        meta.get("scale", 1.0),
        modes,
        loss=cfg.loss,
        points=points,
    )
    return view, points.numpy()


def toy_models_in(folder: str | Path) -> list[Path]:
    """The .pt files in `folder` that make 2-D points (shipped models: checkpoints/*.pt), by name."""
    found = []
    for path in sorted(Path(folder).glob("*.pt")):
        try:
            if load_checkpoint(path).data["kind"] == "toy":
                found.append(path)
        except CheckpointError:
            continue  # a broken file is reported where it is opened (Samples), not in the lab's list
    return found
