"""The generator outside PyTorch: an ONNX file (z, and a label for a labelled model, in; images or points out),
checked against PyTorch with onnxruntime before it is written, and a JSON sidecar that says how to call it.

onnx, onnxscript (torch's exporter) and onnxruntime are optional: nothing here imports them until an export is
asked for, and their absence is one line that says how to install them.
"""

from __future__ import annotations

import importlib
import json
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import ganplay
from ganplay.checkpoint_format import Checkpoint
from ganplay.checkpoints import load_generator
from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes, atomic_write_text, check_output_path

PINS = {"onnx": "1.23.2", "onnxscript": "0.7.2", "onnxruntime": "1.32.0"}  # as in requirements-dev.txt
INSTALL = "pip install " + " ".join(f"{name}=={version}" for name, version in PINS.items())
NEEDED = (
    "onnx",
    "onnxscript",
)  # torch.onnx.export's own needs (the dynamo exporter; the TorchScript one is deprecated)
OPSET = 18  # the dynamo exporter's lowest, so the widest choice of runtimes (onnxruntime 1.14 and later) reads it
CHECK_BATCH = 64
CHECK_SEED = 0
TIMED_RUNS = 20  # per runtime, after a warm-up; the median is kept
MAX_DIFF = 1e-3  # |onnxruntime - PyTorch| past this, in units of the output's size, is a broken export (float32: ~1e-6)
PROTOBUF_LIMIT = 2**31 - 1  # one .onnx file holds at most 2 GB; ganplay's generators are MBs


class OnnxMismatch(RuntimeError):
    """The exported graph computes something else than G: a bug (ganplay's or the exporter's), never written."""


@dataclass(frozen=True)
class OnnxExport:
    path: Path
    sidecar: Path
    bytes: int
    seconds: float  # tracing and converting, without the check
    inputs: list[dict[str, Any]]
    check: dict[str, Any]  # max_abs_diff and timings, or "skipped" with the reason


def sidecar_path(out: str | Path) -> Path:
    """G.onnx -> G.onnx.json: not G.json, which is the record of a G.pt exported beside it."""
    out = Path(out)
    return out.with_name(out.name + ".json")


def require(modules: tuple[str, ...]) -> None:
    """The optional modules, or a UsageError naming the missing ones and the command that installs them."""
    missing = [name for name in modules if not _has(name)]
    if missing:
        raise UsageError(f"ONNX export needs {' and '.join(missing)} (optional, not installed): {INSTALL}")


