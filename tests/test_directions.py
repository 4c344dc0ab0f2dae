"""Latent directions: SeFa and PCA on tiny models, the cache beside the checkpoint, grids, stroke statistics,
refusals, and the directions command."""

from __future__ import annotations

import errno
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_image_config
from PIL import Image
from torch import nn

from ganplay import direction_stats, directions
from ganplay.building import build_models_seeded
from ganplay.checkpoints import load_generator, save_checkpoint
from ganplay.cli import main
from ganplay.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "checkpoints" / "mnist-cdcgan.pt"
TOY = ROOT / "checkpoints" / "ring8-mlp.pt"
DIGITS = [str(i) for i in range(10)]


def tiny_checkpoint(folder: Path, name: str = "tiny.pt", plant: float = 0.0, class_weight: float = 1.0, **overrides):
    """A generator-only file of an untrained tiny model; `plant` makes z's entry 3 the one its first layer
    stretches most, and `class_weight` scales the label columns."""
    cfg = tiny_image_config(**overrides)
    classes = cfg.clusters or (10 if cfg.conditional else 0)
    generator, _ = build_models_seeded(cfg, (1, 28, 28), classes, 0)
    linear, _ = directions.first_layer(generator)
    with torch.no_grad():
        if plant:
            linear.weight[:, 3] *= plant
        linear.weight[:, cfg.z_dim :] *= class_weight
    meta = {"name": "mnist-bundled", "title": "tiny", "kind": "image", "shape": [1, 28, 28]}
    meta.update(
        num_classes=classes or 10, class_names=[f"cluster {i}" for i in range(classes)] if cfg.clusters else DIGITS
    )
    if cfg.clusters:
        meta["label_prior"] = [1 / classes] * classes
    state = {"step": 0, "generator_only": True, "G_ema": generator.state_dict()}
    return save_checkpoint(folder / name, state, cfg, meta)


@pytest.fixture
def tiny(tmp_path):
    path = tiny_checkpoint(tmp_path, conditional=True)
    generator, ckpt = load_generator(path)
    return path, generator, ckpt


def test_sefa_vectors_are_orthonormal_top_eigenvectors_of_the_z_columns_gram(tiny):
    _, generator, ckpt = tiny
    found = directions.compute_directions(ckpt, "sefa", 6, generator=generator, cache=False)
    v = found.vectors.double()
    assert v.shape == (6, 16) and torch.allclose(v @ v.T, torch.eye(6, dtype=torch.double), atol=1e-5)
    a = generator.project.weight.double()[:, :16]  # the class columns are left out
    gram = a.T @ a
    top = torch.linalg.eigvalsh(gram).flip(0)
    assert torch.allclose(found.values.double(), top[:6], rtol=1e-4)
    assert torch.allclose(gram @ v.T, v.T * found.values.double(), rtol=1e-3, atol=1e-6)  # A^T A v = lambda v
    assert torch.allclose(found.explained.double(), top[:6] / top.sum(), rtol=1e-4)
    assert (found.values[:-1] >= found.values[1:]).all()


def test_direction_one_moves_g_more_than_random_directions_of_the_same_length():
    generator, ckpt = load_generator(SHIPPED)
    found = directions.compute_directions(ckpt, "sefa", 1, generator=generator, cache=False)
    z, label = directions.seed_z(ckpt, 0, 3)
    base = generator(z[None], label)

    def moved(v):
        return float((generator((z + 3 * v)[None], label) - base).abs().mean())

    randoms = torch.randn(20, 100, generator=torch.Generator().manual_seed(1))
    random_moves = [moved(r / r.norm()) for r in randoms]
    assert moved(found.vectors[0]) > 2 * np.mean(random_moves) and moved(found.vectors[0]) > max(random_moves)


def test_a_planted_strong_entry_is_direction_one_for_both_methods_and_pca_ignores_class_gaps(tmp_path):
    # Huge class columns make the classes far apart in the activations; PCA centres each class on its own.
    path = tiny_checkpoint(tmp_path, plant=30.0, class_weight=100.0, arch="mlp", conditional=True)
    generator, ckpt = load_generator(path)
    for method in directions.METHODS:
        found = directions.compute_directions(ckpt, method, 4, generator=generator, cache=False)
        assert torch.allclose(found.vectors.norm(dim=1), torch.ones(4), atol=1e-5)
        assert float(found.vectors[0, 3]) > 0.95, (method, found.vectors[0])
        assert (found.explained[:-1] >= found.explained[1:]).all() and float(found.explained.sum()) < 1


def test_pca_is_deterministic_and_infogan_codes_are_never_moved(tmp_path):
    generator, ckpt = load_generator(tiny_checkpoint(tmp_path, info_codes=4))
    first = directions.compute_directions(ckpt, "pca", 5, generator=generator, samples=500, cache=False)
    again = directions.compute_directions(ckpt, "pca", 5, generator=generator, samples=500, cache=False)
    assert torch.equal(first.vectors, again.vectors) and torch.equal(first.values, again.values)
    sefa = directions.compute_directions(ckpt, "sefa", 12, generator=generator, cache=False)
    for found in (first, sefa):
        assert torch.equal(found.vectors[:, :4], torch.zeros(found.k, 4))
    assert directions.max_k(ckpt) == 12  # 16 entries, 4 of them code
    z = torch.randn(8, 16)
    moved = directions.apply(z, sefa, [3.0] * 12)
    assert torch.equal(moved[:, :4].argmax(1), z[:, :4].argmax(1))


