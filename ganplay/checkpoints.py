"""Checkpoint files: written atomically (safe_files), and one validated, weights-only loader whose errors
name the file. The format itself (the typed Checkpoint, its versions, upgrades and checks): checkpoint_format."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import ganplay
from ganplay import checkpoint_format
from ganplay.checkpoint_format import FORMAT, Checkpoint, CheckpointError, from_payload, meta_networks, real_networks
from ganplay.config import TrainConfig
from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes, atomic_write_text, check_output_path

CHECKPOINT_NAME = "checkpoint.pt"  # the latest good checkpoint inside a run folder
BEST_CHECKPOINT_NAME = "best.pt"  # the checkpoint with the best live quality score, beside the latest
EXPORT_SUFFIXES = (".pt",)


def data_meta(data: Any) -> dict[str, Any]:
    """What a checkpoint needs to rebuild G and label its samples without loading the dataset."""
    meta = {
        "name": data.name,
        "title": data.title,
        "kind": data.kind,
        "shape": list(data.shape),
        "num_classes": data.num_classes,
        "class_names": list(data.class_names),
        "scale": data.scale,
    }
    if data.label_prior:
        meta["label_prior"] = list(data.label_prior)  # clusters: how often each is drawn when none is asked for
    if data.kind == "toy":
        from ganplay.sources import toy_modes_or_none

        found = toy_modes_or_none(data.name)
        if found is not None:  # None: a toy without discrete modes
            meta["modes"], meta["sigma"] = found[0].tolist(), float(found[1])
    return meta


def save_checkpoint(path: str | Path, state: dict[str, Any], config: TrainConfig, data: dict[str, Any]) -> Path:
    """Plain data and tensors only (torch.load(weights_only=True) reads it back), in today's format."""
    saved_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    payload = {
        "format": FORMAT,
        "format_version": checkpoint_format.FORMAT_VERSION,
        "ganplay_version": ganplay.__version__,
        "saved_at": saved_at,
        "config": config.to_dict(),
        "data": data,
        **state,
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def resolve_checkpoint_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if not path.is_file():  # a fifo or a device would block or never end
        raise CheckpointError(f"{path}: not a regular file, so not a checkpoint")
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load, upgrade and check; a run folder means its latest checkpoint. Only tensors and plain data are unpickled."""
    path = resolve_checkpoint_path(path)
    return from_payload(_read_payload(path), str(path))


def _read_payload(path: Path) -> dict[str, Any]:
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; a cut-off copy loses its closing directory
        raise CheckpointError(
            f"{path}: not a readable checkpoint, the file is truncated or corrupt (not a torch zip archive)"
        )
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as err:
        raise CheckpointError(
            f"{path}: not a readable checkpoint, the file is truncated or corrupt ({_short(err)})"
        ) from None
    except Exception as err:  # noqa: BLE001 (a crafted pickle makes the unpickler raise any type at all)
        # torch's own message goes on to suggest weights_only=False, which is the one thing never to do here
        raise CheckpointError(
            f"{path}: refused to load: it holds more than tensors and plain data (pickled objects "
            f"or code, which ganplay never runs: {type(err).__name__})"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = ", ".join(sorted(map(str, payload))[:8]) if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a ganplay checkpoint (found: {found})")
    return payload


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def export_generator(
    source: str | Path,
    out: str | Path,
    use_ema: bool = True,
    commands: list[str] | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """A generator-only copy of a checkpoint (no D, no optimizers): what Samples and Interpolate need.

    Beside it, OUT.json records the commands that made it and any metrics given, for people and the README.
    Both paths are checked, and the source loaded (every check passed), before anything is written.
    """
    out = check_output_path(out, EXPORT_SUFFIXES)
    check_output_path(out.with_suffix(".json"), (".json",))
    ckpt = load_checkpoint(source)
    if out.resolve() == Path(ckpt.path).resolve():
        raise UsageError(f"{out} is the checkpoint being exported: write the copy to another file")
    key = "G_ema" if use_ema and ckpt.G_ema is not None else "G"
    if ckpt.state.get(key) is None:
        raise CheckpointError(f"{ckpt.path}: has no generator weights to export")
    history = [*ckpt.commands, *(commands or [])]  # an export of an export keeps the whole story
    state = {"step": ckpt.step, "generator_only": True, "commands": history, key: ckpt.state[key]}
    out = save_checkpoint(out, state, ckpt.config, ckpt.data)
    record = {
        "file": out.name,
        "bytes": out.stat().st_size,
        "step": ckpt.step,
        "weights": key,
        "exported_from": ckpt.path,
        "commands": history,
        "metrics": metrics or {},
    }
    atomic_write_text(out.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return out


def _load_weights(
    module: nn.Module, weights: dict[str, Tensor], what: str, ckpt: Checkpoint, device: str | torch.device
) -> nn.Module:
    if any(tensor.is_meta for tensor in module.state_dict().values()):
        module = module.to_empty(device=device)  # storage for the weights about to fill every tensor
    try:
        module.load_state_dict(weights)
    except RuntimeError as err:  # names and shapes were checked on load; a dtype torch cannot copy is left
        raise CheckpointError(f"{ckpt.path}: {what} weights do not match its config ({_short(err)})") from None
    return module.to(device).eval().requires_grad_(False)


def _generator_weights(ckpt: Checkpoint, use_ema: bool) -> dict[str, Tensor]:
    """EMA weights when present and asked for, else the raw G."""
    weights = ckpt.G_ema if use_ema and ckpt.G_ema is not None else ckpt.G
    if weights is None and ckpt.generator_only:
        raise CheckpointError(f"{ckpt.path}: a generator-only export keeps just the EMA generator; use EMA")
    if weights is None:
        raise CheckpointError(f"{ckpt.path}: has no {'EMA ' if use_ema else ''}generator weights")
    return weights


def load_generator(
    path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True
) -> tuple[nn.Module, Checkpoint]:
    """(G in eval mode, its checkpoint). EMA weights when present and asked for, else the raw G."""
    ckpt = load_checkpoint(path)
    weights = _generator_weights(ckpt, use_ema)
    generator, _ = meta_networks(ckpt.config, ckpt.data, ckpt.path)  # G only is made real: D may be large
    return _load_weights(generator, weights, "generator", ckpt, device), ckpt


def load_models(
    path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True, need_d: bool = True
) -> tuple[nn.Module, nn.Module | None, Checkpoint]:
    """(G, D, its checkpoint), both in eval mode, for views of what D learned too (the 2-D lab).

    A generator-only file has no D: an error, or with need_d=False, D is None.
    """
    ckpt = load_checkpoint(path)
    weights = _generator_weights(ckpt, use_ema)
    if ckpt.D is None and need_d:
        raise CheckpointError(f"{ckpt.path}: keeps only the generator; D's view needs a run's own checkpoint")
    generator, _ = meta_networks(ckpt.config, ckpt.data, ckpt.path)
    discriminator = None
    if ckpt.D is not None:  # built for real, for spectral norm's names; its size matched the file's on load
        discriminator = _load_weights(real_networks(ckpt)[1], ckpt.D, "discriminator", ckpt, device)
    return _load_weights(generator, weights, "generator", ckpt, device), discriminator, ckpt
