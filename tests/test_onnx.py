"""The generator as ONNX: the same images as PyTorch in onnxruntime for every kind of generator, at any batch; a
sidecar (and the file's own metadata) that is enough to call it; the optional dependencies stay optional."""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_image_config

from ganplay.building import build_models_seeded
from ganplay.checkpoints import load_generator, save_checkpoint
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.latent import with_codes
from ganplay.onnx_export import INSTALL, PINS, OnnxMismatch, example_inputs, export_onnx

onnxruntime = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "checkpoints" / "ring8-mlp.pt"


def lively_checkpoint(path: Path, **overrides) -> Path:
    """A tiny 28 px model with raw and EMA weights that differ, and outputs that span [-1, 1]: DCGAN's own init
    gives outputs of about 0.003, against which a 1e-4 tolerance would prove little. BatchNorm's running
    statistics are not the identity either, so eval-mode BatchNorm is exercised."""
    cfg = tiny_image_config(**overrides)
    classes = cfg.clusters or (10 if cfg.conditional else 0)
    raw, _ = build_models_seeded(cfg, (1, 28, 28), classes, 0)
    draw = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for name, tensor in raw.state_dict().items():
            if name.endswith("running_var"):
                tensor.uniform_(0.5, 2.0, generator=draw)
            elif tensor.is_floating_point() and tensor.dim() > 0:
                tensor.copy_(0.3 * torch.randn(tensor.shape, generator=draw))
        ema = copy.deepcopy(raw)
        for tensor in ema.parameters():
            tensor.add_(0.05 * torch.randn(tensor.shape, generator=draw))
    names = [f"cluster {i}" for i in range(classes)] if cfg.clusters else [str(i) for i in range(10)]
    meta = {"name": "mnist-bundled", "title": "tiny", "kind": "image", "shape": [1, 28, 28]}
    meta.update(num_classes=classes or 10, class_names=names)
    if cfg.clusters:
        meta["label_prior"] = [1 / classes] * classes
    state = {"step": 2, "G": raw.state_dict(), "G_ema": ema.state_dict(), "commands": ["python -m ganplay train"]}
    return save_checkpoint(path, state, cfg, meta)


def run_onnx(path: Path, *inputs: torch.Tensor) -> np.ndarray:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {arg.name: x.numpy() for arg, x in zip(session.get_inputs(), inputs)})[0]


@torch.no_grad()
def torch_out(generator: torch.nn.Module, *inputs: torch.Tensor) -> np.ndarray:
    return generator(*inputs).numpy()


KINDS = {
    "dcgan": {},
    "cdcgan": {"conditional": True},
    "clustered": {"clusters": 5},
    "infogan": {"info_codes": 3},
    "mlp-conditional": {"arch": "mlp", "conditional": True, "mlp_hidden": 16},
}


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_onnxruntime_makes_what_pytorch_makes_at_any_batch(tmp_path, monkeypatch, kind):
    source = lively_checkpoint(tmp_path / "g.pt", **kind)
    done = export_onnx(source, tmp_path / "g.onnx", timed_runs=1)
    assert done.check["onnxruntime_max_abs_diff"] < 1e-4  # checked on 64 latents before it was written
    generator, ckpt = load_generator(source)  # EMA weights, as the export's default
    for n in (1, 5):
        inputs = example_inputs(ckpt, n, seed=n)
        expected, got = torch_out(generator, *inputs), run_onnx(done.path, *inputs)
        assert got.shape == (n, 1, 28, 28) and np.abs(got - expected).max() < 1e-4
        assert expected.std() > 0.1 or n == 1  # images, not a constant near 0
    z = example_inputs(ckpt, 2)[0]
    if ckpt.config.takes_labels:  # the label is an input that matters, not a constant baked in
        zeros, ones = torch.zeros(2, dtype=torch.int64), torch.ones(2, dtype=torch.int64)
        a, b = run_onnx(done.path, z, zeros), run_onnx(done.path, z, ones)
        assert np.abs(a - b).max() > 0.1 and np.abs(b - torch_out(generator, z, ones)).max() < 1e-4
    if ckpt.config.info_codes:  # the code is read from z inside the graph, as ganplay reads it
        coded = [with_codes(z, torch.full((2,), c), 3) for c in (0, 1)]  # only the code differs: G never sees
        # the first 3 entries but as a one-hot of their argmax
        a, b = (run_onnx(done.path, c) for c in coded)
        assert np.abs(a - b).max() > 0.02 and np.abs(b - torch_out(generator, coded[1])).max() < 1e-4
    check_sidecar(tmp_path, ckpt, done)
    monkeypatch.chdir(tmp_path)
    made: dict = {}
    usage = "\n".join(json.loads(done.sidecar.read_text())["usage"])
    exec(usage, made)  # noqa: S102 (ganplay's own text: the sidecar's example runs as it says)
    assert made["out"].shape == (16, 1, 28, 28) and made["pixels"].dtype == np.uint8


