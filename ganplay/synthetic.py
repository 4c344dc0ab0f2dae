"""Synthetic labelled datasets from a generator: N images per class, for augmentation and for CAS.

A conditional model is asked for each class in turn. Any other image model (self-conditioned on clusters,
InfoGAN or plain) is labelled by the dataset's shipped evaluator: samples it is unsure of are dropped, and
sampling goes on until every class has N or a cap on draws is reached. A clustered model is steered by
cluster: the clusters whose samples turned out to be the digits still missing are drawn more often.
`synthesize` is a generator of Progress, so the CLI draws a bar and a page a progress bar from one loop;
synthetic_files.py writes the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint
from ganplay.errors import UsageError
from ganplay.evaluators import Evaluator
from ganplay.limits import DEFAULT_BATCH, DEFAULT_MIN_CONFIDENCE, MAX_DRAWS_PER_IMAGE
from ganplay.live_eval import model_evaluator
from ganplay.sampling import generate
from ganplay.seeding import seeded_generator
from ganplay.sources import to_float

CONDITIONAL, CLUSTERS, EVALUATOR = "conditional", "clusters", "evaluator"  # how the labels are found
LABELLED_BY = {
    CONDITIONAL: "the class the conditional generator was asked for",
    CLUSTERS: "the shipped evaluator (sampled cluster by cluster, steered to the classes still missing)",
    EVALUATOR: "the shipped evaluator",
}


@dataclass
class SyntheticSet:
    """What an export writes: uint8 images with their labels and how they were made."""

    images: np.ndarray  # (N, C, H, W) uint8, the layout of the datasets' own image tensors
    labels: np.ndarray  # (N,) int64, indices into class_names; sorted by class
    class_names: tuple[str, ...]
    labelling: str  # CONDITIONAL, CLUSTERS or EVALUATOR
    checkpoint: str
    step: int
    seed: int
    per_class: int
    min_confidence: float | None  # None: not filtered (conditional models)
    drawn: int  # samples generated in all
    dropped: list[int]  # per class (the evaluator's label), samples under min_confidence
    surplus: int = 0  # confident samples of classes already full
    confidence: np.ndarray | None = None  # (N,) float32: the evaluator's probability for each label
    command: str = ""

    def summary(self) -> str:
        line = f"{len(self.labels):,} images, {self.per_class:,} per class, {len(self.class_names)} classes"
        line += f"; labels: {LABELLED_BY[self.labelling]}; {self.drawn:,} drawn"
        if self.min_confidence is not None:
            line += f", {sum(self.dropped):,} dropped under confidence {self.min_confidence:g}"
            line += f" (per class: {', '.join(f'{n}: {d}' for n, d in zip(self.class_names, self.dropped))})"
            line += f", {self.surplus:,} confident ones of classes already full"
        return line


@dataclass
class Progress:
    """Where a synthesis stands; the last one carries the result."""

    kept: list[int]  # images so far, per class
    per_class: int
    drawn: int
    dropped: list[int]
    result: SyntheticSet | None = field(default=None, repr=False)

    @property
    def fraction(self) -> float:
        return sum(min(k, self.per_class) for k in self.kept) / (self.per_class * len(self.kept))


def evaluator_for(ckpt: Checkpoint, named: str | Path | None, device: str | torch.device = "cpu") -> Evaluator:
    """The evaluator that labels an unconditional model's samples: --evaluator, else the dataset's shipped one."""
    why = f"{ckpt.path} has no classes of its own, so its samples are labelled by an evaluator, and there is none"
    return model_evaluator(ckpt, named, device, why=why)


def labelling_of(ckpt: Checkpoint) -> str:
    """How a model's samples get labels; a 2-D model has no images to export."""
    if ckpt.data["kind"] != "image":
        raise UsageError(
            f"{ckpt.path}: a {ckpt.data['name']} model draws 2-D points, not images: export-dataset and "
            f"eval --cas need an image model"
        )
    if ckpt.config.conditional:
        return CONDITIONAL
    return CLUSTERS if ckpt.config.clusters else EVALUATOR


