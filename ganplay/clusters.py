"""Self-conditioning: k-means clusters of a dataset's pixels stand in for labels."""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import replace

import torch
from torch import Tensor

from ganplay.image_files import DatasetError
from ganplay.seeding import seeded_generator
from ganplay.sources import DataSource, ImageTensorData, to_float

KMEANS_ROUNDS = 3  # restarts; the one with the smallest within-cluster sum of squares wins
KMEANS_ITERATIONS = 40


def kmeans(points: Tensor, k: int, seed: int = 0) -> Tensor:
    """(N,) cluster indices of (N, F) float points: Lloyd's k-means, best of KMEANS_ROUNDS seeded restarts.

    Deterministic for a seed on the CPU, so a resumed run clusters its data exactly as before.
    """
    if not 2 <= k <= len(points):
        raise DatasetError(f"cannot make {k} clusters of {len(points)} images: use 2 to {len(points)}")
    best, best_cost = None, math.inf
    for restart in range(KMEANS_ROUNDS):
        centers = points[torch.randperm(len(points), generator=seeded_generator(seed, restart, 0xC1))[:k]].clone()
        assign = torch.full((len(points),), -1)
        for _ in range(KMEANS_ITERATIONS):
            new = torch.cdist(points, centers).argmin(1)  # (N,)
            if torch.equal(new, assign):
                break
            assign = new
            sums = torch.zeros_like(centers).index_add_(0, assign, points)
            counts = torch.bincount(assign, minlength=k)
            filled = counts > 0  # an empty cluster keeps its old center
            centers[filled] = sums[filled] / counts[filled, None]
        cost = float((torch.cdist(points, centers).min(1).values ** 2).sum())
        if cost < best_cost:
            best, best_cost = assign, cost
    return best


def self_conditioned(data: DataSource, k: int) -> DataSource:
    """The same images labelled by k-means clusters of their pixels, with the clusters' shares as prior.

    Self-conditioned GAN (Liu et al., CVPR 2020): G and D are conditioned on clusters found without
    any labels, so G can switch between distinct kinds of image instead of blending them.
    """
    if not isinstance(data, ImageTensorData):
        raise DatasetError(f"clusters need a fixed set of images; {data.name} draws fresh 2-D points")
    labels = _clusters_of(data.images.cpu(), k, data.seed)
    shares = torch.bincount(labels, minlength=k).double() / len(labels)
    return replace(
        data,
        labels=labels.to(data.images.device),
        num_classes=k,
        class_names=tuple(f"cluster {i}" for i in range(k)),
        label_prior=tuple(shares.tolist()),
        _perms={},
    )


_CLUSTERS: dict[tuple[str, int, int], Tensor] = {}  # (pixels' digest, k, seed) -> labels; small, newest last
_CLUSTERS_KEPT = 4
_CLUSTERS_LOCK = threading.Lock()


def _clusters_of(images: Tensor, k: int, seed: int) -> Tensor:
    """kmeans of these uint8 images, remembered for the process: k-means of 10k digits takes seconds, and
    every start or resume of a run, in the app or in tests, would otherwise redo the same sums. Keyed by
    the pixels themselves, so a folder whose images changed is clustered afresh."""
    key = (hashlib.blake2b(images.contiguous().numpy().tobytes(), digest_size=16).hexdigest(), k, seed)
    with _CLUSTERS_LOCK:
        if key in _CLUSTERS:
            return _CLUSTERS[key].clone()
    labels = kmeans(to_float(images).flatten(1), k, seed)  # deterministic: a race only computes it twice
    with _CLUSTERS_LOCK:
        _CLUSTERS[key] = labels
        while len(_CLUSTERS) > _CLUSTERS_KEPT:
            del _CLUSTERS[next(iter(_CLUSTERS))]
    return labels.clone()
