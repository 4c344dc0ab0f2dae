"""The checkpoint format: the typed Checkpoint, the format version and its upgrade chain, and the checks a
file's contents must pass before anything is built from them."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from ganplay.config import MAX_TEXT, ConfigError, TrainConfig, fits_type, shown

FORMAT = "ganplay-checkpoint"
FORMAT_VERSION = 1  # the format this ganplay writes; files of older formats are upgraded on load
REQUIRED = ("config", "data", "step")
WEIGHTS = ("G", "D", "G_ema")  # the networks' state dicts a file may hold
HEADER = ("format", "format_version", "ganplay_version", "saved_at", "config", "data", "generator_only", "commands")
DATA_FIELDS = ("name", "title", "kind", "shape", "num_classes", "class_names", "scale", "label_prior", "modes", "sigma")
MAX_CLASSES = 10_000  # classes or clusters in a data description (the config caps clusters there too)
MAX_MODES = 10_000  # modes of a 2-D mixture


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and what is wrong."""


@dataclass
class Checkpoint:
    """A checked checkpoint, read through attributes.

    On disk a checkpoint stays a plain dict of tensors and plain data, so torch.load(weights_only=True) reads
    it; this is the view load_checkpoint returns once the file has passed every check below.
    """

    config: TrainConfig
    data: dict[str, Any]  # the data description (checkpoints.data_meta): rebuilds G and labels its samples
    step: int = 0  # generator steps trained
    state: dict[str, Any] = field(default_factory=dict)  # the trainer's state_dict as saved: weights, optimizers
    path: str = ""  # the file it was read from; "" for one made in memory
    generator_only: bool = False  # an export: one generator's weights, nothing to resume training from
    commands: list[str] = field(default_factory=list)  # the commands that made it, oldest first
    format_version: int = FORMAT_VERSION  # the format the file was written in, before any upgrade
    ganplay_version: str = ""  # the ganplay that wrote it
    saved_at: str = ""  # when, in UTC (ISO 8601)

    # The trainer's and the file's own names for the three networks' weights (None when the file has none).
    @property
    def G(self) -> dict[str, Tensor] | None:
        return self.state.get("G")

    @property
    def D(self) -> dict[str, Tensor] | None:
        return self.state.get("D")

    @property
    def G_ema(self) -> dict[str, Tensor] | None:
        return self.state.get("G_ema")


# -- the upgrade chain ---------------------------------------------------------------------------------------

Upgrade = Callable[[dict[str, Any]], dict[str, Any]]
# Format N -> the step that rewrites a file's raw dict of format N as format N + 1. Steps run before any check,
# so the checks only ever see today's format: a renamed config field is renamed here, a removed one dropped, an
# added one given the value that reproduces the old behaviour. Format 1 is the first, so the chain is empty.
UPGRADES: dict[int, Upgrade] = {}


def upgrade_from(version: int) -> Callable[[Upgrade], Upgrade]:
    """Register a function as the step from format `version` to `version + 1`."""

    def register(step: Upgrade) -> Upgrade:
        UPGRADES[version] = step
        return step

    return register


def upgraded(payload: dict[str, Any], where: str) -> dict[str, Any]:
    """The raw dict brought to FORMAT_VERSION, one registered step at a time."""
    version = payload.get("format_version")
    if not fits_type(version, int) or version < 1:
        raise CheckpointError(f"{where}: its format_version must be a whole number from 1, got {shown(version)}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{where}: written by a newer ganplay (format {version}; this one reads up to "
            f"{FORMAT_VERSION}); upgrade ganplay to open it"
        )
    while version < FORMAT_VERSION:
        if version not in UPGRADES:
            raise CheckpointError(f"{where}: format {version} has no upgrade to format {version + 1}")
        payload = UPGRADES[version](dict(payload))
        version += 1
        payload["format_version"] = version
    return payload


# -- the checks ----------------------------------------------------------------------------------------------


def from_payload(payload: dict[str, Any], where: str) -> Checkpoint:
    """A file's raw dict as a Checkpoint: upgraded, then every field checked; CheckpointError names the file."""
    written = payload.get("format_version")
    payload = upgraded(payload, where)
    missing = [key for key in REQUIRED if key not in payload]
    if missing or ("G" not in payload and "G_ema" not in payload):
        lacking = ", ".join(missing) or "generator weights"
        raise CheckpointError(f"{where}: incomplete ganplay checkpoint, missing {lacking}")
    config = checked_config(payload["config"], written, where)
    ckpt = Checkpoint(
        config=config,
        data=checked_data(payload["data"], config, where),
        step=payload["step"],
        state={k: v for k, v in payload.items() if k not in HEADER},
        path=where,
        generator_only=payload.get("generator_only", False),
        commands=payload.get("commands", []),
        format_version=written,
        ganplay_version=payload.get("ganplay_version", ""),
        saved_at=payload.get("saved_at", ""),
    )
    _check_header(ckpt)
    check_weights(ckpt)
    return ckpt