def test_the_cache_beside_the_checkpoint_is_reused_and_a_changed_file_recomputed(tmp_path, monkeypatch):
    path = tiny_checkpoint(tmp_path)
    first = directions.compute_directions(path, "sefa", 3)
    cached = tmp_path / "tiny.directions-sefa.npz"
    assert first.source == "computed" and cached.is_file() and first.digest == directions.file_digest(path)
    calls = []
    monkeypatch.setattr(directions, "sefa", lambda *a: calls.append(a) or pytest.fail("recomputed"))
    again = directions.compute_directions(path, "sefa", 5)  # more than first asked for: all were kept
    assert again.source == "cache" and torch.equal(again.vectors[:3], first.vectors) and again.k == 5
    monkeypatch.undo()
    tiny_checkpoint(tmp_path, plant=10.0)  # the same file name, new weights
    changed = directions.compute_directions(path, "sefa", 3)
    assert changed.source == "computed" and changed.digest != first.digest
    assert not torch.allclose(changed.vectors, first.vectors)
    assert directions.compute_directions(path, "sefa", 3).source == "cache"
    cached.write_bytes(b"not an npz at all")  # damaged: computed again, and replaced
    assert directions.compute_directions(path, "sefa", 3).source == "computed"
    assert directions.compute_directions(path, "sefa", 3).source == "cache"


def test_pca_settings_key_the_cache_and_an_unwritable_folder_only_skips_it(tmp_path, monkeypatch):
    path = tiny_checkpoint(tmp_path)
    assert directions.compute_directions(path, "pca", 2, samples=400).source == "computed"
    assert directions.compute_directions(path, "pca", 2, samples=400).source == "cache"
    assert directions.compute_directions(path, "pca", 2, samples=500).source == "computed"
    other = tiny_checkpoint(tmp_path, name="other.pt")

    def read_only(where, payload):
        raise OSError(errno.EROFS, "Read-only file system", str(where))

    monkeypatch.setattr(directions, "atomic_write_bytes", read_only)
    found = directions.compute_directions(other, "sefa", 2)
    assert found.source == "computed" and found.k == 2
    assert not list(tmp_path.glob("other.directions-*"))


def test_refusals_name_what_to_change(tiny):
    _, generator, ckpt = tiny
    with pytest.raises(UsageError, match="latent directions need an image model; this one makes 2-D points"):
        directions.compute_directions(TOY, "sefa", 2)
    with pytest.raises(UsageError, match="know the mlp and dcgan generators; this one is Sequential"):
        directions.compute_directions(ckpt, "sefa", 2, generator=nn.Sequential(nn.Linear(16, 4)))
    for k in (0, 17, 2.5, True):
        with pytest.raises(UsageError, match="k must be a whole number from 1 to 16 for this model"):
            directions.compute_directions(ckpt, "sefa", k, generator=generator)
    with pytest.raises(UsageError, match="method must be one of sefa, pca"):
        directions.compute_directions(ckpt, "ica", 2, generator=generator)


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((3, 4), np.float32), r"a z is one row of numbers; this holds float32 of shape \(3, 4\)"),
        (np.zeros(100, np.float32), "its z has 100 numbers, this model takes 16"),
        (np.array(["a"] * 16), "a z is one row of numbers"),
        (np.full(16, np.nan, np.float32), "the z holds NaN or infinite numbers"),
    ],
)
def test_a_bad_z_file_is_a_clear_error(tmp_path, tiny, array, message):
    _, _, ckpt = tiny
    where = tmp_path / "z.npy"
    np.save(where, array)
    with pytest.raises(UsageError, match=message):
        directions.file_z(where, ckpt, 1)
    with pytest.raises(UsageError, match=f"^up.npy: {message}"):
        directions.file_z(where.read_bytes(), ckpt, 1, name="up.npy")


def test_a_z_file_gives_its_label_unless_one_is_held_and_a_bare_z_needs_one(tmp_path, tiny):
    from ganplay.latent_files import latent_bytes

    _, _, ckpt = tiny
    found = latent_bytes(torch.ones(16), 7, "tiny")  # what `invert --z-out z.npz` writes
    z, label = directions.file_z(found, ckpt, None)
    assert torch.equal(z, torch.ones(16)) and label.tolist() == [7]
    assert directions.file_z(found, ckpt, 2)[1].tolist() == [2]
    bare = latent_bytes(torch.ones(16), None, "tiny", ".npy")
    with pytest.raises(UsageError, match="holds z alone, and this model takes a class with it"):
        directions.file_z(bare, ckpt, None)
    with pytest.raises(UsageError, match="not a .npz or .npy latent file"):
        directions.file_z(b"hello", ckpt, 1)
    with pytest.raises(UsageError, match="no such file"):
        directions.file_z(tmp_path / "gone.npy", ckpt, 1)


