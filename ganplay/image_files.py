"""Image sets on disk: IDX files (MNIST, Fashion-MNIST), torchvision downloads, and resizing to a training size."""

from __future__ import annotations

import gzip
import math
import os
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
DOWNLOAD_TIMEOUT_S = 20


class DatasetError(ValueError):
    """A dataset that cannot be loaded; the message says which files and what to do."""


def dataset_path(name: str, prefix: str, example: str) -> Path:
    """The path PREFIX:PATH names (folder:, points:), ~ expanded; a DatasetError for an empty one or an unknown user.

    Whether the path is there, and of the right kind, is the caller's to say: each kind says it in its own words.
    """
    raw = name[len(prefix) :].strip()
    if not raw:
        raise DatasetError(f"{prefix} needs {example}")
    try:
        return Path(raw).expanduser()
    except RuntimeError:  # Python's way to say ~nosuchuser
        user = raw.split("/", 1)[0]
        raise DatasetError(f"{prefix}{raw}: cannot expand {user}: there is no such user on this machine") from None


def default_data_dir() -> Path:
    """Where downloaded and uploaded image sets live: $GANPLAY_DATA, else ./data."""
    return Path(os.environ.get("GANPLAY_DATA") or "data")


# -- IDX files (MNIST, Fashion-MNIST) ------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzip): magic 0x0803 images (N, H, W) or 0x0801 labels (N,), all uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot read it ({err}); the file is truncated or not gzip") from None
    if len(raw) < 8:
        raise DatasetError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise DatasetError(f"{path}: not an IDX file of uint8 images or labels (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    expected = 4 + 4 * ndim + math.prod(dims)
    if len(raw) != expected:
        raise DatasetError(f"{path}: holds {len(raw)} bytes, its header promises {expected}; the file is truncated")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx_splits(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every split present in an MNIST-style raw folder (train, t10k), joined; the names of those found."""
    images, labels, found = [], [], []
    for split in ("train", "t10k"):
        img = _idx_file(folder, f"{split}-images-idx3-ubyte")
        lab = _idx_file(folder, f"{split}-labels-idx1-ubyte")
        if img is None or lab is None:
            continue
        x, y = read_idx(img), read_idx(lab)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(f"{img} and {lab} do not match: {x.shape} images, {y.shape} labels")
        images.append(x)
        labels.append(y)
        found.append(f"{split} ({len(x):,})")
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), []
    return np.concatenate(images), np.concatenate(labels), found


# -- torchvision downloads -----------------------------------------------------------------------


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """A short default socket timeout while torchvision downloads, so an offline machine does not hang."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _torchvision_splits(dataset_cls: Any, root: Path, download: bool) -> tuple[list[Any], list[str]]:
    """Both splits (train, then test) of a torchvision dataset: those that loaded, and why the others did not.

    One failing split does not stop the other, so a machine holding only the test files still trains.
    """
    parts, errors = [], []
    with _socket_timeout(DOWNLOAD_TIMEOUT_S):
        for train in (True, False):
            try:
                parts.append(dataset_cls(str(root), train=train, download=download))
            except Exception as err:  # noqa: BLE001 (missing files, no network, a broken archive: not available)
                errors.append(f"{type(err).__name__}: {err}")
    return parts, errors


def read_idx_set(
    root: Path, folder_name: str, tv_name: str, download: bool
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """(images, labels, splits found, why a download failed) for root/folder_name/raw.

    When no split is there and download is on, torchvision fetches them first (tv_name: its dataset class).
    """
    import torchvision.datasets as tvd

    raw = root / folder_name / "raw"
    images, labels, found = read_idx_splits(raw)
    if found or not download:
        return images, labels, found, ""
    _, errors = _torchvision_splits(getattr(tvd, tv_name), root, download=True)
    return (*read_idx_splits(raw), errors[0] if errors else "")


def read_cifar10(root: Path, download: bool) -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10's (N, 3, 32, 32) uint8 images and labels from the splits in root, downloaded if allowed."""
    import torchvision.datasets as tvd

    parts, errors = _torchvision_splits(tvd.CIFAR10, root, download)
    if not parts:
        raise DatasetError(
            f"CIFAR-10 is not in {root / 'cifar-10-batches-py'} and could not be downloaded "
            f"({errors[0]}); run once with internet or put the extracted python version there"
        )
    images = np.concatenate([p.data for p in parts]).transpose(0, 3, 1, 2)  # (N, 3, 32, 32)
    labels = np.concatenate([np.asarray(p.targets) for p in parts])
    return images, labels


# -- resizing ------------------------------------------------------------------------------------


def fit_images(images: Tensor, size: int, channels: int) -> Tensor:
    """Resize (N, C, H, W) uint8 to size x size (center crop to square first) and 1 or 3 channels."""
    n, c, h, w = images.shape
    if c != channels:
        if channels == 3:
            images = images.expand(n, 3, h, w) if c == 1 else images[:, :3]
        else:  # ITU-R 601 luma, as PIL's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images[:, :3].float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        images = images[:, :, top : top + side, left : left + side]
    if images.shape[-1] != size:
        out = []
        for chunk in images.split(2048):  # bounded memory for big sets
            resized = F.interpolate(
                chunk.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
            )
            out.append(resized.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(out)
    return images.contiguous()
