"""Unpack an uploaded zip of images into a dataset folder, safely: no path escapes, capped size and count."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from ganplay.image_files import IMAGE_SUFFIXES, DatasetError

MAX_ZIP_FILES = 20_000  # entries in one archive
MAX_ZIP_BYTES = 512 * 1024**2  # uncompressed total
MAX_ENTRY_BYTES = 32 * 1024**2  # one image
STALE_STAGING_SECONDS = 3600  # an unpack takes seconds; a .partial folder older than this was left by a kill
MAX_NAME_BYTES = 255  # one path component: the limit of ext4, APFS, NTFS and most others
READABLE_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)
ENCRYPTED, PATCH_DATA, STRONG_ENCRYPTION = 0x1, 0x20, 0x40  # general purpose flag bits zipfile cannot read
AES = 99  # the compression method WinZip writes for AES-encrypted entries
SHOWN_CHARS = 80  # longer archive and entry names are shortened in messages


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


# Entries to unpack: each with its path inside the folder, or None for one that is skipped unread.
Plan = list[tuple[zipfile.ZipInfo, PurePosixPath | None]]


def unpack_image_zip(
    payload: bytes,
    target_root: str | Path,
    name: str = "upload",
    max_files: int = MAX_ZIP_FILES,
    max_bytes: int = MAX_ZIP_BYTES,
) -> Unpacked:
    """Check every entry before writing anything, then extract the images into target_root/<name>-<hash>/.

    The images go to a hidden folder beside it that is renamed into place only once all are written, so
    an archive that fails halfway (a corrupt entry, a full disk) leaves nothing behind.
    """
    shown = _shown(name)
    folder = Path(target_root) / f"{_stem(name)}-{hashlib.sha256(payload).hexdigest()[:12]}"
    with _open_zip(payload, shown) as archive:
        plan = _plan(archive, shown, max_files, max_bytes)  # raises before anything is written
        with _staging(folder, shown) as staging:
            images, skipped = _extract(archive, plan, staging, shown)
            if images == 0:
                raise DatasetError(
                    f"{shown} holds no usable image ({skipped} other file(s)); "
                    f"it needs {', '.join(IMAGE_SUFFIXES)} files, flat or one folder per class"
                )
            _flatten_single_wrapper(staging)
            _move_into_place(staging, folder)
    top = [p for p in folder.iterdir() if p.is_dir()]
    return Unpacked(folder, images, skipped, len(top) if len(top) > 1 else 0)


def _open_zip(payload: bytes, shown: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(payload))
    except (zipfile.BadZipFile, EOFError, OSError, ValueError):  # a crafted directory can fail a seek too
        raise DatasetError(f"{shown} is not a zip archive (or it is damaged)") from None


def _plan(archive: zipfile.ZipFile, shown: str, max_files: int, max_bytes: int) -> Plan:
    """Every file entry with where it would land; a DatasetError for anything that cannot be unpacked as asked."""
    entries = [e for e in archive.infolist() if not e.is_dir()]
    if not entries:
        raise DatasetError(f"{shown} is an empty zip archive: it holds no files")
    _check_limits(shown, entries, max_files, max_bytes)
    relatives = [_safe_relative(e.filename, shown) for e in entries]  # zip-slip, for every entry
    plan = [
        (e, r if r is not None and _is_image_name(r) and not _is_symlink(e) else None)
        for e, r in zip(entries, relatives)
    ]
    for entry, relative in plan:
        if relative is not None:
            _check_readable(entry, relative, shown)
    _check_layout([r for _, r in plan if r is not None], shown)
    return plan


def _check_limits(name: str, entries: list[zipfile.ZipInfo], max_files: int, max_bytes: int) -> None:
    if len(entries) > max_files:
        raise DatasetError(f"{name} holds {len(entries):,} files; the limit is {max_files:,}")
    total = sum(e.file_size for e in entries)  # declared sizes; a read stops at its entry's, and checks its CRC
    if total > max_bytes:
        raise DatasetError(f"{name} unpacks to {total / 1024**2:,.0f} MB; the limit is {max_bytes / 1024**2:,.0f} MB")
    big = next((e for e in entries if e.file_size > MAX_ENTRY_BYTES), None)
    if big is not None:
        raise DatasetError(
            f"{name}: {_shown(big.filename)!r} is {big.file_size / 1024**2:,.0f} MB; "
            f"one image may be at most {MAX_ENTRY_BYTES / 1024**2:,.0f} MB"
        )


def _safe_relative(filename: str, name: str) -> PurePosixPath | None:
    """The entry's path inside the target, or an error for any entry that would land outside it."""
    path = PurePosixPath(filename.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise DatasetError(
            f"{name}: entry {_shown(filename)!r} points outside the archive's folder; refusing to unpack it"
        )
    parts = tuple(p for p in path.parts if p not in ("", "."))
    if not parts or any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None  # hidden files and macOS resource forks are not images
    return PurePosixPath(*parts)


def _is_image_name(path: PurePosixPath) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _is_symlink(entry: zipfile.ZipInfo) -> bool:
    """A link stored by `zip --symlinks`: its data is the target's path, never an image, and never followed."""
    return stat.S_ISLNK(entry.external_attr >> 16)


def _check_readable(entry: zipfile.ZipInfo, relative: PurePosixPath, name: str) -> None:
    """Refuse, before writing, an image entry that zipfile cannot read or this disk cannot hold by that name."""
    where = f"{name}: entry {_shown(entry.filename)!r}"
    if entry.flag_bits & (ENCRYPTED | STRONG_ENCRYPTION) or entry.compress_type == AES:
        how = "AES-encrypted" if entry.compress_type == AES else "encrypted"
        raise DatasetError(f"{where} is password-protected ({how}); zip the images again without a password")
    if entry.flag_bits & PATCH_DATA or entry.compress_type not in READABLE_METHODS:
        raise DatasetError(
            f"{where} uses compression method {entry.compress_type}, which cannot be read here; "
            f"zip the images again with the usual method (deflate)"
        )
    long = next((p for p in relative.parts if len(p.encode()) > MAX_NAME_BYTES), None)
    if long is not None:
        raise DatasetError(
            f"{where} has a name of {len(long.encode())} bytes; a file or folder name may have at most {MAX_NAME_BYTES}"
        )


def _check_layout(relatives: list[PurePosixPath], name: str) -> None:
    """Refuse two entries at one path, or a file where another entry needs a folder (a/x.png and a/x.png/y.png)."""
    seen: set[PurePosixPath] = set()
    for relative in relatives:
        if relative in seen:
            raise DatasetError(f"{name}: entry {_shown(str(relative))!r} appears twice; refusing to pick one")
        seen.add(relative)
    folders = {parent for relative in relatives for parent in relative.parents}
    clash = next((r for r in relatives if r in folders), None)
    if clash is not None:
        inside = next(r for r in relatives if clash in r.parents)
        raise DatasetError(
            f"{name}: entry {_shown(str(clash))!r} is a file, but entry {_shown(str(inside))!r} needs "
            f"a folder of that name; refusing to unpack either"
        )


@contextlib.contextmanager
def _staging(folder: Path, name: str) -> Iterator[Path]:
    """A fresh hidden folder beside `folder` to unpack into; on any error it, and any parent made for it, go."""
    made = [p for p in (folder.parent, *folder.parent.parents) if not p.exists()]
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(folder.parent)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    except OSError as err:
        _remove_empty(made)
        raise DatasetError(f"{name}: cannot make a folder in {folder.parent} ({err.strerror})") from None
    try:
        yield staging
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(made)
        raise


def remove_stale_staging(uploads: Path, older_than_s: float = STALE_STAGING_SECONDS) -> list[Path]:
    """Remove the hidden .partial folders a kill during an unpack left in `uploads`. Only old ones: a fresh one
    may be another session's unpack in progress."""
    removed = []
    cutoff = time.time() - older_than_s
    for staging in uploads.glob(".*.partial"):
        try:
            stale = staging.is_dir() and not staging.is_symlink() and staging.stat().st_mtime < cutoff
        except OSError:
            continue
        if stale:
            shutil.rmtree(staging, ignore_errors=True)
            removed.append(staging)
    return removed


def _remove_empty(folders: list[Path]) -> None:
    """Remove folders this upload made (innermost first), keeping any that another upload filled meanwhile."""
    for made in folders:
        try:
            made.rmdir()
        except OSError:
            return


def _extract(archive: zipfile.ZipFile, plan: Plan, folder: Path, name: str) -> tuple[int, int]:
    """(images written, entries skipped): each planned entry read, checked to be an image, and written."""
    images, skipped = 0, 0
    for entry, relative in plan:
        if relative is None:
            skipped += 1
            continue
        data = _read(archive, entry, name)
        if not _is_readable_image(data):
            skipped += 1
            continue
        destination = folder.joinpath(*relative.parts)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(data)
        except OSError as err:
            why = "the disk is full" if err.errno == errno.ENOSPC else err.strerror or type(err).__name__
            raise DatasetError(
                f"{name}: cannot write entry {_shown(entry.filename)!r} ({why}); nothing was unpacked"
            ) from None
        images += 1
    return images, skipped


def _read(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, name: str) -> bytes:
    """The entry's bytes, or a DatasetError that says how it is damaged (zipfile raises a different type for each)."""
    try:
        return archive.read(entry)
    except zipfile.BadZipFile as err:
        why = "its data does not match its checksum" if "CRC" in str(err) else str(err)
    except zlib.error:
        why = "its compressed data is corrupt"
    except EOFError:
        why = "its data ends early"
    except (RuntimeError, NotImplementedError, OSError, ValueError) as err:
        why = f"{type(err).__name__}: {err}"
    raise DatasetError(
        f"{name}: entry {_shown(entry.filename)!r} is damaged ({why}); the archive is broken "
        f"or its sizes are wrong; nothing was unpacked"
    )


def _is_readable_image(data: bytes) -> bool:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
        return True
    except Exception:  # noqa: BLE001 (PIL raises many types for broken files)
        return False


def _flatten_single_wrapper(folder: Path) -> None:
    """zip of a folder: images/a.png, images/b.png -> a.png, b.png, so the wrapper is not taken for a class."""
    children = list(folder.iterdir())
    if len(children) == 1 and children[0].is_dir():
        wrapper = children[0].rename(folder / ".unwrapping")  # frees the name if an item inside shares it
        for item in wrapper.iterdir():
            item.rename(folder / item.name)
        wrapper.rmdir()


def _move_into_place(staging: Path, folder: Path) -> None:
    """The same archive again replaces its earlier copy: it is unpacked afresh, whatever was done to the old one."""
    if folder.is_symlink() or folder.is_file():
        folder.unlink()
    elif folder.exists():
        shutil.rmtree(folder)
    staging.rename(folder)


def _shown(text: str) -> str:
    """A name for a message, shortened when long, so a 50 MB name is not echoed whole."""
    return text if len(text) <= SHOWN_CHARS else f"{text[: SHOWN_CHARS - 3]}..."


def _stem(name: str) -> str:
    stem = Path(name).stem
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:40] or "upload"
