"""Latent space tools: seeds to z (with truncation), lerp and slerp, keyframe paths, 4-corner planes, class paths."""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ganplay.errors import UsageError

MODES = ("lerp", "slerp")
MAX_TRUNCATION_ROUNDS = 1000


def z_from_seed(seed: int, n: int, z_dim: int, truncation: float | None = None) -> Tensor:
    """(n, z_dim) standard normal latents fixed by `seed`; row i is the same whatever n is.

    With truncation t, every coordinate with |z| > t is redrawn until it falls inside (the
    truncation trick of BigGAN), trading variety for quality as t shrinks.
    """
    if n < 0 or z_dim < 1:
        raise ValueError(f"need n >= 0 and z_dim >= 1, got n={n}, z_dim={z_dim}")
    if truncation is not None and truncation <= 0:
        raise UsageError(f"truncation must be positive, got {truncation}")
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.randn(n, z_dim, generator=gen)
    if truncation is None:
        return z
    for _ in range(MAX_TRUNCATION_ROUNDS):  # a few rounds suffice: P(|z| > 0.5) is 0.62
        outside = z.abs() > truncation
        if not outside.any():
            return z
        z[outside] = torch.randn(int(outside.sum()), generator=gen)
    return z.clamp_(-truncation, truncation)  # only reached for absurdly small t


def lerp(a: Tensor, b: Tensor, t: Tensor | float) -> Tensor:
    """Straight line from a to b; t in [0, 1], broadcast against the latent's last axis."""
    t = torch.as_tensor(t, dtype=a.dtype)
    return a + (b - a) * t.reshape(*t.shape, *([1] * a.dim())) if t.dim() else a + (b - a) * t


def slerp(a: Tensor, b: Tensor, t: Tensor | float) -> Tensor:
    """Great-circle path from a to b (norms interpolated linearly): stays where Gaussian latents live."""
    t = torch.as_tensor(t, dtype=a.dtype)
    tt = t.reshape(*t.shape, *([1] * a.dim())) if t.dim() else t
    na, nb = a.norm(dim=-1, keepdim=True), b.norm(dim=-1, keepdim=True)
    ua, ub = a / na.clamp_min(1e-12), b / nb.clamp_min(1e-12)
    omega = torch.acos((ua * ub).sum(-1, keepdim=True).clamp(-1.0, 1.0))
    so = torch.sin(omega)
    if float(so.abs().min()) < 1e-6:  # (anti)parallel: every great circle works; the line is the limit
        return lerp(a, b, t)
    direction = (torch.sin((1 - tt) * omega) * ua + torch.sin(tt * omega) * ub) / so
    return direction * (na + (nb - na) * tt)


def interpolate(a: Tensor, b: Tensor, t: Tensor | float, mode: str = "slerp") -> Tensor:
    if mode not in MODES:
        raise UsageError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    return (slerp if mode == "slerp" else lerp)(a, b, t)


def keyframe_path(keyframes: Tensor, frames: int, mode: str = "slerp", loop: bool = False) -> Tensor:
    """(frames, z_dim) through keyframes (K, z_dim) in order, evenly spaced in 'segment time'.

    The first and last frames are the first and last keyframes; with loop, the path returns to
    the first keyframe and the final frame stops just short of it, so the animation cycles smoothly.
    """
    if keyframes.dim() != 2 or keyframes.shape[0] < 2:
        raise ValueError(f"need at least two keyframes as (K, z_dim), got shape {tuple(keyframes.shape)}")
    if frames < 2:
        raise UsageError(f"frames must be at least 2, got {frames}")
    keys = torch.cat([keyframes, keyframes[:1]]) if loop else keyframes
    segments = keys.shape[0] - 1
    positions = torch.linspace(0, segments, frames + 1 if loop else frames)[:frames]  # (frames,)
    index = positions.floor().long().clamp(max=segments - 1)
    t = positions - index
    return torch.stack([interpolate(keys[i], keys[i + 1], float(s), mode) for i, s in zip(index.tolist(), t)])


def path_norms(keyframes: Tensor, frames: int, loop: bool = False) -> dict[str, Tensor]:
    """{mode: (frames,) |z| at each frame} of the keyframe path, for lerp and for slerp.

    Between two independent Gaussian latents a and b (nearly orthogonal in many dimensions), lerp's
    midpoint (a + b) / 2 has only about 1/sqrt(2) of their norm; slerp keeps it.
    """
    return {mode: keyframe_path(keyframes, frames, mode, loop=loop).norm(dim=1) for mode in MODES}


def typical_norm(z_dim: int, truncation: float | None = None) -> float:
    """sqrt(E |z|^2) of the latents G was trained on: sqrt(z_dim), less with truncation t.

    A standard normal cut to [-t, t] has variance 1 - 2 t pdf(t) / (cdf(t) - cdf(-t)) per coordinate.
    """
    if z_dim < 1:
        raise ValueError(f"z_dim must be at least 1, got {z_dim}")
    if truncation is None:
        return math.sqrt(z_dim)
    if truncation <= 0:
        raise UsageError(f"truncation must be positive, got {truncation}")
    inside = math.erf(truncation / math.sqrt(2))  # P(|z| <= t)
    density = math.exp(-(truncation**2) / 2) / math.sqrt(2 * math.pi)
    return math.sqrt(z_dim * (1 - 2 * truncation * density / inside))


def corner_grid(corners: Tensor, rows: int, cols: int, mode: str = "slerp") -> Tensor:
    """(rows * cols, z_dim) plane between 4 corners (top-left, top-right, bottom-left, bottom-right), row-major."""
    if corners.dim() != 2 or corners.shape[0] != 4:
        raise ValueError(f"need exactly four corner latents as (4, z_dim), got shape {tuple(corners.shape)}")
    if rows < 2 or cols < 2:
        raise UsageError(f"a corner grid needs at least 2 rows and 2 columns, got {rows}x{cols}")
    tl, tr, bl, br = corners
    out = []
    for r in torch.linspace(0, 1, rows).tolist():
        left, right = interpolate(tl, bl, r, mode), interpolate(tr, br, r, mode)
        out += [interpolate(left, right, c, mode) for c in torch.linspace(0, 1, cols).tolist()]
    return torch.stack(out)


def class_path(class_from: int, class_to: int, num_classes: int, frames: int) -> Tensor:
    """(frames, K) soft one-hot labels moving linearly from one class to another."""
    if frames < 2:
        raise UsageError(f"frames must be at least 2, got {frames}")
    a = torch.nn.functional.one_hot(torch.tensor(class_from), num_classes).float()
    b = torch.nn.functional.one_hot(torch.tensor(class_to), num_classes).float()
    t = torch.linspace(0, 1, frames)[:, None]  # (frames, 1)
    return a + (b - a) * t


def with_codes(z: Tensor, codes: Tensor, num_codes: int) -> Tensor:
    """z with row i's InfoGAN code set to codes[i] (see models.latent_code).

    The row's largest code entry swaps places with entry codes[i]: the row keeps its values, so apart
    from the code it is the same draw, and for a seed's z every code shows the same noise.
    """
    z = z.clone()
    rows = torch.arange(z.shape[0])
    top = z[:, :num_codes].argmax(1)
    largest, target = z[rows, top].clone(), z[rows, codes].clone()
    z[rows, codes], z[rows, top] = largest, target
    return z
