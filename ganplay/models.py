"""Architecture registry: generator/discriminator pairs (mlp, dcgan), each optionally class-conditional."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

from ganplay.catalog import ARCHS

if TYPE_CHECKING:
    from ganplay.config import TrainConfig

ModelPair = tuple[nn.Module, nn.Module]


def build_models(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float = 1.0) -> ModelPair:
    """(G, D) for data of `shape` ((2,) or (C, H, W)); labelled by class (conditional) or cluster (clusters).

    data_scale is the data's typical coordinate size (4 for grid25): toy models work in units of it.
    """
    classes = num_classes if cfg.takes_labels else 0
    return ARCHS.get(cfg.arch)(cfg, shape, classes, data_scale)


def label_vectors(y: Tensor | None, num_classes: int, batch: int, device: torch.device) -> Tensor | None:
    """Integer labels become one-hot rows; float rows (soft labels for class paths) pass through."""
    if num_classes == 0:
        return None
    if y is None:
        raise ValueError("this model is conditional: pass class labels")
    if y.dtype in (torch.int64, torch.int32):
        return F.one_hot(y.long(), num_classes).to(device=device, dtype=torch.float32)
    if y.shape != (batch, num_classes):
        raise ValueError(f"soft labels must have shape ({batch}, {num_classes}), got {tuple(y.shape)}")
    return y.to(device=device, dtype=torch.float32)


def latent_code(z: Tensor, codes: int) -> Tensor:
    """InfoGAN's categorical code, read from z: the index of the largest of its first `codes` entries.

    The argmax of iid Gaussians is uniform over the entries, so a plain z ~ N(0, I) carries a uniform
    code, and every sampler, seed and interpolation of z works unchanged (a walk may switch code).
    """
    return z[:, :codes].argmax(1)


def generator_input(z: Tensor, y: Tensor | None, num_classes: int, info_codes: int) -> Tensor:
    """What G's first layer reads: z (its code entries as a one-hot when InfoGAN), then any class one-hot."""
    if info_codes:
        code = F.one_hot(latent_code(z, info_codes), info_codes).to(z.dtype)
        z = torch.cat([code, z[:, info_codes:]], 1)  # (B, z_dim): a hard switch G can jump on
    onehot = label_vectors(y, num_classes, z.shape[0], z.device)
    return z if onehot is None else torch.cat([z, onehot], 1)  # (B, z_dim + K)


def judged(
    features: Tensor, head: nn.Module, code_head: nn.Module | None, with_code: bool
) -> Tensor | tuple[Tensor, Tensor]:
    """D's logits from its last features; with_code adds InfoGAN's code logits (B, codes) from the same features."""
    logits = head(features).view(-1)
    if not with_code:
        return logits
    if code_head is None:
        raise ValueError("this discriminator has no InfoGAN code head (info_codes is 0)")
    return logits, code_head(features)


