"""The Learn page's experiments as data: each lesson is two small runs that differ in one setting, the quantities
that show the difference, and a function that puts the measured numbers into words. No Streamlit, so the CLI and
tests run a lesson as the page does."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ganplay.config import TrainConfig
from ganplay.data import load_dataset
from ganplay.errors import UsageError
from ganplay.memory import fits_in_memory
from ganplay.metrics import toy_mode_stats
from ganplay.presets import make_config
from ganplay.registry import Registry
from ganplay.run_registry import RunRegistry
from ganplay.run_state import ACTIVE_STATES, RunSnapshot, RunState
from ganplay.runs import Run
from ganplay.sources import toy_modes_or_none
from ganplay.toylab import load_toy_snapshot, toy_snapshots

EARLY_STEPS = 200  # "early in training": the window lesson a's headline number averages over
LATE_SHARE = 0.2  # "by now": the last fifth of the steps both runs have reached
SLOT_STATES = {RunState.STARTING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING}  # these hold a slot
RUN_PREFIX = "learn"  # lesson runs are named learn-<lesson>-<stamp>-<side>


@dataclass(frozen=True)
class Side:
    """One of a lesson's two runs."""

    key: str  # in run names and number keys: letters and digits
    label: str  # in legends and sentences
    settings: dict[str, Any]  # make_config values that differ from the other side


@dataclass(frozen=True)
class Quantity:
    """A curve both runs draw on one chart."""

    key: str  # a metrics.jsonl key, "d_gap", or a snapshot key (SNAPSHOT_KEYS)
    title: str
    log_scale: bool = False  # gradient norms span four orders of magnitude

    @property
    def from_snapshots(self) -> bool:
        return self.key in SNAPSHOT_KEYS


SNAPSHOT_KEYS = ("modes_covered", "high_quality", "spread")  # measured on each saved 2-D snapshot


@dataclass(frozen=True)
class LessonRun:
    """What a lesson reads of one of its runs: metric rows (with d_gap added) and per-snapshot 2-D statistics."""

    side: Side
    dataset: str
    rows: list[dict[str, float]]
    snapshots: list[dict[str, float]]  # step, modes_covered, num_modes, high_quality, spread (2-D mixtures)
    step: int
    problems: tuple[str, ...] = ()  # snapshot files that could not be read (left out of the numbers)


@dataclass(frozen=True)
class Findings:
    numbers: dict[str, float]  # "<side>.<figure>": the measured figures the text quotes
    text: str  # two or three sentences with those numbers
    shown: bool  # whether the numbers point the way the lesson says


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    question: str  # what the experiment asks, in a sentence
    look_at: str  # what to watch while it runs
    base: dict[str, Any]  # make_config values both runs share
    sides: tuple[Side, Side]
    quantities: tuple[Quantity, ...]
    findings: Callable[[LessonRun, LessonRun], Findings]

    def configs(self, seed: int = 0, **overrides: Any) -> tuple[TrainConfig, TrainConfig]:
        """Both runs' configs, through make_config; `overrides` (a device, fewer steps for tests) apply to both."""
        return tuple(make_config(**{**self.base, **side.settings, "seed": seed, **overrides}) for side in self.sides)


LESSONS: Registry[Lesson] = Registry("lesson")  # filled at the end of this module, in the page's order


# -- reading the runs ------------------------------------------------------------------------------------------


def snapshot_stats(path: str | Path, dataset: str) -> dict[str, float]:
    """The PacGAN numbers and the spread of one saved 2-D snapshot (a file written once: cache it by path)."""
    _, points = load_toy_snapshot(path)
    found = toy_modes_or_none(dataset)
    row = {"step": float(int(Path(path).stem.split("_")[-1])), "spread": spread(points)}
    if found is not None:
        stats = toy_mode_stats(points, *found)
        row.update(modes_covered=stats.modes_covered, num_modes=stats.num_modes, high_quality=stats.high_quality)
    return row


