"""Sampling and interpolation from a trained generator: latents and labels in, samples out (pictures.py makes
pictures and files of them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint
from ganplay.errors import UsageError
from ganplay.latent import class_path, corner_grid, keyframe_path, with_codes, z_from_seed
from ganplay.latent_files import Latent, check_latents
from ganplay.seeding import prior_labels

EACH_CODE = "each"  # InfoGAN: row i of a batch gets code i mod K
Code = int | str | None  # an InfoGAN code, EACH_CODE, or None: as z draws it (uniform)
CLUSTER_SEED_OFFSET = 2**31  # cluster draws use their own stream, not z's
WALK_CLASS = 0  # the class a conditional model's walk holds when none is asked for


def class_labels(meta: dict[str, Any], config: Any, n: int, class_id: int | None, seed: int = 0) -> Tensor | None:
    """Labels for a conditional or self-conditioned generator; None when unconditional.

    With no class asked for: all classes in turn, or for clusters a draw at their real shares fixed by
    `seed` (row i the same whatever n is, like z).
    """
    prior = meta.get("label_prior")
    if not config.takes_labels:
        if class_id is not None:
            raise UsageError("this model is not conditional; it takes no class")
        return None
    k = meta["num_classes"]
    if class_id is None:
        return (
            prior_labels(prior, n, torch.Generator().manual_seed(seed + CLUSTER_SEED_OFFSET))
            if prior
            else torch.arange(n) % k
        )
    if not 0 <= class_id < k:
        raise UsageError(f"class must be between 0 and {k - 1}, got {class_id}")
    return torch.full((n,), class_id, dtype=torch.long)


def seed_labels(meta: dict[str, Any], config: Any, seeds: list[int], class_id: int | None) -> Tensor | None:
    """One label per seed, each the one `sample(..., n=1, seed=s)` uses (clusters), else as class_labels."""
    if class_id is not None or not meta.get("label_prior"):
        return class_labels(meta, config, len(seeds), class_id)
    return torch.cat([class_labels(meta, config, 1, None, seed=s) for s in seeds])


def _labels_along(
    meta: dict[str, Any], config: Any, seeds: list[int], class_id: int | None, n: int, blend: Callable[[Tensor], Tensor]
) -> Tensor | None:
    """Labels for n points on a path or plane through the seeds' latents.

    Clusters with no class asked for: each seed's own cluster, as one-hot rows blended by `blend` just as
    the latents are, so the path moves between clusters as z does. Otherwise as class_labels.
    """
    if meta.get("label_prior") and class_id is None:
        keys = F.one_hot(seed_labels(meta, config, seeds, None), meta["num_classes"]).float()
        return blend(keys)
    return class_labels(meta, config, n, class_id)


def walk_class(ckpt: Checkpoint, class_id: int | None) -> int | None:
    """The class a walk, its candidates or a plane hold: the one asked for, else WALK_CLASS for a conditional model.

    "All classes in turn" would change the class at every frame, and the frames would show classes, not the
    path. None stays None for clusters (each keyframe's own, blended) and for unconditional models.
    """
    return WALK_CLASS if class_id is None and ckpt.config.conditional else class_id


def fix_code(z: Tensor, config: Any, code: Code) -> Tensor:
    """z with its InfoGAN code set (one code for every row, or each in turn); unchanged for code None."""
    k = config.info_codes
    if code is None:
        return z
    if not k:
        raise UsageError("this model has no InfoGAN code (info_codes is 0); it takes no code")
    if code == EACH_CODE:
        return with_codes(z, torch.arange(z.shape[0]) % k, k)
    if isinstance(code, str) or not 0 <= code < k:
        raise UsageError(f"code must be between 0 and {k - 1}, or {EACH_CODE!r}, got {code!r}")
    return with_codes(z, torch.full((z.shape[0],), code, dtype=torch.long), k)


@torch.no_grad()
def generate(generator: nn.Module, z: Tensor, y: Tensor | None = None, batch: int = 256) -> Tensor:
    """Run G over z in chunks; returns CPU float32 ((N, C, H, W) in [-1, 1] or (N, 2) points)."""
    device = next(generator.parameters()).device
    parts = []
    for start in range(0, z.shape[0], batch):
        yy = None if y is None else y[start : start + batch].to(device)
        parts.append(generator(z[start : start + batch].to(device), yy).float().cpu())
    return torch.cat(parts)


def sample(
    generator: nn.Module,
    ckpt: Checkpoint,
    n: int,
    seed: int = 0,
    truncation: float | None = None,
    class_id: int | None = None,
    code: Code = None,
) -> Tensor:
    if n < 1:
        raise UsageError(f"n must be at least 1, got {n}")
    cfg = ckpt.config
    z = fix_code(z_from_seed(seed, n, cfg.z_dim, truncation), cfg, code)  # (n, z_dim)
    return generate(generator, z, class_labels(ckpt.data, cfg, n, class_id, seed))


def interpolation(
    generator: nn.Module,
    ckpt: Checkpoint,
    frames: int,
    mode: str = "slerp",
    seeds: list[int] | None = None,
    truncation: float | None = None,
    class_id: int | None = None,
    class_from: int | None = None,
    class_to: int | None = None,
    loop: bool = False,
    code: Code = None,
) -> Tensor:
    """Frames along a path: through the latents of `seeds` (one z per seed), or from class_from to class_to.

    A walk through latents holds one class (see walk_class); a class-to-class path holds z instead.
    """
    cfg, meta = ckpt.config, ckpt.data
    if (class_from is None) != (class_to is None):
        raise UsageError("give both class_from and class_to for a class-to-class path")
    if class_from is not None:
        if class_id is not None:
            raise UsageError(f"a class-to-class path moves the class itself; it holds no class (got class {class_id})")
        z = fix_code(z_from_seed((seeds or [0])[0], 1, cfg.z_dim, truncation), cfg, code)  # (1, z_dim)
        return generate(generator, z.expand(frames, -1), _class_path_labels(meta, cfg, class_from, class_to, frames))
    seeds = seeds if seeds is not None else [0, 1]
    if len(seeds) < 2:
        raise UsageError(f"an interpolation needs at least two seeds, got {len(seeds)}")
    keys = seed_latents(seeds, cfg.z_dim, truncation)  # (K, z_dim)
    z = fix_code(keyframe_path(keys, frames, mode, loop=loop), cfg, code)  # (frames, z_dim)
    labels = _labels_along(
        meta,
        cfg,
        seeds,
        walk_class(ckpt, class_id),
        frames,
        lambda keys: keyframe_path(keys, frames, "lerp", loop=loop),
    )
    return generate(generator, z, labels)


def latent_walk(
    generator: nn.Module,
    ckpt: Checkpoint,
    latents: list[Latent],
    frames: int,
    mode: str = "slerp",
    class_id: int | None = None,
    loop: bool = False,
) -> Tensor:
    """Frames along a path through latents read from files (real images found by an inversion).

    A model that takes labels gets each keyframe's own label, blended as the latents are, so a walk from
    a found 3 to a found 8 moves the class too; `class_id` holds one class instead. An InfoGAN z keeps
    the code it was found with.
    """
    cfg = ckpt.config
    if len(latents) < 2:
        raise UsageError(f"an interpolation needs at least two keyframes, got {len(latents)}")
    keys = torch.stack([latent.z for latent in check_latents(latents, ckpt)])  # (K, z_dim)
    z = keyframe_path(keys, frames, mode, loop=loop)
    if not cfg.takes_labels or class_id is not None:
        return generate(generator, z, class_labels(ckpt.data, cfg, frames, class_id))
    own = torch.tensor([WALK_CLASS if latent.label is None else latent.label for latent in latents])
    labels = keyframe_path(F.one_hot(own, ckpt.data["num_classes"]).float(), frames, "lerp", loop=loop)
    return generate(generator, z, labels)


def _class_path_labels(meta: dict[str, Any], config: Any, class_from: int, class_to: int, frames: int) -> Tensor:
    """(frames, K) soft labels from one class to another, for a model that takes labels."""
    if not config.takes_labels:
        raise UsageError("class-to-class paths need a conditional or self-conditioned (clusters) model")
    k = meta["num_classes"]
    for c in (class_from, class_to):
        if not 0 <= c < k:
            raise UsageError(f"classes must be between 0 and {k - 1}, got {c}")
    return class_path(class_from, class_to, k, frames)


def parse_seeds(text: str) -> list[int]:
    """'0, 1, 5' -> [0, 1, 5]: seeds as a person types them."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    bad = [part for part in parts if not part.isdigit()]
    if bad:
        raise UsageError(f"seeds are whole numbers from 0, separated by commas, got {bad[0]!r}")
    return [int(part) for part in parts]


def seed_latents(seeds: list[int], z_dim: int, truncation: float | None = None) -> Tensor:
    """(len(seeds), z_dim): one latent per seed, the same one `sample(..., n=1, seed=s)` uses."""
    return torch.cat([z_from_seed(s, 1, z_dim, truncation) for s in seeds])


def candidates(
    generator: nn.Module,
    ckpt: Checkpoint,
    seeds: list[int],
    truncation: float | None = None,
    class_id: int | None = None,
    code: Code = None,
) -> Tensor:
    """One sample per seed, each the keyframe it would be in a walk, so a user can pick keyframes by eye."""
    cfg = ckpt.config
    z = fix_code(seed_latents(seeds, cfg.z_dim, truncation), cfg, code)
    return generate(generator, z, seed_labels(ckpt.data, cfg, seeds, walk_class(ckpt, class_id)))


def plane(
    generator: nn.Module,
    ckpt: Checkpoint,
    corner_seeds: list[int],
    rows: int,
    cols: int,
    mode: str = "slerp",
    truncation: float | None = None,
    class_id: int | None = None,
    code: Code = None,
) -> Tensor:
    """(rows * cols, ...) samples on the plane between four corner latents (tl, tr, bl, br), row-major."""
    if len(corner_seeds) != 4:
        raise UsageError(f"a plane needs four corner seeds, got {len(corner_seeds)}")
    cfg = ckpt.config
    z = fix_code(corner_grid(seed_latents(corner_seeds, cfg.z_dim, truncation), rows, cols, mode), cfg, code)
    labels = _labels_along(
        ckpt.data,
        cfg,
        corner_seeds,
        walk_class(ckpt, class_id),
        rows * cols,
        lambda keys: corner_grid(keys, rows, cols, "lerp"),
    )
    return generate(generator, z, labels)


def nearest_real(samples: Tensor, real: Tensor, k: int = 5, batch: int = 256) -> tuple[Tensor, Tensor]:
    """(distances (N, k), indices (N, k)) of each sample's k nearest real images in pixel space (L2).

    A memorization check: a sample at distance ~0 from a training image is a copy of it.
    """
    flat_real = real.flatten(1).float()
    dists, index = [], []
    for start in range(0, len(samples), batch):
        d = torch.cdist(samples[start : start + batch].flatten(1).float(), flat_real)  # (b, M)
        top = d.topk(min(k, len(flat_real)), dim=1, largest=False)
        dists.append(top.values)
        index.append(top.indices)
    return torch.cat(dists), torch.cat(index)