def test_apply_combines_directions_and_the_grid_holds_z_in_its_middle_column(tiny):
    _, generator, ckpt = tiny
    found = directions.compute_directions(ckpt, "sefa", 3, generator=generator, cache=False)
    z = torch.randn(16)
    both = directions.apply(z, found, {0: 1.5, 2: -2.0})
    assert torch.allclose(both, z + 1.5 * found.vectors[0] - 2 * found.vectors[2])
    assert torch.allclose(directions.apply(z, found, [1.5, 0.0, -2.0]), both)
    with pytest.raises(UsageError, match="4 strengths for 3 directions"):
        directions.apply(z, found, [1.0] * 4)
    with pytest.raises(UsageError, match="numbered 0 to 2"):
        directions.apply(z, found, {3: 1.0})
    z, label = directions.seed_z(ckpt, 5, 7)
    images = directions.grid(generator, found, z, label, strength=2.0, columns=5)
    assert images.shape == (15, 1, 28, 28)
    own = generator(z[None], label)
    assert all(torch.allclose(images[row * 5 + 2], own[0], atol=1e-6) for row in range(3))
    with pytest.raises(UsageError, match="strength must be above 0"):
        directions.grid(generator, found, z, label, strength=0.0)


def test_stroke_statistics_read_ink_slant_and_centre():
    upright, leaning = torch.full((1, 1, 28, 28), -1.0), torch.full((1, 1, 28, 28), -1.0)
    upright[0, 0, 4:24, 13:15] = 1
    for row in range(4, 24):  # the top to the right: one column per two rows
        col = 13 + (24 - row) // 2 - 5
        leaning[0, 0, row, col : col + 2] = 1
    stats = direction_stats.stroke_stats(torch.cat([upright, leaning, torch.roll(upright, 3, dims=3)]))
    assert abs(float(stats["slant"][0])) < 1e-3 and float(stats["slant"][1]) > 20
    assert float(stats["x"][0]) == pytest.approx(0.0) and float(stats["x"][2]) == pytest.approx(3.0)
    assert float(stats["ink"][0]) == pytest.approx(40 / 784) and float(stats["y"][0]) == pytest.approx(0.0)


def test_describe_reads_the_top_directions_against_a_random_one(tiny):
    _, generator, ckpt = tiny
    found = directions.compute_directions(ckpt, "sefa", 8, generator=generator, cache=False)
    effects = direction_stats.describe(generator, ckpt, found, None, top=3, seeds=20)
    assert [e.index for e in effects] == [0, 1, 2, direction_stats.RANDOM]
    assert all(e.class_changed is None and set(e.change) == set(direction_stats.STROKES) for e in effects)
    rows = direction_stats.effects_table(effects, 3.0)
    assert rows[-1]["direction"] == "random" and rows[0]["class changes at -3 / +3"] == "-"
    assert rows[0]["reads as"].startswith("-3 -> +3: ")


def test_the_directions_command_writes_a_grid_and_prints_the_table(tmp_path, capsys):
    path = tiny_checkpoint(tmp_path, conditional=True)
    out = tmp_path / "grid.png"
    args = ["directions", "--checkpoint", str(path), "--k", "4", "--out", str(out), "--class", "3", "--scale", "1"]
    assert main([*args, "--stats", "--stats-seeds", "20"]) == 0
    printed = capsys.readouterr().out
    assert "sefa: 4 directions computed" in printed and "4 rows (directions 1-4) x 7 columns" in printed
    assert "| random |" in printed and "class 3 held" in printed
    assert Image.open(out).size == (7 * 30 + 2, 4 * 30 + 2)
    z = tmp_path / "z.npy"
    np.save(z, np.zeros(16, np.float32))
    assert main(["directions", "--checkpoint", str(path), "--method", "pca", "--z", str(z), "--class", "1"]) != 0
    assert "say what to make" in capsys.readouterr().err
    zout = [*args[:6], str(tmp_path / "z.png"), "--z", str(z), "--class", "1"]
    assert main(zout) == 0 and "read from the cache" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--checkpoint", str(TOY), "--out", "g.png"], "need an image model"),
        (["--checkpoint", str(SHIPPED), "--out", "g.gif"], "--out must end in .png"),
        (["--checkpoint", str(SHIPPED), "--out", "g.png", "--k", "40"], "k must be a whole number from 1 to 32"),
        (["--checkpoint", str(SHIPPED), "--out", "g.png", "--z", "missing.npy", "--class", "1"], "no such file"),
        (["--checkpoint", str(SHIPPED), "--out", "g.png", "--class", "12"], "class must be between 0 and 9"),
        (["--checkpoint", str(SHIPPED), "--stats", "--stats-seeds", "5"], "seeds must be between 10 and 10,000"),
    ],
)
def test_the_command_says_what_is_wrong_in_one_line(tmp_path, monkeypatch, capsys, extra, message):
    monkeypatch.chdir(tmp_path)
    assert main(["directions", "--no-cache", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.iterdir())
