"""Checkpoint files: atomic writes, checked output paths, and one validated, weights-only loader whose errors
name the file. The format itself (the typed Checkpoint, its versions, upgrades and checks): checkpoint_format."""

from __future__ import annotations

import io
import json
import os
import stat
import tempfile
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

CHECKPOINT_NAME = "checkpoint.pt"  # the latest good checkpoint inside a run folder
BEST_CHECKPOINT_NAME = "best.pt"  # the checkpoint with the best live quality score, beside the latest
EXPORT_SUFFIXES = (".pt",)
NAME_IN_TEMP = 100  # characters of the target's name kept in its temp file's name, so a 250-character name fits


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write to a temp file beside `path`, fsync, then os.replace: readers see the old or the new file, never half.

    Only a regular file, or nothing, is replaced (see refuse_unless_regular). Errors name `path`, not the temp file.
    """
    path = Path(path)
    refuse_unless_regular(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:NAME_IN_TEMP]}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; others should read checkpoints as usual
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from err
    _fsync_dir(path.parent)
    return path


def refuse_unless_regular(path: Path) -> None:
    """UsageError when `path` holds anything but a regular file, through links: a device, a fifo, a folder or a
    socket is never replaced by a file (as root, `export --out /dev/full` used to turn the device into one)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # nothing there (or a dangling link): a new file
    except OSError as err:  # a file where a folder should be, a link loop, a name too long
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path} is {_kind_of(mode)}, not a regular file: refusing to replace it with a file")


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISFIFO, "a fifo (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((words for test, words in kinds if test(mode)), "something else")


def check_output_path(path: str | Path, suffixes: tuple[str, ...], what: str = "an output file") -> Path:
    """A path named for a new output: nothing or a regular file there (which will be replaced), and one of
    `suffixes` at its end. Checked before any work is done, so a wrong path costs nothing and writes nothing."""
    path = Path(path)
    refuse_unless_regular(path)
    if path.suffix not in suffixes:
        raise UsageError(f"{what} must end in {' or '.join(suffixes)}, got {path}")
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
