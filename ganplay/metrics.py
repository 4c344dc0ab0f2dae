"""Quality metrics. For the 2-D mixtures: the PacGAN/VEEGAN mode-coverage protocol."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

if TYPE_CHECKING:
    from ganplay.checkpoint_format import Checkpoint

PACGAN_PROTOCOL_SAMPLES = 2500  # generated points per evaluation in the PacGAN paper
HQ_SIGMAS = 3.0  # a point is high quality within this many sigmas of its nearest mode


@dataclass(frozen=True)
class ToyModeStats:
    modes_covered: int  # modes that are the nearest mode of at least one high-quality point
    num_modes: int
    high_quality: float  # fraction of points within 3 sigma of their nearest mode
    kl_to_uniform: float  # KL(histogram of high-quality points over modes || uniform); 0 is perfect balance
    num_samples: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.modes_covered}/{self.num_modes} modes, {100 * self.high_quality:.1f}% high quality, "
            f"KL to uniform {self.kl_to_uniform:.3f} ({self.num_samples:,} samples)"
        )


def toy_mode_stats(
    points: Tensor | np.ndarray, modes: Tensor | np.ndarray, sigma: float, threshold_sigmas: float = HQ_SIGMAS
) -> ToyModeStats:
    """Modes covered, high-quality fraction and KL to uniform of (N, 2) points against (K, 2) modes."""
    pts = torch.as_tensor(np.asarray(points), dtype=torch.float64).reshape(-1, 2)
    means = torch.as_tensor(np.asarray(modes), dtype=torch.float64).reshape(-1, 2)
    if len(pts) == 0:
        raise ValueError("need at least one point to evaluate")
    finite = torch.isfinite(pts).all(1)
    dist = torch.cdist(pts[finite], means)  # (N', K)
    nearest_dist, nearest = dist.min(1)
    good = nearest_dist <= threshold_sigmas * sigma
    counts = torch.bincount(nearest[good], minlength=len(means)).double()  # (K,)
    covered = int((counts > 0).sum())
    kl = math.inf
    if counts.sum() > 0:
        p = counts / counts.sum()
        nz = p > 0
        kl = float((p[nz] * (p[nz] * len(means)).log()).sum())
    return ToyModeStats(covered, len(means), float(good.sum()) / len(pts), kl, len(pts))


def evaluate_toy_checkpoint(
    generator: torch.nn.Module, ckpt: Checkpoint, num_samples: int = PACGAN_PROTOCOL_SAMPLES, seed: int = 12345
) -> ToyModeStats:
    """The PacGAN protocol on a 2-D checkpoint: `num_samples` points from latents fixed by `seed`."""
    from ganplay.sampling import sample

    meta = ckpt.data
    if meta.get("kind") != "toy" or "modes" not in meta:
        raise ValueError(
            f"{ckpt.path or 'this checkpoint'}: mode coverage needs a 2-D mixture with modes "
            f"(ring8, grid25); this model was trained on {meta.get('name')}"
        )
    points = sample(generator, ckpt, num_samples, seed=seed)
    return toy_mode_stats(points, meta["modes"], meta["sigma"])


# -- image metrics in an evaluator's feature space ---------------------------------------------------


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """Frechet distance between two (N, D) feature sets, each summarised as a Gaussian."""
    return frechet_from_stats(gaussian_stats(a), gaussian_stats(b))


def gaussian_stats(feats: Tensor) -> tuple[Tensor, Tensor]:
    """(mean, covariance) of (N, D) features in float64: a reference set can be summarised once."""
    x = feats.double()
    return x.mean(0), torch.cov(x.T)


def frechet_from_stats(a: tuple[Tensor, Tensor], b: tuple[Tensor, Tensor]) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of
    S_a^(1/2) S_b S_a^(1/2), which is symmetric, so a symmetric eigensolver suffices.
    """
    (mu_a, cov_a), (mu_b, cov_b) = a, b
    vals, vecs = torch.linalg.eigh(cov_a)
    root_a = (vecs * vals.clamp(min=0).sqrt()) @ vecs.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def kernel_inception_distance(a: Tensor, b: Tensor, subsets: int = 10, subset_size: int = 1000, seed: int = 0) -> float:
    """KID: the unbiased MMD^2 with the cubic polynomial kernel (x.y / D + 1)^3, averaged over subsets."""
    a, b = a.double(), b.double()
    d = a.shape[1]
    m = min(subset_size, len(a), len(b))
    gen = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:m]]
        y = b[torch.randperm(len(b), generator=gen)[:m]]
        kxx, kyy, kxy = ((x @ x.T / d + 1) ** 3, (y @ y.T / d + 1) ** 3, (x @ y.T / d + 1) ** 3)
        off = m * (m - 1)
        estimates.append((kxx.sum() - kxx.trace()) / off + (kyy.sum() - kyy.trace()) / off - 2 * kxy.mean())
    return float(torch.stack(estimates).mean())


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> tuple[float, float]:
    """Kynkaanniemi et al. (2019): precision = share of fake samples inside the real k-NN manifold;
    recall = share of real samples inside the fake k-NN manifold."""
    real, fake = real.float(), fake.float()

    def radii(x: Tensor) -> Tensor:
        return torch.cdist(x, x).kthvalue(k + 1, dim=1).values  # k-th neighbour, skipping the point itself

    def inside(points: Tensor, manifold: Tensor, r: Tensor) -> float:
        return float((torch.cdist(points, manifold) <= r[None, :]).any(1).float().mean())

    return inside(fake, real, radii(real)), inside(real, fake, radii(fake))


