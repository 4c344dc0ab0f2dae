"""TrainConfig: the one typed object that travels from the form or the CLI to the trainer."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

DEVICES = ("auto", "cpu", "cuda", "mps")
D_NORMS = ("batch", "layer", "none")
LR_DECAYS = ("none", "linear")
OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("auto", "fp32", "bf16")  # what each means: precision.py


def _f(default: Any, help: str) -> Any:
    """A dataclass field whose help text feeds the CLI flags and the form's tooltips."""
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    # what to learn
    dataset: str = _f("mnist-bundled", "dataset name (see `python -m ganplay list`), folder:PATH or points:FILE.csv")
    data_dir: str = _f("", "where datasets are read/downloaded; empty: $GANPLAY_DATA or ./data")
    image_size: int = _f(28, "image side in pixels (images are resized and center-cropped)")
    channels: int = _f(0, "0: the dataset's own, 1: grayscale, 3: RGB")
    # the networks
    arch: str = _f("dcgan", "the networks' kind: mlp (fully connected layers) or dcgan (convolutions, for images)")
    conditional: bool = _f(
        False, "tell G and D each image's class, so you can ask G for a given digit (needs a labelled dataset)"
    )
    clusters: int = _f(
        0,
        "self-conditioning: condition G and D on K k-means clusters of the training images "
        "instead of labels (none are used), drawn at their real shares; G then switches "
        "between kinds of image instead of blending them (0: off)",
    )
    z_dim: int = _f(100, "size of the random noise vector z that G turns into a sample")
    ngf: int = _f(64, "how wide G is: channels of its last hidden layer (DCGAN ngf); wider learns more, slower")
    ndf: int = _f(64, "how wide D is: channels of its first layer (DCGAN ndf)")
    mlp_hidden: int = _f(256, "MLP hidden units per layer")
    mlp_layers: int = _f(3, "MLP hidden layers")
    d_norm: str = _f(
        "batch", "how D's layers are normalised: batch, layer or none (DCGAN only; WGAN-GP needs layer or none)"
    )
    spectral_norm: bool = _f(
        False,
        "keep each D layer from amplifying its input more than 1x, which steadies training (spectral normalisation)",
    )
    d_dropout: float = _f(0.0, "share of D's activations dropped at random in each step, which slows D down (dropout)")
    pac: int = _f(
        1,
        "how many samples D judges together (1, 2 or 4): seeing several at once, D notices when G "
        "makes the same thing again and again (PacGAN packing)",
    )
    augment: str = _f(
        "none",
        "shift or blank parts of every image D sees, real and generated, so D cannot "
        "memorise a small dataset: none, translation, cutout or translation+cutout "
        "(DiffAugment)",
    )
    info_codes: int = _f(
        0,
        "InfoGAN: a categorical code with this many values, read from z's first entries, "
        "that D must recover from each generated image; an unconditional G then makes one "
        "distinct kind of sample per code (often one digit) instead of blends (0: off)",
    )
    info_weight: float = _f(1.0, "weight of InfoGAN's code loss for G and D (info_codes > 0)")
    # the game
    loss: str = _f(
        "nsgan",
        "the rule each player is scored by: nsgan (the usual), minimax (the original, which "
        "stalls when D wins), lsgan (least squares), hinge, wgan-gp (Wasserstein with "
        "gradient penalty), wgan-clip (the original Wasserstein GAN, its critic's weights clipped)",
    )
    gp_weight: float = _f(10.0, "gradient penalty weight (wgan-gp only)")
    weight_clip: float = _f(
        0.01, "wgan-clip only: after every D update each of D's weights is clipped into [-c, c] (the paper's c 0.01)"
    )
    d_steps: int = _f(1, "how many times D learns for each time G learns (WGAN-GP usually 5)")
    batch_size: int = _f(64, "real images (or points) D sees per update; G makes as many")
    optimizer: str = _f(
        "adam",
        "how both networks learn from their gradients: adam (the usual) or rmsprop (WGAN with weight clipping: "
        "its paper found Adam's momentum unstable with a clipped critic)",
    )
    lr_g: float = _f(2e-4, "how big G's learning steps are (Adam learning rate)")
    lr_d: float = _f(
        2e-4,
        "how big D's learning steps are (Adam learning rate); a D that learns faster than G "
        "often helps (two time-scale rule)",
    )
    betas: tuple[float, float] = _f(
        (0.5, 0.999), "how much Adam's steps follow past gradients (beta1 beta2); GANs use 0.5 or 0 for beta1"
    )
    lr_decay: str = _f(
        "none",
        "none, or linear: hold both learning rates for the first half, then lower them "
        "to 0 by the last step, which sharpens the samples",
    )
    ema: bool = _f(True, "sample from a slowly moving average of G's weights: steadier, cleaner samples (EMA)")
    ema_decay: float = _f(0.999, "how slowly that average moves: 0.999 averages about the last 1,000 G steps")
    # the run
    steps: int = _f(5000, "generator steps to train")
    seed: int = _f(0, "random seed: same config and seed give the same run on CPU")
    device: str = _f("auto", "auto, cpu, cuda or mps")
    precision: str = _f(
        "auto",
        "auto, fp32 or bf16: bf16 runs the networks' matrix work in 16-bit (weights, losses and optimizer stay "
        "32-bit), up to about twice as fast where the chip has native bf16 (CUDA, CPUs with AVX-512 BF16 or "
        "AMX); auto picks it there for image runs, fp32 elsewhere and for 2-D runs",
    )
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
        from ganplay.config_checks import validate  # it reads this module's types: imported when first needed

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
        wrong = {
            key: f"{key} must be {TYPE_WORDS[kind]}, got {shown(data[key])}"
            for key, kind in field_types().items()
            if key in data and not fits_type(data[key], kind)
        }
        if wrong:  # here, where the file can be named; flags given beside --config are checked later
            raise ConfigError(wrong)
    except OSError as err:
        raise ConfigError({"config": f"cannot read {path}: {err.strerror or err}"}) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            {
                "config": f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at position "
                f"{err.start:,}): a config file is JSON"
            }
        ) from None
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


def type_errors(cfg: TrainConfig) -> dict[str, str]:
    errors = {}
    for name, kind in field_types().items():
        value = getattr(cfg, name)
        if not fits_type(value, kind):
            errors[name] = f"{name} must be {TYPE_WORDS[kind]}, got {shown(value)}"
        elif kind is str and len(value) > MAX_TEXT:
            errors[name] = f"{name} is {len(value):,} characters long; at most {MAX_TEXT:,}"
    return errors
