"""The seed documents' networks, layer for layer: seed 000's TensorFlow DCGAN (28 px), seed 001's dense GAN and
seed 004's 64 px DCGAN (its own LeakyReLU output, or the usual tanh).

The seeds are Keras code, so the Keras defaults they rely on are kept: Glorot-uniform weights with zero biases,
batch norm with momentum 0.99 and epsilon 1e-3, LeakyReLU's slope 0.3 where the seed gives none, and "same"
padding computed as TensorFlow does (the odd pixel of padding goes after, not before).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch.nn.functional as F
from torch import Tensor, nn

from ganplay.models import ARCHS, ModelPair, SeededDropout

if TYPE_CHECKING:
    from ganplay.config import TrainConfig

KERAS_LEAKY_SLOPE = 0.3  # layers.LeakyReLU() with no alpha (seed 000)
# Keras' momentum is the old running mean's weight (0.99); PyTorch's is the new batch's, so 1 - 0.99.
KERAS_BN = dict(eps=1e-3, momentum=0.01)
SEED_DROPOUT = 0.3  # seeds 000 and 001: Dropout(0.3) after each of D's hidden layers


def keras_init(module: nn.Module) -> None:
    """Keras' defaults, which the seeds never change: Glorot-uniform kernels, zero biases (batch norm's own
    defaults, scale 1 and shift 0, are PyTorch's too). Glorot's limit depends on fan_in + fan_out only, so
    PyTorch's transposed weight layout gives the same distribution."""
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's padding='same' for one side: out = ceil(size / stride); (before, after), the odd one after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2D(padding='same') as Keras computes it: a 5x5 stride-2 conv of 28 px pads 1 before and 2 after, where
    PyTorch's symmetric padding would shift every window by a pixel (or lose one)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel, stride, padding=0, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = same_padding(x.shape[-2], k, s)
        left, right = same_padding(x.shape[-1], k, s)
        return super().forward(F.pad(x, (left, right, top, bottom)))  # (B, C_out, ceil(H/s), ceil(W/s))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Conv2DTranspose(padding='same'): out = in * stride, the adjoint of SameConv2d. The full transposed conv
    is cropped by the padding that conv would put before (1 px for 5x5 stride 2), the rest after."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int, bias: bool = True):
        super().__init__(in_channels, out_channels, kernel, stride, padding=0, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        full = super().forward(x)  # (B, C_out, (H-1)s + k, (W-1)s + k)
        h, w = x.shape[-2] * s, x.shape[-1] * s
        top, _ = same_padding(h, k, s)
        left, _ = same_padding(w, k, s)
        return full[..., top : top + h, left : left + w]  # (B, C_out, H*s, W*s)


class Unflatten(nn.Module):
    """Keras' Reshape after G's Dense: (B, C*H*W) -> (B, C, H, W). Keras orders the Dense's outputs as (H, W, C),
    PyTorch as (C, H, W): a fixed permutation of the Dense's units, which changes nothing learnable."""

    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: Tensor) -> Tensor:
        return x.view(x.shape[0], *self.shape)