def check_sidecar(folder: Path, ckpt, done) -> None:
    record = json.loads((folder / "g.onnx.json").read_text())
    labelled = ckpt.config.takes_labels
    assert [(i["name"], i["dtype"], i["shape"]) for i in record["inputs"]] == [
        ("z", "float32", ["batch", 16]),
        *([("label", "int64", ["batch"])] if labelled else []),
    ]
    assert record["output"] == {"name": "images", "dtype": "float32", "shape": ["batch", 1, 28, 28], "range": [-1, 1]}
    model = record["model"]
    assert model["num_classes"] == (ckpt.data["num_classes"] if labelled else 0) and model["z_dim"] == 16
    assert model["class_names"] == (ckpt.data["class_names"] if labelled else [])
    assert ("label_prior" in model) == bool(ckpt.config.clusters) and model["info_codes"] == ckpt.config.info_codes
    assert record["weights"] == "G_ema" and record["bytes"] == done.path.stat().st_size
    assert record["commands"] == ["python -m ganplay train"] and record["check"]["latents"] == 64
    session = onnxruntime.InferenceSession(str(done.path), providers=["CPUExecutionProvider"])
    inside = json.loads(session.get_modelmeta().custom_metadata_map["ganplay"])  # the .onnx alone says it too
    assert inside == {key: record[key] for key in ("model", "inputs", "output")}


def test_raw_exports_the_raw_generator_from_the_command_line(tmp_path, capsys):
    source = lively_checkpoint(tmp_path / "g.pt", conditional=True)
    assert main(["export", str(source), "--onnx", "--raw", "--out", str(tmp_path / "raw.onnx")]) == 0
    assert "max abs difference" in capsys.readouterr().out
    raw, ckpt = load_generator(source, use_ema=False)
    ema, _ = load_generator(source)
    inputs = example_inputs(ckpt, 5)
    got = run_onnx(tmp_path / "raw.onnx", *inputs)
    assert np.abs(got - torch_out(raw, *inputs)).max() < 1e-4
    assert np.abs(got - torch_out(ema, *inputs)).max() > 0.01
    record = json.loads((tmp_path / "raw.onnx.json").read_text())
    assert record["weights"] == "G" and record["commands"][-1].endswith("--raw --out " + str(tmp_path / "raw.onnx"))


def test_a_2d_model_exports_points_in_its_own_coordinates_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "ring.onnx"
    (tmp_path / "ring.json").write_text("the record of a ring.pt export")  # not ours to replace
    assert main(["export", str(TOY), "--onnx", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "inputs: z float32 ['batch', 2]" in printed and "max abs difference" in printed
    generator, ckpt = load_generator(TOY)
    for n in (1, 5):
        (z,) = example_inputs(ckpt, n, seed=n)
        got = run_onnx(out, z)
        assert got.shape == (n, 2) and np.abs(got - torch_out(generator, z)).max() < 1e-5
    record = json.loads((tmp_path / "ring.onnx.json").read_text())
    assert record["output"]["units"] == "the dataset's own coordinates" and record["model"]["num_classes"] == 0
    assert (tmp_path / "ring.json").read_text() == "the record of a ring.pt export"


@pytest.mark.parametrize(
    "gone, says", [(["onnxscript"], "onnxscript"), (["onnx", "onnxscript"], "onnx and onnxscript")]
)
def test_without_the_optional_modules_export_says_how_to_install_them_and_writes_nothing(
    tmp_path, monkeypatch, capsys, gone, says
):
    for name in gone:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    with pytest.raises(UsageError, match=f"ONNX export needs {says} "):
        export_onnx(TOY, tmp_path / "g.onnx")
    assert main(["export", str(TOY), "--onnx", "--out", str(tmp_path / "g.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.strip().endswith(INSTALL) and "pip install onnx==1.23.2 " in INSTALL
    assert not list(tmp_path.iterdir())


def test_without_onnxruntime_the_file_is_written_and_said_unchecked(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    assert main(["export", str(TOY), "--onnx", "--out", str(tmp_path / "g.onnx")]) == 0
    assert f"not checked: onnxruntime is not installed ({INSTALL})" in capsys.readouterr().out
    assert json.loads((tmp_path / "g.onnx.json").read_text())["check"] == {
        "skipped": f"onnxruntime is not installed ({INSTALL})"
    }


def test_a_graph_that_disagrees_with_pytorch_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setattr("ganplay.onnx_export.MAX_DIFF", -1.0)  # any difference at all now counts as wrong
    with pytest.raises(OnnxMismatch, match="differs from PyTorch"):
        export_onnx(TOY, tmp_path / "g.onnx")
    assert not list(tmp_path.iterdir())


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
    err = capsys.readouterr().err
    assert "junk.pt: not a readable checkpoint" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.pt"]


def test_the_optional_modules_stay_optional():
    """No module of ganplay imports them at its top level; CI installs the pinned versions the message names."""
    optional = {"onnx", "onnxruntime", "onnxscript"}
    for module in (ROOT / "ganplay").glob("*.py"):
        for node in ast.parse(module.read_text()).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not {n.split(".")[0] for n in names} & optional, f"{module.name} imports {names} at its top"
    dev = (ROOT / "requirements-dev.txt").read_text().split()
    assert all(f"{name}=={version}" in dev for name, version in PINS.items())
    assert "onnx" not in (ROOT / "requirements.txt").read_text()
