"""Unpack an uploaded zip of images into a dataset folder, safely: no path escapes, capped size and count."""

from __future__ import annotations

import hashlib
import io
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from ganplay.data import IMAGE_SUFFIXES, DatasetError

MAX_ZIP_FILES = 20_000  # entries in one archive
MAX_ZIP_BYTES = 512 * 1024**2  # uncompressed total
MAX_ENTRY_BYTES = 32 * 1024**2  # one image


@dataclass(frozen=True)
class Unpacked:
    folder: Path
    images: int
    skipped: int  # entries that were not readable images (other files, broken images)
    classes: int  # subfolders holding images (0: a flat folder)

    def summary(self) -> str:
        labels = f", {self.classes} classes" if self.classes else ""
        skipped = f"; skipped {self.skipped} file(s) that are not images" if self.skipped else ""
        return f"{self.images} images{labels} in {self.folder}{skipped}"


def unpack_image_zip(payload: bytes, target_root: str | Path, name: str = "upload",
                     max_files: int = MAX_ZIP_FILES, max_bytes: int = MAX_ZIP_BYTES) -> Unpacked:
    """Check every entry before writing anything, then extract the images into target_root/<name>-<hash>/."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(payload))
    except zipfile.BadZipFile:
        raise DatasetError(f"{name} is not a zip archive (or it is damaged)") from None
    with archive:
        entries = [e for e in archive.infolist() if not e.is_dir()]
        _check_limits(name, entries, max_files, max_bytes)
        relatives = [_safe_relative(e.filename, name) for e in entries]  # raises before anything is written
        folder = Path(target_root) / f"{_stem(name)}-{hashlib.sha256(payload).hexdigest()[:12]}"
        if folder.exists():
            shutil.rmtree(folder)  # the same archive again: unpack it afresh
        images, skipped = 0, 0
        for entry, relative in zip(entries, relatives):
            if relative is None or not _is_image_name(relative):
                skipped += 1
                continue
            data = archive.read(entry)
            if not _is_readable_image(data):
                skipped += 1
                continue
            destination = folder.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
            images += 1
    if images == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise DatasetError(f"{name} holds no usable image ({skipped} other file(s)); "
                           f"it needs {', '.join(IMAGE_SUFFIXES)} files, flat or one folder per class")
    _flatten_single_wrapper(folder)
    top = [p for p in folder.iterdir() if p.is_dir()]
    return Unpacked(folder, images, skipped, len(top) if len(top) > 1 else 0)


def _check_limits(name: str, entries: list[zipfile.ZipInfo], max_files: int, max_bytes: int) -> None:
    if len(entries) > max_files:
        raise DatasetError(f"{name} holds {len(entries):,} files; the limit is {max_files:,}")
    total = sum(e.file_size for e in entries)  # declared sizes; reads below are capped per entry too
    if total > max_bytes:
        raise DatasetError(f"{name} unpacks to {total / 1024**2:,.0f} MB; the limit is {max_bytes / 1024**2:,.0f} MB")
    big = next((e for e in entries if e.file_size > MAX_ENTRY_BYTES), None)
    if big is not None:
        raise DatasetError(f"{name}: {big.filename} is {big.file_size / 1024**2:,.0f} MB; "
                           f"one image may be at most {MAX_ENTRY_BYTES / 1024**2:,.0f} MB")


def _safe_relative(filename: str, name: str) -> PurePosixPath | None:
    """The entry's path inside the target, or an error for any entry that would land outside it."""
    path = PurePosixPath(filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DatasetError(f"{name}: entry {filename!r} points outside the archive's folder; refusing to unpack it")
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None  # hidden files and macOS resource forks are not images
    return PurePosixPath(*parts)


def _is_image_name(path: PurePosixPath) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _is_readable_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        return True
    except Exception:  # PIL raises many types for broken files
        return False


def _flatten_single_wrapper(folder: Path) -> None:
    """zip of a folder: images/a.png, images/b.png -> a.png, b.png, so the wrapper is not taken for a class."""
    children = list(folder.iterdir())
    if len(children) == 1 and children[0].is_dir():
        wrapper = children[0].rename(folder / ".unwrapping")  # frees the name if an item inside shares it
        for item in wrapper.iterdir():
            item.rename(folder / item.name)
        wrapper.rmdir()


def _stem(name: str) -> str:
    stem = Path(name).stem
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40] or "upload"
