"""A run's fixed-noise snapshots (samples/step_XXXXXXXX.png, image grids and 2-D scatters alike) as one
animated GIF, the step written under each frame; many snapshots are thinned evenly, first and last kept."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes, check_output_path

SNAPSHOT_NAME = re.compile(r"^step_(\d+)\.png$")  # what Recorder.snapshot_samples writes
DEFAULT_FPS = 6.0
FPS_RANGE = (0.1, 50.0)  # GIF delays count hundredths of a second; browsers stretch delays under 0.02 s
DEFAULT_MAX_FRAMES = 60
FRAMES_RANGE = (2, 500)
SIZE_RANGE = (64, 1024)  # --size: a frame's longest side in pixels
DEFAULT_MAX_SIDE = 512  # without --size a frame keeps its own size, unless its longest side is larger than this
# Pillow holds every frame (about a byte a pixel once paletted) until it writes the file: frames x pixels is capped.
PIXEL_BUDGET = 64_000_000
MAX_SNAPSHOT_SIDE = 4096  # a larger PNG is none of ganplay's snapshots: skipped without decoding it
HOLD_LAST_SECONDS = 1.5  # the last frame stays up longer, so the animation's end can be seen before it loops


@dataclass(frozen=True)
class Snapshot:
    step: int
    path: Path


@dataclass(frozen=True)
class Timelapse:
    gif: bytes
    steps: tuple[int, ...]  # the step of each frame, in order
    snapshots: int  # how many the run has; more than the frames when thinned to max_frames
    size: tuple[int, int]  # (width, height) of every frame, the label included
    skipped: tuple[str, ...]  # snapshot files that could not be read, with why

    def summary(self) -> str:
        thinned = f" of {self.snapshots} snapshots" if self.snapshots > len(self.steps) else ""
        return (
            f"{len(self.steps)} frames{thinned}, steps {self.steps[0]:,} to {self.steps[-1]:,}, "
            f"{self.size[0]}x{self.size[1]} px, {len(self.gif) / 1e3:,.0f} kB"
        )


def snapshots(folder: str | Path) -> list[Snapshot]:
    """The run's fixed-noise snapshots, oldest first; empty when it has none yet."""
    samples = Path(folder) / "samples"
    found = []
    for path in samples.iterdir() if samples.is_dir() else ():
        match = SNAPSHOT_NAME.match(path.name)
        if match and path.is_file():
            found.append(Snapshot(int(match.group(1)), path))
    return sorted(found, key=lambda s: s.step)


def find_run(run: str, runs_root: str | Path) -> Path:
    """The run folder RUN means: a bare name is a run in `runs_root` (as `runs` lists them), never a folder of that
    name in the working directory; a path (with a /) is that folder, wherever it is, since a time-lapse only reads."""
    path = Path(run).expanduser()
    bare = "/" not in run and "\\" not in run and not run.startswith("~")  # Path("./x") would drop the ./
    folder = Path(runs_root) / run if bare else path
    if not folder.is_dir():
        where = f"no run named {run!r} in {runs_root}" if bare else f"no run folder {run}"
        raise UsageError(f"{where} (python -m ganplay runs lists the runs; a folder elsewhere is named by its path)")
    if not (folder / "config.json").is_file() and not (folder / "status.json").is_file():
        raise UsageError(f"{folder} is not a run folder: it has no config.json or status.json")
    return folder


def check_options(fps: float, max_frames: int, size: int | None) -> None:
    """Every option's range, checked before any file is read."""
    if not FPS_RANGE[0] <= fps <= FPS_RANGE[1]:
        raise UsageError(f"fps must be between {FPS_RANGE[0]} and {FPS_RANGE[1]:g} frames per second, got {fps:g}")
    if not FRAMES_RANGE[0] <= max_frames <= FRAMES_RANGE[1]:
        raise UsageError(f"max-frames must be between {FRAMES_RANGE[0]} and {FRAMES_RANGE[1]}, got {max_frames}")
    if size is not None and not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise UsageError(f"size must be between {SIZE_RANGE[0]} and {SIZE_RANGE[1]} pixels, got {size}")


def pick_evenly(items: list, count: int) -> list:
    """`count` items spread evenly over `items`, the first and the last always among them."""
    if len(items) <= count:
        return list(items)
    last = len(items) - 1
    # steps of (n-1)/(count-1) >= 1 between picks, so no two round to the same index
    return [items[round(i * last / (count - 1))] for i in range(count)]


