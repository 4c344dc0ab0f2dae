"""Classification Accuracy Score (Ravuri & Vinyals, 2019): train a classifier on a generator's images alone and
test it on real held-out images, beside the same classifier trained on as many real images, and on both.

A GAN whose samples are sharp but cover only part of each class, or blend classes, trains a poor classifier:
CAS sees what FD and precision/recall average away. The classifier is the shipped evaluator's network and
recipe (evaluators.fit_classifier), and the test set is the evaluator's own held-out split.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganplay.errors import UsageError
from ganplay.evaluators import DEFAULT_HOLDOUT, ClassifierNet, Evaluator, fit_classifier, holdout_split
from ganplay.sources import to_float
from ganplay.synthetic import (
    CONDITIONAL,
    DEFAULT_MIN_CONFIDENCE,
    LABELLED_BY,
    evaluator_for,
    labelling_of,
    run_to_end,
    synthesize,
)

HOLDOUT_SEED = 0  # train-evaluator's default seed: the split the shipped evaluator was made with
Progress = Callable[[str], None]


@dataclass(frozen=True)
class CasRequest:
    """What to score and how; the defaults are the protocol's."""

    checkpoint: str | Path  # a checkpoint file, or a run folder
    per_class: int = 1000  # synthetic images per class
    seed: int = 12345  # of the synthetic images' latents
    evaluator: str | Path | None = None  # names the real data and labels unconditional samples; None: shipped
    epochs: int = 8  # of each classifier: the shipped evaluator's recipe
    classifier_seed: int = 0  # the same initialisation and batch order for all three classifiers
    min_confidence: float = DEFAULT_MIN_CONFIDENCE  # evaluator-labelled models only
    use_ema: bool = True
    device: str = "auto"
    real_limit: int | None = None  # cap on real training images (tests); None: the whole training split
    test_limit: int | None = None  # cap on the held-out images (tests); None: all of them


@dataclass(frozen=True)
class RealSplit:
    """The evaluator's real data, split as it was: train on the first part, test on the held-out one."""

    train_images: Tensor  # (N, C, S, S) uint8
    train_labels: Tensor
    test_images: Tensor
    test_labels: Tensor
    dataset: str


def real_split(evaluator: Evaluator, real_limit: int | None = None, test_limit: int | None = None) -> RealSplit:
    """The evaluator's dataset loaded as train-evaluator loads it, and split by the same holdout_split."""
    from ganplay.data import load_dataset

    data = load_dataset(evaluator.dataset, seed=HOLDOUT_SEED, device="cpu", download=False)
    if tuple(data.class_names) != tuple(evaluator.class_names) or data.images.shape[-1] != evaluator.image_size:
        raise UsageError(f"the evaluator's dataset {evaluator.dataset} no longer matches it (classes or size)")
    train, held = holdout_split(len(data.images), DEFAULT_HOLDOUT, HOLDOUT_SEED)
    train, held = train[:real_limit], held[:test_limit]
    return RealSplit(data.images[train], data.labels[train], data.images[held], data.labels[held], evaluator.dataset)


@torch.no_grad()
def accuracy(net: ClassifierNet, images: Tensor, labels: Tensor, num_classes: int) -> tuple[float, list[float]]:
    """(accuracy, accuracy per class) of a classifier on uint8 images."""
    evaluator = Evaluator(net, "", images.shape[-1], images.shape[1], tuple(map(str, range(num_classes))), 0.0)
    probs, _ = evaluator.predict(to_float(images))
    right = probs.argmax(1) == labels
    per_class = [
        float(right[labels == k].float().mean()) if (labels == k).any() else float("nan") for k in range(num_classes)
    ]
    return float(right.float().mean()), per_class


def train_and_test(
    images: Tensor,
    labels: Tensor,
    num_classes: int,
    test: tuple[Tensor, Tensor],
    epochs: int = 8,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    batch_size: int = 128,
) -> dict[str, Any]:
    """Train the evaluator's network on (images, labels), test on `test`: accuracy, per class, count, seconds."""
    start = time.perf_counter()

    def epoch_done(epoch: int, _: ClassifierNet) -> None:
        if progress:
            progress(f"  epoch {epoch + 1}/{epochs} ({time.perf_counter() - start:.0f} s)")

    net = fit_classifier(images, labels, num_classes, epochs, batch_size, seed=seed, device=device, on_epoch=epoch_done)
    overall, per_class = accuracy(net, test[0], test[1], num_classes)
    return {
        "accuracy": overall,
        "per_class": per_class,
        "train_images": len(labels),
        "seconds": round(time.perf_counter() - start, 1),
    }


