"""Live quality: a small, fixed-noise score every `eval_every` steps, cheap enough to leave on.

Image runs on a dataset with an evaluator (shipped, or made by train-evaluator) are scored in that
classifier's features (Frechet distance on 500 samples against 2,000 real images, class coverage and
confidence, and for conditional models the share of samples classified as the class they were asked for).
2-D mixtures get the PacGAN numbers. Every score uses the same noise, so it moves only when the generator
does; 500 samples bias the Frechet distance upwards, so it is compared with a real-versus-real floor of the
same size and is not comparable with the 5,000-sample figure of `python -m ganplay eval`. A set of fewer than
2,500 images gives a fifth of itself as samples (and floor) and the rest as the reference (live_counts).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

# The evaluator look-ups live in evaluator_lookup; importing them here keeps `live_eval.model_evaluator` working.
from ganplay.evaluator_lookup import (  # noqa: F401
    EVALUATOR_DIR,
    evaluator_path_for,
    find_model_evaluator,
    model_evaluator,
    shape_mismatch,
    train_evaluator_advice,
)
from ganplay.metrics import class_stats, frechet_from_stats, gaussian_stats, real_halves, toy_mode_stats
from ganplay.seeding import prior_labels
from ganplay.sources import DataSource, to_float, toy_modes_or_none

if TYPE_CHECKING:
    from ganplay.evaluators import Evaluator

LIVE_SAMPLES = 500  # generated images per live score
LIVE_REFERENCE = 2000  # real images whose features are the reference
TOY_SAMPLES = 2500  # the PacGAN protocol's count: an MLP makes them in milliseconds


@dataclass(frozen=True)
class LiveMetric:
    """The headline number that picks the best checkpoint, and how to read it."""

    key: str
    label: str
    lower_is_better: bool
    worst: float | None = None  # a score this bad is no model worth keeping, even as the first one

    def better(self, new: float, old: float | None) -> bool:
        if not np.isfinite(new) or new == self.worst:
            return False
        return old is None or (new < old if self.lower_is_better else new > old)


FD_METRIC = LiveMetric("fd", "Live FD (lower is better)", lower_is_better=True)
TOY_METRIC = LiveMetric("mode_score", "Live mode score (1 is best)", lower_is_better=False, worst=0.0)


def metric_of(rows: list[dict[str, float]]) -> LiveMetric | None:
    """The headline metric of saved eval rows (runs read back from disk)."""
    return next((m for m in (FD_METRIC, TOY_METRIC) if rows and m.key in rows[-1]), None)


class LiveEvaluator:
    """Scores a trainer's generator: `score(trainer)` returns a flat dict that includes `metric.key`."""

    def __init__(
        self,
        metric: LiveMetric,
        scorer: Callable[[Tensor], dict[str, float]],
        latents: Tensor,
        labels: Tensor | None,
        floor: dict[str, float],
        protocol: str,
    ):
        self.metric, self.protocol, self.floor = metric, protocol, floor
        self._scorer, self._latents, self._labels = scorer, latents, labels

    def score(self, trainer) -> dict[str, float]:
        z = self._latents.to(trainer.device)
        y = self._labels.to(trainer.device) if self._labels is not None else None
        samples = torch.cat(
            [trainer.generate(z[i : i + 250], None if y is None else y[i : i + 250]) for i in range(0, len(z), 250)]
        )
        return {**self._scorer(samples.float()), **self.floor}  # scored on the training device


def live_evaluator_for(data: DataSource, z_dim: int, conditional: bool) -> tuple[LiveEvaluator | None, str]:
    """(evaluator, its protocol), or (None, why not) when this dataset has nothing to score with."""
    if data.kind == "toy":
        return _toy_evaluator(data, z_dim)
    path = evaluator_path_for(data.name)
    if not path.exists():
        return None, (
            f"no evaluator for {data.name}: live quality is off ({train_evaluator_advice(data.name, data.shape)}; "
            f"after training, python -m ganplay eval --standard-fid scores any images with Inception)"
        )
    from ganplay.evaluators import load_evaluator

    mismatch = shape_mismatch(load_evaluator(path), data.shape)  # before its reference images are scored
    if mismatch:
        return None, f"live quality is off: {path} {mismatch}"
    evaluator = _image_evaluator(data, z_dim, conditional, path)
    return evaluator, evaluator.protocol