def pack(x: Tensor, pac: int) -> Tensor:
    """PacGAN: (B, F...) -> (B/pac, pac*F...) so D judges pac samples jointly."""
    if pac == 1:
        return x
    b = x.shape[0]
    if b % pac:
        raise ValueError(f"batch of {b} cannot be packed in groups of {pac}")
    return x.reshape(b // pac, pac * x.shape[1], *x.shape[2:])


class SeededDropout(nn.Module):
    """Dropout whose masks come from the run's own generator (set by the trainer), not the global RNG."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, device=x.device, generator=self.generator) >= self.p
        return x * keep / (1.0 - self.p)


def dcgan_init(module: nn.Module) -> None:
    """DCGAN paper init: conv weights N(0, 0.02), batch-norm scale N(1, 0.02)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


# -- MLP -------------------------------------------------------------------------------------------


class MLPGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        shape: tuple[int, ...],
        hidden: int,
        layers: int,
        num_classes: int,
        data_scale: float = 1.0,
        info_codes: int = 0,
    ):
        super().__init__()
        self.z_dim, self.shape, self.num_classes, self.info_codes = z_dim, tuple(shape), num_classes, info_codes
        # Outputs are produced in units of data_scale: with Adam's fixed step sizes, grid25's +-4
        # coordinates otherwise train far worse than ring8's unit circle. A buffer, so checkpoints keep it.
        self.register_buffer("data_scale", torch.tensor(float(data_scale)))
        out = math.prod(shape)
        blocks: list[nn.Module] = []
        width = z_dim + num_classes
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        blocks.append(nn.Linear(width, out))
        if len(shape) == 3:
            blocks.append(nn.Tanh())  # images live in [-1, 1]; 2-D points keep their own coordinates
        self.net = nn.Sequential(*blocks)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = generator_input(z, y, self.num_classes, self.info_codes)  # (B, z_dim + K)
        return self.net(h).view(z.shape[0], *self.shape) * self.data_scale


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        shape: tuple[int, ...],
        hidden: int,
        layers: int,
        num_classes: int,
        pac: int,
        dropout: float,
        use_sn: bool,
        data_scale: float = 1.0,
        info_codes: int = 0,
    ):
        super().__init__()
        self.num_classes, self.pac = num_classes, pac
        self.register_buffer("data_scale", torch.tensor(float(data_scale)))
        sn = spectral_norm if use_sn else (lambda m: m)
        width = (math.prod(shape) + num_classes) * pac
        blocks: list[nn.Module] = []
        for _ in range(layers):
            blocks += [sn(nn.Linear(width, hidden)), nn.LeakyReLU(0.2, inplace=True)]
            if dropout:
                blocks.append(SeededDropout(dropout))
            width = hidden
        blocks.append(sn(nn.Linear(width, 1)))
        self.net = nn.Sequential(*blocks)
        self.code_head = nn.Linear(width, info_codes) if info_codes else None

    def forward(self, x: Tensor, y: Tensor | None = None, with_code: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        h = x.flatten(1) / self.data_scale  # (B, F)
        onehot = label_vectors(y, self.num_classes, x.shape[0], x.device)
        if onehot is not None:
            h = torch.cat([h, onehot], 1)
        features = self.net[:-1](pack(h, self.pac))  # (B / pac, hidden)
        return judged(features, self.net[-1], self.code_head, with_code)  # (B / pac,) logits


@ARCHS.register("mlp")
def build_mlp(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    g = MLPGenerator(cfg.z_dim, shape, cfg.mlp_hidden, cfg.mlp_layers, num_classes, data_scale, cfg.info_codes)
    d = MLPDiscriminator(
        shape,
        cfg.mlp_hidden,
        cfg.mlp_layers,
        num_classes,
        cfg.pac,
        cfg.d_dropout,
        cfg.spectral_norm,
        data_scale,
        cfg.info_codes,
    )
    return g, d


# -- DCGAN -----------------------------------------------------------------------------------------


def upsampling_plan(size: int) -> tuple[int, int]:
    """(base, doublings): halve while even and >= 8, so 28 -> 7 (2x), 32 -> 4 (3x), 64 -> 4 (4x)."""
    base, doublings = size, 0
    while base % 2 == 0 and base >= 8:
        base //= 2
        doublings += 1
    if doublings == 0:
        raise ValueError(f"dcgan cannot build an image of {size} px: use an even size such as 28, 32 or 64")
    return base, doublings


class DCGANGenerator(nn.Module):
    """z -> linear to (ngf*2^(n-1), base, base) -> n stride-2 transposed convs -> (C, size, size)."""

    def __init__(self, z_dim: int, shape: tuple[int, int, int], ngf: int, num_classes: int, info_codes: int = 0):
        super().__init__()
        self.z_dim, self.num_classes, self.info_codes = z_dim, num_classes, info_codes
        channels, size, _ = shape
        self.base, doublings = upsampling_plan(size)
        width = ngf * 2 ** (doublings - 1)
        self.width = width
        self.project = nn.Linear(z_dim + num_classes, width * self.base * self.base, bias=False)
        layers: list[nn.Module] = [nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
        for _ in range(doublings - 1):
            layers += [
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),  # (B, w/2, 2s, 2s)
                nn.BatchNorm2d(width // 2),
                nn.ReLU(inplace=True),
            ]
            width //= 2
        layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1), nn.Tanh()]  # (B, C, size, size)
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.project(generator_input(z, y, self.num_classes, self.info_codes)).view(
            z.shape[0], self.width, self.base, self.base
        )  # (B, w, base, base)
        return self.net(h)


def _d_norm(kind: str, channels: int) -> list[nn.Module]:
    if kind == "batch":
        return [nn.BatchNorm2d(channels)]
    if kind == "layer":
        return [nn.GroupNorm(1, channels)]  # per-sample, so it is safe with a gradient penalty
    return []


class DCGANDiscriminator(nn.Module):
    """(C, size, size) -> stride-2 convs down to (ndf*2^(n-1), base, base) -> linear -> one logit."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        ndf: int,
        num_classes: int,
        pac: int,
        norm: str,
        dropout: float,
        use_sn: bool,
        info_codes: int = 0,
    ):
        super().__init__()
        self.num_classes, self.pac = num_classes, pac
        channels, size, _ = shape
        base, doublings = upsampling_plan(size)
        sn = spectral_norm if use_sn else (lambda m: m)
        drop = lambda: [SeededDropout(dropout)] if dropout else []
        # Labels enter as constant one-hot planes beside the pixels, which also packs cleanly.
        width = ndf
        layers: list[nn.Module] = [
            sn(nn.Conv2d((channels + num_classes) * pac, width, 4, 2, 1)),
            nn.LeakyReLU(0.2, inplace=True),
            *drop(),
        ]
        for _ in range(doublings - 1):
            layers += [
                sn(nn.Conv2d(width, width * 2, 4, 2, 1, bias=norm == "none")),  # (B, 2w, s/2, s/2)
                *_d_norm(norm, width * 2),
                nn.LeakyReLU(0.2, inplace=True),
                *drop(),
            ]
            width *= 2
        self.features = nn.Sequential(*layers)
        self.head = sn(nn.Linear(width * base * base, 1))
        # InfoGAN's Q shares D's features; only its own last layer is new.
        self.code_head = nn.Linear(width * base * base, info_codes) if info_codes else None
        self.apply(dcgan_init)

    def forward(self, x: Tensor, y: Tensor | None = None, with_code: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        onehot = label_vectors(y, self.num_classes, x.shape[0], x.device)
        if onehot is None:
            h = self.features(pack(x, self.pac)).flatten(1)
        else:
            h = self.features[1:](self._first_layer_with_labels(x, onehot)).flatten(1)
        return judged(h, self.head, self.code_head, with_code)  # (B / pac,) logits

    def _first_layer_with_labels(self, x: Tensor, onehot: Tensor) -> Tensor:
        """The first conv of the packed [x, label planes], computed as conv(pixels) plus per-class maps.

        Constant planes make the label's share of the conv a fixed (C_out, H', W') map per class and
        packed slot, so it is convolved once per call, not for every image: with 50 clusters the planes
        made D's first layer 50 times dearer than the image's own channel. Same weights, same result.
        """
        conv: nn.Conv2d = self.features[0]
        pac, channels, k = self.pac, x.shape[1], onehot.shape[1]
        c_out, kernel = conv.out_channels, conv.kernel_size
        # (C_out, pac, C + K, kh, kw): each packed image's pixels, then its label planes (spectral norm on access)
        weight = conv.weight.reshape(c_out, pac, channels + k, *kernel)
        pixel_weight = weight[:, :, :channels].reshape(c_out, pac * channels, *kernel)
        out = F.conv2d(pack(x, pac), pixel_weight, conv.bias, conv.stride, conv.padding)  # (B/pac, C_out, H', W')
        label_weight = weight[:, :, channels:].permute(1, 2, 0, 3, 4).reshape(-1, 1, *kernel)  # (pac*K*C_out, 1, ..)
        ones = x.new_ones(1, 1, *x.shape[2:])
        maps = F.conv2d(ones, label_weight, None, conv.stride, conv.padding)  # (1, pac * K * C_out, H', W')
        maps = maps.view(pac, k, c_out, *out.shape[2:])
        slots = onehot.reshape(-1, pac, k)  # (B/pac, pac, K): the labels of each group's images
        return out + torch.einsum("bjk,jkchw->bchw", slots, maps)


@ARCHS.register("dcgan")
def build_dcgan(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float) -> ModelPair:
    if len(shape) != 3:
        raise ValueError(f"dcgan needs image data (C, H, W), got shape {shape}: use arch mlp")
    g = DCGANGenerator(cfg.z_dim, shape, cfg.ngf, num_classes, cfg.info_codes)
    d = DCGANDiscriminator(
        shape, cfg.ndf, num_classes, cfg.pac, cfg.d_norm, cfg.d_dropout, cfg.spectral_norm, cfg.info_codes
    )
    return g, d


# The seed documents' recipes register themselves here too; imported last, since they build on SeededDropout.
from ganplay import seed_models  # noqa: F401
