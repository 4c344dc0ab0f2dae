"""Checkpoint files: atomic writes, and one validated, weights-only loader with errors that name the file."""

from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import ganplay
from ganplay.config import ConfigError, TrainConfig

FORMAT = "ganplay-checkpoint"
FORMAT_VERSION = 1
CHECKPOINT_NAME = "checkpoint.pt"  # the latest good checkpoint inside a run folder
BEST_CHECKPOINT_NAME = "best.pt"  # the checkpoint with the best live quality score, beside the latest
REQUIRED = ("config", "data", "step")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write to a temp file beside `path`, fsync, then os.replace: readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; others should read checkpoints as usual
        os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from err
    _fsync_dir(path.parent)
    return path


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a kill during atomic_write_bytes left in `folder` and its samples/; only those
    (.NAME.XXXX.tmp, the pattern mkstemp gets above). Call it only while nothing else writes there."""
    removed = []
    for place in (Path(folder), Path(folder) / "samples"):
        for tmp in place.glob(".*.tmp") if place.is_dir() else ():
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; done once, at import, before any thread starts
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def data_meta(data: Any) -> dict[str, Any]:
    """What a checkpoint needs to rebuild G and label its samples without loading the dataset."""
    meta = {"name": data.name, "title": data.title, "kind": data.kind, "shape": list(data.shape),
            "num_classes": data.num_classes, "class_names": list(data.class_names), "scale": data.scale}
    if data.label_prior:
        meta["label_prior"] = list(data.label_prior)  # clusters: how often each is drawn when none is asked for
    if data.kind == "toy":
        from ganplay.data import toy_modes

        try:
            modes, sigma = toy_modes(data.name)
            meta["modes"], meta["sigma"] = modes.tolist(), float(sigma)
        except ValueError:
            pass  # a toy without discrete modes
    return meta


def save_checkpoint(path: str | Path, state: dict[str, Any], config: TrainConfig, data: dict[str, Any]) -> Path:
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "ganplay_version": ganplay.__version__,
               "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "config": config.to_dict(), "data": data, **state}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def resolve_checkpoint_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file")
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load and validate; a run folder means its latest checkpoint. Only tensors and plain data are unpickled."""
    path = resolve_checkpoint_path(path)
    if not zipfile.is_zipfile(path):  # torch.save writes a zip; a cut-off copy loses its closing directory
        raise CheckpointError(f"{path}: not a readable checkpoint, the file is truncated or corrupt (not a torch zip archive)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except (zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint, the file is truncated or corrupt ({_short(err)})") from None
    except Exception as err:  # pickle.UnpicklingError from the weights-only unpickler, among others
        raise CheckpointError(f"{path}: refused to load: it holds more than tensors and plain data ({_short(err)})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = ", ".join(sorted(map(str, payload))[:8]) if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a ganplay checkpoint (found: {found})")
    version = payload.get("format_version", 0)
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path}: written by a newer ganplay (format {version}, this one reads {FORMAT_VERSION}); upgrade ganplay")
    missing = [key for key in REQUIRED if key not in payload]
    if missing or ("G" not in payload and "G_ema" not in payload):
        raise CheckpointError(f"{path}: incomplete ganplay checkpoint, missing {', '.join(missing) or 'generator weights'}")
    try:
        payload["config"] = TrainConfig.from_dict(payload["config"])
    except (ConfigError, TypeError) as err:
        raise CheckpointError(f"{path}: its config is invalid: {err}") from None
    payload["path"] = str(path)
    return payload


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return text[:200]


def export_generator(source: str | Path, out: str | Path, use_ema: bool = True,
                     commands: list[str] | None = None, metrics: dict[str, Any] | None = None) -> Path:
    """A generator-only copy of a checkpoint (no D, no optimizers): what Samples and Interpolate need.

    Beside it, OUT.json records the commands that made it and any metrics given, for people and the README.
    """
    ckpt = load_checkpoint(source)
    key = "G_ema" if use_ema and ckpt.get("G_ema") is not None else "G"
    if ckpt.get(key) is None:
        raise CheckpointError(f"{ckpt['path']}: has no generator weights to export")
    history = [*ckpt.get("commands", []), *(commands or [])]  # an export of an export keeps the whole story
    state = {"step": ckpt["step"], "generator_only": True, "commands": history, key: ckpt[key]}
    out = save_checkpoint(out, state, ckpt["config"], ckpt["data"])
    record = {"file": out.name, "bytes": out.stat().st_size, "step": ckpt["step"], "weights": key,
              "exported_from": str(ckpt["path"]), "commands": state["commands"], "metrics": metrics or {}}
    atomic_write_text(out.with_suffix(".json"), json.dumps(record, indent=2) + "\n")
    return out


def _built_models(ckpt: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from ganplay.models import build_models_seeded

    cfg, data = ckpt["config"], ckpt["data"]
    return build_models_seeded(cfg, tuple(data["shape"]), data["num_classes"], cfg.seed, data.get("scale", 1.0))


def _load_weights(module: nn.Module, weights: dict[str, Tensor], what: str, ckpt: dict[str, Any],
                  device: str | torch.device) -> nn.Module:
    try:
        module.load_state_dict(weights)
    except RuntimeError as err:
        raise CheckpointError(f"{ckpt['path']}: {what} weights do not match its config ({_short(err)})") from None
    return module.to(device).eval().requires_grad_(False)


def _generator_weights(ckpt: dict[str, Any], use_ema: bool) -> dict[str, Tensor]:
    """EMA weights when present and asked for, else the raw G."""
    weights = ckpt.get("G_ema") if use_ema and ckpt.get("G_ema") is not None else ckpt.get("G")
    if weights is None and ckpt.get("generator_only"):
        raise CheckpointError(f"{ckpt['path']}: a generator-only export keeps just the EMA generator; use EMA")
    if weights is None:
        raise CheckpointError(f"{ckpt['path']}: has no {'EMA ' if use_ema else ''}generator weights")
    return weights


def load_generator(path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """(G in eval mode, checkpoint payload). EMA weights when present and asked for, else the raw G."""
    ckpt = load_checkpoint(path)
    weights = _generator_weights(ckpt, use_ema)
    generator, _ = _built_models(ckpt)
    return _load_weights(generator, weights, "generator", ckpt, device), ckpt


def load_models(path: str | Path, device: str | torch.device = "cpu", use_ema: bool = True,
                need_d: bool = True) -> tuple[nn.Module, nn.Module | None, dict[str, Any]]:
    """(G, D, checkpoint payload), both in eval mode, for views of what D learned too (the 2-D lab).

    A generator-only file has no D: an error, or with need_d=False, D is None.
    """
    ckpt = load_checkpoint(path)
    weights = _generator_weights(ckpt, use_ema)
    if ckpt.get("D") is None and need_d:
        raise CheckpointError(f"{ckpt['path']}: keeps only the generator; D's view needs a run's own checkpoint")
    generator, discriminator = _built_models(ckpt)
    if ckpt.get("D") is not None:
        discriminator = _load_weights(discriminator, ckpt["D"], "discriminator", ckpt, device)
    else:
        discriminator = None
    return _load_weights(generator, weights, "generator", ckpt, device), discriminator, ckpt