def checked_config(raw: Any, written: int, where: str) -> TrainConfig:
    """TrainConfig's own type checks and validation, on a config of today's format (upgraded from format
    `written`). Only the training data may be missing here: a generator needs none of it, so a model trained
    on a folder samples on any machine."""
    if not isinstance(raw, dict) or not all(isinstance(key, str) for key in raw):
        raise CheckpointError(f"{where}: its config is not a mapping of field names to values")
    try:
        config = TrainConfig.from_dict(raw)
    except ConfigError as err:  # unknown fields: written by a newer ganplay without a new format, or edited
        own = "the file's own" if written == FORMAT_VERSION else f"to which the file's format {written} was upgraded"
        raise CheckpointError(
            f"{where}: its config is invalid: {err} (not fields of checkpoint format {FORMAT_VERSION}, {own})"
        ) from None
    problems = config.errors()
    if "dataset" in problems and fits_type(config.dataset, str) and len(config.dataset) <= MAX_TEXT:
        del problems["dataset"]  # a dataset not found here, not a value of the wrong type
    if problems:
        raise CheckpointError(f"{where}: its config is invalid: {ConfigError(problems)}")
    return config


def checked_data(raw: Any, config: TrainConfig, where: str) -> dict[str, Any]:
    """The data description with the defaults old files leave out, checked against itself and the config."""
    if not isinstance(raw, dict):
        raise CheckpointError(f"{where}: its data description is not a mapping, got {shown(raw)}")
    data = {"num_classes": 0, "class_names": [], "scale": 1.0, **raw}  # what the oldest files leave out
    problem = (
        _fields_problem(data) or _shape_problem(data, config) or _classes_problem(data, config) or _points_problem(data)
    )
    if problem:
        raise CheckpointError(f"{where}: its data description is invalid: {problem}")
    return data


def _fields_problem(data: dict[str, Any]) -> str | None:
    unknown = sorted(shown(key) for key in data if key not in DATA_FIELDS)
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    missing = [key for key in ("name", "title", "kind", "shape") if key not in data]
    if missing:
        return f"{', '.join(missing)} missing"
    for key in ("name", "title"):
        if not _is_text(data[key]):
            return f"{key} must be text of at most {MAX_TEXT:,} characters, got {shown(data[key])}"
    if not isinstance(data["kind"], str) or data["kind"] not in ("image", "toy"):
        return f"kind must be image or toy, got {shown(data['kind'])}"
    return None


def _shape_problem(data: dict[str, Any], config: TrainConfig) -> str | None:
    """(2,) for 2-D points; (C, S, S) for images, S the config's image_size and C its channels (1 or 3 when the
    config takes the dataset's own). Anything else would make G's size the file's to choose."""
    shape, size = data["shape"], config.image_size
    if data["kind"] == "toy":
        expected = [[2]]
    else:
        expected = [[channels, size, size] for channels in ([config.channels] if config.channels else [1, 3])]
    # Whole numbers first: with a tensor in the list, `in` would ask a tensor's ==, which gives no plain answer.
    whole = isinstance(shape, list) and all(fits_type(side, int) for side in shape)
    if not whole or shape not in expected:
        fits = " or ".join(map(str, expected))
        return (
            f"shape must be {fits} for {'2-D points' if data['kind'] == 'toy' else 'images'} with the "
            f"config's image_size {size} and channels {config.channels}, got {shown(shape)}"
        )
    return None


def _classes_problem(data: dict[str, Any], config: TrainConfig) -> str | None:
    count, names = data["num_classes"], data["class_names"]
    if not fits_type(count, int) or not 0 <= count <= MAX_CLASSES:
        return f"num_classes must be a whole number from 0 to {MAX_CLASSES:,}, got {shown(count)}"
    if not isinstance(names, list) or len(names) != count or not all(_is_text(name) for name in names):
        return f"class_names must be a list of {count} texts, got {shown(names)}"
    if config.clusters and count != config.clusters:
        return f"num_classes ({count}) must be the config's clusters ({config.clusters})"
    if config.takes_labels and count < 1:
        return "a model that takes labels needs at least one class; num_classes is 0"
    prior = data.get("label_prior")
    if prior is not None and not (
        isinstance(prior, list)
        and len(prior) == count
        and all(_is_finite(p) and p >= 0 for p in prior)
        and sum(prior) > 0
    ):
        return f"label_prior must be {count} shares of at least 0, not all 0, got {shown(prior)}"
    return None


