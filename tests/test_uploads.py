"""Uploaded zips: images land inside the target only, limits hold, junk is skipped and counted."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganplay.data import load_dataset
from ganplay.image_files import DatasetError
from ganplay.uploads import unpack_image_zip


def png(value: int = 128) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((12, 12, 3), value, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_class_folders_inside_a_wrapper_folder_become_labels(tmp_path):
    payload = make_zip(
        {
            "shapes/cats/a.png": png(10),
            "shapes/cats/b.png": png(20),
            "shapes/dogs/c.png": png(30),
            "shapes/readme.txt": b"hello",
            "shapes/dogs/broken.png": b"not a png",
            "__MACOSX/shapes/._a.png": b"junk",
        }
    )
    result = unpack_image_zip(payload, tmp_path, "shapes.zip")
    assert (result.images, result.skipped, result.classes) == (3, 3, 2)
    assert sorted(p.name for p in result.folder.iterdir()) == ["cats", "dogs"]
    data = load_dataset(f"folder:{result.folder}", image_size=8, channels=1)
    assert len(data) == 3 and data.class_names == ("cats", "dogs")


def test_an_entry_escaping_the_folder_is_refused_before_anything_is_written(tmp_path):
    payload = make_zip({"ok.png": png(), "../../evil.png": png()})
    with pytest.raises(DatasetError, match="points outside the archive's folder"):
        unpack_image_zip(payload, tmp_path / "uploads", "evil.zip")
    assert not (tmp_path / "evil.png").exists() and not (tmp_path / "uploads").exists()
    with pytest.raises(DatasetError, match="points outside"):
        unpack_image_zip(make_zip({"/etc/passwd.png": png()}), tmp_path / "uploads", "abs.zip")


def test_limits_on_count_and_size(tmp_path):
    payload = make_zip({f"{i}.png": png() for i in range(5)})
    with pytest.raises(DatasetError, match="holds 5 files; the limit is 4"):
        unpack_image_zip(payload, tmp_path, "many.zip", max_files=4)
    with pytest.raises(DatasetError, match="unpacks to"):
        unpack_image_zip(payload, tmp_path, "big.zip", max_bytes=100)


def test_no_usable_image_and_not_a_zip(tmp_path):
    with pytest.raises(DatasetError, match=r"holds no usable image \(2 other file\(s\)\)"):
        unpack_image_zip(make_zip({"a.txt": b"x", "b.png": b"broken"}), tmp_path, "junk.zip")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DatasetError, match="not a zip archive"):
        unpack_image_zip(b"plain bytes", tmp_path, "fake.zip")
