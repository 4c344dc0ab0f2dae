"""Real images into the latent space: find the z (and, for a labelled model, the label) whose generated image
best matches a target on its known pixels. Restoration builds on it: the generator fills what is missing."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint
from ganplay.errors import UsageError
from ganplay.limits import DEFAULT_RESTARTS, DEFAULT_STEPS

DEFAULT_LR = 0.1
# With pixels missing, candidates are optimised and ranked by a posterior: the known pixels' misfit as a Gaussian
# likelihood with this variance per pixel ([-1, 1] units), plus z's N(0, I) prior and, for clusters, the label's
# share. By the pixel loss alone a third of centre-masked digits got the wrong class (the ring left fits several);
# the prior prefers the class whose G reaches that ring with a more typical z. Chosen on digits outside the
# evaluation's list. A whole target (inversion, denoising) leaves no such doubt, and there that prior, pulling z
# towards 0, blurred the fit (500 digits: inversion MSE 0.0100 to 0.0144, denoising 98.0% to 96.4% read right):
# it is fitted by its pixels, ranked by them alone, with only a pull of |z| towards its typical sqrt(z_dim).
PIXEL_VARIANCE = 0.6
SHELL_WEIGHT = 0.05
SCREEN_SHARE = 0.2  # of the steps spent on every (label, restart) candidate before only the most probable go on
SURVIVORS = 2  # times `restarts` go on after screening: the right class is often second or third at that point
Progress = Callable[["InversionState"], None]
Features = Callable[[Tensor], Tensor]  # images (B, C, H, W) in [-1, 1] -> (B, F), differentiable
Prior = Callable[[Tensor, Tensor | None], Tensor | float]  # (z, y) -> (B,) added to the pixel loss


@dataclass
class InversionState:
    """Where an inversion stands: shown live while it runs, and its result when it ends."""

    step: int
    steps: int
    z: Tensor  # (z_dim,) of the best candidate so far
    label: int | None  # its class or cluster (None for an unconditional model)
    image: Tensor  # (C, H, W) in [-1, 1]: G(z, label)
    loss: float  # mean squared error on the known pixels (in [-1, 1] units)
    losses: list[float] = field(default_factory=list)  # the best candidate's loss at each reported step


def require_image_model(ckpt: Checkpoint) -> None:
    """Inversion and restoration work on images: a 2-D model is the user's to change."""
    if ckpt.data["kind"] != "image":
        raise UsageError(f"{ckpt.path}: inversion needs an image model; this one makes 2-D points")


def candidate_labels(ckpt: Checkpoint, class_id: int | None) -> list[int | None]:
    """The labels to try: the one asked for, else every class (or cluster) of a labelled model; [None] otherwise."""
    if not ckpt.config.takes_labels:
        if class_id is not None:
            raise UsageError("this model is not conditional; it takes no class")
        return [None]
    k = ckpt.data["num_classes"]
    if class_id is None:
        return list(range(k))
    if not 0 <= class_id < k:
        raise UsageError(f"class must be between 0 and {k - 1}, got {class_id}")
    return [class_id]


