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
    # WGAN paper (Arjovsky et al. 2017, Algorithm 1): RMSprop(5e-5), clip 0.01, 5 critic updates per G update.
    "wgan-clip": dict(optimizer="rmsprop", lr_g=5e-5, lr_d=5e-5, d_steps=5, weight_clip=0.01),
}

# What every seed recipe fixes: no EMA, no spectral norm, dropout only where the seed has it, one image per
# judgement; and a snapshot every 100 steps, since these runs are slow on a CPU.
SEED_FIXED: dict[str, Any] = dict(ema=False, spectral_norm=False, d_dropout=0.0, pac=1, steps=2000, sample_every=100)

# What the seeds' recipes share: the bundled digits at 28 px, BCE from logits, z of 100, Adam(2e-4, 0.5), batch 64.
SEED_RECIPE: dict[str, Any] = dict(
    dataset="mnist-bundled",
    image_size=28,
    loss="nsgan",
    z_dim=100,
    batch_size=64,
    lr_g=2e-4,
    lr_d=2e-4,
    betas=(0.5, 0.999),
    **SEED_FIXED,
)

# The shipped models' recipe on the digits: hinge loss, spectral norm, two time-scale rates (hinge-sn, mnist-fast)
HINGE_SN: dict[str, Any] = dict(
    dataset="mnist-bundled",
    arch="dcgan",
    loss="hinge",
    spectral_norm=True,
    d_norm="none",
    lr_g=1e-4,
    lr_d=4e-4,
    betas=(0.0, 0.9),
)

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
    # The best quality per CPU minute found so far (README, "A fast MNIST recipe"): hinge loss, spectral norm,
    # two time-scale rates held constant, G and D told each digit's class, narrow nets for many steps, bf16
    # where native. 15,000 steps: under 15 minutes at 16-19 steps/s on 2 cores.
    "mnist-fast": dict(
        **HINGE_SN,
        ngf=32,
        ndf=32,
        conditional=True,
        steps=15000,
        sample_every=500,
        checkpoint_every=3000,
        eval_every=3000,
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
    "hinge-sn": dict(**HINGE_SN, steps=3000),
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
    # The original WGAN on the digits, the paper's recipe on mnist-quick's narrow nets.
    "wgan-clip": dict(
        dataset="mnist-bundled",
        arch="dcgan",
        loss="wgan-clip",
        ngf=32,
        ndf=32,
        optimizer="rmsprop",
        lr_g=5e-5,
        lr_d=5e-5,
        d_steps=5,
        weight_clip=0.01,
        steps=2000,
        sample_every=100,
    ),
    "toy-ring8": dict(dataset="ring8"),
    "toy-grid25": dict(dataset="grid25"),
    # The seed documents' recipes (ganplay/seed_models.py): their networks, loss, optimizer and batch, no EMA.
    # Seed 000's code stops at the two networks; the rest is the TensorFlow DCGAN tutorial's, which that code
    # is taken from: BCE from logits, Adam(1e-4) with Keras' default betas, batch 256, z of 100.
    "seed000-tf-dcgan": dict(SEED_RECIPE, arch="seed000", batch_size=256, lr_g=1e-4, lr_d=1e-4, betas=(0.9, 0.999)),
    # Seed 001: Keras binary cross-entropy (G trained towards "real"), Adam(lr=0.0002, beta_1=0.5), batch 128.
    "seed001-dense-gan": dict(SEED_RECIPE, arch="seed001", batch_size=128),
    # Seed 004: BCE from logits, Adam(0.0002, 0.5); it names no batch size or z size: ganplay's 64 and 100.
    "seed004-dcgan64": dict(SEED_RECIPE, arch="seed004", image_size=64),
    # The same with the usual tanh output instead of the seed's LeakyReLU.
    "seed004-dcgan64-tanh": dict(SEED_RECIPE, arch="seed004-tanh", image_size=64),
}


# One line per preset for the form and `list`: what it is for, and how long it takes on a 2-core CPU.
# Measured with `train --preset NAME --quiet` on an idle 2-core machine (the three slow ones over their first
# 200-600 steps); a machine shared with other work, or a Train page refreshing every second, can double it.
# The preset the Train page switches to when its dataset picker moves to this data from a preset made for other
# data (the toy demo it opens with): the recipe that reaches the best quality per CPU minute there.
DATASET_PRESETS: dict[str, str] = {"mnist-bundled": "mnist-fast"}

PRESET_NOTES: dict[str, str] = {
    "quick-cpu-demo": "8 Gaussians on a ring: watch G find all 8 clusters (2,000 steps, about 10 s on 2 CPU cores)",
    "mnist-quick": "a narrow DCGAN on the bundled digits: digit shapes within minutes (2,000 steps, about 70 s)",
    "mnist-fast": "the best digits per CPU minute found: class-conditional hinge + spectral norm on narrow nets "
    "(15,000 steps, 12-15 min on 2 CPU cores; FD 2.65x its floor)",
    "dcgan-classic": "the DCGAN paper's recipe on the digits (3,000 steps, about 3 min on 2 CPU cores)",
    "hinge-sn": "hinge loss and spectral norm, the shipped models' recipe (3,000 steps, about 3 min)",
    "wgan-gp": "Wasserstein loss with gradient penalty, 5 D updates per G update (3,000 steps, about 20 min)",
    "wgan-clip": "the original Wasserstein GAN: critic weights clipped to 0.01, RMSprop 5e-5, 5 D updates per G "
    "update; it learns slowly: strokes, not yet digits, after 2,000 steps (about 3.5 min on 2 CPU cores)",
    "toy-ring8": "the tuned ring recipe: sharp clusters (8,000 steps, about 35 s on 2 CPU cores)",
    "toy-grid25": "25 Gaussians on a grid, a harder toy (20,000 steps, about 1.5 min on 2 CPU cores)",
    "seed000-tf-dcgan": "seed 000's TensorFlow DCGAN layer for layer, with its tutorial's Adam(1e-4) and batch 256 "
    "(2,000 steps, about 55 min on 2 CPU cores shared with other work)",
    "seed001-dense-gan": "seed 001's dense GAN: Dense 256-512-1024 with batch norm, D with dropout 0.3; Adam(2e-4, "
    "0.5), batch 128 (2,000 steps, about 2 min on 2 CPU cores)",
    "seed004-dcgan64": "seed 004's 64 px DCGAN as written, G ending in LeakyReLU(0.2); the usual choice is tanh "
    "(seed004-dcgan64-tanh), which keeps pixels in the data's [-1, 1] (2,000 steps, about 90 min on 2 CPU cores "
    "shared with other work)",
    "seed004-dcgan64-tanh": "seed 004's 64 px DCGAN with the usual tanh output instead of its LeakyReLU, so G's "
    "pixels stay in the data's [-1, 1] (2,000 steps; the same time as seed004-dcgan64)",
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
