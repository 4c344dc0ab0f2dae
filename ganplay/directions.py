"""Latent directions found without labels: SeFa (the top eigenvectors of G's first layer, Shen & Zhou 2021) and
GANSpace-style PCA (of G's early activations, mapped back to z by regression, Härkönen et al. 2020), cached
beside the checkpoint, combined, and drawn as grids (rows: directions, columns: strengths)."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint, load_generator
from ganplay.errors import UsageError
from ganplay.limits import DEFAULT_STRENGTH, MAX_K, METHODS, PCA_SAMPLES
from ganplay.models import DCGANGenerator, MLPGenerator, generator_input
from ganplay.safe_files import atomic_write_bytes
from ganplay.sampling import generate, seed_labels, seed_latents

PCA_SEED = 0
CACHE_FORMAT = "ganplay-directions"
CACHE_VERSION = 1
FirstLayer = tuple[nn.Linear, Callable[[Tensor], Tensor]]


@dataclass(frozen=True)
class Directions:
    """Unit directions in z space, strongest first, with what ranks them."""

    method: str  # "sefa" or "pca"
    vectors: Tensor  # (k, z_dim) unit rows; zero on InfoGAN's code entries, which G reads as a switch
    values: Tensor  # (k,) eigenvalues of A^T A (sefa) or variances of the activations' components (pca)
    explained: Tensor  # (k,) each value's share of the total (the trace of A^T A, or the activations' variance)
    digest: str  # sha256 of the checkpoint file they were computed from ("" for one held only in memory)
    weights: str  # "G_ema" or "G": which of the file's generators
    source: str = "computed"  # or "cache": read back from the file beside the checkpoint
    seconds: float = 0.0  # what computing (or reading) them took

    @property
    def k(self) -> int:
        return self.vectors.shape[0]

    def top(self, k: int) -> Directions:
        return replace(self, vectors=self.vectors[:k], values=self.values[:k], explained=self.explained[:k])


# -- what each architecture's first layer is ----------------------------------------------------------------


def first_layer(generator: nn.Module) -> FirstLayer:
    """(the linear layer that reads [z, label], what G does to its output before the next layer, flattened)."""
    if isinstance(generator, DCGANGenerator):

        def after(h: Tensor) -> Tensor:  # batch norm (a fixed affine map in eval mode), ReLU: (B, w * base * base)
            return generator.net[:2](h.view(h.shape[0], generator.width, generator.base, generator.base)).flatten(1)

        return generator.project, after
    if isinstance(generator, MLPGenerator):
        return generator.net[0], generator.net[1]  # Linear, ReLU
    raise UsageError(f"latent directions know the mlp and dcgan generators; this one is {type(generator).__name__}")


def require_supported(generator: nn.Module, ckpt: Checkpoint) -> None:
    """Directions are drawn as image grids; a 2-D model and an unknown architecture are refused, by name."""
    if ckpt.data["kind"] != "image":
        raise UsageError(
            f"{ckpt.path or 'this model'}: latent directions need an image model; this one makes 2-D points"
        )
    first_layer(generator)
    if continuous_dims(ckpt) < 1:
        raise UsageError("this model's z is all InfoGAN code: it has no continuous entries to move along")


def code_entries(ckpt: Checkpoint) -> int:
    """z's first entries that G reads only through their argmax (InfoGAN's code): no direction moves them."""
    return ckpt.config.info_codes


def continuous_dims(ckpt: Checkpoint) -> int:
    return ckpt.config.z_dim - code_entries(ckpt)


def max_k(ckpt: Checkpoint) -> int:
    return min(MAX_K, continuous_dims(ckpt))


def check_k(ckpt: Checkpoint, k: int) -> None:
    most = max_k(ckpt)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= most:
        raise UsageError(f"k must be a whole number from 1 to {most} for this model, got {k!r}")


# -- the two methods ------------------------------------------------------------------------------------------


def _in_z(ckpt: Checkpoint, rows: Tensor) -> Tensor:
    """(n, continuous) rows as (n, z_dim) unit vectors, zero on the code entries, each signed so that its
    largest entry is positive (an eigenvector's sign is arbitrary; this makes it the same on every machine)."""
    rows = rows / rows.norm(dim=1, keepdim=True).clamp_min(1e-12)
    biggest = rows.gather(1, rows.abs().argmax(1, keepdim=True))
    rows = rows * torch.where(biggest < 0, -1.0, 1.0).to(rows.dtype)
    full = rows.new_zeros(rows.shape[0], ckpt.config.z_dim)
    full[:, code_entries(ckpt) :] = rows
    return full.float()


def sefa(generator: nn.Module, ckpt: Checkpoint) -> tuple[Tensor, Tensor, Tensor]:
    """(vectors, eigenvalues, their shares): the top eigenvectors of A^T A, A the first layer's weight on z.

    Only z's continuous columns count: a class's (or cluster's) one-hot columns shift the layer's output by a
    constant, and InfoGAN's code columns are switched, not moved. The batch norm after dcgan's layer is left
    out, as in the paper: on the shipped models folding its scales in moved the top 5 by cosines of 0.96-1.00.
    """
    linear, _ = first_layer(generator)
    a = linear.weight.detach().double().cpu()[:, code_entries(ckpt) : ckpt.config.z_dim]  # (out, continuous)
    values, vectors = torch.linalg.eigh(a.T @ a)  # ascending
    order = values.flip(0)[: max_k(ckpt)], vectors.flip(1)[:, : max_k(ckpt)].T
    return _in_z(ckpt, order[1]), order[0].float(), (order[0] / values.sum()).float()


@torch.no_grad()
def activations(generator: nn.Module, ckpt: Checkpoint, z: Tensor, labels: Tensor | None) -> Tensor:
    """(N, features) of G's first layer (after its norm and nonlinearity), in chunks, on G's device; CPU float."""
    linear, after = first_layer(generator)
    device = linear.weight.device
    num_classes, codes = (ckpt.data["num_classes"] if ckpt.config.takes_labels else 0), code_entries(ckpt)
    parts = []
    for start in range(0, z.shape[0], 500):
        zz = z[start : start + 500].to(device)
        yy = None if labels is None else labels[start : start + 500].to(device)
        parts.append(after(linear(generator_input(zz, yy, num_classes, codes))).float().cpu())
    return torch.cat(parts)


def _groups(ckpt: Checkpoint, z: Tensor, labels: Tensor | None) -> Tensor:
    """Which (label, InfoGAN code) each sample has: what z's continuous entries cannot explain."""
    group = torch.zeros(z.shape[0], dtype=torch.long) if labels is None else labels.clone()
    codes = code_entries(ckpt)
    return group * codes + z[:, :codes].argmax(1) if codes else group


def _centred_within(y: Tensor, group: Tensor) -> Tensor:
    """y less its group's mean: the variance left is the part z's continuous entries make."""
    sums = torch.zeros(int(group.max()) + 1, y.shape[1]).index_add_(0, group, y)
    counts = torch.bincount(group).clamp_min(1).float()[:, None]
    return y - (sums / counts)[group]


def _top_components(y: Tensor, q: int, gen: torch.Generator, rounds: int = 4) -> tuple[Tensor, Tensor]:
    """(V (features, q), singular values (q,)) of y, by a seeded randomized SVD (Halko et al.): a full SVD of
    a 5,000 x 6,272 matrix is far slower, and torch.svd_lowrank draws from the global RNG."""
    basis = torch.linalg.qr(y @ torch.randn(y.shape[1], q + 8, generator=gen)).Q  # (N, q + 8)
    for _ in range(rounds):  # power iterations sharpen a slowly decaying spectrum
        basis = torch.linalg.qr(y @ torch.linalg.qr(y.T @ basis).Q).Q
    _, s, vh = torch.linalg.svd(basis.T @ y, full_matrices=False)
    return vh[:q].T, s[:q]


def pca(
    generator: nn.Module, ckpt: Checkpoint, samples: int = PCA_SAMPLES, seed: int = PCA_SEED
) -> tuple[Tensor, Tensor, Tensor]:
    """(vectors, variances, their shares): PCA of the first layer's activations over `samples` random z, each
    component mapped back to z by regressing z on the samples' coordinates along it (GANSpace's BigGAN recipe).

    Labels are spread evenly over the samples and each (label, code) group is centred on its own mean, so
    the components are the variation z makes, not the gaps between classes that z cannot move.
    """
    if not 2 * MAX_K <= samples <= 100_000:
        raise UsageError(f"PCA samples must be between {2 * MAX_K} and 100,000, got {samples}")
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, ckpt.config.z_dim, generator=gen)
    labels = torch.arange(samples) % ckpt.data["num_classes"] if ckpt.config.takes_labels else None
    y = _centred_within(activations(generator, ckpt, z, labels), _groups(ckpt, z, labels))  # (N, features)
    q = max_k(ckpt)
    v, s = _top_components(y, q, gen)
    coords = (y @ v).double()  # (N, q): each sample's place along each component
    continuous = z[:, code_entries(ckpt) :].double()
    u = torch.linalg.lstsq(coords, continuous - continuous.mean(0)).solution  # (q, continuous): z ~ coords @ u
    variances = s.double() ** 2 / samples
    return _in_z(ckpt, u), variances.float(), (variances * samples / y.double().pow(2).sum()).float()


