"""The generator as ONNX: the same images as PyTorch in onnxruntime, for every kind of generator; the optional
dependencies stay optional."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_image_checkpoint

from ganplay.checkpoints import load_generator
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.onnx_export import INSTALL, example_inputs, export_onnx

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
TOY = Path(__file__).resolve().parent.parent / "checkpoints" / "ring8-mlp.pt"


def run_onnx(path: Path, *inputs: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {arg.name: x.numpy() for arg, x in zip(session.get_inputs(), inputs)})[0]


@pytest.mark.parametrize("kind", [{}, {"conditional": True}, {"clusters": 5}, {"info_codes": 3}])
def test_onnxruntime_makes_what_pytorch_makes_at_any_batch(tmp_path, kind):
    source = tiny_image_checkpoint(tmp_path / "g.pt", **kind)
    done = export_onnx(source, tmp_path / "g.onnx")
    assert done.max_abs_diff is not None and done.max_abs_diff < 1e-4  # checked on 64 latents as it was written
    generator, ckpt = load_generator(source)
    for n in (1, 5):
        inputs = example_inputs(ckpt, n, seed=n)
        with torch.no_grad():
            expected = generator(*inputs).numpy()
        got = run_onnx(done.path, *inputs)
        assert got.shape == (n, 1, 28, 28) and np.abs(got - expected).max() < 1e-4
    if ckpt.config.takes_labels:  # the label is an input that matters, not a constant baked in
        z = example_inputs(ckpt, 2)[0]
        ones = torch.tensor([1, 1])
        a, b = run_onnx(done.path, z, torch.tensor([0, 0])), run_onnx(done.path, z, ones)
        with torch.no_grad():
            assert np.abs(b - generator(z, ones).numpy()).max() < 1e-5
        assert np.abs(a - b).max() > 100 * np.abs(b - generator(z, ones).numpy()).max() + 1e-6
    record = json.loads((tmp_path / "g.json").read_text())
    assert [i["name"] for i in record["inputs"]] == (["z", "label"] if ckpt.config.takes_labels else ["z"])
    assert record["output"]["shape"] == ["batch", 1, 28, 28] and record["check"]["onnxruntime_max_abs_diff"] < 1e-4


def test_a_2d_model_exports_points_in_its_own_coordinates_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "ring.onnx"
    assert main(["export", str(TOY), "--onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "inputs: z float32 ['batch', 2]" in printed and "max abs difference" in printed
    generator, ckpt = load_generator(TOY)
    (z,) = example_inputs(ckpt, 7)
    with torch.no_grad():
        assert np.abs(run_onnx(out, z) - generator(z).numpy()).max() < 1e-5
    assert json.loads(out.with_suffix(".json").read_text())["output"]["units"] == "the dataset's own coordinates"


def test_without_the_optional_modules_export_says_how_to_install_them_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if it were not installed
    with pytest.raises(UsageError, match="ONNX export needs onnxscript, which is not installed: pip install"):
        export_onnx(TOY, tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir()) and "onnxruntime==" in INSTALL


def test_without_onnxruntime_the_file_is_written_and_said_unchecked(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main(["export", str(TOY), "--onnx", "--out", str(tmp_path / "g.onnx")]) == 0
    assert "not checked: onnxruntime is not installed" in capsys.readouterr().out
    assert json.loads((tmp_path / "g.json").read_text())["check"]["onnxruntime_max_abs_diff"] is None


@pytest.mark.parametrize(
    "args, says",
    [
        (["--out", "g.pt"], "--out must end in .onnx"),
        (["--out", "g.onnx", "--best"], "best.pt"),  # a .pt file has no best.pt beside it to pick
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(tmp_path, capsys, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path)
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    source = str(junk) if "--best" not in args else str(tmp_path)
    assert main(["export", source, "--onnx", *args]) == 2
    assert says in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]


def test_a_damaged_checkpoint_is_refused_before_anything_is_written(tmp_path, capsys):
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    assert main(["export", str(junk), "--onnx", "--out", str(tmp_path / "g.onnx")]) == 2
    assert "junk.pt" in capsys.readouterr().err and not (tmp_path / "g.onnx").exists()