def spread(points: np.ndarray) -> float:
    """The points' standard deviation, averaged over x and y: ring8's own is 0.71; a collapsed G's near 0."""
    finite = np.asarray(points, np.float64)[np.isfinite(points).all(1)]
    return float(np.sqrt(finite.var(0).mean())) if len(finite) > 1 else 0.0


@lru_cache(maxsize=8)
def real_spread(dataset: str) -> float:
    points, _ = load_dataset(dataset, seed=0).real_samples(2500, seed=0)
    return spread(points.numpy())


def lesson_run(
    side: Side, snap: RunSnapshot, stats_of: Callable[[str | Path, str], dict[str, float]] = snapshot_stats
) -> LessonRun:
    """A run's rows from its snapshot and, for 2-D runs, statistics of each saved snapshot (`stats_of` may cache)."""
    rows = [{**row, "d_gap": row["d_real"] - row["d_fake"]} if "d_real" in row else row for row in snap.history]
    dataset = str(snap.config.get("dataset", ""))
    snapshots, problems = [], []
    for path in toy_snapshots(snap.folder).values():
        try:
            snapshots.append(stats_of(path, dataset))
        except ValueError as err:  # a damaged file (a full disk): said, and left out of the numbers
            problems.append(str(err))
    return LessonRun(side, dataset, rows, snapshots, snap.step, tuple(problems))


# -- running a lesson ------------------------------------------------------------------------------------------


def run_names(lesson: Lesson, stamp: str) -> tuple[str, str]:
    return tuple(f"{RUN_PREFIX}-{lesson.name}-{stamp}-{side.key}" for side in lesson.sides)


def latest_pair(lesson: Lesson, names: list[str]) -> tuple[str, str] | None:
    """The newest pair of this lesson's runs among `names` (both sides present), by the stamp in their names."""
    prefix, known = f"{RUN_PREFIX}-{lesson.name}-", set(names)
    stamps = set()
    for name in names:
        for side in lesson.sides:
            if name.startswith(prefix) and name.endswith(f"-{side.key}"):
                stamps.add(name[len(prefix) : -len(side.key) - 1])
    paired = sorted(s for s in stamps if all(n in known for n in run_names(lesson, s)))
    return run_names(lesson, paired[-1]) if paired else None


def slot_holders(snaps: list[RunSnapshot], ours: tuple[str, ...] = ()) -> list[str]:
    """Runs of this process, other than `ours`, that hold a training slot now (a paused run keeps its slot)."""
    return [s.name for s in snaps if s.live and s.state in SLOT_STATES and s.name not in ours]


def wait_reason(holders: list[str]) -> str:
    """Why a lesson's run waits: the registry's two slots, and who holds them."""
    who = f"; training now: {', '.join(holders)} (a paused run keeps its slot)" if holders else ""
    return (
        f"The app trains two runs at once{who}. The runs are compared step by step, so waiting changes only "
        "the time, not the numbers."
    )


def start_lesson(registry: RunRegistry, lesson: Lesson, seed: int = 0, **overrides: Any) -> tuple[Run, Run]:
    """Start both runs at once (they share the registry's slots). Both configs are checked, and an active earlier
    pair of this lesson refused, before either starts, so a refusal starts nothing."""
    configs = [fits_in_memory(config.validated()) for config in lesson.configs(seed, **overrides)]
    snaps = registry.list_runs()
    active = latest_pair(lesson, [s.name for s in snaps if s.state in ACTIVE_STATES])
    if active is not None:
        raise UsageError(f"this experiment is still running ({', '.join(active)}); stop it or let it finish first")
    names = run_names(lesson, _free_stamp(registry, lesson))
    first = registry.start(configs[0], name=names[0])
    try:
        second = registry.start(configs[1], name=names[1])
    except Exception:
        first.stop()  # half an experiment compares nothing
        raise
    return first, second


