"""Pictures from tensors: image grids, 2-D scatter plots, strips, and atomic PNG and GIF files."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ganplay.safe_files import atomic_write_bytes

# The 2-D lab's colours (toy_plots.TOY_COLORS), so a picture and the lab's plot read the same way.
POINT_COLOR = (213, 94, 0)  # generated points, orange, drawn last
REAL_COLOR = (150, 190, 225)  # real samples, pale blue, drawn underneath
MODE_COLOR = (0, 0, 0)  # the mixture's means: hollow rings under everything, so points on a mode stay visible
MODE_RING_PX = 6  # ring radius: wider than a ring8 cluster (3 sigma is 3 px at 256 px), so its points sit inside


def to_uint8_images(x: Tensor) -> np.ndarray:
    """(N, C, H, W) floats in [-1, 1] -> (N, H, W, C) uint8."""
    x = x.detach().float().cpu().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


def image_grid(x: Tensor, nrow: int | None = None, padding: int = 2, pad_value: int = 255) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> one (rows*(H+p)+p, cols*(W+p)+p, C) uint8 picture; C is 1 or 3."""
    images = to_uint8_images(x)
    n, h, w, c = images.shape
    cols = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + padding) + padding, cols * (w + padding) + padding, c), pad_value, np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, cols)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top : top + h, left : left + w] = img
    return grid


def image_strip(x: Tensor, padding: int = 2) -> np.ndarray:
    """Frames side by side in one row."""
    return image_grid(x, nrow=x.shape[0], padding=padding)


def upscale(picture: np.ndarray, scale: int) -> np.ndarray:
    """Nearest-neighbour enlargement, so 28 px digits stay crisp in an animation."""
    return picture.repeat(scale, axis=0).repeat(scale, axis=1)


def scatter_image(
    points: np.ndarray,
    modes: np.ndarray | None = None,
    real: np.ndarray | None = None,
    extent: float | None = None,
    size: int = 256,
) -> np.ndarray:
    """A (size, size, 3) uint8 scatter plot of (N, 2) points over [-extent, extent]^2.

    Layers from the bottom: axes, the modes as hollow rings, real points, generated points; nothing covers a point.
    """
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if extent is None:
        ref = modes if modes is not None else points[np.isfinite(points).all(1)]
        extent = 1.25 * float(np.abs(ref).max()) if len(ref) else 1.0
        extent = max(extent, 1e-3)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(img)

    def to_px(cloud: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (cloud[:, 0] / extent + 1) * (size - 1) / 2, (1 - cloud[:, 1] / extent) * (size - 1) / 2

    mid = (size - 1) / 2
    draw.line([(0, mid), (size, mid)], fill=(235, 235, 235))
    draw.line([(mid, 0), (mid, size)], fill=(235, 235, 235))
    if modes is not None:
        for x, y in zip(*to_px(np.asarray(modes, dtype=np.float64).reshape(-1, 2))):
            r = MODE_RING_PX
            draw.ellipse([x - r, y - r, x + r, y + r], outline=MODE_COLOR, width=1)
    for cloud, color in ((real, REAL_COLOR), (points, POINT_COLOR)):
        if cloud is None or not len(cloud):
            continue
        cloud = np.asarray(cloud, dtype=np.float64).reshape(-1, 2)
        for x, y in zip(*to_px(cloud[np.isfinite(cloud).all(1)])):
            draw.rectangle([x - 1, y - 1, x + 1, y + 1], fill=color)
    return np.asarray(img)


def _pil(picture: np.ndarray) -> Image.Image:
    return Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture)


def png_bytes(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    _pil(picture).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_bytes(pictures: list[np.ndarray], fps: float = 12.0) -> bytes:
    if not pictures:
        raise ValueError("a GIF needs at least one frame")
    frames = [_pil(p).convert("RGB") for p in pictures]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], loop=0, duration=max(20, round(1000 / fps))
    )
    return buffer.getvalue()


def save_png(picture: np.ndarray, path: str | Path) -> Path:
    path = Path(path)
    atomic_write_bytes(path, png_bytes(picture))
    return path


def save_gif(pictures: list[np.ndarray], path: str | Path, fps: float = 12.0) -> Path:
    path = Path(path)
    atomic_write_bytes(path, gif_bytes(pictures, fps))
    return path
