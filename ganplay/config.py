"""TrainConfig: the one typed object that travels from the form or the CLI to the trainer."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DEVICES = ("auto", "cpu", "cuda", "mps")
D_NORMS = ("batch", "layer", "none")
LR_DECAYS = ("none", "linear")


def _f(default: Any, help: str) -> Any:
    """A dataclass field whose help text feeds the CLI flags and the form's tooltips."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    # what to learn
    dataset: str = _f("mnist-bundled", "dataset name (see `python -m ganplay list`) or folder:PATH")
    data_dir: str = _f("", "where datasets are read/downloaded; empty: $GANPLAY_DATA or ./data")
    image_size: int = _f(28, "image side in pixels (images are resized and center-cropped)")
    channels: int = _f(0, "0: the dataset's own, 1: grayscale, 3: RGB")
    # the networks
    arch: str = _f("dcgan", "the networks' kind: mlp (fully connected layers) or dcgan (convolutions, for images)")
    conditional: bool = _f(False, "tell G and D each image's class, so you can ask G for a given digit "
                                  "(needs a labelled dataset)")
    clusters: int = _f(0, "self-conditioning: condition G and D on K k-means clusters of the training images "
                          "instead of labels (none are used), drawn at their real shares; G then switches "
                          "between kinds of image instead of blending them (0: off)")
    z_dim: int = _f(100, "size of the random noise vector z that G turns into a sample")
    ngf: int = _f(64, "how wide G is: channels of its last hidden layer (DCGAN ngf); wider learns more, slower")
    ndf: int = _f(64, "how wide D is: channels of its first layer (DCGAN ndf)")
    mlp_hidden: int = _f(256, "MLP hidden units per layer")
    mlp_layers: int = _f(3, "MLP hidden layers")
    d_norm: str = _f("batch", "how D's layers are normalised: batch, layer or none (DCGAN only; WGAN-GP needs "
                              "layer or none)")
    spectral_norm: bool = _f(False, "keep each D layer from amplifying its input more than 1x, which steadies "
                                    "training (spectral normalisation)")
    d_dropout: float = _f(0.0, "share of D's activations dropped at random in each step, which slows D down "
                               "(dropout)")
    pac: int = _f(1, "how many samples D judges together (1, 2 or 4): seeing several at once, D notices when G "
                     "makes the same thing again and again (PacGAN packing)")
    augment: str = _f("none", "shift or blank parts of every image D sees, real and generated, so D cannot "
                              "memorise a small dataset: none, translation, cutout or translation+cutout "
                              "(DiffAugment)")
    info_codes: int = _f(0, "InfoGAN: a categorical code with this many values, read from z's first entries, "
                            "that D must recover from each generated image; an unconditional G then makes one "
                            "distinct kind of sample per code (often one digit) instead of blends (0: off)")
    info_weight: float = _f(1.0, "weight of InfoGAN's code loss for G and D (info_codes > 0)")
    # the game
    loss: str = _f("nsgan", "the rule each player is scored by: nsgan (the usual), minimax (the original, which "
                            "stalls when D wins), lsgan (least squares), hinge, wgan-gp (Wasserstein with "
                            "gradient penalty)")
    gp_weight: float = _f(10.0, "gradient penalty weight (wgan-gp only)")
    d_steps: int = _f(1, "how many times D learns for each time G learns (WGAN-GP usually 5)")
    batch_size: int = _f(64, "real images (or points) D sees per update; G makes as many")
    lr_g: float = _f(2e-4, "how big G's learning steps are (Adam learning rate)")
    lr_d: float = _f(2e-4, "how big D's learning steps are (Adam learning rate); a D that learns faster than G "
                           "often helps (two time-scale rule)")
    betas: tuple[float, float] = _f((0.5, 0.999), "how much Adam's steps follow past gradients (beta1 beta2); "
                                                  "GANs use 0.5 or 0 for beta1")
    lr_decay: str = _f("none", "none, or linear: hold both learning rates for the first half, then lower them "
                               "to 0 by the last step, which sharpens the samples")
    ema: bool = _f(True, "sample from a slowly moving average of G's weights: steadier, cleaner samples (EMA)")
    ema_decay: float = _f(0.999, "how slowly that average moves: 0.999 averages about the last 1,000 G steps")
    # the run
    steps: int = _f(5000, "generator steps to train")
    seed: int = _f(0, "random seed: same config and seed give the same run on CPU")
    device: str = _f("auto", "auto, cpu, cuda or mps")
    log_every: int = _f(10, "steps between metric read-backs from the device")
    sample_every: int = _f(250, "steps between fixed-noise snapshots")
    checkpoint_every: int = _f(1000, "steps between checkpoints")
    eval_every: int = _f(250, "steps between live quality scores, which also keep best.pt (0: off)")
    num_samples: int = _f(64, "fixed-noise samples in each snapshot")

    @property
    def takes_labels(self) -> bool:
        """G and D are given a label: a class (conditional) or a k-means cluster (clusters)."""
        return self.conditional or bool(self.clusters)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError({"config": f"unknown field(s): {', '.join(unknown)}"})
        values = dict(data)
        if isinstance(values.get("betas"), (list, tuple)):  # anything else is reported by validate()
            values["betas"] = tuple(values["betas"])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        return cls.from_dict(_parse_object(text))

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(read_config_file(path))

    # -- validation ----------------------------------------------------------------------------
    def errors(self) -> dict[str, str]:
        """Every problem, keyed by field, so a form can show each message beside its field."""
        return validate(self)

    def validated(self) -> TrainConfig:
        problems = self.errors()
        if problems:
            raise ConfigError(problems)
        return self


