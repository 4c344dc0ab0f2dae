"""python -m ganplay export-dataset: a labelled synthetic dataset from a generator, for augmentation or CAS."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ganplay.limits import DEFAULT_BATCH, DEFAULT_MIN_CONFIDENCE, MAX_DRAWS_PER_IMAGE


def add_export_dataset_parser(sub: Any) -> None:
    p = sub.add_parser(
        "export-dataset",
        help="labelled synthetic images: a folder per class (--dataset folder:DIR reads it back), .npz or .zip",
        description="Conditional models are asked for each class; other image models are labelled by the "
        "dataset's shipped evaluator, dropping samples it is unsure of, until every class has N.",
    )
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a run folder (its latest checkpoint)")
    p.add_argument("--per-class", type=int, default=1000, help="images of each class (default: 1000)")
    p.add_argument(
        "--out", required=True, help="a new folder (one subfolder of PNGs per class), FILE.npz (uint8) or FILE.zip"
    )
    p.add_argument("--overwrite", action="store_true", help="replace an earlier export-dataset folder at --out")
    p.add_argument("--seed", type=int, default=0, help="latent seed: the same seed gives the same dataset")
    p.add_argument(
        "--min-confidence",
        type=float,
        default=DEFAULT_MIN_CONFIDENCE,
        help="models without classes of their own: samples the evaluator labels with a lower probability are "
        f"dropped (default: {DEFAULT_MIN_CONFIDENCE}); conditional models are not filtered",
    )
    p.add_argument(
        "--max-draws",
        type=int,
        default=None,
        help=f"evaluator-labelled models: give up after this many samples (default: {MAX_DRAWS_PER_IMAGE} per "
        "image asked for)",
    )
    p.add_argument("--evaluator", default=None, help="evaluator file (default: checkpoints/evaluators/DATASET.pt)")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="samples generated at once")
    p.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_export_dataset)


def cmd_export_dataset(args: argparse.Namespace) -> int:
    from ganplay import synthetic, synthetic_files
    from ganplay.checkpoints import load_generator
    from ganplay.cli_generate import device_from_flag

    out = synthetic_files.check_target(args.out, args.overwrite)  # before any work
    synthetic.check_request(args.per_class, args.batch, args.min_confidence, args.max_draws)
    device = device_from_flag(args.device)
    generator, ckpt = load_generator(args.checkpoint, device=device, use_ema=not args.raw)
    labelling = synthetic.labelling_of(ckpt)
    evaluator = None if labelling == synthetic.CONDITIONAL else synthetic.evaluator_for(ckpt, args.evaluator, device)
    start = time.perf_counter()
    steps = synthetic.synthesize(
        generator,
        ckpt,
        args.per_class,
        evaluator=evaluator,
        seed=args.seed,
        batch=args.batch,
        min_confidence=args.min_confidence,
        max_draws=args.max_draws,
    )
    data = _follow(steps, args.per_class * len(_class_names(ckpt, evaluator)), args.quiet)
    data.command = args.command_line
    written = synthetic_files.write(data, out, args.overwrite)
    print(f"wrote {written} in {time.perf_counter() - start:.1f} s: {data.summary()}")
    return 0


def _class_names(ckpt: Any, evaluator: Any) -> tuple[str, ...]:
    return tuple(evaluator.class_names if evaluator is not None else ckpt.data["class_names"])


def _follow(steps: Any, total: int, quiet: bool) -> Any:
    """Drain a synthesis with a tqdm bar of images kept (and samples drawn) on stderr."""
    from tqdm import tqdm

    from ganplay.synthetic import run_to_end

    if quiet:
        return run_to_end(steps)
    with tqdm(total=total, desc="images", unit="img", file=sys.stderr, leave=False, dynamic_ncols=True) as bar:

        def show(progress: Any) -> None:
            bar.n = sum(min(k, progress.per_class) for k in progress.kept)
            bar.set_postfix(drawn=progress.drawn, dropped=sum(progress.dropped), refresh=False)
            bar.refresh()

        return run_to_end(steps, show)
