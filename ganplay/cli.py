"""The command line: python -m ganplay train | sample | interpolate | runs | export | list, and the parsers of
the other commands, each in its own cli_*.py (eval, train-evaluator and bench in cli_measure.py).

It parses and prints; the work is the core's. A user's mistake is one line on stderr (exit 2), a bug a traceback.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from ganplay.cli_datasets import add_export_dataset_parser
from ganplay.cli_directions import add_directions_parser
from ganplay.cli_generate import add_interpolate_parser, add_sample_parser
from ganplay.cli_measure import add_measure_parsers
from ganplay.cli_progress import follow
from ganplay.cli_restore import add_invert_parser
from ganplay.cli_timelapse import add_timelapse_parser
from ganplay.config import TrainConfig, field_help, read_config_file
from ganplay.errors import is_users_mistake
from ganplay.presets import PRESET_NOTES, PRESETS, make_config

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
    except Exception as err:
        if not is_users_mistake(err):
            raise  # a bug in ganplay: its traceback is what a report of it needs
        print(f"error: {err}", file=sys.stderr)
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ganplay",
        description="Train, sample and explore GANs.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _train_parser(sub)
    add_sample_parser(sub)
    add_interpolate_parser(sub)
    add_invert_parser(sub)
    add_directions_parser(sub)
    add_export_dataset_parser(sub)
    add_timelapse_parser(sub)
    runs = sub.add_parser("runs", help="list runs with status, step and latest losses")
    runs.add_argument("--runs-dir", help="folder of runs (default: $GANPLAY_RUNS or checkpoints/runs)")
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    runs.set_defaults(handler=cmd_runs)
    export = sub.add_parser(
        "export", help="write a generator-only copy of a checkpoint (for sharing, Samples, Interpolate)"
    )
    export.add_argument("source", help="a run folder (its latest checkpoint, or best.pt with --best) or a .pt file")
    export.add_argument(
        "--out",
        required=True,
        help="output .pt file (OUT.json beside it records the commands), or with --onnx a .onnx file (and OUT.onnx.json)",
    )
    export.add_argument("--best", action="store_true", help="from a run folder, export best.pt (best live score)")
    export.add_argument("--raw", action="store_true", help="the raw G instead of its EMA")
    export.add_argument(
        "--onnx",
        action="store_true",
        help="write G as ONNX instead (--out G.onnx; z, and the label of a labelled model, in; images or points "
        "out); needs onnx and onnxscript, and is checked against PyTorch when onnxruntime is installed",
    )
    export.set_defaults(handler=cmd_export)

    add_measure_parsers(sub)
    lister = sub.add_parser("list", help="datasets, architectures, losses and presets")
    lister.set_defaults(handler=cmd_list)
    return parser


# -- train --------------------------------------------------------------------------------------


def _train_parser(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a GAN (every config field is a flag)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--preset", choices=list(PRESETS), help="start from a preset; flags override it")
    p.add_argument("--config", help="a JSON config file (as written into each run's config.json); flags override it")
    p.add_argument("--name", help="run name (default: dataset-arch-loss-time)")
    p.add_argument("--runs-dir", help="folder of runs (default: $GANPLAY_RUNS or checkpoints/runs)")
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue a run from its latest checkpoint (--steps sets a new total)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    helps = field_help()
    group = p.add_argument_group("config fields (default: the preset's, the dataset's and the loss's usual values)")
    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            group.add_argument(
                flag, dest=f.name, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=helps[f.name]
            )
        elif f.name == "betas":
            group.add_argument(
                flag,
                dest=f.name,
                type=float,
                nargs=2,
                metavar=("BETA1", "BETA2"),
                default=argparse.SUPPRESS,
                help=helps[f.name],
            )
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
    from ganplay.distributed import SINGLE, launched

    if launched():  # one of several processes started by torchrun
        from ganplay.cli_distributed import train_across_processes

        return train_across_processes(args, start_run, watch_run)
    return watch_run(start_run(args, SINGLE), args)


def start_run(args: argparse.Namespace, world: Any) -> Any:
    """The run the flags ask for, started (a new one, or --resume); `world`: rank 0's place when distributed."""
    from ganplay.run_registry import get_registry

    resume = Path(args.resume) if args.resume else None
    # --resume DIR/NAME names its runs folder itself (unless --runs-dir says otherwise); a bare NAME is a run
    # of the default runs folder
    root = args.runs_dir or (resume.parent if resume is not None and len(resume.parts) > 1 else None)
    registry = get_registry(root)
    if resume is not None:
        run = registry.resume(resume if args.runs_dir else resume.name, steps=getattr(args, "steps", None), world=world)
        if run.restarted:
            print(f"{run.name} saved no checkpoint before it stopped: training it again from step 0")
        return run
    return registry.start(config_from_args(args), name=args.name, world=world)