def _points_problem(data: dict[str, Any]) -> str | None:
    if not _is_finite(data["scale"]) or data["scale"] <= 0:
        return f"scale must be a positive number, got {shown(data['scale'])}"
    if ("modes" in data) != ("sigma" in data):
        return "modes and sigma go together: a 2-D mixture's means and their spread"
    if "modes" not in data:
        return None
    modes = data["modes"]
    if (
        not isinstance(modes, list)
        or not 1 <= len(modes) <= MAX_MODES
        or not all(isinstance(mode, list) and len(mode) == 2 and all(map(_is_finite, mode)) for mode in modes)
    ):
        return f"modes must be 1 to {MAX_MODES:,} pairs of numbers, got {shown(modes)}"
    if not _is_finite(data["sigma"]) or data["sigma"] <= 0:
        return f"sigma must be a positive number, got {shown(data['sigma'])}"
    return None


def _check_header(ckpt: Checkpoint) -> None:
    problem = _header_problem(ckpt)
    if problem:
        raise CheckpointError(f"{ckpt.path}: {problem}")


def _header_problem(ckpt: Checkpoint) -> str | None:
    """The plain fields beside the config and the data, and the weights' container: what every reader relies on."""
    if not fits_type(ckpt.step, int) or ckpt.step < 0:
        return f"step must be a whole number of at least 0, got {shown(ckpt.step)}"
    if not isinstance(ckpt.generator_only, bool):
        return f"generator_only must be true or false, got {shown(ckpt.generator_only)}"
    if not isinstance(ckpt.commands, list) or not all(isinstance(c, str) for c in ckpt.commands):
        return f"commands must be a list of texts, got {shown(ckpt.commands)}"
    if not isinstance(ckpt.ganplay_version, str) or not isinstance(ckpt.saved_at, str):
        return "ganplay_version and saved_at must be text"
    for key in WEIGHTS:
        weights = ckpt.state.get(key)
        if weights is not None and not (
            isinstance(weights, dict)
            and all(isinstance(name, str) and isinstance(tensor, Tensor) for name, tensor in weights.items())
        ):
            return f"{key} must be a state dict (names to tensors), got {shown(type(weights).__name__)}"
    return None


def check_weights(ckpt: Checkpoint) -> None:
    """Every state dict in the file has the names and shapes of the networks its config builds.

    Compared with networks built on the meta device (shapes, no memory), so a config whose networks would need
    terabytes costs nothing to check and a mismatch is found before anything is allocated or exported.
    """
    generator, discriminator = meta_networks(ckpt.config, ckpt.data, ckpt.path)
    for key in ("G", "G_ema"):
        _check_state(ckpt, key, generator)
    if ckpt.D is not None:
        held = sum(tensor.numel() for tensor in ckpt.D.values())
        size = sum(parameter.numel() for parameter in discriminator.parameters())
        if size > held:  # too few numbers for this D: say so before building it for real below
            raise CheckpointError(
                f"{ckpt.path}: its D weights do not match the networks its config builds (its "
                f"D has {size:,} parameters, the file holds {held:,} numbers for it)"
            )
        if ckpt.config.spectral_norm:  # its parameter names exist only on a real network (see meta_networks)
            discriminator = real_networks(ckpt)[1]
        _check_state(ckpt, "D", discriminator)


def meta_networks(config: TrainConfig, data: dict[str, Any], where: str) -> tuple[nn.Module, nn.Module]:
    """(G, D) on the meta device (building.shapes_only): every name and shape, nothing allocated."""
    from ganplay.building import shapes_only

    try:
        return shapes_only(config, tuple(data["shape"]), data["num_classes"], data["scale"])
    except ValueError as err:
        raise CheckpointError(f"{where}: its config and data description build no networks ({err})") from None


def real_networks(ckpt: Checkpoint) -> tuple[nn.Module, nn.Module]:
    from ganplay.building import build_models_seeded

    data = ckpt.data
    return build_models_seeded(ckpt.config, tuple(data["shape"]), data["num_classes"], ckpt.config.seed, data["scale"])


def _check_state(ckpt: Checkpoint, key: str, module: nn.Module) -> None:
    weights = ckpt.state.get(key)
    problem = None if weights is None else _mismatch(weights, module.state_dict())
    if problem:
        raise CheckpointError(f"{ckpt.path}: its {key} weights do not match the networks its config builds ({problem})")


def _mismatch(weights: dict[str, Tensor], expected: dict[str, Tensor]) -> str | None:
    missing = [name for name in expected if name not in weights]
    extra = [name for name in weights if name not in expected]
    if missing or extra:
        return "; ".join(
            f"{what} {', '.join(map(shown, names[:3]))}{' ...' if len(names) > 3 else ''}"
            for what, names in (("missing", missing), ("unexpected", extra))
            if names
        )
    for name, tensor in expected.items():
        if weights[name].shape != tensor.shape:
            return f"{name} is {tuple(weights[name].shape)}, the config builds {tuple(tensor.shape)}"
        if weights[name].is_floating_point() != tensor.is_floating_point():
            return f"{name} holds {weights[name].dtype}, the config builds {tensor.dtype}"
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _is_finite(value: Any) -> bool:
    return fits_type(value, float) and math.isfinite(value)