def build(
    folder: str | Path, fps: float = DEFAULT_FPS, max_frames: int = DEFAULT_MAX_FRAMES, size: int | None = None
) -> Timelapse:
    """The GIF of a run folder's snapshots. Frames are read one at a time as Pillow writes, all at the first
    frame's size (a snapshot of another shape is fitted onto it, not stretched)."""
    check_options(fps, max_frames, size)
    found = snapshots(folder)
    if not found:
        raise UsageError(
            f"{folder} has no snapshots yet: a run saves one at its start and every sample_every steps in samples/"
        )
    picked = pick_evenly(found, max_frames)
    skipped: list[str] = []
    first = next((snap for snap in picked if _readable(snap, skipped)), None)
    if first is None:
        raise UsageError(f"none of the {len(picked)} snapshots picked could be read: {'; '.join(skipped[:3])}")
    with Image.open(first.path) as img:
        shape = _frame_shape(img.size, size)
    font = _label_font(shape[0])
    shape_with_label = (shape[0], shape[1] + _band_height(font))
    pixels = len(picked) * shape_with_label[0] * shape_with_label[1]
    if pixels > PIXEL_BUDGET:
        raise UsageError(
            f"{len(picked)} frames of {shape_with_label[0]}x{shape_with_label[1]} px would hold "
            f"{pixels / 1e6:.0f} M pixels in memory (at most {PIXEL_BUDGET / 1e6:.0f} M): lower max-frames or size"
        )
    steps: list[int] = []
    frames = _frames(picked[picked.index(first) :], shape, font, skipped, steps)
    opening = next(frames, None)  # a file cut short past its header fails only here, as it is decoded
    if opening is None:
        raise UsageError(f"none of the {len(picked)} snapshots picked could be read: {'; '.join(skipped[:3])}")
    buffer = io.BytesIO()
    hold = max(0, round(HOLD_LAST_SECONDS * fps) - 1)
    opening.save(
        buffer,
        format="GIF",
        save_all=True,
        append_images=_held(opening, frames, hold),
        loop=0,
        duration=round(1000 / fps),
    )
    return Timelapse(buffer.getvalue(), tuple(steps), len(found), opening.size, tuple(skipped))


def write(
    folder: str | Path,
    out: str | Path,
    fps: float = DEFAULT_FPS,
    max_frames: int = DEFAULT_MAX_FRAMES,
    size: int | None = None,
) -> Timelapse:
    """build() into `out` (a .gif; an earlier file there is replaced, as every output file is), atomically."""
    out = check_output_path(out, (".gif",), what="--out")
    lapse = build(folder, fps, max_frames, size)
    atomic_write_bytes(out, lapse.gif)
    return lapse


def _frames(
    picked: list[Snapshot], shape: tuple[int, int], font: ImageFont.ImageFont, skipped: list[str], steps: list[int]
) -> Iterator[Image.Image]:
    """The labelled frames, decoded one at a time as the GIF is written; each one's step goes into `steps`."""
    for snap in picked:
        frame = _frame(snap, shape, font, skipped)
        if frame is not None:
            steps.append(snap.step)
            yield frame


def _held(opening: Image.Image, rest: Iterator[Image.Image], repeats: int) -> Iterator[Image.Image]:
    """The frames after the opening one, then the last one `repeats` more times: Pillow merges a repeated frame
    into one frame that stays up longer, so holding the end costs nothing in the file."""
    last = opening
    for frame in rest:
        last = frame
        yield frame
    yield from [last] * repeats


def _readable(snap: Snapshot, skipped: list[str]) -> bool:
    """Whether the PNG's header is sound and its size a snapshot's; reads the header only."""
    try:
        with Image.open(snap.path) as img:
            width, height = img.size
    except (OSError, ValueError, Image.DecompressionBombError) as err:
        skipped.append(f"{snap.path.name}: {type(err).__name__}")
        return False
    if max(width, height) > MAX_SNAPSHOT_SIDE:
        skipped.append(f"{snap.path.name}: {width}x{height} px is larger than any snapshot")
        return False
    return True


def _frame_shape(source: tuple[int, int], size: int | None) -> tuple[int, int]:
    """(width, height) of the picture part of each frame: scaled so its longest side is `size`, or its own size
    capped at DEFAULT_MAX_SIDE."""
    longest = max(source)
    target = size if size is not None else min(longest, DEFAULT_MAX_SIDE)
    scale = target / longest
    return max(1, round(source[0] * scale)), max(1, round(source[1] * scale))


def _band_height(font: ImageFont.ImageFont) -> int:
    """The white band under each frame: the label's height (digits and commas) and a margin."""
    return font.getbbox("step 0123456789,")[3] + 6


def _label_font(width: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=min(28, max(10, round(width / 22))))
    except ImportError:  # Pillow built without FreeType: its small bitmap font
        return ImageFont.load_default()


def _frame(snap: Snapshot, shape: tuple[int, int], font: ImageFont.ImageFont, skipped: list[str]) -> Image.Image | None:
    """The snapshot fitted into `shape`, with a white band below saying its step; None when it cannot be read."""
    if not _readable(snap, skipped):
        return None
    try:
        with Image.open(snap.path) as img:
            picture = img.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as err:  # a snapshot cut short by a crash
        skipped.append(f"{snap.path.name}: {type(err).__name__}")
        return None
    # nearest keeps enlarged pixels crisp (28 px digits); shrinking averages them
    method = Image.Resampling.NEAREST if shape[0] >= picture.width else Image.Resampling.LANCZOS
    picture = ImageOps.pad(picture, shape, method=method, color=(255, 255, 255))
    frame = Image.new("RGB", (shape[0], shape[1] + _band_height(font)), (255, 255, 255))
    frame.paste(picture, (0, 0))
    ImageDraw.Draw(frame).text((4, shape[1] + 2), f"step {snap.step:,}", fill=(0, 0, 0), font=font)
    return frame
