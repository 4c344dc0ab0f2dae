"""python -m ganplay invert: a real image (a file or a bundled digit) into the latent space, restored where a mask
or noise damaged it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ganplay.errors import UsageError

OUT_SUFFIXES = (".png", ".npy")


def add_invert_parser(sub: Any) -> None:
    from ganplay.limits import DEFAULT_RESTARTS, DEFAULT_STEPS, MASK_PRESETS

    p = sub.add_parser("invert", help="find z for a real image, and restore its missing or noisy pixels")
    p.add_argument("--checkpoint", required=True, help="an image model's checkpoint file, or a run folder")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--image", help="an image file of any size and colour (converted as the training data was)")
    target.add_argument("--digit", type=int, help="a digit of the bundled MNIST by index (0-9,999)")
    p.add_argument(
        "--class",
        dest="class_id",
        type=int,
        default=None,
        help="the class (or cluster) to hold; default: every one is tried and the best kept",
    )
    mask = p.add_mutually_exclusive_group()
    mask.add_argument("--mask", help="a mask image: its bright (painted) pixels are the missing part")
    mask.add_argument(
        "--mask-preset",
        choices=MASK_PRESETS,
        help="centre: the middle quarter missing; left: the left half; random50: half the pixels, at random",
    )
    p.add_argument(
        "--noise",
        type=float,
        default=None,
        help="add Gaussian noise of this sigma (pixels in [-1, 1]) first, to make a denoising test case",
    )
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"optimisation steps (default {DEFAULT_STEPS})")
    p.add_argument(
        "--restarts",
        type=int,
        default=DEFAULT_RESTARTS,
        help=f"seeded starting points (per class for a labelled model); twice as many go on past the "
        f"screening, the most probable wins (default {DEFAULT_RESTARTS})",
    )
    p.add_argument(
        "--feature-weight",
        type=float,
        default=0.0,
        help="also match the target in the shipped evaluator's feature space, with this weight (whole images "
        "only: no mask); 0: pixels alone",
    )
    p.add_argument("--seed", type=int, default=0, help="seeds the starting points and random masks and noise")
    p.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument(
        "--out",
        required=True,
        help=".png: the restored image at the model's size; .npy: its raw (C, H, W) array in [-1, 1]",
    )
    p.add_argument("--side-by-side", default=None, help="also a .png of damaged input, reconstruction, restored")
    p.add_argument(
        "--z-out",
        default=None,
        help="save the found z: .npz with its label (an Interpolate keyframe: interpolate --z A.npz B.npz), "
        ".npy the bare z",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_invert)


def cmd_invert(args: argparse.Namespace) -> int:
    from ganplay.checkpoints import load_generator
    from ganplay.cli_generate import device_from_flag
    from ganplay.inversion import compose, invert
    from ganplay.safe_files import check_output_path

    outputs = _check_outputs(args, check_output_path)
    generator, ckpt = load_generator(args.checkpoint, device=device_from_flag(args.device), use_ema=not args.raw)
    target, known, damaged = _damaged_target(args, ckpt)
    if target.note:
        print(f"note: {target.note}", file=sys.stderr)
    bar = None if args.quiet else _ProgressBar(args.steps)
    try:
        state = invert(
            generator,
            ckpt,
            damaged,
            known,
            steps=args.steps,
            restarts=args.restarts,
            class_id=args.class_id,
            seed=args.seed,
            features=_features(ckpt, generator) if args.feature_weight else None,
            feature_weight=args.feature_weight,
            progress=bar.update if bar else None,
        )
    finally:
        if bar:
            bar.close()
    restored = compose(damaged, known, state.image)
    _write(outputs, ckpt, damaged, state, restored)
    _report(state, ckpt, target, known, restored, outputs, args.noise)
    return 0


def _features(ckpt: Any, generator: Any) -> Any:
    """The shipped evaluator's penultimate layer, on G's device: the feature space --feature-weight matches in."""
    from ganplay.live_eval import model_evaluator

    evaluator = model_evaluator(ckpt, device=next(generator.parameters()).device, why="--feature-weight")
    return evaluator.net.eval().requires_grad_(False).features


def _check_outputs(args: argparse.Namespace, check: Any) -> dict[str, Path]:
    """Every output path checked before any work: its suffix, and that it is nothing or a regular file."""
    from ganplay.latent_files import LATENT_SUFFIXES

    outputs = {"out": check(args.out, OUT_SUFFIXES, what="--out")}
    if args.side_by_side:
        outputs["side"] = check(args.side_by_side, (".png",), what="--side-by-side")
    if args.z_out:
        outputs["z"] = check(args.z_out, LATENT_SUFFIXES, what="--z-out")
    if len({p.resolve() for p in outputs.values()}) < len(outputs):
        raise UsageError("--out, --side-by-side and --z-out must name different files")
    return outputs


def _damaged_target(args: argparse.Namespace, ckpt: Any) -> tuple[Any, Any, Any]:
    """(the target, which pixels are known or None, the damaged image the inversion sees)."""
    from ganplay import restoration

    restoration.require_image_model(ckpt)
    target = (
        restoration.digit_target(args.digit, ckpt)
        if args.digit is not None
        else restoration.image_target(args.image, ckpt)
    )
    hw = tuple(ckpt.data["shape"][1:])
    known = None
    if args.mask_preset:
        known = restoration.preset_known(args.mask_preset, hw, args.seed)
    elif args.mask:
        known = restoration.painted_known(args.mask, hw)
    damaged = restoration.damage(target.image, known, args.noise, args.seed)
    return target, known, damaged


class _ProgressBar:
    """tqdm over the optimisation steps, showing the best candidate's loss."""

    def __init__(self, steps: int):
        from tqdm import tqdm

        self.bar = tqdm(total=steps, desc="inverting", unit="step", file=sys.stderr, leave=False)

    def update(self, state: Any) -> None:
        self.bar.n = state.step
        self.bar.set_postfix(loss=f"{state.loss:.4f}", refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _write(outputs: dict[str, Path], ckpt: Any, damaged: Any, state: Any, restored: Any) -> None:
    import torch

    from ganplay import imaging
    from ganplay.pictures import npy_bytes
    from ganplay.safe_files import atomic_write_bytes

    out = outputs["out"]
    if out.suffix == ".npy":
        atomic_write_bytes(out, npy_bytes(restored.numpy()))
    else:
        imaging.save_png(imaging.image_grid(restored[None], nrow=1, padding=0), out)
    if "side" in outputs:
        strip = torch.stack([damaged, state.image, restored])
        imaging.save_png(imaging.image_grid(strip, nrow=3), outputs["side"])
    if "z" in outputs:
        from ganplay.latent_files import latent_bytes
        from ganplay.pictures import model_name

        z_file = latent_bytes(state.z, state.label, model_name(ckpt), outputs["z"].suffix)
        atomic_write_bytes(outputs["z"], z_file)


def _report(
    state: Any, ckpt: Any, target: Any, known: Any, restored: Any, outputs: dict[str, Path], noise: float | None
) -> None:
    from ganplay.restoration import fit_note

    label = "" if state.label is None else f", {'cluster' if ckpt.config.clusters else 'class'} {state.label}"
    print(f"found z after {state.steps} steps{label}: MSE {state.loss:.4f} on the known pixels")
    if known is not None:
        missing = ~known
        error = float(((restored - target.image) ** 2)[:, missing].mean())
        print(f"restored {int(missing.sum()):,} missing pixels: MSE {error:.4f} against the undamaged image")
    elif noise is not None:
        error = float(((restored - target.image) ** 2).mean())
        print(f"denoised: MSE {error:.4f} against the image before the noise")
    note = fit_note(state.loss, noise)
    if note:
        print(f"note: {note}", file=sys.stderr)
    for path in outputs.values():
        print(f"wrote {path}")
