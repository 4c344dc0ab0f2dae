"""python -m ganplay sample | interpolate: the commands that draw from a checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ganplay.errors import UsageError


def _generator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a run folder (its latest checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="latent seed")
    p.add_argument("--truncation", type=float, default=None, help="resample |z| above this (truncation trick)")
    p.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument(
        "--code",
        type=_code,
        default=None,
        help="InfoGAN models: a code for every sample, or 'each' for codes in turn (default: as drawn)",
    )


def _code(text: str) -> int | str:
    from ganplay.sampling import EACH_CODE

    if text == EACH_CODE:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a code number or {EACH_CODE!r}, got {text!r}") from None


DEFAULT_SAMPLES = {"image": 64, "toy": 1000}  # a grid of 64 images; 2-D points need many to show the shape


def add_sample_parser(sub: Any) -> None:
    p = sub.add_parser("sample", help="draw samples from a checkpoint")
    _generator_args(p)
    p.add_argument(
        "--n",
        type=int,
        default=None,
        help=f"number of samples (default: {DEFAULT_SAMPLES['image']} for images, "
        f"{DEFAULT_SAMPLES['toy']:,} for 2-D points)",
    )
    p.add_argument(
        "--class",
        dest="class_id",
        type=int,
        default=None,
        help="class (conditional models) or cluster (--clusters models; default: drawn at their shares)",
    )
    p.add_argument("--out", required=True, help=".png: a grid (a scatter plot for 2-D data); .npy: the raw array")
    p.set_defaults(handler=cmd_sample)


def add_interpolate_parser(sub: Any) -> None:
    p = sub.add_parser("interpolate", help="walk the latent space between seeds or classes")
    _generator_args(p)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--mode", choices=("lerp", "slerp"), default="slerp")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="keyframe seeds (default: SEED and SEED+1)")
    p.add_argument(
        "--z",
        nargs="+",
        default=None,
        metavar="FILE",
        help="keyframes from latent files (.npz or .npy) that invert --z-out wrote: a morph between real images",
    )
    p.add_argument("--loop", action="store_true", help="return to the first keyframe")
    p.add_argument(
        "--class",
        dest="class_id",
        type=int,
        default=None,
        help="class held on every frame (conditional models; default: class 0), or cluster (--clusters "
        "models; default: each keyframe's own, blended)",
    )
    p.add_argument("--class-from", type=int, default=None, help="class-to-class path: start class")
    p.add_argument("--class-to", type=int, default=None, help="class-to-class path: end class")
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument(
        "--scale",
        type=_whole_number,
        default=None,
        help="enlarge image frames N times, pixels kept sharp (default: 4 for a .gif, so 28 px digits "
        "are 112 px; 1 for a .png strip)",
    )
    p.add_argument("--out", required=True, help=".png: a strip of frames; .gif: an animation")
    p.set_defaults(handler=cmd_interpolate)


def _whole_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return int(text)


def _load(args: argparse.Namespace) -> tuple[Any, Any]:
    from ganplay.checkpoints import load_generator

    return load_generator(args.checkpoint, device=device_from_flag(args.device), use_ema=not args.raw)


def device_from_flag(name: str) -> Any:
    """--device as torch names it; one this machine lacks, or a name torch does not know, is the user's to fix."""
    from ganplay.trainer import resolve_device

    try:
        return resolve_device(name)
    except (ValueError, RuntimeError) as err:  # torch.device("gpu") raises a RuntimeError
        raise UsageError(f"--device {name}: {str(err).splitlines()[0]}") from None


def _check_out(out: str, command: str) -> Path:
    from ganplay.pictures import OUTPUT_SUFFIXES
    from ganplay.safe_files import check_output_path

    return check_output_path(out, OUTPUT_SUFFIXES[command], what="--out")


def cmd_sample(args: argparse.Namespace) -> int:
    from ganplay import pictures, sampling

    _check_out(args.out, "sample")
    generator, ckpt = _load(args)
    n = args.n if args.n is not None else DEFAULT_SAMPLES[ckpt.data["kind"]]
    samples = sampling.sample(generator, ckpt, n, args.seed, args.truncation, args.class_id, args.code)
    columns = ckpt.config.info_codes if args.code == sampling.EACH_CODE else None  # one column per code
    out = pictures.write_samples(samples, ckpt.data, args.out, nrow=columns)
    print(f"wrote {n} samples of {ckpt.path} (step {ckpt.step}) to {out}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from ganplay import pictures, sampling

    _check_out(args.out, "interpolate")
    if args.frames < 2:
        raise UsageError(f"--frames must be at least 2, got {args.frames}")
    if args.z and (args.seeds or args.class_from is not None or args.class_to is not None):
        raise UsageError("--z gives the keyframes: it goes with neither --seeds nor --class-from/--class-to")
    generator, ckpt = _load(args)
    if args.z:
        return _latent_walk(args, generator, ckpt)
    seeds = args.seeds or [args.seed, args.seed + 1]
    frames = sampling.interpolation(
        generator,
        ckpt,
        args.frames,
        args.mode,
        seeds,
        args.truncation,
        args.class_id,
        args.class_from,
        args.class_to,
        args.loop,
        args.code,
    )
    out = pictures.write_interpolation(frames, ckpt.data, args.out, fps=args.fps, scale=args.scale)
    print(f"wrote {args.frames} frames ({args.mode}) to {out}")
    if args.class_id is None and args.class_from is None and ckpt.config.conditional:
        print(
            f"held class {sampling.walk_class(ckpt, None)} on every frame, so only the style moves; --class K holds "
            f"another, --class-from A --class-to B walks from class to class"
        )
    return 0


def _latent_walk(args: argparse.Namespace, generator: Any, ckpt: Any) -> int:
    from ganplay import pictures, sampling
    from ganplay.latent_files import other_model_note, read_latent

    latents = [read_latent(path) for path in args.z]
    frames = sampling.latent_walk(generator, ckpt, latents, args.frames, args.mode, args.class_id, args.loop)
    out = pictures.write_interpolation(frames, ckpt.data, args.out, fps=args.fps, scale=args.scale)
    print(f"wrote {args.frames} frames ({args.mode}) through {len(latents)} latent files to {out}")
    for latent in latents:
        if note := other_model_note(latent, pictures.model_name(ckpt)):
            print(f"note: {note}")
    return 0