def _free_stamp(registry: RunRegistry, lesson: Lesson) -> str:
    stamp = base = datetime.now().strftime("%Y%m%d-%H%M%S")
    n = 1
    while any((registry.root / name).exists() or registry.get(name) for name in run_names(lesson, stamp)):
        n += 1
        stamp = f"{base}-{n}"
    return stamp


@dataclass(frozen=True)
class LessonResult:
    findings: Findings
    seconds: float  # from the start of both runs to the end of the later one
    runs: tuple[LessonRun, LessonRun]


def run_lesson(
    registry: RunRegistry, lesson: Lesson, seed: int = 0, timeout: float = 600.0, **overrides: Any
) -> LessonResult:
    """Run both sides to the end, as the page does, and measure the lesson; a run that fails raises its error."""
    start = time.perf_counter()
    runs = start_lesson(registry, lesson, seed, **overrides)
    deadline = start + timeout
    for run in runs:
        if not run.wait(max(0.0, deadline - time.perf_counter())):
            for other in runs:
                other.stop()
            raise TimeoutError(f"lesson {lesson.name} did not finish within {timeout:.0f} s")
    seconds = time.perf_counter() - start
    snaps = [registry.snapshot(run.name) for run in runs]
    failed = [s for s in snaps if s.state != RunState.FINISHED]
    if failed:
        raise RuntimeError(f"{failed[0].name} ended {failed[0].state.value}: {failed[0].error}")
    measured = tuple(lesson_run(side, snap) for side, snap in zip(lesson.sides, snaps))
    return LessonResult(lesson.findings(*measured), seconds, measured)


# -- windows of the two runs -------------------------------------------------------------------------------------


def common_step(a: LessonRun, b: LessonRun) -> int:
    """The last step both runs have logged: they are compared over the same steps, whichever ran faster."""
    return min(a.rows[-1]["step"] if a.rows else 0, b.rows[-1]["step"] if b.rows else 0)


def mean_of(rows: list[dict[str, float]], key: str, low: float, high: float) -> float:
    values = [row[key] for row in rows if low < row["step"] <= high and key in row]
    return float(np.mean(values)) if values else math.nan


def late_window(a: LessonRun, b: LessonRun) -> tuple[int, int]:
    end = common_step(a, b)
    return int(end * (1 - LATE_SHARE)), end


def snapshot_at(run: LessonRun, step: int) -> dict[str, float] | None:
    """The newest snapshot statistics at or before `step`."""
    found = [s for s in run.snapshots if s["step"] <= step and "modes_covered" in s]
    return found[-1] if found else None


def fixed(value: float, digits: int = 3) -> str:
    """A number to `digits` decimals, never "-0.000" for a value that rounds to zero."""
    return f"{round(value, digits) + 0.0:.{digits}f}"


def waiting(a: LessonRun, b: LessonRun, snapshots: bool = False, needed: int = 20) -> Findings | None:
    """A placeholder while the runs have too few steps (or, with `snapshots`, no 2-D snapshot) in common."""
    step = common_step(a, b)
    if step < needed:
        return Findings(
            {}, f"Measuring: the numbers come once both runs have passed step {needed} (now {step}).", False
        )
    if snapshots and (snapshot_at(a, step) is None or snapshot_at(b, step) is None):
        return Findings({}, "Measuring: the first snapshots are on their way.", False)
    return None


def snapshots_in_common(a: LessonRun, b: LessonRun) -> tuple[int, dict[str, float], dict[str, float]]:
    """The newest step both runs saved a snapshot at or before, and both runs' statistics there."""
    at = int(min(snapshot_at(run, common_step(a, b))["step"] for run in (a, b)))
    return at, snapshot_at(a, at), snapshot_at(b, at)


# The lessons themselves (their runs, charts and words) register in LESSONS when this module is imported.
from ganplay.lesson_plans import PACKING, VANISHING, WEAK_D  # noqa: F401
