"""Samples as pictures and files: image grids and 2-D scatter pictures, animation frames, PNG, GIF and NPY
outputs, download names, and how far apart lerp and slerp walks look."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganplay import imaging
from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, Checkpoint
from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes
from ganplay.sampling import Code

OUTPUT_SUFFIXES = {"sample": (".png", ".npy"), "interpolate": (".png", ".gif")}
GIF_SCALE = 4  # a GIF's default enlargement: 28 px digits become 112 px


def picture(samples: Tensor, meta: dict[str, Any], nrow: int | None = None) -> np.ndarray:
    """An (H, W, C) uint8 picture: an image grid, or a scatter plot over the toy's modes."""
    if meta["kind"] == "toy":
        modes = np.asarray(meta["modes"]) if "modes" in meta else None
        return imaging.scatter_image(samples.numpy(), modes=modes)
    return imaging.image_grid(samples, nrow=nrow)


def frame_pictures(frames: Tensor, meta: dict[str, Any], scale: int = 1) -> list[np.ndarray]:
    """One picture per frame, images enlarged `scale` times; toys show the path so far as a growing trail."""
    _check_scale(scale, meta)
    if meta["kind"] == "toy":
        modes = np.asarray(meta["modes"]) if "modes" in meta else None
        pts = frames.numpy()
        extent = toy_extent(pts, meta)
        return [imaging.scatter_image(pts[: i + 1], modes=modes, extent=extent) for i in range(len(pts))]
    return [imaging.upscale(imaging.image_grid(f[None], padding=0), scale) for f in frames]


def _check_scale(scale: int, meta: dict[str, Any]) -> None:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise UsageError(f"scale must be a whole number of at least 1, got {scale!r}")
    if meta["kind"] == "toy" and scale != 1:
        raise UsageError(
            f"scale enlarges image frames; a 2-D toy's path is drawn as a plot and takes none (got {scale})"
        )


def toy_extent(points: np.ndarray, meta: dict[str, Any]) -> float:
    """Half the width of the square a toy's path is drawn in: room for every point and every mode."""
    modes = np.abs(np.asarray(meta["modes"])).max() * 1.1 if "modes" in meta else 0.0
    return max(1.0, float(np.abs(points).max()) * 1.1, float(modes))


def write_samples(samples: Tensor, meta: dict[str, Any], out: str | Path, nrow: int | None = None) -> Path:
    out = Path(out)
    if out.suffix == ".npy":
        return atomic_write_bytes(out, npy_bytes(samples.numpy()))  # as every output: whole or not at all, never a fifo
    if out.suffix == ".png":
        return imaging.save_png(picture(samples, meta, nrow), out)
    raise UsageError(f"--out must end in .png (a grid) or .npy (the raw array), got {out.name}")


def npy_bytes(array: np.ndarray) -> bytes:
    """An array as a float32 .npy file's bytes (written atomically by the caller: whole or not at all)."""
    buffer = io.BytesIO()
    np.save(buffer, array.astype(np.float32))
    return buffer.getvalue()


def write_interpolation(
    frames: Tensor, meta: dict[str, Any], out: str | Path, fps: float = 12.0, scale: int | None = None
) -> Path:
    """A GIF (image frames enlarged `scale` times, GIF_SCALE unless given) or a PNG strip (1x unless given)."""
    out = Path(out)
    toy = meta["kind"] == "toy"
    if out.suffix == ".gif":
        default = 1 if toy else GIF_SCALE
        return imaging.save_gif(frame_pictures(frames, meta, default if scale is None else scale), out, fps=fps)
    if out.suffix == ".png":
        scale = 1 if scale is None else scale
        if toy:
            return imaging.save_png(frame_pictures(frames, meta, scale)[-1], out)
        _check_scale(scale, meta)
        return imaging.save_png(imaging.upscale(imaging.image_strip(frames), scale), out)
    raise UsageError(f"--out must end in .png (a strip) or .gif (an animation), got {out.name}")


