"""Latent files: a z found by Restore or `invert`, saved to be read back as an Interpolate keyframe.

A .npz holds z, the label the inversion found (-1: none) and the model's name, so a conditional model's
keyframe keeps its class; a bare .npy holds z alone, for people who work in numpy.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import torch
from torch import Tensor

from ganplay.errors import UsageError

LATENT_SUFFIXES = (".npz", ".npy")
MAX_LATENT_BYTES = 1_000_000  # a z of 100 numbers is under 1 kB: anything far larger is not one
NO_LABEL = -1


@dataclass(frozen=True)
class Latent:
    z: Tensor  # (z_dim,) float32
    label: int | None = None  # the class or cluster found with it, for a model that takes labels
    model: str = ""  # the model it was found with: a z means nothing to another model
    name: str = ""  # where it came from, for messages


def latent_bytes(z: Tensor, label: int | None, model: str, suffix: str = ".npz") -> bytes:
    """The bytes of a latent file: .npz with the label and model, or .npy with z alone."""
    from ganplay.pictures import npy_bytes  # pictures imports sampling, which imports this module

    array = z.detach().float().cpu().reshape(-1).numpy()
    if suffix == ".npy":
        return npy_bytes(array)
    buffer = io.BytesIO()
    np.savez(buffer, z=array, label=np.int64(NO_LABEL if label is None else label), model=np.str_(model))
    return buffer.getvalue()


def read_latent(source: str | Path | IO[bytes], name: str | None = None) -> Latent:
    """A latent file from a path or an open file (an upload); `name` says what it is called in messages."""
    name = name or str(getattr(source, "name", source))
    raw = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
    if len(raw) > MAX_LATENT_BYTES:
        raise UsageError(f"{name}: {len(raw):,} bytes is too large for a latent file (a z is under 1 kB)")
    try:
        loaded = np.load(io.BytesIO(raw), allow_pickle=False)  # never run code from a file
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise UsageError(f"{name}: not a .npz or .npy latent file ({type(err).__name__})") from None
    if isinstance(loaded, np.ndarray):
        return Latent(_as_z(loaded, name), name=name)
    with loaded:
        if "z" not in loaded.files:
            raise UsageError(f"{name}: a latent .npz holds an array named z; this one has {sorted(loaded.files)}")
        z = _as_z(loaded["z"], name)
        label = int(loaded["label"]) if "label" in loaded.files and loaded["label"].size == 1 else NO_LABEL
        model = str(loaded["model"]) if "model" in loaded.files and loaded["model"].size == 1 else ""
    return Latent(z, None if label == NO_LABEL else label, model, name)


def _as_z(array: np.ndarray, name: str) -> Tensor:
    if array.dtype.kind not in "fiu" or array.ndim not in (1, 2) or (array.ndim == 2 and array.shape[0] != 1):
        raise UsageError(f"{name}: a z is one row of numbers; this holds {array.dtype} of shape {array.shape}")
    z = torch.from_numpy(array.astype(np.float32).reshape(-1))
    if not bool(torch.isfinite(z).all()):
        raise UsageError(f"{name}: the z holds NaN or infinite numbers")
    return z


def other_model_note(latent: Latent, model: str) -> str:
    """What to say when a latent was found with another model than `model` (its z may mean little there)."""
    if not latent.model or latent.model == model:
        return ""
    return f"{latent.name} was found with {latent.model}, not this model: its z may mean little here"


def check_latents(latents: list[Latent], ckpt) -> list[Latent]:
    """The latents, each fit for this model's z and labels; else a UsageError naming the file."""
    z_dim, k = ckpt.config.z_dim, ckpt.data.get("num_classes")
    for latent in latents:
        if latent.z.numel() != z_dim:
            raise UsageError(
                f"{latent.name}: its z has {latent.z.numel()} numbers, this model takes {z_dim}: "
                "it was found with another model"
            )
        if latent.label is not None and ckpt.config.takes_labels and not 0 <= latent.label < k:
            raise UsageError(f"{latent.name}: its label {latent.label} is not one of this model's {k} classes")
    return latents