def _fixed_noise(n: int, z_dim: int) -> Tensor:
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(2024))  # (n, z_dim), the same every run


def _toy_evaluator(data: DataSource, z_dim: int) -> tuple[LiveEvaluator | None, str]:
    found = toy_modes_or_none(data.name)
    if found is None:
        return None, f"{data.name} is a curve with no discrete modes: judge the fit by eye"
    modes_np, sigma = found

    def scorer(points: Tensor) -> dict[str, float]:
        stats = toy_mode_stats(points.cpu().numpy(), modes_np, sigma)
        return {
            "mode_score": stats.modes_covered / stats.num_modes * stats.high_quality,
            "modes_covered": stats.modes_covered,
            "num_modes": stats.num_modes,
            "high_quality": stats.high_quality,
            "kl": stats.kl_to_uniform,
        }

    protocol = f"PacGAN numbers on {TOY_SAMPLES:,} samples from fixed noise"
    evaluator = LiveEvaluator(TOY_METRIC, scorer, _fixed_noise(TOY_SAMPLES, z_dim), None, {}, protocol)
    return evaluator, protocol


# Scoring the reference digits takes about a second on a CPU: done once per process, not per run.
_REFERENCES: dict[tuple[str, int, str, int, str], tuple[Evaluator, tuple[Tensor, Tensor], dict[str, float]]] = {}
_REFERENCES_LOCK = threading.Lock()


def _reference(data: DataSource, path: Path) -> tuple[Evaluator, tuple[Tensor, Tensor], dict[str, float]]:
    """(evaluator on the data's device, Gaussian stats of the reference features, the floor), cached."""
    from ganplay.evaluators import load_evaluator

    # The file's time is in the key: an evaluator retrained while the app runs is scored anew.
    key = (str(path), path.stat().st_mtime_ns, data.name, len(data.images), str(data.device))
    with _REFERENCES_LOCK:
        if key not in _REFERENCES:
            # On the training device: on a GPU, a classifier on the CPU made each score cost 5% of training.
            evaluator = load_evaluator(path, data.device)
            images = to_float(data.images)
            reference, others = real_halves(images, *live_counts(len(images)))
            _, ref = evaluator.predict(reference)
            _, other = evaluator.predict(others)
            ref_stats = gaussian_stats(ref)
            _REFERENCES[key] = evaluator, ref_stats, {"fd_floor": frechet_from_stats(gaussian_stats(other), ref_stats)}
        return _REFERENCES[key]


