"""Latent files: a z found for a real image, saved, read back and walked through as keyframes (CLI and page)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_image_config
from pagetest import open_page, texts

from ganplay import sampling
from ganplay.building import build_models_seeded
from ganplay.checkpoints import Checkpoint
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.latent_files import Latent, check_latents, latent_bytes, read_latent

SHIPPED = str(Path(__file__).resolve().parent.parent / "checkpoints" / "mnist-cdcgan.pt")
META = {"kind": "image", "shape": [1, 28, 28], "num_classes": 10, "class_names": [str(i) for i in range(10)]}


def tiny(**overrides) -> tuple[torch.nn.Module, Checkpoint]:
    cfg = tiny_image_config(**overrides)
    generator, _ = build_models_seeded(cfg, (1, 28, 28), 10, 0)
    return generator.eval(), Checkpoint(cfg, META, path="/tmp/runs/tiny/checkpoint.pt")


def test_a_latent_file_keeps_z_its_label_and_model_and_a_bare_npy_keeps_z():
    z = torch.randn(16)
    latent = read_latent(io.BytesIO(latent_bytes(z, 3, "mnist-cdcgan")), name="a.npz")
    assert torch.equal(latent.z, z) and (latent.label, latent.model, latent.name) == (3, "mnist-cdcgan", "a.npz")
    assert read_latent(io.BytesIO(latent_bytes(z, None, "m")), name="b.npz").label is None
    bare = read_latent(io.BytesIO(latent_bytes(z, 3, "m", suffix=".npy")), name="c.npy")
    assert torch.equal(bare.z, z) and bare.label is None and bare.model == ""
    row = io.BytesIO()
    np.save(row, np.ones((1, 16), np.float64))  # a (1, z_dim) row, as numpy users keep one
    assert read_latent(io.BytesIO(row.getvalue()), name="row.npy").z.shape == (16,)


def npy(array) -> io.BytesIO:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return io.BytesIO(buffer.getvalue())


@pytest.mark.parametrize(
    "data, says",
    [
        (io.BytesIO(b"not numpy at all"), "not a .npz or .npy latent file"),
        (npy(np.array([{"a": 1}], dtype=object)), "not a .npz or .npy latent file"),  # a pickle: never loaded
        (npy(np.ones((4, 16))), "a z is one row of numbers; this holds float64 of shape (4, 16)"),
        (npy(np.array([1.0, np.nan])), "NaN or infinite"),
        (npy(np.array(["a", "b"])), "a z is one row of numbers"),
        (io.BytesIO(b"\0" * 2_000_000), "too large for a latent file"),
    ],
)
def test_a_bad_latent_file_is_one_clear_message(data, says):
    with pytest.raises(UsageError, match="^bad.npy: ") as err:
        read_latent(data, name="bad.npy")
    assert says in str(err.value)


def test_latents_must_fit_the_model():
    _, ckpt = tiny(conditional=True)
    with pytest.raises(UsageError, match="its z has 100 numbers, this model takes 16: it was found with another"):
        check_latents([Latent(torch.zeros(100), name="x.npz")], ckpt)
    with pytest.raises(UsageError, match="its label 12 is not one of this model's 10 classes"):
        check_latents([Latent(torch.zeros(16), 12, name="x.npz")], ckpt)


def test_a_walk_through_found_latents_starts_and_ends_at_them_with_their_own_classes():
    generator, ckpt = tiny(conditional=True)
    a, b = Latent(torch.randn(16), 7, name="a"), Latent(torch.randn(16), 2, name="b")
    frames = sampling.latent_walk(generator, ckpt, [a, b], 5, "slerp")
    with torch.no_grad():
        ends = generator(torch.stack([a.z, b.z]), torch.tensor([7, 2]))
    assert frames.shape == (5, 1, 28, 28) and torch.allclose(frames[[0, -1]], ends, atol=1e-5)
    held = sampling.latent_walk(generator, ckpt, [a, b], 5, "slerp", class_id=4)
    with torch.no_grad():
        assert torch.allclose(held[0], generator(a.z[None], torch.tensor([4]))[0], atol=1e-5)
    looped = sampling.latent_walk(generator, ckpt, [a, b], 6, "lerp", loop=True)
    assert torch.allclose(looped[3], ends[1], atol=1e-5)  # out to the second keyframe at the half-way frame
    assert torch.allclose(looped[1], looped[5], atol=1e-5)  # and back the same way
    with pytest.raises(UsageError, match="at least two keyframes, got 1"):
        sampling.latent_walk(generator, ckpt, [a], 5)
    plain, plain_ckpt = tiny()
    assert sampling.latent_walk(plain, plain_ckpt, [a, b], 3).shape == (3, 1, 28, 28)  # labels ignored


def invert(digit: int, z_out: Path, tmp_path: Path) -> None:
    args = ["invert", "--checkpoint", SHIPPED, "--digit", str(digit), "--steps", "20", "--restarts", "1"]
    assert main([*args, "--out", str(tmp_path / f"d{digit}.png"), "--z-out", str(z_out), "--quiet"]) == 0


def test_invert_then_interpolate_morphs_between_two_real_digits(tmp_path, capsys):
    seven, two = tmp_path / "seven.npz", tmp_path / "two.npz"
    invert(0, seven, tmp_path)  # digit 0 of the bundled test split is a 7, digit 1 a 2
    invert(1, two, tmp_path)
    assert (read_latent(seven).label, read_latent(two).label) == (7, 2)
    out = tmp_path / "morph.png"
    args = ["interpolate", "--checkpoint", SHIPPED, "--z", str(seven), str(two), "--frames", "6", "--out", str(out)]
    assert main(args) == 0
    assert "6 frames (slerp) through 2 latent files" in capsys.readouterr().out and out.stat().st_size > 0
    assert main([*args[:-2], "--seeds", "0", "1", "--out", str(out)]) == 2
    assert "--z gives the keyframes: it goes with neither --seeds" in capsys.readouterr().err


def test_the_interpolate_page_morphs_between_uploaded_latent_files(app_registry, downloads):
    at = open_page("pages/interpolate.py")
    at.radio(key="interp_how").set_value("from found z files").run()
    assert "Upload two or more latent files" in at.info[0].value
    z = torch.randn(100)
    files = [
        ("seven_z.npz", latent_bytes(z, 7, "mnist-cdcgan"), "application/octet-stream"),
        ("two_z.npz", latent_bytes(-z, 2, "mnist-dcgan"), "application/octet-stream"),
    ]
    at.file_uploader(key="interp_z_files").set_value(files).run()
    assert not at.exception, [e.message for e in at.exception]
    animation = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [d["type"] for d in animation["data"]] == ["image", "image"] and len(animation["frames"]) == 16
    assert "two_z.npz was found with mnist-dcgan, not this model" in at.warning[0].value.replace("\\", "")
    assert "Each keyframe keeps the class its inversion found" in texts(at)
    assert "mnist-cdcgan_seven-two_slerp_16f.gif" in downloads
    at.file_uploader(key="interp_z_files").set_value([("x.npz", b"junk", "application/octet-stream")]).run()
    assert not at.exception and "x.npz: not a .npz or .npy latent file" in at.error[0].value.replace("\\", "")
