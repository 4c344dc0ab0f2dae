"""Loss registry: pure functions of the discriminator's outputs on real and generated samples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganplay.catalog import LOSSES


@dataclass(frozen=True)
class GANLoss:
    name: str  # its title and facts: catalog.py
    d_loss: Callable[[Tensor, Tensor], Tensor]  # (D(x) logits, D(G(z)) logits) -> scalar to minimise
    g_loss: Callable[[Tensor], Tensor]  # D(G(z)) logits -> scalar to minimise
    probabilistic: bool  # True: sigmoid(logit) is D's probability that a sample is real
    gradient_penalty: bool = False
    clips_weights: bool = False  # WGAN (Arjovsky et al. 2017): D's weights back into [-c, c] after each D update

    def d_report(self, logits: Tensor) -> Tensor:
        """Mean D output as users read it: a probability for BCE losses, the raw score otherwise."""
        return torch.sigmoid(logits).mean() if self.probabilistic else logits.mean()


def _add(loss: GANLoss) -> None:
    LOSSES.register(loss.name)(loss)


def bce_d(real: Tensor, fake: Tensor) -> Tensor:
    # maximize log D(x) + log(1 - D(G(z))), written with softplus for stability on logits
    return F.softplus(-real).mean() + F.softplus(fake).mean()


_add(GANLoss("nsgan", bce_d, lambda fake: F.softplus(-fake).mean(), probabilistic=True))
# Goodfellow's original objective: G minimises log(1 - D(G(z))), which saturates when D wins.
_add(GANLoss("minimax", bce_d, lambda fake: -F.softplus(fake).mean(), probabilistic=True))
_add(
    GANLoss(
        "lsgan",
        lambda real, fake: 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean(),
        lambda fake: 0.5 * ((fake - 1) ** 2).mean(),
        probabilistic=False,
    )
)
_add(
    GANLoss(
        "hinge",
        lambda real, fake: F.relu(1 - real).mean() + F.relu(1 + fake).mean(),
        lambda fake: -fake.mean(),
        probabilistic=False,
    )
)


def _critic_loss(real: Tensor, fake: Tensor) -> Tensor:
    """The Wasserstein critic's objective, shared by the two ways of keeping the critic Lipschitz."""
    return fake.mean() - real.mean()


def _critic_g_loss(fake: Tensor) -> Tensor:
    return -fake.mean()


_add(GANLoss("wgan-gp", _critic_loss, _critic_g_loss, probabilistic=False, gradient_penalty=True))


# The original WGAN: the same critic objective, kept K-Lipschitz by clipping every weight of D (the paper's
# c = 0.01, RMSprop 5e-5, 5 critic updates per G update; presets.LOSS_DEFAULTS holds those defaults).
_add(GANLoss("wgan-clip", _critic_loss, _critic_g_loss, probabilistic=False, clips_weights=True))


@torch.no_grad()
def clip_weights_(critic: nn.Module, clip: float) -> None:
    """Every parameter of the critic clamped into [-clip, clip] in place, as the WGAN paper's code does (all of
    them, batch-norm scales included)."""
    params = list(critic.parameters())
    torch._foreach_clamp_min_(params, -clip)
    torch._foreach_clamp_max_(params, clip)


def gradient_penalty(
    critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, generator: torch.Generator
) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] on random points between real and fake samples."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(shape, device=real.device, generator=generator)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