IS_SPLITS = 10  # the standard protocol (Salimans et al. 2016)


def inception_score(probs: Tensor, splits: int = IS_SPLITS) -> tuple[float, float]:
    """(mean, std) over `splits` equal parts of exp(E_x KL(p(y|x) || p(y))), p(y) being each part's mean.

    The score of the original code (and stylegan3's): 1 when every sample gets the same prediction, at most the
    number of classes when each is classified with certainty and the classes are equally common. The std is
    over the parts (numpy's, population).
    """
    p = probs.double()
    if p.ndim != 2 or len(p) < splits:
        raise ValueError(
            f"the Inception Score needs at least {splits} rows of class probabilities, got {tuple(p.shape)}"
        )
    scores = []
    for i in range(splits):
        part = p[i * len(p) // splits : (i + 1) * len(p) // splits]  # (n/splits, K)
        marginal = part.mean(0, keepdim=True)
        kl = (torch.special.xlogy(part, part) - torch.special.xlogy(part, marginal)).sum(1).mean()
        scores.append(kl.exp())
    stacked = torch.stack(scores)
    return float(stacked.mean()), float(stacked.std(correction=0))


@dataclass(frozen=True)
class ClassStats:
    covered: int  # classes predicted for at least `min_share` of the samples
    num_classes: int
    kl_to_uniform: float  # KL(predicted-class histogram || uniform); 0: perfectly balanced
    min_share: float  # the rarest class's share of the samples
    mean_confidence: float  # mean of the top class probability

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def class_stats(probs: Tensor, threshold: float = 0.0) -> ClassStats:
    """Mode collapse in class terms, from an evaluator's (N, K) predicted probabilities."""
    k = probs.shape[1]
    counts = torch.bincount(probs.argmax(1), minlength=k).double()
    share = counts / counts.sum()
    nz = share > 0
    kl = float((share[nz] * (share[nz] * k).log()).sum())
    return ClassStats(int((share > threshold).sum()), k, kl, float(share.min()), float(probs.max(1).values.mean()))


# -- the full evaluation of a checkpoint ---------------------------------------------------------------


def real_halves(images: Tensor, n: int, m: int | None = None) -> tuple[Tensor, Tensor]:
    """Two disjoint sets of real images, n and then m (default n), by one fixed permutation (seed 0): the
    reference a score is measured against, and the other set, scored the same way, for the real-versus-real
    floor. Every score (eval, standard FID, live) splits the same way."""
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(0)).to(images.device)
    m = n if m is None else m
    return images[perm[:n]], images[perm[n : n + m]]


IMAGE_PROTOCOL_SAMPLES = 5000  # generated samples, and real samples in each reference half