def invert(
    generator: nn.Module,
    ckpt: Checkpoint,
    target: Tensor,
    known: Tensor | None = None,
    *,
    steps: int = DEFAULT_STEPS,
    restarts: int = DEFAULT_RESTARTS,
    class_id: int | None = None,
    seed: int = 0,
    lr: float = DEFAULT_LR,
    pixel_variance: float = PIXEL_VARIANCE,
    features: Features | None = None,
    feature_weight: float = 0.0,
    progress: Progress | None = None,
    report_every: int = 10,
) -> InversionState:
    """Optimise z (every label when the model takes one) to reproduce `target` (C, H, W) in [-1, 1] where
    `known` (H, W) is true; the most probable candidate wins. Seeded: the same call gives the same result.

    Every (label, restart) pair starts from its own seeded z and is screened for SCREEN_SHARE of the steps;
    then the SURVIVORS * `restarts` most probable go on alone, so a 50-cluster model costs little more than a
    10-class one. Candidates are ranked by the pixel loss plus, with pixels missing, the prior's (see PIXEL_VARIANCE);
    the loss reported is the pixel loss alone.

    With `features` (a differentiable map of images, such as the evaluator's penultimate layer) and a
    feature_weight, the loss also asks G(z) to look like the target to that network: a perceptual term for
    whole images (pure inversion, denoising). It steers the optimisation, not the ranking.
    """
    _check_request(ckpt, target, steps, restarts)
    device = next(generator.parameters()).device
    feature_term = _feature_term(features, feature_weight, known, target.to(device))
    known = torch.ones(target.shape[1:], dtype=torch.bool) if known is None else known.bool()
    labels = candidate_labels(ckpt, class_id)
    z0 = torch.randn(len(labels) * restarts, ckpt.config.z_dim, generator=torch.Generator().manual_seed(seed))
    y = None if labels == [None] else torch.tensor(labels).repeat_interleave(restarts).to(device)
    z = z0.to(device).requires_grad_(True)
    goal, weight = target.to(device)[None], known.to(device)[None, None].float()
    penalty, rank_cost = _prior_terms(ckpt, pixel_variance, known, target.shape[0], device)
    generator.requires_grad_(False)
    optimizer = torch.optim.Adam([z], lr=lr)
    survivors = SURVIVORS * restarts
    screen = max(1, round(steps * SCREEN_SHARE)) if len(z0) > survivors else steps
    losses: list[float] = []
    for step in range(1, steps + 1):
        _cosine_lr(optimizer, lr, step, steps)
        optimizer.zero_grad(set_to_none=True)
        images = generator(z, y)
        data_loss = _pixel_loss(images, goal, weight)
        extra = feature_term(images) if feature_term is not None else 0.0
        (data_loss + penalty(z, y) + extra).sum().backward()
        data_loss = data_loss.detach()
        objective = data_loss + rank_cost(z.detach(), y)  # measured at the z the loss was, before the update
        optimizer.step()
        if step % report_every == 0 and step < steps:
            best = int(objective.argmin())
            losses.append(float(data_loss[best]))
            if progress is not None:
                progress(_state(generator, z, y, best, step, steps, losses))
        if step == screen and step < steps:
            z, y, optimizer = _keep_best(z, y, objective, survivors, optimizer, lr)
    final = _final(generator, z, y, goal, weight, rank_cost, steps, losses)
    if progress is not None:
        progress(final)
    return final


def _pixel_loss(images: Tensor, goal: Tensor, weight: Tensor) -> Tensor:
    """(B,) mean squared error over the known pixels (weight is 1 there, 0 elsewhere), in [-1, 1] units."""
    return ((images - goal) ** 2 * weight).sum((1, 2, 3)) / (weight.sum() * images.shape[1])


def _prior_terms(
    ckpt: Checkpoint, pixel_variance: float, known: Tensor, channels: int, device: torch.device
) -> tuple[Prior, Prior]:
    """(what the optimisation adds to the pixel loss, what the ranking adds), each (z, y) -> (B,).

    With pixels missing, both are -log p(z) - log p(y) in the pixel loss's units: as a mean over the known values
    with Gaussian noise of `pixel_variance`, the pixel loss is 2 * variance / known values times a negative
    log-likelihood, and the prior is scaled alike, so it weighs more the fewer pixels are known. A whole target
    is fitted with the shell pull alone and ranked by its pixels (see PIXEL_VARIANCE)."""
    if not 0 < pixel_variance <= 100:
        raise UsageError(f"the pixel variance must be above 0 and at most 100, got {pixel_variance}")
    if bool(known.all()):
        z_dim = ckpt.config.z_dim
        return (lambda z, y: SHELL_WEIGHT * (z.norm(dim=1) / math.sqrt(z_dim) - 1) ** 2), (lambda z, y: 0.0)
    scale = 2 * pixel_variance / (int(known.sum()) * channels)
    shares = ckpt.data.get("label_prior")
    log_share = torch.tensor(shares, device=device).clamp_min(1e-12).log() if shares else None

    def posterior(z: Tensor, y: Tensor | None) -> Tensor:
        nll = 0.5 * z.pow(2).sum(1)
        return scale * (nll if log_share is None or y is None else nll - log_share[y])

    return posterior, posterior


