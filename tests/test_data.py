"""Datasets: the toy mixtures, the bundled and raw MNIST readers, image folders, batching by index."""

from __future__ import annotations

import gzip
import shutil
import struct

import pytest
import torch
from PIL import Image

from ganplay.data import BUNDLED_MNIST, dataset_info, load_dataset
from ganplay.image_files import DatasetError, read_idx
from ganplay.metrics import toy_mode_stats
from ganplay.sources import toy_modes


def test_toy_mixtures_match_the_standard_definitions():
    ring, sigma = toy_modes("ring8")
    assert sigma == 0.01 and torch.allclose(ring.norm(dim=1), torch.ones(8))
    assert torch.allclose(ring[2], torch.tensor([0.0, 1.0]), atol=1e-6)
    grid, sigma = toy_modes("grid25")
    assert sigma == 0.05 and sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4] and len(grid) == 25
    for name in ("ring8", "grid25"):
        data = load_dataset(name, seed=3)
        points, labels = data.batch(0, 4000)
        stats = toy_mode_stats(points, *toy_modes(name))
        assert stats.modes_covered == len(toy_modes(name)[0]) and stats.high_quality > 0.98
        assert torch.allclose(points, toy_modes(name)[0][labels], atol=6 * toy_modes(name)[1])


def test_toy_batches_are_fresh_but_reproducible():
    data = load_dataset("ring8", seed=0)
    a, _ = data.batch(0, 64)
    assert torch.equal(a, load_dataset("ring8", seed=0).batch(0, 64)[0])  # a pure function of (seed, draw)
    assert not torch.equal(a, data.batch(1, 64)[0])  # fresh samples every step
    assert not torch.equal(a, load_dataset("ring8", seed=1).batch(0, 64)[0])
    spiral, _ = load_dataset("spiral").batch(0, 500)
    assert spiral.shape == (500, 2) and spiral.norm(dim=1).max() < 1.2
    with pytest.raises(ValueError, match="no discrete modes"):
        toy_modes("spiral")


def test_bundled_mnist_is_the_real_test_split():
    data = load_dataset("mnist-bundled")
    assert data.title == "MNIST (10k, bundled)" and len(data) == 10_000 and data.shape == (1, 28, 28)
    assert data.num_classes == 10 and torch.bincount(data.labels).min() > 850  # every digit present
    x, y = data.batch(0, 16)
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1 and y.shape == (16,)


def test_image_batches_walk_epoch_permutations():
    data = load_dataset("mnist-bundled", image_size=8, seed=5)
    n = len(data)
    b = 3000  # four draws span more than one epoch: every image once per epoch
    seen = torch.cat([data.batch(i, b)[1] for i in range(4)])
    first_epoch = torch.cat([data._permutation(0), data._permutation(1)[: 4 * b - n]])
    assert torch.equal(seen, data.labels[first_epoch])
    assert torch.equal(data.batch(3, b)[0], load_dataset("mnist-bundled", image_size=8, seed=5).batch(3, b)[0])


def test_resize_and_channels():
    data = load_dataset("mnist-bundled", image_size=32, channels=3)
    assert data.shape == (3, 32, 32)
    x, _ = data.batch(0, 4)
    assert torch.equal(x[:, 0], x[:, 2])  # gray copied into RGB