def watch_run(run: Any, args: argparse.Namespace) -> int:
    print(f"run {run.name} in {run.folder}")
    run.folder.mkdir(parents=True, exist_ok=True)
    with open(run.folder / COMMANDS_FILE, "a", encoding="utf-8") as handle:
        handle.write(args.command_line + "\n")  # how this run was made, for exports and for people
    return follow(run, quiet=args.quiet)


COMMANDS_FILE = "commands.txt"


def cmd_export(args: argparse.Namespace) -> int:
    from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, EXPORT_SUFFIXES, export_generator
    from ganplay.safe_files import check_output_path

    check_output_path(args.out, (".onnx",) if args.onnx else EXPORT_SUFFIXES, what="--out")
    source = Path(args.source)
    folder = source if source.is_dir() else source.parent
    if source.is_dir():
        source = source / (BEST_CHECKPOINT_NAME if args.best else CHECKPOINT_NAME)
    history = folder / COMMANDS_FILE
    commands = history.read_text(errors="replace").splitlines() if history.exists() else []
    if args.onnx:
        return _export_onnx(source, args, [*commands, args.command_line])
    out = export_generator(source, args.out, use_ema=not args.raw, commands=[*commands, args.command_line])
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB, generator only) and {out.with_suffix('.json').name}")
    return 0


def _export_onnx(source: Path, args: argparse.Namespace, commands: list[str]) -> int:
    from ganplay.onnx_export import export_onnx

    done = export_onnx(source, args.out, use_ema=not args.raw, commands=commands)
    inputs = ", ".join(f"{i['name']} {i['dtype']} {i['shape']}" for i in done.inputs)
    print(f"wrote {done.path} ({done.bytes / 1e6:.2f} MB, inputs: {inputs}) in {done.seconds:.1f} s")
    check = done.check
    if "skipped" in check:
        print(f"not checked: {check['skipped']}")
    else:
        print(
            f"onnxruntime against PyTorch on {check['latents']} latents: max abs difference "
            f"{check['onnxruntime_max_abs_diff']:.2e}; a batch of {check['latents']} on {check['threads']} CPU "
            f"threads: onnxruntime {check['batch_ms_onnxruntime']:.3g} ms, PyTorch {check['batch_ms_torch']:.3g} ms"
        )
    print(f'how to call it without ganplay: {done.sidecar} ("inputs", "usage")')
    return 0


# -- runs / list ------------------------------------------------------------------------------


def cmd_runs(args: argparse.Namespace) -> int:
    from ganplay.run_registry import get_registry

    snaps = get_registry(args.runs_dir).list_runs()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "name": s.name,
                        "state": s.state.value,
                        "step": s.step,
                        "total_steps": s.total_steps,
                        "latest": s.latest,
                        "error": s.error,
                        "folder": s.folder,
                    }
                    for s in snaps
                ],
                indent=2,
            )
        )
        return 0
    if not snaps:
        print("no runs yet: python -m ganplay train --dataset ring8")
        return 0
    header = f"{'name':44} {'status':11} {'step':>15} {'loss_D':>8} {'loss_G':>8} {'D(x)':>6} {'D(G(z))':>7}"
    print(header)
    for s in snaps:
        latest = s.latest or {}
        nums = " ".join(
            f"{latest[k]:>{w}.3f}" if k in latest else " " * w
            for k, w in (("loss_d", 8), ("loss_g", 8), ("d_real", 6), ("d_fake", 7))
        )
        print(f"{s.name[:44]:44} {s.state.value:11} {f'{s.step}/{s.total_steps}':>15} {nums}")
        if s.error:
            print(f"    {s.error}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from ganplay.catalog import ARCHS, DATASETS, LOSSES  # names and facts only: no torch to import

    for title, registry in (("datasets", DATASETS), ("architectures", ARCHS), ("losses", LOSSES)):
        print(f"{title}:")
        for name in registry.names():
            print(f"  {name:16} {registry.info(name).get('title', '')}")
        if registry is DATASETS:
            print("  folder:PATH      any folder of images (one subfolder per class gives labels)")
            print("  points:FILE.csv  your own 2-D points: x,y per line (a third column of labels is optional)")
    print("presets:")
    for name, values in PRESETS.items():
        print(f"  {name:16} {PRESET_NOTES[name]}")
        print(f"  {'':16} {', '.join(f'{k}={v}' for k, v in values.items())}")
    return 0