def _parse_object(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError({"config": f"not valid JSON: {err}"}) from None
    except RecursionError:
        raise ConfigError({"config": "not a config: its JSON is nested too deeply to read"}) from None
    if not isinstance(data, dict):
        raise ConfigError({"config": "a config file must hold a JSON object"})
    return data


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Only the fields a JSON file sets, so the preset and dataset defaults fill the rest."""
    path = Path(path)
    try:
        data = _parse_object(path.read_bytes().decode("utf-8"))
        unknown = sorted(set(data) - {f.name for f in fields(TrainConfig)})
        if unknown:
            raise ConfigError({"config": f"unknown field(s): {', '.join(unknown)}"})
        wrong = {key: f"{key} must be {TYPE_WORDS[kind]}, got {shown(data[key])}"
                 for key, kind in field_types().items() if key in data and not fits_type(data[key], kind)}
        if wrong:  # here, where the file can be named; flags given beside --config are checked later
            raise ConfigError(wrong)
    except OSError as err:
        raise ConfigError({"config": f"cannot read {path}: {err.strerror or err}"}) from None
    except UnicodeDecodeError as err:
        raise ConfigError({"config": f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at position "
                                     f"{err.start:,}): a config file is JSON"}) from None
    except ConfigError as err:
        raise ConfigError({k: f"{path}: {v}" for k, v in err.errors.items()}) from None
    return data


def field_help() -> dict[str, str]:
    return {f.name: f.metadata.get("help", "") for f in fields(TrainConfig)}


class ConfigError(ValueError):
    """Invalid configuration; `errors` maps each field to a specific message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" if k != "config" else v for k, v in errors.items()))


MAX_TEXT = 4096  # characters in a text field: a 50 MB dataset name was copied into every checkpoint
SHOWN = 60  # characters of a bad value quoted in a message
TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "text", tuple: "two numbers"}


def shown(value: Any) -> str:
    """A value as a message quotes it: repr, cut to SHOWN characters (a 50 MB string was echoed whole)."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}... ({len(text):,} characters)"


def field_types() -> dict[str, type]:
    """Each TrainConfig field's type, from its default."""
    return {f.name: type(f.default) for f in fields(TrainConfig)}


