"""What restoration works on: a target image converted as the training data was, which of its pixels are known
(a mask preset or a painted mask), test damage (Gaussian noise), and what to say when the model fits it poorly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganplay.checkpoints import Checkpoint
from ganplay.errors import UsageError
from ganplay.inversion import require_image_model
from ganplay.limits import MASK_PRESETS
from ganplay.sources import to_float

MAX_IMAGE_PIXELS = 50_000_000  # a larger upload is refused before it is decoded (a PNG bomb)
PAINTED_SHARE = 0.25  # a pixel a quarter painted counts as painted
POOR_FIT_MSE = 0.12  # masked MSE (in [-1, 1] units) above which a reconstruction is called poor; see the README


@dataclass(frozen=True)
class Target:
    image: Tensor  # (C, H, W) in [-1, 1], at the model's own size and channels
    label: int | None = None  # the true class, for a digit of the bundled MNIST
    note: str = ""  # what the conversion did, when it changed the picture's nature (colour to grey, shape)


def image_target(path: str | Path, ckpt: Checkpoint) -> Target:
    """An image file of any size and colour, converted as the training data was: to the model's channels,
    center-cropped to a square and resized to its side."""
    from PIL import Image, UnidentifiedImageError

    from ganplay.folders import read_image

    require_image_model(ckpt)
    channels, size, _ = ckpt.data["shape"]
    try:
        with Image.open(path) as img:  # the header only: what the conversion will change
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UsageError(f"{path}: {img.width}x{img.height} pixels is too large (at most {MAX_IMAGE_PIXELS:,})")
            colour, shape = img.mode not in ("1", "L", "LA", "I", "I;16", "F"), (img.width, img.height)
        array = read_image(path, size, channels)  # converted exactly as a folder's training images are
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, UsageError):
            raise
        raise UsageError(f"{path}: not an image this tool can read ({type(err).__name__})") from None
    pixels = torch.from_numpy(array.copy())  # PIL's buffer is read-only
    return Target(to_float(pixels), note=_conversion_note(colour, shape, channels, size))


def _conversion_note(colour: bool, shape: tuple[int, int], channels: int, size: int) -> str:
    changes = []
    if colour and channels == 1:
        changes.append("a colour picture made grey")
    if shape[0] != shape[1]:
        changes.append(f"its {shape[0]}x{shape[1]} cropped to the centre square")
    if max(shape) > 4 * size:
        changes.append(f"{max(shape)} px shrunk to {size} px")
    if not changes:
        return ""
    return f"converted as the training data was ({'; '.join(changes)}): a picture unlike it restores poorly"


def digit_target(index: int, ckpt: Checkpoint) -> Target:
    """Digit `index` of the bundled MNIST (10,000 test digits), at the model's size, with its true label."""
    from ganplay.data import load_dataset

    require_image_model(ckpt)
    channels, size, _ = ckpt.data["shape"]
    data = load_dataset("mnist-bundled", image_size=size, channels=channels)
    if not 0 <= index < len(data):
        raise UsageError(f"digit index must be between 0 and {len(data) - 1:,}, got {index}")
    return Target(to_float(data.images[index : index + 1])[0].cpu(), label=int(data.labels[index]))


def preset_known(name: str, shape: tuple[int, int], seed: int = 0) -> Tensor:
    """Which pixels stay (H, W) under a preset: centre (its middle quarter missing: 14x14 of a 28 px digit),
    left (the left half missing), random50 (half the pixels missing, drawn by `seed`)."""
    h, w = shape
    known = torch.ones(h, w, dtype=torch.bool)
    if name == "centre":
        known[h // 4 : h // 4 + h // 2, w // 4 : w // 4 + w // 2] = False
    elif name == "left":
        known[:, : w // 2] = False
    elif name == "random50":
        order = torch.randperm(h * w, generator=torch.Generator().manual_seed(seed))
        known.view(-1)[order[: h * w // 2]] = False
    else:
        raise UsageError(f"mask preset must be one of {', '.join(MASK_PRESETS)}, got {name!r}")
    return known


def painted_known(path: str | Path, shape: tuple[int, int]) -> Tensor:
    """Which pixels stay, from a mask image of any size: painted (bright) pixels are the missing part."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UsageError(f"{path}: {img.width}x{img.height} pixels is too large for a mask")
            brightness = np.asarray(img.convert("L"), dtype=np.float32) / 255
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        if isinstance(err, UsageError):
            raise
        raise UsageError(f"{path}: not a mask image this tool can read ({type(err).__name__})") from None
    return check_known(known_from_paint(brightness, shape))


def known_from_paint(paint: np.ndarray, shape: tuple[int, int]) -> Tensor:
    """Which pixels stay (H, W), from paint (any size, in [0, 1]: a brush's opacity or a mask's brightness).

    A model pixel is missing when at least PAINTED_SHARE of it is painted: a brush stroke drawn on a picture
    shown 10x as large erases the pixels it visibly covers, not only those under its centre line.
    """
    from PIL import Image

    small = Image.fromarray(np.clip(paint * 255, 0, 255).astype(np.uint8)).resize(
        (shape[1], shape[0]), Image.Resampling.BOX
    )
    return torch.from_numpy(np.asarray(small) < PAINTED_SHARE * 255)


def check_known(known: Tensor) -> Tensor:
    """A mask with something to restore and something to restore it from; else a UsageError saying which."""
    if bool(known.all()):
        raise UsageError("the mask marks no pixel as missing: paint over the part to restore (bright = missing)")
    if not bool(known.any()):
        raise UsageError("the mask covers every pixel: nothing is left to restore from")
    return known


def add_noise(image: Tensor, sigma: float, seed: int = 0) -> Tensor:
    """A test case for denoising: Gaussian noise of `sigma` (in [-1, 1] units), clipped to the pixel range."""
    if not 0 < sigma <= 2:
        raise UsageError(f"noise sigma must be above 0 and at most 2, got {sigma}")
    noise = torch.randn(image.shape, generator=torch.Generator().manual_seed(seed)) * sigma
    return (image + noise).clamp(-1, 1)


def damage(target: Tensor, known: Tensor | None, noise: float | None, seed: int = 0) -> Tensor:
    """The damaged image the inversion sees: noise added first (a denoising test case), missing pixels black."""
    damaged = target if noise is None else add_noise(target, noise, seed)
    return damaged if known is None else damaged.where(known[None], damaged.new_tensor(-1.0))


def fit_note(loss: float, noise: float | None = None) -> str:
    """What a user should know of a reconstruction's loss: nothing when it is good.

    Against a noisy target even a perfect fit keeps the noise's own error, at most sigma^2 (clipping to the
    pixel range only lowers it), so that much more is allowed before the fit is called poor.
    """
    limit = POOR_FIT_MSE + (noise or 0.0) ** 2
    if loss <= limit:
        return ""
    return (
        f"the model could not reproduce this image well (MSE {loss:.3f} on the known pixels, above "
        f"{limit:.3g}): it is unlike what the model learned, so the restoration will be poor"
    )