# Walks whose most different frames differ by less than this share of the pixel range look alike by eye.
# Measured on the shipped models, seed pairs (s, s + 1) for s = 0, 2, ..., 58, 16 frames: mnist-cdcgan 1.4-5.3%
# (median 2.7%), mnist-dcgan 1.2-7.5% (median 3.3%). Side by side, the default pair (2.7% and 2.4%) and
# mnist-cdcgan's most different one (5.3%, seeds 30 and 31) looked the same; mnist-dcgan's 7.5% pair (seeds 42
# and 43) visibly did not: lerp's middle frames turned from 2 to 6 later and messier. ring8-mlp's 2-D latents
# give 0-55% (median 23%) of the plot's width: its two paths reach other modes at other frames.
LOOK_ALIKE = 0.06
# Below this dip of lerp's |z| (at most 10% short of slerp's), the two paths themselves nearly coincide.
NEAR_PARALLEL_DIP = 0.1


@dataclass(frozen=True)
class ModeGap:
    """How far lerp and slerp drift apart on one walk, in what G draws and in the norm of z."""

    pixels: float  # the most different frame pair's mean |lerp - slerp|, as a share of the output's range
    norm_dip: float  # lerp's largest shortfall in |z|: max over frames of 1 - |z_lerp| / |z_slerp|
    unit: str  # what `pixels` is a share of, in words

    @property
    def look_alike(self) -> bool:
        return self.pixels < LOOK_ALIKE

    def explanation(self) -> str:
        """Why the two look alike, or where to see them differ, with the numbers."""
        differ = f"{self.pixels:.1%} of {self.unit} (the most different pair of frames)"
        dips = f"lerp's |z| falls to {1 - self.norm_dip:.0%} of slerp's"
        if not self.look_alike:
            return f"lerp and slerp differ by up to {differ}, and {dips}: compare the middle frames."
        if self.norm_dip < NEAR_PARALLEL_DIP:
            return (
                f"lerp and slerp look alike: they differ by at most {differ}. The keyframes' latents are close "
                f"or nearly parallel ({dips} at the lowest), so the two paths nearly coincide; keyframes "
                f"further apart show more."
            )
        return (
            f"lerp and slerp look alike: they differ by at most {differ}, though {dips} at its lowest. This "
            f"generator changes little with the norm of z: its short latents mid-path draw much what the "
            f"long ones do."
        )


def mode_gap(lerp_frames: Tensor, slerp_frames: Tensor, norms: dict[str, Tensor], meta: dict[str, Any]) -> ModeGap:
    """Measure a walk drawn both ways (same seeds, same frames); norms as latent.path_norms gives them."""
    if lerp_frames.shape != slerp_frames.shape:
        raise ValueError(
            f"lerp and slerp frames must match, got {tuple(lerp_frames.shape)} and {tuple(slerp_frames.shape)}"
        )
    toy = meta["kind"] == "toy"
    width = 2 * toy_extent(torch.cat([lerp_frames, slerp_frames]).numpy(), meta) if toy else 2.0  # [-1, 1]
    per_frame = (lerp_frames - slerp_frames).abs().flatten(1).mean(1) / width  # (frames,)
    dip = 1 - norms["lerp"] / norms["slerp"].clamp_min(1e-12)
    return ModeGap(float(per_frame.max()), max(0.0, float(dip.max())), "the plot's width" if toy else "the pixel range")


def model_name(ckpt: Checkpoint) -> str:
    """'mnist-cdcgan' for checkpoints/mnist-cdcgan.pt; a run's checkpoint.pt is its run's name, best.pt NAME-best."""
    path = Path(ckpt.path)
    names = {CHECKPOINT_NAME: path.parent.name, BEST_CHECKPOINT_NAME: f"{path.parent.name}-best"}
    return names.get(path.name, path.stem)


def file_stem(
    ckpt: Checkpoint, *details: str, class_id: int | None = None, code: Code = None, truncation: float | None = None
) -> str:
    """A download's name from the model and what made it: 'mnist-cdcgan_class3_seeds0-1_slerp_16f'."""
    kind = "cluster" if ckpt.config.clusters else "class"
    tags = [
        model_name(ckpt),
        "" if class_id is None else f"{kind}{class_id}",
        *details,
        "" if code is None else f"code{code}",
        f"trunc{truncation:g}" if truncation else "",
    ]
    return "_".join(re.sub(r"[^A-Za-z0-9.-]+", "-", tag) for tag in tags if tag)  # "_" only between tags