def test_raw_mnist_folder_uses_whatever_split_is_there(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copy(BUNDLED_MNIST / name, raw / name)
    data = load_dataset("mnist", data_dir=tmp_path, download=False)
    assert len(data) == 10_000 and "t10k" in data.note and str(raw) in data.note
    empty = tmp_path / "empty"
    fallback = load_dataset("mnist", data_dir=empty, download=False)
    assert "bundled" in fallback.title and len(fallback) == 10_000
    with pytest.raises(DatasetError, match="Fashion-MNIST is not in"):
        load_dataset("fashion-mnist", data_dir=empty, download=False)


def test_truncated_or_foreign_idx_files_name_the_problem(tmp_path):
    cut = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(BUNDLED_MNIST / "t10k-images-idx3-ubyte.gz") as f:
        payload = f.read()
    with gzip.open(cut, "wb") as f:
        f.write(payload[:5000])
    with pytest.raises(DatasetError, match="truncated"):
        read_idx(cut)
    foreign = tmp_path / "foreign-idx3-ubyte"
    foreign.write_bytes(struct.pack(">I", 0x12345678) + b"\0" * 64)
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(foreign)


def _write_images(folder, count, size=(40, 30), mode="RGB", color=(200, 10, 10)):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new(mode, size, color).save(folder / f"img{i}.png")


def test_image_folder_flat_and_with_classes(tmp_path):
    _write_images(tmp_path / "flat", 3)
    (tmp_path / "flat" / "notes.txt").write_text("not an image")
    (tmp_path / "flat" / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    data = load_dataset(f"folder:{tmp_path / 'flat'}", image_size=16)
    assert data.shape == (3, 16, 16) and len(data) == 3 and data.num_classes == 0
    assert "skipped 1 unreadable: broken.jpg" in data.note
    red = data.batch(0, 3)[0]
    assert red[:, 0].mean() > 0.5 and red[:, 2].mean() < -0.8  # colours survive resize and crop
    _write_images(tmp_path / "classes" / "cats", 2)
    _write_images(tmp_path / "classes" / "dogs", 4, mode="L", color=90)
    labelled = load_dataset(f"folder:{tmp_path / 'classes'}", image_size=8, channels=1)
    assert labelled.class_names == ("cats", "dogs") and labelled.shape == (1, 8, 8)
    assert sorted(labelled.labels.tolist()) == [0, 0, 1, 1, 1, 1]
    assert dataset_info(f"folder:{tmp_path / 'classes'}")["labelled"]


def test_bad_folders_give_clear_errors(tmp_path):
    (tmp_path / "nothing").mkdir()
    (tmp_path / "nothing" / "readme.md").write_text("hi")
    with pytest.raises(DatasetError, match="holds no images"):
        load_dataset(f"folder:{tmp_path / 'nothing'}")
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="does not exist"):
        dataset_info(f"folder:{tmp_path / 'missing'}")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "a.png").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="none of its 1 image files could be read"):
        load_dataset(f"folder:{tmp_path / 'junk'}")
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'; choose one of: ring8"):
        load_dataset("imagenet")


def test_a_folder_of_an_unknown_user_is_a_clear_error(tmp_path, capsys):
    from ganplay.cli import main
    from ganplay.data import dataset_info, load_dataset
    from ganplay.image_files import DatasetError

    with pytest.raises(ValueError, match="cannot expand ~nosuchuser: there is no such user"):
        dataset_info("folder:~nosuchuser/x")
    with pytest.raises(DatasetError, match="cannot expand ~nosuchuser"):
        load_dataset("folder:~nosuchuser/x")
    assert main(["train", "--dataset", "folder:~nosuchuser/x", "--runs-dir", str(tmp_path)]) == 2
    assert "cannot expand ~nosuchuser" in capsys.readouterr().err


def test_a_symlink_loop_in_a_folder_is_not_followed(tmp_path):
    _write_images(tmp_path / "loop", 2)
    (tmp_path / "loop" / "again").symlink_to(tmp_path / "loop", target_is_directory=True)
    data = load_dataset(f"folder:{tmp_path / 'loop'}", image_size=8)
    assert len(data) == 2 and data.num_classes == 0


def test_a_folder_is_colour_when_any_image_is_not_only_its_first(tmp_path):
    """One grey a_gray.png, first in the alphabet, used to turn a folder of colour photos grey."""
    _write_images(tmp_path / "mixed", 3)
    Image.new("L", (40, 30), 90).save(tmp_path / "mixed" / "a_gray.png")
    data = load_dataset(f"folder:{tmp_path / 'mixed'}", image_size=16)
    assert data.shape == (3, 16, 16) and "colour (3 of 4 images have colour)" in data.note
    _write_images(tmp_path / "grey", 2, mode="L", color=90)
    grey = load_dataset(f"folder:{tmp_path / 'grey'}", image_size=16)
    assert grey.shape == (1, 16, 16) and "grey (all 2 images are grey)" in grey.note