def evaluate_image_checkpoint(
    generator: torch.nn.Module,
    ckpt: Checkpoint,
    evaluator,
    real_images: Tensor,
    num_samples: int = IMAGE_PROTOCOL_SAMPLES,
    seed: int = 12345,
    held_out: Tensor | None = None,
) -> dict:
    """Every image metric for one checkpoint, with its protocol spelled out beside the numbers.

    real_images (M, C, H, W) in [-1, 1]: split by a fixed permutation into two disjoint halves; the
    generated samples are compared with half A, and half A with half B gives the real-versus-real floor.
    held_out: real images the evaluator never trained on, whose IS in its classes is the samples' reference.
    """
    from ganplay.sampling import sample

    n = min(num_samples, len(real_images) // 2)
    real_a, real_b = real_halves(real_images, n)
    fake = sample(generator, ckpt, n, seed=seed)
    probs, feats = evaluator.predict(fake)
    _, feats_a = evaluator.predict(real_a)
    _, feats_b = evaluator.predict(real_b)
    precision, recall = precision_recall(feats_a[:2000], feats[:2000])
    name = evaluator.label
    result = {
        f"fd ({name} features)": frechet_distance(feats, feats_a),
        f"fd floor, real vs real ({name} features)": frechet_distance(feats_b, feats_a),
        f"kid ({name} features)": kernel_inception_distance(feats, feats_a),
        f"kid floor, real vs real ({name} features)": kernel_inception_distance(feats_b, feats_a),
        "precision (k=3, 2000 samples)": precision,
        "recall (k=3, 2000 samples)": recall,
        **{f"classes {k}": v for k, v in class_stats(probs).as_dict().items()},
        "protocol": (
            f"{n} generated samples (seed {seed}, EMA generator when present) against {n} real images; "
            f"the floor compares two disjoint halves of {2 * n} real images; features: the "
            f"{FEATURE_NOTE} of ganplay's own classifier (held-out accuracy "
            f"{evaluator.holdout_accuracy:.2%}); not comparable to Inception FID"
        ),
    }
    result.update(classifier_scores(probs, evaluator, held_out))
    if ckpt.config.conditional:
        result["conditional accuracy (asked for class k, classified as k)"] = conditional_accuracy(
            generator, ckpt, evaluator, per_class=max(1, n // ckpt.data["num_classes"]), seed=seed
        )
    if ckpt.config.info_codes:
        purity, found = code_purity(generator, ckpt, evaluator, per_code=max(1, n // ckpt.config.info_codes), seed=seed)
        result["InfoGAN code purity (share of a code's samples in its most common class)"] = purity
        result["InfoGAN classes found (distinct most common classes of the codes)"] = found
    return result


FEATURE_NOTE = "128-d penultimate features"


def classifier_scores(probs: Tensor, evaluator, held_out: Tensor | None) -> dict:
    """The Inception Score computed with the evaluator's classes instead of Inception's (named so), beside the
    same score of real images it never trained on: real data's own IS is the mark to compare with."""
    name = evaluator.label
    if len(probs) < IS_SPLITS:
        return {f"IS ({name})": f"unavailable: {len(probs)} samples cannot fill {IS_SPLITS} splits"}
    result = dict(zip((f"IS ({name})", f"IS std ({name})"), inception_score(probs)))
    reference = ""
    if held_out is not None and len(held_out) >= IS_SPLITS:
        real_probs, _ = evaluator.predict(held_out)
        result.update(
            zip((f"IS real held-out ({name})", f"IS std real held-out ({name})"), inception_score(real_probs))
        )
        reference = f"; the reference: {len(held_out)} real images the classifier never trained on, scored alike"
    result[f"IS protocol ({name})"] = (
        f"exp(E KL(p(y|x) || p(y))) with the probabilities of ganplay's {evaluator.dataset} classifier over its "
        f"{probs.shape[1]} classes (at most {probs.shape[1]}), not Inception's: not comparable to published IS; "
        f"{len(probs)} samples in {IS_SPLITS} splits, mean and std over the splits{reference}"
    )
    return result


def conditional_accuracy(
    generator: torch.nn.Module, ckpt: Checkpoint, evaluator, per_class: int = 500, seed: int = 12345
) -> float:
    from ganplay.sampling import sample

    hits, total = 0, 0
    for k in range(ckpt.data["num_classes"]):
        probs, _ = evaluator.predict(sample(generator, ckpt, per_class, seed=seed + k, class_id=k))
        hits += int((probs.argmax(1) == k).sum())
        total += per_class
    return hits / total


def code_purity(
    generator: torch.nn.Module, ckpt: Checkpoint, evaluator, per_code: int = 500, seed: int = 12345
) -> tuple[float, int]:
    """How well an InfoGAN's codes found the classes, unsupervised: (mean purity, distinct classes found).

    A code's purity is the share of its samples the evaluator puts in the code's most common class;
    1.0 and as many classes as codes means every code makes one class and no two codes the same one.
    """
    from ganplay.sampling import sample

    purities, majorities = [], set()
    for code in range(ckpt.config.info_codes):
        probs, _ = evaluator.predict(sample(generator, ckpt, per_code, seed=seed + code, code=code))
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1])
        purities.append(float(counts.max()) / per_code)
        majorities.add(int(counts.argmax()))
    return sum(purities) / len(purities), len(majorities)


def label_contents(
    generator: torch.nn.Module, ckpt: Checkpoint, evaluator, per_label: int = 40, seed: int = 0
) -> list[tuple[int, float]]:
    """What G makes for each of its labels, as the evaluator reads it: (majority class, its share) per label.

    For a self-conditioned model this tells a user what cluster 7 holds ("mostly 3s") before picking it.
    """
    from ganplay.sampling import sample

    contents = []
    for label in range(ckpt.data["num_classes"]):
        probs, _ = evaluator.predict(sample(generator, ckpt, per_label, seed=seed, class_id=label))
        counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1])
        contents.append((int(counts.argmax()), float(counts.max()) / per_label))
    return contents