# -- compute, with a cache beside the checkpoint ----------------------------------------------------------------


def file_digest(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_path(checkpoint: str | Path, method: str, weights: str) -> Path:
    """mnist-dcgan.pt -> mnist-dcgan.directions-sefa.npz beside it (-raw for the raw G); never .pt, which the
    pages list as models."""
    path = Path(checkpoint)
    return path.with_name(f"{path.stem}.directions-{method}{'' if weights == 'G_ema' else '-raw'}.npz")


def compute_directions(
    checkpoint: Checkpoint | str | Path,
    method: str,
    k: int,
    *,
    generator: nn.Module | None = None,
    use_ema: bool = True,
    samples: int = PCA_SAMPLES,
    seed: int = PCA_SEED,
    cache: bool = True,
) -> Directions:
    """The top k directions of a checkpoint's generator by `method`, read from the cache file beside the
    checkpoint when it was made from the same file content and settings, else computed (and cached when the
    folder is writable: an unwritable one only costs the recomputation next time)."""
    if method not in METHODS:
        raise UsageError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if generator is None or not isinstance(checkpoint, Checkpoint):
        generator, checkpoint = load_generator(getattr(checkpoint, "path", checkpoint), use_ema=use_ema)
    ckpt = checkpoint
    require_supported(generator, ckpt)
    check_k(ckpt, k)
    weights = "G_ema" if use_ema and ckpt.G_ema is not None else "G"
    on_disk = bool(ckpt.path) and Path(ckpt.path).is_file()
    digest = file_digest(ckpt.path) if on_disk else ""
    settings = {"samples": samples, "seed": seed} if method == "pca" else {}
    where = cache_path(ckpt.path, method, weights) if cache and on_disk else None
    start = time.perf_counter()
    found = _read_cache(where, digest, method, weights, settings, ckpt.config.z_dim) if where else None
    if found is not None:
        return replace(found, seconds=time.perf_counter() - start).top(k)
    vectors, values, explained = sefa(generator, ckpt) if method == "sefa" else pca(generator, ckpt, samples, seed)
    found = Directions(method, vectors, values, explained, digest, weights, "computed", time.perf_counter() - start)
    if where is not None and file_digest(ckpt.path) == digest:  # unchanged while computing: the entry is true
        _write_cache(where, found, settings)
    return found.top(k)


def _write_cache(where: Path, found: Directions, settings: dict) -> None:
    meta = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "digest": found.digest, "method": found.method}
    meta.update(weights=found.weights, settings=settings)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        meta=np.array(json.dumps(meta)),
        vectors=found.vectors.numpy(),
        values=found.values.numpy(),
        explained=found.explained.numpy(),
    )
    try:
        atomic_write_bytes(where, buffer.getvalue())
    except (OSError, UsageError):
        pass  # a read-only folder, a full disk, a folder in the way: directions work, they are just not kept