class SeedGenerator(nn.Module):
    """z -> the seed's layers -> (C, H, W). Unconditional: the seeds' G reads z alone."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], net: nn.Sequential):
        super().__init__()
        self.z_dim, self.shape, self.num_classes, self.info_codes = z_dim, tuple(shape), 0, 0
        self.net = net
        self.apply(keras_init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        if y is not None:
            raise ValueError("a seed recipe's generator takes no class labels")
        return self.net(z).view(z.shape[0], *self.shape)  # (B, C, H, W)


class SeedDiscriminator(nn.Module):
    """(C, H, W) -> the seed's layers -> one logit per image (the seeds' sigmoid is inside BCE-from-logits)."""

    def __init__(self, features: nn.Sequential, head: nn.Linear):
        super().__init__()
        self.num_classes, self.pac = 0, 1
        self.features, self.head = features, head
        self.apply(keras_init)

    def forward(self, x: Tensor, y: Tensor | None = None, with_code: bool = False) -> Tensor:
        if y is not None or with_code:
            raise ValueError("a seed recipe's discriminator takes no labels and has no InfoGAN code head")
        return self.head(self.features(x).flatten(1)).view(-1)  # (B,) logits


# -- seed 000: the TensorFlow DCGAN tutorial's networks, 28 px ------------------------------------------------


def seed000_generator(z_dim: int, channels: int) -> nn.Sequential:
    lrelu = lambda: nn.LeakyReLU(KERAS_LEAKY_SLOPE)
    return nn.Sequential(
        nn.Linear(z_dim, 7 * 7 * 256, bias=False),  # (B, 12544)
        nn.BatchNorm1d(7 * 7 * 256, **KERAS_BN),  # before the reshape, so per unit: 12,544 scales and shifts
        lrelu(),
        Unflatten(256, 7, 7),  # (B, 256, 7, 7)
        SameConvTranspose2d(256, 128, 5, 1, bias=False),  # (B, 128, 7, 7)
        nn.BatchNorm2d(128, **KERAS_BN),
        lrelu(),
        SameConvTranspose2d(128, 64, 5, 2, bias=False),  # (B, 64, 14, 14)
        nn.BatchNorm2d(64, **KERAS_BN),
        lrelu(),
        SameConvTranspose2d(64, channels, 5, 2, bias=False),  # (B, C, 28, 28)
        nn.Tanh(),
    )


def seed000_discriminator(channels: int) -> tuple[nn.Sequential, nn.Linear]:
    lrelu = lambda: nn.LeakyReLU(KERAS_LEAKY_SLOPE)
    features = nn.Sequential(
        SameConv2d(channels, 64, 5, 2),  # (B, 64, 14, 14)
        lrelu(),
        SeededDropout(SEED_DROPOUT),
        SameConv2d(64, 128, 5, 2),  # (B, 128, 7, 7)
        lrelu(),
        SeededDropout(SEED_DROPOUT),
    )
    return features, nn.Linear(128 * 7 * 7, 1)


@ARCHS.register("seed000")
def build_seed000(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    channels = _image_channels("seed000", shape, num_classes)
    g = SeedGenerator(cfg.z_dim, shape, seed000_generator(cfg.z_dim, channels))
    return g, SeedDiscriminator(*seed000_discriminator(channels))


# -- seed 001: the dense GAN ----------------------------------------------------------------------------------


def seed001_generator(z_dim: int, pixels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = z_dim
    for units in (256, 512, 1024):  # the seed's order: Dense with ReLU, then batch norm
        layers += [nn.Linear(width, units), nn.ReLU(), nn.BatchNorm1d(units, **KERAS_BN)]
        width = units
    # The seed goes on with Dense 7x7x256, three 3x3 convs and Reshape((28, 28, 3)), which cannot run: its
    # convs end at 7x7x3 = 147 values, not 2,352. Its dense GAN goes from the 1,024 units to the image.
    return nn.Sequential(*layers, nn.Linear(width, pixels), nn.Tanh())  # (B, C*H*W)


def seed001_discriminator(pixels: int) -> tuple[nn.Sequential, nn.Linear]:
    features = nn.Sequential(
        nn.Flatten(),  # (B, C*H*W)
        nn.Linear(pixels, 512),
        nn.ReLU(),  # the seed's D uses ReLU, not the LeakyReLU most GANs use
        SeededDropout(SEED_DROPOUT),
        nn.Linear(512, 256),
        nn.ReLU(),
        SeededDropout(SEED_DROPOUT),
    )
    return features, nn.Linear(256, 1)


@ARCHS.register("seed001")
def build_seed001(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    _image_channels("seed001", shape, num_classes)
    pixels = math.prod(shape)
    g = SeedGenerator(cfg.z_dim, shape, seed001_generator(cfg.z_dim, pixels))
    return g, SeedDiscriminator(*seed001_discriminator(pixels))


# -- seed 004: the 64 px DCGAN with LeakyReLU(0.2) in G as in D ------------------------------------------------


def seed004_generator(z_dim: int, channels: int, tanh_output: bool) -> nn.Sequential:
    lrelu = lambda: nn.LeakyReLU(0.2)
    return nn.Sequential(
        nn.Linear(z_dim, 128 * 8 * 8),  # (B, 8192), with a bias: the seed keeps Keras' default
        nn.BatchNorm1d(128 * 8 * 8, **KERAS_BN),
        lrelu(),
        Unflatten(128, 8, 8),  # (B, 128, 8, 8)
        SameConvTranspose2d(128, 128, 4, 2),  # (B, 128, 16, 16)
        nn.BatchNorm2d(128, **KERAS_BN),
        lrelu(),
        SameConvTranspose2d(128, 64, 4, 2),  # (B, 64, 32, 32)
        nn.BatchNorm2d(64, **KERAS_BN),
        lrelu(),
        SameConvTranspose2d(64, channels, 4, 2),  # (B, C, 64, 64)
        nn.Tanh() if tanh_output else lrelu(),
    )


def seed004_discriminator(channels: int) -> tuple[nn.Sequential, nn.Linear]:
    features = nn.Sequential(
        SameConv2d(channels, 128, 4, 2),  # (B, 128, 32, 32)
        nn.LeakyReLU(0.2),
        SameConv2d(128, 128, 4, 2),  # (B, 128, 16, 16)
        nn.LeakyReLU(0.2),
    )
    return features, nn.Linear(128 * 16 * 16, 1)


SEED004_HELP = (
    "seed 004's networks: G Dense 8x8x128, BN, LeakyReLU 0.2; three 4x4 stride-2 transposed convs (128, 64, the "
    "image's channels), BN and LeakyReLU 0.2 after the first two; D two 4x4 stride-2 convs of 128 with "
    "LeakyReLU 0.2, then Dense 1. 64 px images only; ngf, ndf and d_norm do not apply. "
)


@ARCHS.register("seed004")
def build_seed004(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    return _seed004(cfg, shape, num_classes, tanh_output=False)


@ARCHS.register("seed004-tanh")
def build_seed004_tanh(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    return _seed004(cfg, shape, num_classes, tanh_output=True)


def _seed004(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, tanh_output: bool) -> ModelPair:
    channels = _image_channels("seed004-tanh" if tanh_output else "seed004", shape, num_classes)
    g = SeedGenerator(cfg.z_dim, shape, seed004_generator(cfg.z_dim, channels, tanh_output))
    return g, SeedDiscriminator(*seed004_discriminator(channels))


# -- what the recipes accept -----------------------------------------------------------------------------------

SEED_ARCHS = ("seed000", "seed001", "seed004", "seed004-tanh")


def _image_channels(arch: str, shape: tuple[int, ...], num_classes: int) -> int:
    """The image's channels, after refusing what the seed's networks cannot take (the builders' own guard; a
    config is refused field by field earlier, by seed_config_problems)."""
    if len(shape) != 3:
        raise ValueError(f"{arch} needs image data (C, H, W), got shape {shape}: use arch mlp for 2-D points")
    sizes = ARCHS.info(arch)["sizes"]
    if sizes is not None and (shape[1] not in sizes or shape[2] != shape[1]):
        raise ValueError(f"{arch} builds {sizes[0]} px images as the seed does, got {shape[1]}x{shape[2]}")
    if num_classes:
        raise ValueError(f"{arch} is the seed's unconditional network: it takes no class or cluster labels")
    return shape[0]


def seed_config_problems(cfg: TrainConfig, info: dict[str, Any] | None) -> dict[str, str]:
    """Field -> message for the settings a seed recipe cannot take; empty for other architectures."""
    if cfg.arch not in SEED_ARCHS:
        return {}
    arch, problems = cfg.arch, {}
    other = "use arch dcgan for that"
    if info is not None and info["kind"] != "image":
        problems["arch"] = f"{arch} is the seed's image network; {cfg.dataset} is 2-D points: use arch mlp"
    sizes = ARCHS.info(arch)["sizes"]
    if info is not None and info["kind"] == "image" and sizes is not None and cfg.image_size not in sizes:
        problems["image_size"] = (
            f"{arch} builds {sizes[0]} px images, as the seed does: set image_size {sizes[0]} "
            f"(got {cfg.image_size}; smaller images are resized up)"
        )
    if cfg.conditional:
        problems["conditional"] = f"{arch} is the seed's unconditional network: it takes no class labels; {other}"
    if cfg.clusters:
        problems["clusters"] = f"{arch} is the seed's unconditional network: it takes no cluster labels; {other}"
    if cfg.info_codes:
        problems["info_codes"] = f"{arch}'s discriminator has no InfoGAN code head; {other}"
    if cfg.pac != 1:
        problems["pac"] = f"{arch}'s discriminator judges one image at a time, as the seed's: use pac 1"
    if cfg.spectral_norm:
        problems["spectral_norm"] = f"{arch}'s discriminator is the seed's, without spectral norm; {other}"
    if cfg.d_dropout:
        kept = "the seed's own dropout of 0.3" if arch in ("seed000", "seed001") else "no dropout, as the seed"
        problems["d_dropout"] = f"{arch}'s discriminator has {kept}: leave d_dropout at 0"
    return problems
