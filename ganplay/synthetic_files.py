"""Writing a synthetic dataset: a folder of one subfolder of PNGs per class (what folder:DIR reads back, class
subfolders giving the labels), an .npz of uint8 arrays, or a .zip of the folder; each with a manifest of how
it was made. Written atomically: a hidden .partial folder or temp file, renamed into place when complete."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import ganplay
from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes, check_output_path
from ganplay.synthetic import LABELLED_BY, SyntheticSet

MANIFEST = "synthetic.json"  # beside the class folders: folder datasets read only images, so it is not a class
MANIFEST_FORMAT = "ganplay-synthetic-dataset"
FILE_SUFFIXES = (".npz", ".zip")
NOT_A_FOLDER = (".png", ".jpg", ".jpeg", ".gif", ".npy", ".pt", ".json", ".csv")  # a typo'd file name, surely


def check_target(out: str | Path, overwrite: bool = False) -> Path:
    """The --out of an export, checked before any work: FILE.npz or FILE.zip (replaced, as every output file
    is), else a folder that is new, empty, or (with overwrite) an earlier export and nothing else."""
    path = Path(out)
    if path.suffix.lower() in FILE_SUFFIXES:
        return check_output_path(path, FILE_SUFFIXES, what="--out")
    if path.suffix.lower() in NOT_A_FOLDER:
        raise UsageError(f"--out must be a folder, FILE.npz or FILE.zip, got {path}")
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path} is a file, not a folder: name a new folder, or FILE.npz / FILE.zip")
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise UsageError(
                f"--out {path} exists and is not empty: name a new folder (or --overwrite to replace an "
                f"earlier export-dataset folder)"
            )
        if not is_earlier_export(path):
            raise UsageError(
                f"--out {path} holds files export-dataset did not write: refusing to replace it, even "
                f"with --overwrite (nothing was changed)"
            )
    return path


def is_earlier_export(folder: Path) -> bool:
    """Whether a folder holds only what write_folder writes: its manifest, and class folders of PNGs."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            return False
        for item in folder.iterdir():
            if item.name == MANIFEST and item.is_file() and not item.is_symlink():
                continue
            if item.is_symlink() or not item.is_dir():
                return False
            if any(f.is_symlink() or not f.is_file() or f.suffix != ".png" for f in item.iterdir()):
                return False
    except (OSError, ValueError):
        return False
    return True


def write(data: SyntheticSet, out: str | Path, overwrite: bool = False) -> Path:
    """Write to the kind of target `out` names (see check_target)."""
    path = check_target(out, overwrite)
    if path.suffix.lower() == ".npz":
        return atomic_write_bytes(path, npz_bytes(data))
    if path.suffix.lower() == ".zip":
        return atomic_write_bytes(path, zip_bytes(data))
    return write_folder(data, path, overwrite)


def manifest(data: SyntheticSet) -> dict[str, Any]:
    counts = np.bincount(data.labels, minlength=len(data.class_names)).tolist()
    return {
        "format": MANIFEST_FORMAT,
        "ganplay_version": ganplay.__version__,
        "checkpoint": data.checkpoint,
        "step": data.step,
        "command": data.command,
        "class_names": list(data.class_names),
        "folders": folder_names(data.class_names),
        "images_per_class": counts,
        "labelled_by": LABELLED_BY[data.labelling],
        "seed": data.seed,
        "min_confidence": data.min_confidence,
        "drawn": data.drawn,
        "dropped_per_class": data.dropped,
        "surplus": data.surplus,
        "layout": "uint8 images (N, C, H, W); labels index class_names",
    }


def folder_names(class_names: tuple[str, ...]) -> list[str]:
    """A safe folder name per class, in an order that sorts as the classes do: folder datasets number their
    classes by sorted folder name, so class i is read back as label i (digits 0-9 stay '0'..'9')."""
    safe = [re.sub(r"[^\w.-]+", "_", name).strip("._") or "class" for name in class_names]
    if safe == sorted(safe) and len(set(safe)) == len(safe):
        return safe
    width = len(str(len(safe) - 1))
    return [f"{i:0{width}d}_{name}" for i, name in enumerate(safe)]


def png_bytes(image: np.ndarray) -> bytes:
    """(C, H, W) uint8 -> PNG: grey for one channel, RGB for three."""
    picture = Image.fromarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def _files(data: SyntheticSet) -> list[tuple[str, bytes]]:
    """(relative path, bytes) of every image, numbered within its class."""
    folders, seen = folder_names(data.class_names), [0] * len(data.class_names)
    files = []
    for image, label in zip(data.images, data.labels):
        files.append((f"{folders[label]}/{seen[label]:06d}.png", png_bytes(image)))
        seen[label] += 1
    return files


def write_folder(data: SyntheticSet, out: Path, overwrite: bool = False) -> Path:
    """Fill a hidden .partial folder beside `out`, then rename it into place; an earlier export is set aside
    first and removed only once the new one is in place, so a failure leaves the old one as it was."""
    check_target(out, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for folder in folder_names(data.class_names):
            (staging / folder).mkdir()
        for relative, payload in _files(data):
            (staging / relative).write_bytes(payload)
        (staging / MANIFEST).write_text(json.dumps(manifest(data), indent=2))
        _swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)  # only our own staging folder
        raise
    return out


def _swap_in(staging: Path, out: Path) -> None:
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()  # an empty folder the user made for it
    if not out.exists():
        os.rename(staging, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    os.rename(out, old / out.name)  # check_target made sure it is an earlier export and nothing else
    try:
        os.rename(staging, out)
    except OSError:
        os.rename(old / out.name, out)
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)


def npz_bytes(data: SyntheticSet) -> bytes:
    """images (N, C, H, W) uint8, labels (N,) int64, class_names, command, manifest (JSON), and for
    evaluator-labelled sets the evaluator's confidence per image."""
    arrays: dict[str, np.ndarray] = {
        "images": data.images,
        "labels": data.labels.astype(np.int64),
        "class_names": np.array(data.class_names),
        "command": np.array(data.command),
        "manifest": np.array(json.dumps(manifest(data))),
    }
    if data.confidence is not None:
        arrays["confidence"] = data.confidence
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def zip_bytes(data: SyntheticSet, root: str = "") -> bytes:
    """The folder layout in a zip (PNGs stored: they are compressed already), under `root`/ when given."""
    prefix = f"{root.strip('/')}/" if root else ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for relative, payload in _files(data):
            archive.writestr(prefix + relative, payload)
        archive.writestr(prefix + MANIFEST, json.dumps(manifest(data), indent=2))
    return buffer.getvalue()
