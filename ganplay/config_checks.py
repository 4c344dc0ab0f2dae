"""What makes a TrainConfig valid beyond its fields' types: ranges, the named choices, and the combinations each
dataset, architecture and loss allow. Every problem is keyed by its field, so a form shows it beside the field."""

from __future__ import annotations

from typing import Any

from ganplay.config import D_NORMS, DEVICES, LR_DECAYS, OPTIMIZERS, PRECISIONS, TrainConfig, type_errors


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

    errors = type_errors(cfg)
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
    if cfg.precision not in PRECISIONS:
        errors["precision"] = f"precision must be one of {', '.join(PRECISIONS)}, got {cfg.precision!r}"
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
    _check_weight_clip(cfg, errors)
    if cfg.optimizer not in OPTIMIZERS:
        errors["optimizer"] = f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {cfg.optimizer!r}"
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
    _check_seed_recipe(cfg, info, errors)
    if "batch_size" not in errors and "pac" not in errors and cfg.batch_size % cfg.pac:
        errors["pac"] = f"batch_size ({cfg.batch_size}) must be a multiple of pac ({cfg.pac})"
    if cfg.loss == "wgan-gp" and cfg.d_norm == "batch" and cfg.arch == "dcgan":
        errors["d_norm"] = (
            "wgan-gp penalises each sample's gradient; batch norm in D mixes samples: use d_norm layer or none"
        )
    if info is not None:
        _check_against_dataset(cfg, info, errors)
    return errors


def _check_weight_clip(cfg: TrainConfig, errors: dict[str, str]) -> None:
    _range(errors, "weight_clip", cfg.weight_clip, WEIGHT_CLIP_RANGE[0], WEIGHT_CLIP_RANGE[1], float)
    if "weight_clip" in errors and isinstance(cfg.weight_clip, (int, float)) and cfg.weight_clip <= 0:
        errors["weight_clip"] = (
            f"weight_clip must be above 0, got {cfg.weight_clip!r}: D's weights are clipped into [-c, c], "
            "and a c of 0 or less would set every one of them to 0 (the WGAN paper uses 0.01)"
        )


WEIGHT_CLIP_RANGE = (1e-5, 1.0)  # above 1 a critic whose weights start near 0.02 is no longer constrained


def _check_info_codes(cfg: TrainConfig, errors: dict[str, str]) -> None:
    _range(errors, "info_weight", cfg.info_weight, 0.0, 100.0, float)
    _range(errors, "info_codes", cfg.info_codes, 0, 1024)
    if "info_codes" in errors or cfg.info_codes == 0:
        return
    if cfg.info_codes == 1:
        errors["info_codes"] = "a code with one value says nothing: use 0 (off) or 2 or more"
    elif isinstance(cfg.z_dim, int) and cfg.info_codes > cfg.z_dim:
        errors["info_codes"] = (
            f"info_codes ({cfg.info_codes}) needs z_dim of at least {cfg.info_codes}: "
            f"the code is read from z's first entries (z_dim is {cfg.z_dim})"
        )
    elif cfg.conditional:
        errors["info_codes"] = "a conditional model is told its class; InfoGAN finds classes without labels: use one"
    elif cfg.pac != 1:
        errors["info_codes"] = f"InfoGAN's code head reads one sample at a time; pac {cfg.pac} packs them: use pac 1"


def _check_seed_recipe(cfg: TrainConfig, info: dict[str, Any] | None, errors: dict[str, str]) -> None:
    """The seed documents' networks are fixed: what they cannot take, beside its field (a range error kept)."""
    from ganplay.seed_models import seed_config_problems

    for name, message in seed_config_problems(cfg, info).items():
        errors.setdefault(name, message)


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