def check_request(per_class: int, batch: int, min_confidence: float, max_draws: int | None = None) -> None:
    if per_class < 1:
        raise UsageError(f"per-class must be at least 1, got {per_class}")
    if batch < 1:
        raise UsageError(f"batch must be at least 1, got {batch}")
    if not 0.0 <= min_confidence < 1.0:
        raise UsageError(f"min-confidence must be at least 0 and below 1, got {min_confidence}")
    if max_draws is not None and max_draws < 1:
        raise UsageError(f"max-draws must be at least 1, got {max_draws}")


def synthesize(
    generator: nn.Module,
    ckpt: Checkpoint,
    per_class: int,
    *,
    evaluator: Evaluator | None = None,
    seed: int = 0,
    batch: int = DEFAULT_BATCH,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    max_draws: int | None = None,
) -> Iterator[Progress]:
    """Progress after every batch; the last one's `result` is the set. Raises UsageError, after the cap on
    draws (default MAX_DRAWS_PER_IMAGE per image asked), when a class cannot be filled."""
    check_request(per_class, batch, min_confidence, max_draws)
    labelling = labelling_of(ckpt)
    if labelling == CONDITIONAL:
        yield from _by_class(generator, ckpt, per_class, seed, batch)
        return
    if evaluator is None:
        raise UsageError(f"{ckpt.path}: an unconditional model's samples need an evaluator to label them")
    yield from _by_evaluator(generator, ckpt, evaluator, per_class, seed, batch, min_confidence, max_draws)


def run_to_end(progress: Iterator[Progress], on_progress: Callable[[Progress], None] | None = None) -> SyntheticSet:
    """Drain a synthesis, calling on_progress at each step; its result."""
    last = None
    for last in progress:
        if on_progress:
            on_progress(last)
    assert last is not None and last.result is not None  # synthesize always ends with the result
    return last.result


def to_uint8(x: Tensor) -> Tensor:
    """(N, C, H, W) in [-1, 1] -> uint8 [0, 255], the inverse of sources.to_float."""
    return x.clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)


def _by_class(generator: nn.Module, ckpt: Checkpoint, per_class: int, seed: int, batch: int) -> Iterator[Progress]:
    names = tuple(ckpt.data["class_names"])
    k = len(names)
    images, kept = [], [0] * k
    for label in range(k):
        # One stream per class: class 3's images do not change when another class is added or resized.
        z = torch.randn(per_class, ckpt.config.z_dim, generator=seeded_generator(seed, label))  # (N, z_dim)
        for first in range(0, per_class, batch):
            part = z[first : first + batch]
            images.append(to_uint8(generate(generator, part, torch.full((len(part),), label))))
            kept[label] += len(part)
            yield Progress(list(kept), per_class, sum(kept), [0] * k)
    result = SyntheticSet(
        torch.cat(images).numpy(),
        np.repeat(np.arange(k), per_class),
        names,
        CONDITIONAL,
        ckpt.path,
        ckpt.step,
        seed,
        per_class,
        None,
        sum(kept),
        [0] * k,
    )
    yield Progress(kept, per_class, sum(kept), [0] * k, result)


class _ClusterSteer:
    """Which cluster to draw for each class still missing, learned from the confident samples so far.

    A cluster is drawn for class k in proportion to the square of its observed rate of confident k's
    (a pseudo-count keeps unseen clusters possible): squaring keeps the ~45 clusters of other digits
    from taking a third of the draws once a few clusters are known to make k.
    """

    def __init__(self, clusters: int, classes: int, seed: int):
        self.made = torch.zeros(clusters, classes, dtype=torch.float64)  # confident samples: cluster x class
        self.drawn = torch.zeros(clusters, dtype=torch.float64)
        self.gen = seeded_generator(seed, 0xC1A5)

    def labels(self, missing: Tensor, n: int) -> Tensor:
        """(n,) clusters for a batch: a missing class per sample (by how many it lacks), then a cluster for it."""
        wanted = torch.multinomial(missing.double(), n, replacement=True, generator=self.gen)  # (n,) classes
        rate = (self.made + 0.1) / (self.drawn[:, None] + 1.0)  # (clusters, classes)
        weights = (rate**2)[:, wanted].T  # (n, clusters)
        return torch.multinomial(weights, 1, generator=self.gen).squeeze(1)

    def record(self, clusters: Tensor, predicted: Tensor, confident: Tensor) -> None:
        self.drawn += torch.bincount(clusters, minlength=len(self.drawn)).double()
        index = clusters[confident] * self.made.shape[1] + predicted[confident]
        self.made.view(-1).index_add_(0, index, torch.ones(len(index), dtype=torch.float64))


