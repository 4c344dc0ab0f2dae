"""python -m ganplay directions: a model's latent directions (SeFa or PCA) as a grid, and what each one does."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ganplay.errors import UsageError


def add_directions_parser(sub: Any) -> None:
    from ganplay.limits import DEFAULT_STRENGTH, MAX_K, METHODS, PCA_SAMPLES, STATS_SEEDS, STATS_TOP

    p = sub.add_parser("directions", help="latent directions found without labels (SeFa, PCA), as a grid")
    p.add_argument("--checkpoint", required=True, help="an image model's checkpoint file, or a run folder")
    p.add_argument(
        "--method",
        choices=METHODS,
        default="sefa",
        help="sefa: eigenvectors of G's first layer (closed form, instant); pca: PCA of its activations, "
        "mapped back to z (GANSpace)",
    )
    p.add_argument("--k", type=int, default=8, help=f"directions, strongest first (1 to {MAX_K}; default 8)")
    p.add_argument("--out", default=None, help=".png: rows are directions, columns strengths from -S to +S")
    start = p.add_mutually_exclusive_group()
    start.add_argument("--seed", type=int, default=None, help="the grid's centre: this seed's sample (default 0)")
    start.add_argument(
        "--z", default=None, help="the grid's centre: a z saved by `invert --z-out z.npz` (with its label) or .npy"
    )
    p.add_argument(
        "--class",
        dest="class_id",
        type=int,
        default=None,
        help="the class (or cluster) to hold; default: the seed's own, as `sample` draws it, or the --z file's",
    )
    p.add_argument(
        "--strength", type=float, default=DEFAULT_STRENGTH, help="S: the grid's ends (z's spread is 1 along each)"
    )
    p.add_argument("--columns", type=int, default=7, help="strengths per row (odd keeps z itself in the middle)")
    p.add_argument(
        "--stats",
        action="store_true",
        help=f"print what each of the top {STATS_TOP} does over {STATS_SEEDS} seeds (class changes, strokes)",
    )
    p.add_argument("--stats-seeds", type=int, default=STATS_SEEDS, help="samples the --stats table is measured on")
    p.add_argument("--pca-samples", type=int, default=PCA_SAMPLES, help="latents PCA sees (--method pca)")
    p.add_argument("--scale", type=int, default=2, help="enlarge the grid this many times (nearest neighbour)")
    p.add_argument("--no-cache", action="store_true", help="compute afresh; neither read nor write the cache file")
    p.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.set_defaults(handler=cmd_directions)


def cmd_directions(args: argparse.Namespace) -> int:
    from ganplay import directions
    from ganplay.checkpoints import load_generator
    from ganplay.cli_generate import device_from_flag
    from ganplay.safe_files import check_output_path

    if args.out is None and not args.stats:
        raise UsageError("say what to make: --out grid.png, --stats, or both")
    out = check_output_path(args.out, (".png",), what="--out") if args.out else None
    if not 1 <= args.scale <= 16:
        raise UsageError(f"--scale must be between 1 and 16, got {args.scale}")
    generator, ckpt = load_generator(args.checkpoint, device=device_from_flag(args.device), use_ema=not args.raw)
    directions.require_supported(generator, ckpt)
    directions.strengths_row(args.strength, args.columns)  # a bad strength is said before any work
    z, label = _centre(args, ckpt)
    found = directions.compute_directions(
        ckpt, args.method, args.k, generator=generator, use_ema=not args.raw, samples=args.pca_samples,
        cache=not args.no_cache,
    )  # fmt: skip
    _say_found(found, ckpt)
    if out is not None:
        _write_grid(generator, found, z, label, args, out, "cluster" if ckpt.config.clusters else "class")
    if args.stats:
        _print_stats(generator, ckpt, found, args)
    return 0


def _centre(args: argparse.Namespace, ckpt: Any) -> tuple[Any, Any]:
    from ganplay.directions import file_z, seed_z

    if args.z is not None:
        return file_z(args.z, ckpt, args.class_id)
    return seed_z(ckpt, 0 if args.seed is None else args.seed, args.class_id)


def _say_found(found: Any, ckpt: Any) -> None:
    how = "read from the cache" if found.source == "cache" else "computed"
    shares = ", ".join(f"{share:.1%}" for share in found.explained.tolist())
    print(f"{found.method}: {found.k} directions {how} in {found.seconds:.2f} s; shares of the total: {shares}")


def _write_grid(generator: Any, found: Any, z: Any, label: Any, args: argparse.Namespace, out: Any, kind: str) -> None:
    from ganplay import imaging
    from ganplay.directions import grid

    started = time.perf_counter()
    images = grid(generator, found, z, label, args.strength, args.columns)
    picture = imaging.upscale(imaging.image_grid(images, nrow=args.columns), args.scale)
    imaging.save_png(picture, out)
    held = "" if label is None else f", {kind} {int(label[0])} held"
    print(
        f"wrote {out}: {found.k} rows (directions 1-{found.k}) x {args.columns} columns "
        f"(strength -{args.strength:g} to +{args.strength:g}{held}) in {time.perf_counter() - started:.2f} s"
    )


def _print_stats(generator: Any, ckpt: Any, found: Any, args: argparse.Namespace) -> None:
    from ganplay import direction_stats as stats

    evaluator = stats.evaluator_for(ckpt, next(generator.parameters()).device)
    if evaluator is None:
        print("note: no evaluator reads this dataset's images: the class columns stay empty", file=sys.stderr)
    started = time.perf_counter()
    effects = stats.describe(
        generator, ckpt, found, evaluator, seeds=args.stats_seeds, strength=args.strength, class_id=args.class_id
    )
    print(stats.markdown_table(stats.effects_table(effects, args.strength)))
    print(f"({stats.units_note()}; {args.stats_seeds} seeds, {time.perf_counter() - started:.2f} s)")
