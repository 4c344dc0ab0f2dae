"""Defaults by kind of data and by loss, the named presets, and make_config, which layers them under the caller's
values: plain data, so the form, the CLI and `list` read the same."""

from __future__ import annotations

from typing import Any

from ganplay.config import MAX_TEXT, ConfigError, TrainConfig

# Applied by the kind of data unless a preset or the user says otherwise.
KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    # Tuned on ring8/grid25 (PacGAN protocol): a high rate, then linear decay, which sharpens the modes.
    "toy": dict(
        arch="mlp",
        z_dim=2,
        batch_size=256,
        mlp_hidden=64,
        mlp_layers=3,
        lr_g=2e-3,
        lr_d=2e-3,
        lr_decay="linear",
        pac=2,
        steps=8000,
        sample_every=250,
        checkpoint_every=2000,
        num_samples=1000,
    ),
    "image": dict(arch="dcgan"),
}
# Each loss's usual companions (WGAN-GP paper: Adam(1e-4, 0, 0.9), 5 critic steps, no batch norm).
LOSS_DEFAULTS: dict[str, dict[str, Any]] = {
    "wgan-gp": dict(d_steps=5, lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), d_norm="layer"),
    "hinge": dict(spectral_norm=True, d_norm="none", lr_g=1e-4, lr_d=4e-4, betas=(0.0, 0.9)),
}

PRESETS: dict[str, dict[str, Any]] = {
    "quick-cpu-demo": dict(dataset="ring8", arch="mlp", loss="nsgan", steps=2000),
    # Narrow nets (a quarter of the classic's compute): digits take shape within two minutes on 2 CPU cores.
    "mnist-quick": dict(
        dataset="mnist-bundled",
        arch="dcgan",
        loss="nsgan",
        ngf=32,
        ndf=32,
        batch_size=64,
        lr_g=2e-4,
        lr_d=2e-4,
        betas=(0.5, 0.999),
        steps=2000,
        sample_every=100,
    ),
    "dcgan-classic": dict(
        dataset="mnist-bundled",
        arch="dcgan",
        loss="nsgan",
        batch_size=64,
        lr_g=2e-4,
        lr_d=2e-4,
        betas=(0.5, 0.999),
        steps=3000,
    ),
    "hinge-sn": dict(
        dataset="mnist-bundled",
        arch="dcgan",
        loss="hinge",
        spectral_norm=True,
        d_norm="none",
        lr_g=1e-4,
        lr_d=4e-4,
        betas=(0.0, 0.9),
        steps=3000,
    ),
    "wgan-gp": dict(
        dataset="mnist-bundled",
        arch="dcgan",
        loss="wgan-gp",
        d_steps=5,
        d_norm="layer",
        lr_g=1e-4,
        lr_d=1e-4,
        betas=(0.0, 0.9),
        steps=3000,
    ),
    "toy-ring8": dict(dataset="ring8"),
    "toy-grid25": dict(dataset="grid25"),
}


# One line per preset for the form and `list`: what it is for, and how long it takes on a 2-core CPU.
# Measured with `train --preset NAME --quiet` on an idle 2-core machine (the three slow ones over their first
# 200-600 steps); a machine shared with other work, or a Train page refreshing every second, can double it.
PRESET_NOTES: dict[str, str] = {
    "quick-cpu-demo": "8 Gaussians on a ring: watch G find all 8 clusters (2,000 steps, about 10 s on 2 CPU cores)",
    "mnist-quick": "a narrow DCGAN on the bundled digits: digit shapes within minutes (2,000 steps, about 70 s)",
    "dcgan-classic": "the DCGAN paper's recipe on the digits (3,000 steps, about 3 min on 2 CPU cores)",
    "hinge-sn": "hinge loss and spectral norm, the shipped models' recipe (3,000 steps, about 3 min)",
    "wgan-gp": "Wasserstein loss with gradient penalty, 5 D updates per G update (3,000 steps, about 20 min)",
    "toy-ring8": "the tuned ring recipe: sharp clusters (8,000 steps, about 35 s on 2 CPU cores)",
    "toy-grid25": "25 Gaussians on a grid, a harder toy (20,000 steps, about 1.5 min on 2 CPU cores)",
}


def make_config(preset: str | None = None, **overrides: Any) -> TrainConfig:
    """Defaults, then those of the data's kind and of the loss, then the preset, then the caller's values."""
    if preset is not None and preset not in PRESETS:
        raise ConfigError({"preset": f"unknown preset {preset!r}; choose one of: {', '.join(PRESETS)}"})
    chosen = {**PRESETS.get(preset or "", {}), **overrides}
    base = TrainConfig().to_dict()
    dataset = chosen.get("dataset", base["dataset"])
    info = _info_or_none(dataset) if isinstance(dataset, str) and len(dataset) <= MAX_TEXT else None
    values = dict(base)
    values.update(KIND_DEFAULTS.get(info["kind"] if info else "image", {}))
    if info and info["kind"] == "image":
        values["image_size"] = info.get("native_size") or 64  # folders have no native size
    values.update(info.get("defaults", {}) if info else {})  # a dataset's own tuning (grid25)
    loss = chosen.get("loss", base["loss"])
    values.update(LOSS_DEFAULTS.get(loss, {}) if isinstance(loss, str) else {})
    values.update(chosen)
    return TrainConfig.from_dict(values)


def _info_or_none(dataset: str) -> dict[str, Any] | None:
    from ganplay.data import dataset_info

    try:
        return dataset_info(dataset)
    except ValueError:
        return None  # validation reports the bad name; defaults do not matter then