def fits_type(value: Any, kind: type) -> bool:
    """Whether a value has a field's type as JSON gives it: true is no number, 2.0 is no integer, a list of
    two numbers is a pair of betas."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is tuple:
        return isinstance(value, (list, tuple)) and all(fits_type(v, float) for v in value)
    return isinstance(value, kind)


def _type_errors(cfg: TrainConfig) -> dict[str, str]:
    errors = {}
    for name, kind in field_types().items():
        value = getattr(cfg, name)
        if not fits_type(value, kind):
            errors[name] = f"{name} must be {TYPE_WORDS[kind]}, got {shown(value)}"
        elif kind is str and len(value) > MAX_TEXT:
            errors[name] = f"{name} is {len(value):,} characters long; at most {MAX_TEXT:,}"
    return errors


def _range(errors: dict, name: str, value: Any, low: float, high: float, kind: type = int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not isinstance(value, int)):
        errors[name] = f"{name} must be {'an integer' if kind is int else 'a number'}, got {value!r}"
    elif not low <= value <= high:
        errors[name] = f"{name} must be between {low:g} and {high:g}, got {value!r}"


def validate(cfg: TrainConfig) -> dict[str, str]:
    # Imported here because the registries import models that only need the config's type.
    from ganplay.data import dataset_info
    from ganplay.losses import LOSSES
    from ganplay.models import ARCHS

    errors = _type_errors(cfg)
    if errors:
        return errors  # the checks below rely on each field having its type
    info: dict[str, Any] | None = None
    try:
        info = dataset_info(cfg.dataset)
    except ValueError as err:
        errors["dataset"] = str(err)
    if cfg.arch not in ARCHS:
        errors["arch"] = f"unknown architecture {cfg.arch!r}; choose one of: {', '.join(ARCHS.names())}"
    if cfg.loss not in LOSSES:
        errors["loss"] = f"unknown loss {cfg.loss!r}; choose one of: {', '.join(LOSSES.names())}"
    if cfg.device not in DEVICES:
        errors["device"] = f"device must be one of {', '.join(DEVICES)}, got {cfg.device!r}"
    if cfg.lr_decay not in LR_DECAYS:
        errors["lr_decay"] = f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {cfg.lr_decay!r}"
    if cfg.d_norm not in D_NORMS:
        errors["d_norm"] = f"d_norm must be one of {', '.join(D_NORMS)}, got {cfg.d_norm!r}"
    _range(errors, "image_size", cfg.image_size, 8, 256)
    if cfg.channels not in (0, 1, 3):
        errors["channels"] = f"channels must be 0 (dataset's own), 1 or 3, got {cfg.channels!r}"
    _range(errors, "z_dim", cfg.z_dim, 1, 1024)
    _range(errors, "ngf", cfg.ngf, 4, 1024)
    _range(errors, "ndf", cfg.ndf, 4, 1024)
    _range(errors, "mlp_hidden", cfg.mlp_hidden, 4, 8192)
    _range(errors, "mlp_layers", cfg.mlp_layers, 1, 16)
    _range(errors, "d_dropout", cfg.d_dropout, 0.0, 0.9, float)
    _check_augment(cfg, info, errors)
    if cfg.pac not in (1, 2, 4):
        errors["pac"] = f"pac must be 1, 2 or 4, got {cfg.pac!r}"
    _range(errors, "gp_weight", cfg.gp_weight, 0.0, 1000.0, float)
    _range(errors, "d_steps", cfg.d_steps, 1, 100)
    _range(errors, "batch_size", cfg.batch_size, 1, 4096)
    _range(errors, "lr_g", cfg.lr_g, 1e-8, 1.0, float)
    _range(errors, "lr_d", cfg.lr_d, 1e-8, 1.0, float)
    if len(cfg.betas) != 2 or not all(isinstance(b, (int, float)) and 0.0 <= b < 1.0 for b in cfg.betas):
        errors["betas"] = f"betas must be two numbers in [0, 1), got {list(cfg.betas)!r}"
    _range(errors, "ema_decay", cfg.ema_decay, 0.0, 0.99999, float)
    _range(errors, "steps", cfg.steps, 1, 100_000_000)
    _range(errors, "seed", cfg.seed, 0, 2**31 - 1)
    _range(errors, "log_every", cfg.log_every, 1, 100_000)
    _range(errors, "sample_every", cfg.sample_every, 1, 10_000_000)
    _range(errors, "checkpoint_every", cfg.checkpoint_every, 1, 10_000_000)
    _range(errors, "eval_every", cfg.eval_every, 0, 10_000_000)
    _range(errors, "num_samples", cfg.num_samples, 1, 4096)
    _check_info_codes(cfg, errors)
    _check_clusters(cfg, info, errors)
    if "batch_size" not in errors and "pac" not in errors and cfg.batch_size % cfg.pac:
        errors["pac"] = f"batch_size ({cfg.batch_size}) must be a multiple of pac ({cfg.pac})"
    if cfg.loss == "wgan-gp" and cfg.d_norm == "batch" and cfg.arch == "dcgan":
        errors["d_norm"] = "wgan-gp penalises each sample's gradient; batch norm in D mixes samples: use d_norm layer or none"
    if info is not None:
        _check_against_dataset(cfg, info, errors)
    return errors


def _check_info_codes(cfg: TrainConfig, errors: dict[str, str]) -> None:
    _range(errors, "info_weight", cfg.info_weight, 0.0, 100.0, float)
    _range(errors, "info_codes", cfg.info_codes, 0, 1024)
    if "info_codes" in errors or cfg.info_codes == 0:
        return
    if cfg.info_codes == 1:
        errors["info_codes"] = "a code with one value says nothing: use 0 (off) or 2 or more"
    elif isinstance(cfg.z_dim, int) and cfg.info_codes > cfg.z_dim:
        errors["info_codes"] = (f"info_codes ({cfg.info_codes}) needs z_dim of at least {cfg.info_codes}: "
                                f"the code is read from z's first entries (z_dim is {cfg.z_dim})")
    elif cfg.conditional:
        errors["info_codes"] = "a conditional model is told its class; InfoGAN finds classes without labels: use one"
    elif cfg.pac != 1:
        errors["info_codes"] = f"InfoGAN's code head reads one sample at a time; pac {cfg.pac} packs them: use pac 1"


def _check_clusters(cfg: TrainConfig, info: dict[str, Any] | None, errors: dict[str, str]) -> None:
    _range(errors, "clusters", cfg.clusters, 0, 10_000)
    if "clusters" in errors or cfg.clusters == 0:
        return
    if cfg.clusters == 1:
        errors["clusters"] = "one cluster is no condition: use 0 (off) or 2 or more"
    elif cfg.conditional:
        errors["clusters"] = "clusters stand in for labels: use conditional or clusters, not both"
    elif cfg.info_codes:
        errors["clusters"] = "InfoGAN codes and clusters both split the data: use one"
    elif info is not None and info["kind"] != "image":
        errors["clusters"] = f"clusters group a fixed set of images; {cfg.dataset} draws fresh 2-D points"


def _check_augment(cfg: TrainConfig, info: dict[str, Any] | None, errors: dict[str, str]) -> None:
    from ganplay.augment import NO_AUGMENT, parse_policy

    try:
        parse_policy(cfg.augment)
    except ValueError as err:
        errors["augment"] = f"{err} (or none, or names joined by '+')"
        return
    if cfg.augment != NO_AUGMENT and info is not None and info["kind"] != "image":
        errors["augment"] = f"augmentation shifts and blanks image pixels; {cfg.dataset} is 2-D points: use none"


def _check_against_dataset(cfg: TrainConfig, info: dict[str, Any], errors: dict[str, str]) -> None:
    if info["kind"] == "toy" and cfg.arch == "dcgan":
        errors["arch"] = f"dcgan needs images; {cfg.dataset} is 2-D points: use arch mlp"
    if cfg.conditional and not info["labelled"]:
        errors["conditional"] = f"conditional needs class labels and {cfg.dataset} has none"
    if info["kind"] == "image" and cfg.arch == "dcgan" and "image_size" not in errors:
        from ganplay.models import upsampling_plan

        try:
            upsampling_plan(cfg.image_size)
        except ValueError as err:
            errors["image_size"] = str(err)