def _feature_term(
    features: Features | None, weight: float, known: Tensor | None, target: Tensor
) -> Callable[[Tensor], Tensor] | None:
    """images (B, C, H, W) -> (B,) weight * |f(images) - f(target)|^2 / |f(target)|^2, or None when unused."""
    if not weight:
        return None
    if features is None or not 0 < weight <= 100:
        raise UsageError(f"the feature weight must be above 0 and at most 100, with a feature network; got {weight}")
    if known is not None and not bool(known.all()):
        raise UsageError("the feature term compares whole images: use it without a mask (inversion, denoising)")
    with torch.no_grad():
        goal = features(target[None])  # the target is on G's device, as the features must be
    scale = goal.pow(2).sum().clamp_min(1e-8)
    return lambda images: weight * (features(images) - goal).pow(2).sum(1) / scale


def _check_request(ckpt: Checkpoint, target: Tensor, steps: int, restarts: int) -> None:
    require_image_model(ckpt)
    shape = tuple(ckpt.data["shape"])
    if tuple(target.shape) != shape:
        raise UsageError(f"the target is {tuple(target.shape)}, the model makes {shape}: convert it first")
    if not 1 <= steps <= 100_000:
        raise UsageError(f"steps must be between 1 and 100,000, got {steps}")
    if not 1 <= restarts <= 64:
        raise UsageError(f"restarts must be between 1 and 64, got {restarts}")


def _cosine_lr(optimizer: torch.optim.Optimizer, lr: float, step: int, steps: int) -> None:
    """From lr down to a tenth of it: big moves first, then settling into the nearest good z."""
    scale = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - 1) / max(steps - 1, 1)))
    for group in optimizer.param_groups:
        group["lr"] = lr * scale


def _keep_best(
    z: Tensor, y: Tensor | None, objective: Tensor, keep: int, optimizer: torch.optim.Adam, lr: float
) -> tuple[Tensor, Tensor | None, torch.optim.Adam]:
    """The `keep` candidates with the lowest objective, with their Adam moments, as a new, smaller batch."""
    order = objective.argsort()[:keep].sort().values  # keep their original order: deterministic ties
    moments = optimizer.state[z]
    kept = z.detach()[order].clone().requires_grad_(True)
    fresh = torch.optim.Adam([kept], lr=lr)
    fresh.state[kept] = {
        "step": moments["step"].clone(),
        "exp_avg": moments["exp_avg"][order].clone(),
        "exp_avg_sq": moments["exp_avg_sq"][order].clone(),
    }
    return kept, None if y is None else y[order], fresh


@torch.no_grad()
def _state(
    generator: nn.Module, z: Tensor, y: Tensor | None, best: int, step: int, steps: int, losses: list[float]
) -> InversionState:
    label = None if y is None else int(y[best])
    image = generator(z[best : best + 1], None if y is None else y[best : best + 1])[0].float().cpu()
    return InversionState(step, steps, z[best].detach().cpu(), label, image, losses[-1], list(losses))


@torch.no_grad()
def _final(
    generator: nn.Module,
    z: Tensor,
    y: Tensor | None,
    goal: Tensor,
    weight: Tensor,
    rank_cost: Prior,
    steps: int,
    losses: list[float],
) -> InversionState:
    """The winner after the last update, scored again (the loss in the loop was measured before that update)."""
    data_loss = _pixel_loss(generator(z, y), goal, weight)
    best = int((data_loss + rank_cost(z, y)).argmin())
    return _state(generator, z, y, best, steps, steps, [*losses, float(data_loss[best])])


def compose(target: Tensor, known: Tensor | None, fill: Tensor) -> Tensor:
    """The known pixels of `target` with the generator's `fill` where they are missing (C, H, W); with no mask
    (pure inversion, denoising) every pixel is damaged or in question, so the fill is the result."""
    return fill if known is None else torch.where(known.bool()[None], target, fill)