def live_counts(n_images: int) -> tuple[int, int]:
    """(real reference images, samples per score): 2,000 and 500, or for a set smaller than 2,500 a fifth of it
    as samples (and as the floor's other real images, so the floor is measured at the samples' count) and the
    rest as the reference."""
    samples = min(LIVE_SAMPLES, n_images // 5)
    return min(LIVE_REFERENCE, n_images - samples), samples


def _image_evaluator(data: DataSource, z_dim: int, conditional: bool, path: Path) -> LiveEvaluator:
    evaluator, ref_stats, floor = _reference(data, path)
    reference, samples = live_counts(len(data.images))
    labels = None
    if data.label_prior:  # clusters, at their real shares, as eval and Samples draw them
        labels = prior_labels(data.label_prior, samples, torch.Generator().manual_seed(2024))
    elif conditional:
        labels = torch.arange(samples) % data.num_classes

    def scorer(images: Tensor) -> dict[str, float]:
        probs, feats = evaluator.predict(images)
        stats = class_stats(probs)
        row = {
            "fd": frechet_from_stats(gaussian_stats(feats), ref_stats),
            "classes_covered": stats.covered,
            "rarest_class": stats.min_share,
            "confidence": stats.mean_confidence,
            "class_kl": stats.kl_to_uniform,
        }
        if conditional:
            row["conditional_accuracy"] = float((probs.argmax(1) == labels).float().mean())
        return row

    name = evaluator.label
    protocol = (
        f"{samples} samples from fixed noise against {reference:,} real images, in the "
        f"{name}'s features; the floor is {samples} other real images scored the same way"
    )
    return LiveEvaluator(FD_METRIC, scorer, _fixed_noise(samples, z_dim), labels, floor, protocol)


# The live FD as a multiple of its real-versus-real floor, and what the fixed-noise samples look like there.
# Read off mnist-quick's snapshots (77x at step 250: blobs; 33x at 500: strokes; 16x at 2,000: rough digits,
# some readable) and the shipped self-conditioned model (1.45x: clean digits). 500 samples compress the
# ratio: the same shipped model is 2.67x its floor in `eval`'s 5,000-sample protocol.
FD_VERDICTS = (
    (1.6, "close to real digits"),
    (3.0, "good digits, a few odd strokes"),
    (8.0, "mostly readable digits, many rough"),
    (20.0, "digit shapes forming, few clean ones"),
    (50.0, "strokes, hardly any digits yet"),
    (math.inf, "blobs and noise, no digits yet"),
)
# Share of generated points on a cluster (within 3 sigma) that counts as a sharp fit (PacGAN: GAN 98.2%, VEEGAN 52.9%)
SHARP_SHARE = 0.9


def verdict(row: dict[str, float]) -> str:
    """Where a live score stands, in words, with the threshold that puts it there."""
    if "fd" in row:
        ratio = row["fd"] / max(row.get("fd_floor", float("nan")), 1e-9)
        if not np.isfinite(ratio):
            return "no verdict: the floor is missing"
        words = next(words for limit, words in FD_VERDICTS if ratio <= limit)
        return f"{ratio:.1f}x the floor: {words}"
    covered, modes, share = int(row["modes_covered"]), int(row["num_modes"]), row["high_quality"]
    if covered == 0:
        return "no cluster reached yet: no point lies within 3 sigma of one"
    if covered < modes:
        return f"{covered} of {modes} clusters: misses {modes - covered} (mode collapse?)"
    if share >= SHARP_SHARE:
        return f"all {modes} clusters, {share:.0%} of points on them: solved"
    return f"all {modes} clusters, but only {share:.1%} of points on them (aim {SHARP_SHARE:.0%})"


def verdict_scale(metric: LiveMetric) -> str:
    """The thresholds behind verdict(), for a help text."""
    if metric.key == "fd":
        return (
            "Live FD as a multiple of its floor: "
            + "; ".join(
                f"up to {limit:g}x: {words}" if math.isfinite(limit) else f"beyond: {words}"
                for limit, words in FD_VERDICTS
            )
            + "."
        )
    return (
        f"2-D: the clusters G reaches, and the share of its points that land on one (within 3 sigma); "
        f"{SHARP_SHARE:.0%} or more on every cluster counts as solved."
    )


def best_row(rows: list[dict[str, float]], metric: LiveMetric) -> dict[str, float] | None:
    """The row with the best score by `metric`, the one best.pt holds (a worst-possible score never counts)."""
    best = None
    for row in rows:
        if metric.key in row and metric.better(row[metric.key], best[metric.key] if best else None):
            best = row
    return best


def summary(row: dict[str, float]) -> str:
    """One line of the latest live score, in the words the README's metrics table uses."""
    if "fd" in row:
        parts = [
            f"FD {row['fd']:.1f} (floor {row.get('fd_floor', float('nan')):.1f})",
            f"{row['classes_covered']:.0f} classes, rarest {row['rarest_class']:.1%}",
            f"confidence {row['confidence']:.2f}",
        ]
        if "conditional_accuracy" in row:
            parts.append(f"asked-for class {row['conditional_accuracy']:.1%}")
        return " · ".join(parts)
    return (
        f"{row['modes_covered']:.0f}/{row['num_modes']:.0f} modes · high quality {row['high_quality']:.1%} · "
        f"KL {row['kl']:.3f}"
    )


def cost_share(evals: list[dict[str, float]]) -> float:
    """Seconds spent scoring over the seconds the scored stretch took (the first row's span included)."""
    return sum(r.get("seconds", 0.0) for r in evals) / max(
        sum(r["seconds"] / r["cost"] for r in evals if r.get("cost")), 1e-9
    )
