"""python -m ganplay timelapse: a run's fixed-noise snapshots as an animated GIF, the step under each frame."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ganplay.timelapse import DEFAULT_FPS, DEFAULT_MAX_FRAMES, DEFAULT_MAX_SIDE, FPS_RANGE, FRAMES_RANGE, SIZE_RANGE


def add_timelapse_parser(sub: Any) -> None:
    p = sub.add_parser(
        "timelapse",
        help="a run's fixed-noise snapshots as an animated GIF, the step written under each frame",
        description="Works for image runs (their sample grids) and 2-D runs (their scatter plots) alike, finished "
        "or still training (the snapshots saved so far).",
    )
    p.add_argument("run", metavar="RUN", help="a run folder, or the name of a run in the runs folder")
    p.add_argument("--out", required=True, help="the .gif to write (an earlier file there is replaced)")
    p.add_argument(
        "--fps",
        type=float,
        default=DEFAULT_FPS,
        help=f"frames per second, {FPS_RANGE[0]:g} to {FPS_RANGE[1]:g} (default: {DEFAULT_FPS:g}); the last "
        "frame stays up a little longer",
    )
    p.add_argument(
        "--max-frames",
        type=int,
        default=DEFAULT_MAX_FRAMES,
        help=f"at most this many frames, {FRAMES_RANGE[0]} to {FRAMES_RANGE[1]} (default: {DEFAULT_MAX_FRAMES}); "
        "more snapshots are thinned evenly, the first and the last always kept",
    )
    p.add_argument(
        "--size",
        type=int,
        default=None,
        help=f"a frame's longest side in pixels, {SIZE_RANGE[0]} to {SIZE_RANGE[1]} (default: the snapshots' own "
        f"size, at most {DEFAULT_MAX_SIDE})",
    )
    p.add_argument("--runs-dir", help="folder of runs (default: $GANPLAY_RUNS or checkpoints/runs)")
    p.set_defaults(handler=cmd_timelapse)


def cmd_timelapse(args: argparse.Namespace) -> int:
    from ganplay import timelapse
    from ganplay.run_registry import default_runs_root
    from ganplay.safe_files import check_output_path

    out = check_output_path(args.out, (".gif",), what="--out")  # every mistake is said before any file is read
    timelapse.check_options(args.fps, args.max_frames, args.size)
    folder = timelapse.find_run(args.run, args.runs_dir or default_runs_root())
    replacing = " (replacing the earlier file)" if out.exists() else ""
    start = time.perf_counter()
    lapse = timelapse.write(folder, out, args.fps, args.max_frames, args.size)
    print(f"wrote {out}{replacing} from {folder}: {lapse.summary()}, in {time.perf_counter() - start:.1f} s")
    for problem in lapse.skipped:
        print(f"skipped an unreadable snapshot: {problem}", file=sys.stderr)
    return 0