def _read_cache(where: Path, digest: str, method: str, weights: str, settings: dict, z_dim: int) -> Directions | None:
    """The cached directions when the file is ours, whole, and made from this content with these settings."""
    try:
        with np.load(where, allow_pickle=False) as saved:
            meta = json.loads(str(saved["meta"]))
            arrays = [
                torch.from_numpy(np.array(saved[name], dtype=np.float32)) for name in ("vectors", "values", "explained")
            ]
    except (OSError, ValueError, KeyError, TypeError):  # absent, damaged, or not a cache file at all
        return None
    wanted = {"format": CACHE_FORMAT, "version": CACHE_VERSION, "digest": digest, "method": method}
    wanted.update(weights=weights, settings=settings)
    vectors, values, explained = arrays
    if meta != wanted or vectors.ndim != 2 or vectors.shape[1] != z_dim or not torch.isfinite(vectors).all():
        return None
    if values.shape != (vectors.shape[0],) or explained.shape != values.shape:
        return None
    return Directions(method, vectors, values, explained, digest, weights, "cache")


# -- using them -------------------------------------------------------------------------------------------------


def apply(z: Tensor, directions: Directions, strengths: Sequence[float] | Mapping[int, float]) -> Tensor:
    """z (z_dim,) or (B, z_dim) moved by strength s_i along direction i, for every i given: several at once."""
    if isinstance(strengths, Mapping):
        if any(not 0 <= i < directions.k for i in strengths):
            raise UsageError(f"directions are numbered 0 to {directions.k - 1}, got {sorted(strengths)}")
        weights = torch.zeros(directions.k)
        weights[list(strengths)] = torch.tensor([float(s) for s in strengths.values()])
    else:
        if len(strengths) > directions.k:
            raise UsageError(f"{len(strengths)} strengths for {directions.k} directions")
        weights = torch.zeros(directions.k)
        weights[: len(strengths)] = torch.tensor([float(s) for s in strengths])
    return z + (weights[None] @ directions.vectors.to(z.dtype)).reshape(z.shape[-1])