def classification_accuracy_score(request: CasRequest, progress: Progress | None = None) -> dict[str, Any]:
    """CAS, the real-data baseline and naive augmentation of one checkpoint, with the protocol in words."""
    from ganplay.checkpoints import load_generator
    from ganplay.trainer import resolve_device

    say = progress or (lambda _: None)
    start = time.perf_counter()
    device = resolve_device(request.device)
    generator, ckpt = load_generator(request.checkpoint, device=device, use_ema=request.use_ema)
    labelling = labelling_of(ckpt)  # a 2-D model is refused here, before the evaluator is looked for
    evaluator = evaluator_for(ckpt, request.evaluator, device)
    _check_match(ckpt, evaluator, labelling)
    real = real_split(evaluator, request.real_limit, request.test_limit)
    say(f"generating {request.per_class:,} images per class")
    synthetic = run_to_end(
        synthesize(
            generator,
            ckpt,
            request.per_class,
            evaluator=None if labelling == CONDITIONAL else evaluator,
            seed=request.seed,
            min_confidence=request.min_confidence,
        )
    )
    fake_images, fake_labels = torch.from_numpy(synthetic.images), torch.from_numpy(synthetic.labels)
    n_real = min(len(real.train_labels), len(fake_labels))  # as many real images as synthetic ones
    real_images, real_labels = real.train_images[:n_real], real.train_labels[:n_real]
    sets = {
        "synthetic only (CAS)": (fake_images, fake_labels),
        "real only": (real_images, real_labels),
        "naive augmentation (real + synthetic)": (
            torch.cat([real_images, fake_images]),
            torch.cat([real_labels, fake_labels]),
        ),
    }
    k = len(evaluator.class_names)
    scores = {}
    for name, (images, labels) in sets.items():
        say(f"training on {name}: {len(labels):,} images")
        test = (real.test_images, real.test_labels)
        scores[name] = train_and_test(images, labels, k, test, request.epochs, request.classifier_seed, device, say)
    return _report(request, ckpt, real, synthetic, scores, time.perf_counter() - start)


def _check_match(ckpt: Any, evaluator: Evaluator, labelling: str) -> None:
    """Synthetic and real images must be alike in size and classes, or the classifiers compare nothing."""
    shape = list(ckpt.data["shape"])
    if shape != [evaluator.channels, evaluator.image_size, evaluator.image_size]:
        raise UsageError(
            f"CAS compares with the evaluator's real images ({evaluator.channels}x{evaluator.image_size}px), "
            f"but {ckpt.path} makes {shape[0]}x{shape[-1]}px images"
        )
    if labelling == CONDITIONAL and tuple(ckpt.data["class_names"]) != tuple(evaluator.class_names):
        raise UsageError(
            f"{ckpt.path}'s classes {tuple(ckpt.data['class_names'])} are not the evaluator's "
            f"{tuple(evaluator.class_names)}: CAS needs the same classes"
        )


def _report(request: CasRequest, ckpt: Any, real: RealSplit, synthetic: Any, scores: dict, seconds: float) -> dict:
    cas, base = scores["synthetic only (CAS)"]["accuracy"], scores["real only"]["accuracy"]
    result: dict[str, Any] = {"checkpoint": ckpt.path, "step": ckpt.step, "dataset": real.dataset}
    result.update({f"accuracy, trained on {name}": round(s["accuracy"], 4) for name, s in scores.items()})
    result["CAS / real-only accuracy"] = round(cas / base, 4) if base else None
    result["train images"] = {name: s["train_images"] for name, s in scores.items()}
    result["held-out real test images"] = len(real.test_labels)
    result["accuracy per class"] = {name: [round(a, 4) for a in s["per_class"]] for name, s in scores.items()}
    result["training seconds"] = {name: s["seconds"] for name, s in scores.items()}
    result["synthetic data"] = synthetic.summary()
    result["wall seconds"] = round(seconds, 1)
    result["protocol"] = protocol_text(request, real, synthetic, scores)
    return result


def protocol_text(request: CasRequest, real: RealSplit, synthetic: Any, scores: dict) -> list[str]:
    counts = {name: s["train_images"] for name, s in scores.items()}
    filtered = synthetic.min_confidence is not None
    lines = [
        (
            "Classification Accuracy Score (Ravuri & Vinyals 2019): a classifier trained on generated images "
            "only, tested on real ones."
        ),
        (
            f"Classifier: the shipped evaluator's network and recipe (small CNN, {request.epochs} epochs, AdamW, "
            f"one-cycle schedule, +-2 px shifts), its initialisation and batch order seeded "
            f"({request.classifier_seed}) alike for all three trainings."
        ),
        (
            f"Synthetic: {counts['synthetic only (CAS)']:,} images, {request.per_class:,} per class (latent seed "
            f"{request.seed}), labelled by {LABELLED_BY[synthetic.labelling]}"
            + (f", samples under confidence {request.min_confidence:g} dropped." if filtered else ".")
        ),
        (
            f"Real baseline: {counts['real only']:,} images of {real.dataset}'s training split (capped at the "
            f"synthetic count); naive augmentation: those real images plus all the synthetic ones "
            f"({counts['naive augmentation (real + synthetic)']:,})."
        ),
        (
            f"Test: {len(real.test_labels):,} real held-out images of {real.dataset}, the split the shipped "
            f"evaluator never trained on (holdout_split: {DEFAULT_HOLDOUT} images, seed {HOLDOUT_SEED})."
        ),
        (
            "Caveat: the bundled 10,000 MNIST digits are the only labelled digits offline, so the GAN was trained "
            "on all of them, the held-out test digits included: its samples may echo the very digits they are "
            "tested on, which flatters CAS against a truly unseen test set (the published protocol tests on "
            "images the GAN never saw)."
        ),
    ]
    if filtered:
        lines.append(
            "Caveat: the synthetic labels are the evaluator's, and the evaluator was trained on the real "
            "training split, so CAS here also measures agreement with that evaluator."
        )
    return lines


def stderr_progress(line: str) -> None:
    """Progress lines for the CLI: on stderr, so stdout stays JSON."""
    print(f"cas: {line}", file=sys.stderr, flush=True)
