"""Hostile uploads: every crafted zip ends in a DatasetError naming the archive and the entry, with nothing written."""

from __future__ import annotations

import errno
import io
import stat
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ganplay.image_files import DatasetError
from ganplay.uploads import MAX_ENTRY_BYTES, MAX_ZIP_BYTES, MAX_ZIP_FILES, unpack_image_zip

LOCAL, CENTRAL = b"PK\x03\x04", b"PK\x01\x02"
# Byte offsets of (flags, method, crc, compressed size, size) in a local and in a central header.
FIELDS = {LOCAL: (6, 8, 14, 18, 22), CENTRAL: (8, 10, 16, 20, 24)}


def png(value: int = 128, side: int = 12) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((side, side, 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def headers(payload: bytes, entry: str) -> tuple[int, int]:
    """Offsets of the entry's local header and of its central directory record."""
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        local, central = archive.getinfo(entry).header_offset, archive.start_dir
    while payload[central : central + 4] == CENTRAL:
        n, m, k = struct.unpack_from("<HHH", payload, central + 28)
        if payload[central + 46 : central + 46 + n].decode() == entry:
            return local, central
        central += 46 + n + m + k
    raise KeyError(entry)


def patch(
    payload: bytes, entry: str, *, add_flags: int = 0, method: int | None = None, size: int | None = None
) -> bytes:
    """The archive with one entry's headers rewritten alike in its local header and its central record."""
    data = bytearray(payload)
    for offset in headers(payload, entry):
        flags_at, method_at, _, _, size_at = FIELDS[bytes(data[offset : offset + 4])]
        struct.pack_into(
            "<H", data, offset + flags_at, struct.unpack_from("<H", data, offset + flags_at)[0] | add_flags
        )
        if method is not None:
            struct.pack_into("<H", data, offset + method_at, method)
        if size is not None:
            struct.pack_into("<I", data, offset + size_at, size)
    return bytes(data)


def damage(payload: bytes, entry: str, at: int, byte: int) -> bytes:
    """The archive with one byte of the entry's stored (compressed) data replaced."""
    local, _ = headers(payload, entry)
    n, m = struct.unpack_from("<HH", payload, local + 26)
    data = bytearray(payload)
    data[local + 30 + n + m + at] = byte
    return bytes(data)


def refused(payload: bytes, root, match: str, name: str = "hostile.zip") -> str:
    """Unpack into root (absent or empty before); it must raise and leave root as it was. The message."""
    existed = root.exists()
    with pytest.raises(DatasetError, match=match) as caught:
        unpack_image_zip(payload, root, name)
    assert name in str(caught.value)
    assert (list(root.iterdir()) == []) if existed else not root.exists()  # no folder, no hidden half-unpacked one
    return str(caught.value)


# The ok.png entries come first: the old code had written them by the time the hostile entry failed.


def test_a_password_protected_zip_is_refused_by_name(tmp_path):
    payload = patch(make_zip({"ok.png": png(), "secret.png": png(50)}), "secret.png", add_flags=0x1)
    message = refused(payload, tmp_path / "uploads", "password-protected")
    assert "'secret.png'" in message  # was RuntimeError: File 'secret.png' is encrypted, password required
    refused(patch(make_zip({"a.png": png()}), "a.png", method=99), tmp_path / "uploads", r"password-protected \(AES")


def test_an_unreadable_compression_method_is_refused(tmp_path):
    payload = patch(make_zip({"ok.png": png(), "odd.png": png(50)}), "odd.png", method=97)
    message = refused(payload, tmp_path / "uploads", "uses compression method 97")  # was NotImplementedError
    assert "'odd.png'" in message


@pytest.mark.parametrize(
    "how, match",
    [
        ("corrupt deflate stream", "compressed data is corrupt"),  # was zlib.error
        ("declared size too small", "does not match its checksum"),  # was BadZipFile: Bad CRC-32
        ("flipped stored byte", "does not match its checksum"),
    ],
)
def test_a_damaged_entry_is_refused_and_nothing_stays_behind(tmp_path, how, match):
    image = png(50, side=64)
    method = zipfile.ZIP_STORED if how == "flipped stored byte" else zipfile.ZIP_DEFLATED
    payload = make_zip({"ok.png": png(), "bad.png": image}, method)
    if how == "corrupt deflate stream":
        payload = damage(payload, "bad.png", 0, 0xFF)  # BTYPE 11: a reserved block type
    elif how == "declared size too small":
        payload = patch(payload, "bad.png", size=len(image) // 2)
    else:
        payload = damage(payload, "bad.png", 40, 0x00 if image[40] else 0x01)
    root = tmp_path / "uploads"
    root.mkdir()  # an existing uploads folder: it must be left empty, not holding a half-filled copy
    assert "'bad.png'" in refused(payload, root, match)


@pytest.mark.parametrize("order", [("a/x.png", "a/x.png/y.png"), ("a/x.png/y.png", "a/x.png")])
def test_a_file_where_another_entry_needs_a_folder_is_refused(tmp_path, order):
    payload = make_zip({"ok.png": png(), order[0]: png(10), order[1]: png(20)})
    message = refused(payload, tmp_path / "uploads", "needs a folder of that name")  # was FileExistsError
    assert "'a/x.png'" in message and "'a/x.png/y.png'" in message


def test_an_entry_twice_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.png", png(10))
        with pytest.warns(UserWarning, match="Duplicate name"):
            archive.writestr("x.png", png(20))
    refused(buffer.getvalue(), tmp_path / "uploads", "'x.png' appears twice")


def test_a_name_too_long_for_the_disk_is_refused(tmp_path):
    long = "n" * 296 + ".png"
    message = refused(make_zip({"ok.png": png(), long: png()}), tmp_path / "uploads", "name of 300 bytes")
    assert long not in message and "nnn..." in message  # was OSError: File name too long, echoed whole


def test_not_a_zip_and_an_empty_zip(tmp_path):
    refused(b"plain bytes, not an archive", tmp_path / "uploads", "not a zip archive")
    refused(b"", tmp_path / "uploads", "not a zip archive")
    refused(make_zip({}), tmp_path / "uploads", "empty zip archive")
    refused(make_zip({"only/a/folder/": b""}), tmp_path / "uploads", "empty zip archive")


@pytest.mark.parametrize(
    "entry",
    [
        "../evil.png",
        "a/../../evil.png",
        "/tmp/evil.png",
        "..\\evil.png",
        "a\\..\\..\\evil.png",
        "C:\\evil.png",
        "C:evil.png",
        "\\\\server\\share\\evil.png",
        "./../evil.png",
    ],
)
def test_zip_slip_in_every_form_is_refused(tmp_path, entry):
    refused(make_zip({"ok.png": png(), entry: png()}), tmp_path / "uploads", "points outside the archive's folder")
    assert not (tmp_path / "evil.png").exists()


def test_a_symlink_entry_is_skipped_never_written_or_followed(tmp_path):
    target = tmp_path / "outside.png"
    target.write_bytes(png(200))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ok.png", png())
        link = zipfile.ZipInfo("link.png")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, str(target))
    result = unpack_image_zip(buffer.getvalue(), tmp_path / "uploads", "links.zip")
    assert (result.images, result.skipped) == (1, 1)
    assert [p.name for p in result.folder.iterdir()] == ["ok.png"]
    assert target.read_bytes() == png(200)


def test_zip_bombs_are_refused_by_declared_size(tmp_path):
    zeros = make_zip({"big.png": bytes(MAX_ENTRY_BYTES + 8 * 1024**2)})  # 40 MB of zeros in a 40 kB archive
    assert len(zeros) < 100_000
    refused(zeros, tmp_path / "uploads", "one image may be at most 32 MB")
    many = make_zip({f"{i}.png": png() for i in range(20)})
    for i in range(20):  # 20 entries that each claim 30 MB: 600 MB in all
        many = patch(many, f"{i}.png", size=30 * 1024**2)
    refused(many, tmp_path / "uploads", f"unpacks to 600 MB; the limit is {MAX_ZIP_BYTES // 1024**2} MB")


def test_an_archive_of_25000_files_is_refused(tmp_path):
    payload = make_zip({f"{i}.png": b"" for i in range(25_000)}, zipfile.ZIP_STORED)
    refused(payload, tmp_path / "uploads", f"holds 25,000 files; the limit is {MAX_ZIP_FILES:,}")


def test_the_same_archive_again_replaces_its_copy_and_leaves_no_partial_folder(tmp_path):
    payload = make_zip({"a.png": png(), "b.png": png(40)})
    first = unpack_image_zip(payload, tmp_path, "again.zip")
    (first.folder / "stray.png").write_bytes(png(90))
    second = unpack_image_zip(payload, tmp_path, "again.zip")
    assert second.folder == first.folder and sorted(p.name for p in second.folder.iterdir()) == ["a.png", "b.png"]
    assert [p.name for p in tmp_path.iterdir()] == [first.folder.name]


def test_a_full_disk_midway_keeps_the_earlier_copy_and_leaves_no_partial_folder(tmp_path, monkeypatch):
    payload = make_zip({"a.png": png(), "b.png": png(40)})
    first = unpack_image_zip(payload, tmp_path, "full.zip")
    write, writes = Path.write_bytes, []

    def full_after_one(path, data):
        writes.append(path)
        if len(writes) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return write(path, data)

    monkeypatch.setattr(Path, "write_bytes", full_after_one)
    with pytest.raises(DatasetError, match=r"full.zip: cannot write entry 'b.png' \(the disk is full\)"):
        unpack_image_zip(payload, tmp_path, "full.zip")  # was OSError, after removing the earlier copy
    monkeypatch.undo()
    assert sorted(p.name for p in first.folder.iterdir()) == ["a.png", "b.png"]
    assert [p.name for p in tmp_path.iterdir()] == [first.folder.name]


def test_a_kill_mid_unpack_leaves_nothing_behind_for_long(tmp_path):
    """A .partial folder a kill left is removed by the next unpack there; a fresh one (an unpack in progress) is not."""
    import os
    import time

    root = tmp_path / "uploads"
    old, fresh = root / ".digits.abc.partial", root / ".other.def.partial"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "x.png").write_bytes(png())
    an_hour_ago = time.time() - 2 * 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    unpack_image_zip(make_zip({"a.png": png()}), root, "digits.zip")
    assert not old.exists() and fresh.exists()