def strengths_row(strength: float, columns: int) -> Tensor:
    """(columns,) from -strength to +strength; an odd count keeps 0 (z itself) in the middle column."""
    if not 0 < strength <= 20:
        raise UsageError(f"strength must be above 0 and at most 20, got {strength}")
    if not 2 <= columns <= 21:
        raise UsageError(f"columns must be between 2 and 21, got {columns}")
    return torch.linspace(-strength, strength, columns)


def file_z(
    source: str | Path | bytes, ckpt: Checkpoint, class_id: int | None, name: str = ""
) -> tuple[Tensor, Tensor | None]:
    """(z, its label or None) from a latent file's path or bytes: a .npz that `invert --z-out` writes (z with
    the label the inversion found) or a bare .npy. `class_id`, when given, is held instead of the file's label."""
    from ganplay.latent_files import check_latents, read_latent

    where = name or ("the uploaded file" if isinstance(source, bytes) else str(source))
    try:
        latent = read_latent(io.BytesIO(source) if isinstance(source, bytes) else source, name=where)
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file") from None
    [latent] = check_latents([latent], ckpt)
    if not ckpt.config.takes_labels:  # a class asked of an unconditional model is refused there
        return latent.z, seed_labels(ckpt.data, ckpt.config, [0], class_id)
    label = latent.label if class_id is None else class_id
    if label is None:
        kind = "cluster" if ckpt.config.clusters else "class"
        raise UsageError(
            f"{where}: holds z alone, and this model takes a {kind} with it: give the one the inversion found "
            f"(--class K), or save the z as .npz (`invert --z-out z.npz` keeps it)"
        )
    return latent.z, seed_labels(ckpt.data, ckpt.config, [0], label)


def seed_z(ckpt: Checkpoint, seed: int, class_id: int | None) -> tuple[Tensor, Tensor | None]:
    """(z, its label or None): the latent and label `sample(..., n=1, seed=seed)` draws, for a grid's centre."""
    return seed_latents([seed], ckpt.config.z_dim)[0], seed_labels(ckpt.data, ckpt.config, [seed], class_id)


def grid(
    generator: nn.Module,
    directions: Directions,
    z: Tensor,
    label: Tensor | None,
    strength: float = DEFAULT_STRENGTH,
    columns: int = 7,
) -> Tensor:
    """(k * columns, C, H, W): row i is z moved along direction i from -strength to +strength."""
    steps = strengths_row(strength, columns)
    moved = z[None, None] + steps[None, :, None] * directions.vectors[:, None]  # (k, columns, z_dim)
    labels = None if label is None else label.reshape(1).expand(directions.k * columns)
    return generate(generator, moved.reshape(-1, z.shape[-1]), labels)
