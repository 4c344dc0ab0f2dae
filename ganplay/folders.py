"""Image folders as datasets (folder:PATH): finding the folder, its images and classes, and reading them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganplay.image_files import IMAGE_SUFFIXES, DatasetError, dataset_path

FOLDER_PREFIX = "folder:"
MAX_FOLDER_IMAGES = 200_000
GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def folder_of(name: str) -> Path:
    """The existing folder that folder:PATH names, ~ expanded; one DatasetError for every way it is not there.

    Checked here only, so the form, the config's validation and the loader refuse a folder with the same words.
    """
    path = dataset_path(name, FOLDER_PREFIX, "a path, as in folder:/home/me/faces")
    if not path.is_dir():
        raise DatasetError(f"image folder {path} does not exist or is not a folder")
    return path


def has_class_folders(path: Path) -> bool:
    """Whether a folder has visible subfolders, which (when it has no images of its own) are its classes."""
    return any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())


def _is_image(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def scan_folder(path: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image files, flat or one subfolder per class; (files, labels, class names), classes sorted by name."""
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    flat = sorted(p for p in path.iterdir() if _is_image(p))
    if subdirs and not flat:
        files, labels, names = [], [], []
        for subdir in subdirs:
            found = sorted(p for p in subdir.rglob("*") if _is_image(p))
            if found:
                labels += [len(names)] * len(found)
                names.append(subdir.name)
                files += found
        if len(names) < 2:  # one class is no labelling at all
            labels, names = [0] * len(files), []
        return files, labels, tuple(names)
    files = sorted(p for p in path.rglob("*") if _is_image(p))
    return files, [0] * len(files), ()


def read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image, center-cropped and resized to (channels, size, size) uint8."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        img = img.convert("L" if channels == 1 else "RGB")
        img = ImageOps.fit(img, (size, size), Image.Resampling.LANCZOS)
        array = np.asarray(img, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


@dataclass(frozen=True)
class FolderImages:
    """A folder's images read at one size: pixels, labels, class names and a note of what was chosen."""

    images: np.ndarray  # (N, C, size, size) uint8
    labels: np.ndarray  # (N,)
    class_names: tuple[str, ...]
    note: str


def read_folder(path: Path, size: int, channels: int = 0) -> FolderImages:
    """Every readable image of an existing folder; channels 0 decides from the files (see _folder_channels)."""
    files, labels, classes = scan_folder(path)
    if not files:
        raise DatasetError(
            f"image folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}), "
            f"neither at its top level nor in subfolders"
        )
    if len(files) > MAX_FOLDER_IMAGES:
        raise DatasetError(
            f"image folder {path} holds {len(files):,} images; at most {MAX_FOLDER_IMAGES:,} fit in memory here"
        )
    channels, why = (channels, "as asked") if channels else _folder_channels(files)
    images, kept, skipped = [], [], []
    for file, label in zip(files, labels):
        try:
            images.append(read_image(file, size, channels))
            kept.append(label)
        except Exception as err:  # noqa: BLE001 (PIL raises many types for a broken file)
            skipped.append(f"{file.name} ({type(err).__name__})")
    if not images:
        raise DatasetError(
            f"image folder {path}: none of its {len(files)} image files could be read (first: {skipped[0]})"
        )
    note = (
        f"{len(images):,} images from {path}"
        + (f", {len(classes)} classes" if classes else "")
        + f"; {'colour' if channels == 3 else 'grey'} ({why})"
    )
    if skipped:
        note += f"; skipped {len(skipped)} unreadable: {', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}"
    return FolderImages(np.stack(images), np.asarray(kept), classes, note)


def _folder_channels(files: list[Path]) -> tuple[int, str]:
    """(channels, why) from every file's header: colour if any image has colour, so nothing is lost.

    The alphabetically first file decided it once: one grey a_gray.png turned a colour folder grey.
    """
    modes = [mode for mode in map(_image_mode, files) if mode is not None]
    colour = sum(mode not in GREY_MODES for mode in modes)
    if colour:
        return 3, f"{colour:,} of {len(modes):,} images have colour"
    return 1, f"all {len(modes):,} images are grey"


def _image_mode(file: Path) -> str | None:
    """PIL's mode from the file's header alone; None for a file PIL cannot open (skipped, and reported, later)."""
    from PIL import Image

    try:
        with Image.open(file) as img:
            return img.mode
    except Exception:  # noqa: BLE001 (PIL raises many types for a broken file)
        return None
