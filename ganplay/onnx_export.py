"""The generator outside PyTorch: an ONNX file (z, and a label for a labelled model, in; images or points out),
checked against PyTorch with onnxruntime right after it is written.

onnx, onnxscript (torch's exporter) and onnxruntime are optional: nothing here imports them until an export is
asked for, and their absence is one line that says how to install them.
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ganplay.checkpoints import atomic_write_bytes, atomic_write_text, check_output_path, load_generator
from ganplay.errors import UsageError

INSTALL = "pip install onnx==1.23.2 onnxscript==0.7.2 onnxruntime==1.32.0"
NEEDED = ("onnx", "onnxscript")  # torch.onnx.export's own needs
OPSET = 18
CHECK_BATCH = 64
CHECK_SEED = 0


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    bytes: int
    seconds: float  # export and write
    max_abs_diff: float | None  # onnxruntime against PyTorch on CHECK_BATCH latents; None without onnxruntime
    inputs: list[dict[str, Any]]


def require(modules: tuple[str, ...]) -> None:
    """The optional modules, or a UsageError naming the missing ones and the command that installs them."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise UsageError(f"ONNX export needs {', '.join(missing)}, which is not installed: {INSTALL}")


class _Exported(nn.Module):
    """G with the inputs an ONNX user gives: z, and the label as a class index for a labelled model."""

    def __init__(self, generator: nn.Module, takes_labels: bool):
        super().__init__()
        self.generator, self.takes_labels = generator, takes_labels

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        return self.generator(z, label if self.takes_labels else None)


def example_inputs(ckpt: Any, n: int, seed: int = CHECK_SEED) -> tuple[torch.Tensor, ...]:
    """(z,) or (z, label): seeded latents, and every class in turn for a labelled model."""
    z = torch.randn(n, ckpt.config.z_dim, generator=torch.Generator().manual_seed(seed))
    if not ckpt.config.takes_labels:
        return (z,)
    return z, torch.arange(n, dtype=torch.int64) % ckpt.data["num_classes"]


def describe_inputs(ckpt: Any) -> list[dict[str, Any]]:
    """The graph's inputs, as the sidecar states them for people who use the file without ganplay."""
    inputs = [
        {"name": "z", "dtype": "float32", "shape": ["batch", ckpt.config.z_dim], "what": "standard normal latents"}
    ]
    if ckpt.config.takes_labels:
        k = ckpt.data["num_classes"]
        what = "cluster index" if ckpt.config.clusters else "class index"
        inputs.append({"name": "label", "dtype": "int64", "shape": ["batch"], "what": f"{what}, 0 to {k - 1}"})
    return inputs


def export_onnx(
    source: str | Path, out: str | Path, use_ema: bool = True, commands: list[str] | None = None
) -> OnnxExport:
    """Write G as ONNX at `out` (and OUT.json beside it); check it with onnxruntime when that is installed.

    Every check (output paths, the optional modules, the checkpoint) comes before anything is written.
    """
    out = check_output_path(out, (".onnx",), what="--out")
    check_output_path(out.with_suffix(".json"), (".json",), what="the export's record")
    require(NEEDED)
    generator, ckpt = load_generator(source, use_ema=use_ema)
    model = _Exported(generator.eval(), ckpt.config.takes_labels)
    started = time.perf_counter()
    graph = _export_bytes(model, ckpt)
    atomic_write_bytes(out, graph)
    seconds = time.perf_counter() - started
    diff = max_abs_difference(out, generator, ckpt) if _has("onnxruntime") else None
    record = {
        "file": out.name,
        "bytes": len(graph),
        "opset": OPSET,
        "exported_from": ckpt.path,
        "step": ckpt.step,
        "weights": "G_ema" if use_ema and ckpt.G_ema is not None else "G",
        "inputs": describe_inputs(ckpt),
        "output": _describe_output(ckpt),
        "check": {"onnxruntime_max_abs_diff": diff, "latents": CHECK_BATCH, "seed": CHECK_SEED},
        "commands": [*ckpt.commands, *(commands or [])],
    }
    atomic_write_text(out.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return OnnxExport(out, len(graph), seconds, diff, record["inputs"])


def _export_bytes(model: nn.Module, ckpt: Any) -> bytes:
    """The ONNX graph with a dynamic batch axis, by torch's exporter (torch.export, then onnxscript)."""
    import warnings

    inputs = example_inputs(ckpt, 2)
    batch = torch.export.Dim("batch", min=1)
    names = ["z", "label"][: len(inputs)]
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals, not the user's business
        path = Path(folder) / "g.onnx"
        torch.onnx.export(
            model,
            inputs,
            str(path),
            input_names=names,
            output_names=["images" if ckpt.data["kind"] == "image" else "points"],
            dynamic_shapes=tuple({0: batch} for _ in inputs),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
        return path.read_bytes()


def _describe_output(ckpt: Any) -> dict[str, Any]:
    if ckpt.data["kind"] == "image":
        return {"name": "images", "dtype": "float32", "shape": ["batch", *ckpt.data["shape"]], "range": [-1, 1]}
    return {"name": "points", "dtype": "float32", "shape": ["batch", 2], "units": "the dataset's own coordinates"}


def _has(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


@torch.no_grad()
def max_abs_difference(path: str | Path, generator: nn.Module, ckpt: Any, n: int = CHECK_BATCH) -> float:
    """The largest |onnxruntime - PyTorch| over n seeded latents (and labels), on the CPU."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = example_inputs(ckpt, n)
    feeds = {arg.name: value.numpy() for arg, value in zip(session.get_inputs(), inputs)}
    ours = session.run(None, feeds)[0]
    device = next(generator.parameters()).device
    theirs = generator(*(x.to(device) for x in inputs)).float().cpu().numpy()
    return float(np.abs(ours - theirs).max())