@dataclass
class _Pool:
    """The kept images of an evaluator-labelled synthesis, per class, and what was left out."""

    classes: int
    per_class: int
    images: list[list[Tensor]] = field(default_factory=list)
    confidence: list[list[Tensor]] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    surplus: int = 0

    def __post_init__(self) -> None:
        self.images = [[] for _ in range(self.classes)]
        self.confidence = [[] for _ in range(self.classes)]
        self.kept, self.dropped = [0] * self.classes, [0] * self.classes

    def add(self, images: Tensor, predicted: Tensor, confidence: Tensor, min_confidence: float) -> Tensor:
        """Keep the confident images of classes not yet full; returns the confident mask (for steering)."""
        confident = confidence >= min_confidence
        self.dropped = [
            d + int(n) for d, n in zip(self.dropped, torch.bincount(predicted[~confident], minlength=self.classes))
        ]
        for label in range(self.classes):
            mine = (confident & (predicted == label)).nonzero().squeeze(1)
            room = self.per_class - self.kept[label]
            self.surplus += max(0, len(mine) - room)
            mine = mine[: max(room, 0)]
            self.images[label].append(images[mine])
            self.confidence[label].append(confidence[mine])
            self.kept[label] += len(mine)
        return confident

    def missing(self) -> Tensor:
        """(classes,) images each class still lacks."""
        return torch.tensor([max(0, self.per_class - k) for k in self.kept])


def _by_evaluator(
    generator: nn.Module,
    ckpt: Checkpoint,
    evaluator: Evaluator,
    per_class: int,
    seed: int,
    batch: int,
    min_confidence: float,
    max_draws: int | None,
) -> Iterator[Progress]:
    k = len(evaluator.class_names)
    cap = max_draws or MAX_DRAWS_PER_IMAGE * per_class * k
    pool = _Pool(k, per_class)
    clusters = ckpt.config.clusters
    steer = _ClusterSteer(clusters, k, seed) if clusters else None
    z_gen = seeded_generator(seed, 0x5A17)
    drawn = 0
    while pool.missing().sum() > 0:
        if drawn >= cap:
            raise UsageError(_shortfall(pool, evaluator.class_names, drawn, min_confidence))
        # Near the end, smaller batches: a full one would mostly make surplus images of classes already full.
        n = min(batch, cap - drawn, 2 * int(pool.missing().sum()) + 32)
        z = torch.randn(n, ckpt.config.z_dim, generator=z_gen)  # (n, z_dim)
        y = steer.labels(pool.missing(), n) if steer else None
        images = to_uint8(generate(generator, z, y))
        probs, _ = evaluator.predict(to_float(images))  # the exported pixels are what gets labelled
        confidence, predicted = probs.max(1)
        confident = pool.add(images, predicted, confidence, min_confidence)
        if steer:
            steer.record(y, predicted, confident)
        drawn += n
        yield Progress(list(pool.kept), per_class, drawn, list(pool.dropped))
    result = SyntheticSet(
        torch.cat([torch.cat(parts) for parts in pool.images]).numpy(),
        np.repeat(np.arange(k), per_class),
        tuple(evaluator.class_names),
        CLUSTERS if clusters else EVALUATOR,
        ckpt.path,
        ckpt.step,
        seed,
        per_class,
        min_confidence,
        drawn,
        pool.dropped,
        pool.surplus,
        torch.cat([torch.cat(parts) for parts in pool.confidence]).numpy().astype(np.float32),
    )
    yield Progress(pool.kept, per_class, drawn, pool.dropped, result)


def _shortfall(pool: _Pool, names: tuple[str, ...], drawn: int, min_confidence: float) -> str:
    short = [f"{names[i]}: {pool.kept[i]:,}" for i in range(pool.classes) if pool.kept[i] < pool.per_class]
    return (
        f"after {drawn:,} draws, {len(short)} of {pool.classes} classes have fewer than {pool.per_class:,} images "
        f"with confidence >= {min_confidence:g} ({'; '.join(short)}): the generator rarely or never makes them "
        f"(a collapsed mode?). Ask for fewer per class, lower --min-confidence, or raise --max-draws; nothing "
        f"was written"
    )