def _has(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


class _Exported(nn.Module):
    """G with the inputs an ONNX user gives: z, and the label as a class (or cluster) index for a labelled model."""

    def __init__(self, generator: nn.Module, takes_labels: bool):
        super().__init__()
        self.generator, self.takes_labels = generator, takes_labels

    def forward(self, z: Tensor, label: Tensor | None = None) -> Tensor:
        return self.generator(z, label if self.takes_labels else None)


def example_inputs(ckpt: Checkpoint, n: int, seed: int = CHECK_SEED) -> tuple[Tensor, ...]:
    """(z,) or (z, label): seeded latents, and every class in turn for a labelled model."""
    z = torch.randn(n, ckpt.config.z_dim, generator=torch.Generator().manual_seed(seed))
    if not ckpt.config.takes_labels:
        return (z,)
    return z, torch.arange(n, dtype=torch.int64) % ckpt.data["num_classes"]


def describe_inputs(ckpt: Checkpoint) -> list[dict[str, Any]]:
    """The graph's inputs, as the sidecar states them for people who use the file without ganplay."""
    codes = ckpt.config.info_codes
    what = "standard normal latents, N(0, 1) per entry"
    if codes:  # the code is read from z itself (models.latent_code), so it is no separate input
        what += f"; InfoGAN: the index of the largest of z[:, :{codes}] is the code (swap entries to choose one)"
    inputs = [{"name": "z", "dtype": "float32", "shape": ["batch", ckpt.config.z_dim], "what": what}]
    if ckpt.config.takes_labels:
        k = ckpt.data["num_classes"]
        kind = "cluster index" if ckpt.config.clusters else "class index"
        # the graph makes the one-hot by comparison (Equal), so a value out of range is no error: an all-zero label
        what = f"{kind}, 0 to {k - 1} (any other value gives an all-zero one-hot, a label G never trained on)"
        inputs.append({"name": "label", "dtype": "int64", "shape": ["batch"], "what": what})
    return inputs


def describe_output(ckpt: Checkpoint) -> dict[str, Any]:
    if len(ckpt.data["shape"]) == 3:
        return {"name": "images", "dtype": "float32", "shape": ["batch", *ckpt.data["shape"]], "range": [-1, 1]}
    return {"name": "points", "dtype": "float32", "shape": ["batch", 2], "units": "the dataset's own coordinates"}


def describe_model(ckpt: Checkpoint) -> dict[str, Any]:
    """What a caller needs to pick inputs: z's size, the labels and their names, any InfoGAN codes."""
    cfg, data = ckpt.config, ckpt.data
    k = data["num_classes"] if cfg.takes_labels else 0
    model = {"arch": cfg.arch, "dataset": data["name"], "z_dim": cfg.z_dim, "num_classes": k}
    model["label"] = ("cluster" if cfg.clusters else "class") if k else None
    model["class_names"] = list(data["class_names"])[:k] if k else []
    if k and data.get("label_prior"):
        model["label_prior"] = list(data["label_prior"])  # clusters: how often ganplay draws each when none is asked
    model["info_codes"] = cfg.info_codes
    return model


def export_onnx(
    source: str | Path,
    out: str | Path,
    use_ema: bool = True,
    commands: list[str] | None = None,
    timed_runs: int = TIMED_RUNS,
) -> OnnxExport:
    """Write G as ONNX at `out` and OUT.json beside it (G.onnx.json); checked first with onnxruntime if installed.

    Every check (output paths, the optional modules, the checkpoint, the graph against PyTorch) comes before
    anything is written.
    """
    out = check_output_path(out, (".onnx",), what="--out")
    sidecar = check_output_path(sidecar_path(out), (".json",), what="the export's record")
    require(NEEDED)
    generator, ckpt = load_generator(source, use_ema=use_ema)
    model = _Exported(generator.eval(), ckpt.config.takes_labels).eval()
    interface = {"model": describe_model(ckpt), "inputs": describe_inputs(ckpt), "output": describe_output(ckpt)}
    started = time.perf_counter()
    graph = _export_bytes(model, ckpt, interface)
    seconds = time.perf_counter() - started
    check = check_graph(graph, model, ckpt, timed_runs) if _has("onnxruntime") else {"skipped": _NO_RUNTIME}
    atomic_write_bytes(out, graph)
    record = _record(out, graph, ckpt, use_ema, interface, check, seconds, commands or [])
    atomic_write_text(sidecar, json.dumps(record, indent=2) + "\n")
    return OnnxExport(out, sidecar, len(graph), seconds, interface["inputs"], check)


_NO_RUNTIME = f"onnxruntime is not installed ({INSTALL})"


def _record(
    out: Path,
    graph: bytes,
    ckpt: Checkpoint,
    use_ema: bool,
    interface: dict[str, Any],
    check: dict[str, Any],
    seconds: float,
    commands: list[str],
) -> dict[str, Any]:
    import onnx
    import onnxscript

    return {
        "file": out.name,
        "bytes": len(graph),
        "opset": OPSET,
        "made_with": {
            "ganplay": ganplay.__version__,
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxscript": onnxscript.__version__,
        },
        "exported_from": ckpt.path,
        "step": ckpt.step,
        "weights": "G_ema" if use_ema and ckpt.G_ema is not None else "G",
        **interface,
        "check": check,
        "export_seconds": round(seconds, 2),
        "usage": usage_lines(out.name, interface),
        "commands": [*ckpt.commands, *commands],  # an export of an export keeps the whole story
    }


def _export_bytes(model: nn.Module, ckpt: Checkpoint, interface: dict[str, Any]) -> bytes:
    """The ONNX graph with a dynamic batch axis, by torch's exporter (torch.export, then onnxscript), with the
    sidecar's interface in the file's own metadata, so the .onnx alone says how to call it."""
    import onnx

    inputs = example_inputs(ckpt, 2)  # not 1: torch.export would take a batch of 1 for a constant
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals, not the user's business
        program = torch.onnx.export(
            model,
            inputs,
            input_names=[i["name"] for i in interface["inputs"]],
            output_names=[interface["output"]["name"]],
            dynamic_shapes=tuple({0: batch} for _ in inputs),
            opset_version=OPSET,
            dynamo=True,
            verbose=False,
        )
    proto = program.model_proto
    proto.doc_string = f"ganplay {ckpt.config.arch} generator of {ckpt.data['name']} (step {ckpt.step})"
    onnx.helper.set_model_props(proto, {"ganplay": json.dumps(interface)})
    if proto.ByteSize() > PROTOBUF_LIMIT:
        raise UsageError(f"this generator is {proto.ByteSize() / 1e9:.1f} GB: a single .onnx file holds at most 2 GB")
    return proto.SerializeToString()


@torch.no_grad()
def check_graph(graph: bytes, model: nn.Module, ckpt: Checkpoint, timed_runs: int = TIMED_RUNS) -> dict[str, Any]:
    """onnxruntime against PyTorch on CHECK_BATCH seeded latents (every label in turn), on the CPU, with the same
    number of threads: the max abs difference, and each one's median time for the batch. OnnxMismatch when the
    graph computes something else."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # a fair race: onnxruntime would take every core
    # and its idle threads would spin on them between runs, slowing PyTorch's turns beside it
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    inputs = example_inputs(ckpt, CHECK_BATCH)
    feeds = {arg.name: value.numpy() for arg, value in zip(session.get_inputs(), inputs)}
    ours, theirs = session.run(None, feeds)[0], model(*inputs).numpy()
    diff = float(np.abs(ours - theirs).max())
    if not diff <= MAX_DIFF * max(1.0, float(np.abs(theirs).max())):  # also catches NaN
        raise OnnxMismatch(f"{ckpt.path}: the ONNX graph differs from PyTorch by up to {diff:.3g}; nothing written")
    return {
        "onnxruntime": onnxruntime.__version__,
        "latents": CHECK_BATCH,
        "seed": CHECK_SEED,
        "onnxruntime_max_abs_diff": diff,
        "threads": torch.get_num_threads(),
        **race({"onnxruntime": lambda: session.run(None, feeds), "torch": lambda: model(*inputs)}, timed_runs),
    }


def race(calls: dict[str, Callable[[], Any]], runs: int, warmup: int = 3) -> dict[str, float]:
    """{"batch_ms_NAME": median wall time of each call}, the calls taking turns, so that other work on a shared
    machine slows each alike; after a warm-up (the first calls allocate and pick kernels)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for turn in range(warmup + max(1, runs)):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            if turn >= warmup:
                times[name].append(time.perf_counter() - start)
    return {f"batch_ms_{name}": round(1000 * statistics.median(spent), 3) for name, spent in times.items()}


def usage_lines(file_name: str, interface: dict[str, Any]) -> list[str]:
    """A few lines of Python that run the file with onnxruntime and numpy only (the sidecar's "usage")."""
    model, output = interface["model"], interface["output"]
    lines = [
        "import numpy as np",
        "import onnxruntime as ort",
        "",
        f'session = ort.InferenceSession("{file_name}", providers=["CPUExecutionProvider"])',
        f"z = np.random.default_rng(0).standard_normal((16, {model['z_dim']})).astype(np.float32)",
    ]
    if model["num_classes"]:
        lines.append(f"label = np.arange(16, dtype=np.int64) % {model['num_classes']}  # a {model['label']} per row")
        lines.append('(out,) = session.run(None, {"z": z, "label": label})')
    else:
        lines.append('(out,) = session.run(None, {"z": z})')
    if output["name"] == "images":
        shape = ", ".join(str(size) for size in output["shape"][1:])
        lines.append(f"# out: (16, {shape}) float32 in [-1, 1]; as 8-bit pixels (N, H, W, C):")
        lines.append("pixels = np.round((out + 1) * 127.5).clip(0, 255).astype(np.uint8).transpose(0, 2, 3, 1)")
    else:
        lines.append("# out: (16, 2) float32 points, in the dataset's own coordinates")
    return lines
