"""What a run records as it trains: metric rows (metrics.jsonl), sample snapshots (samples/), live quality
scores (evals.jsonl, best.pt) and its speed. The run's thread drives it; snapshots read it under the run's lock."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganplay import imaging, layer_norms, run_files
from ganplay.checkpoints import BEST_CHECKPOINT_NAME, data_meta, save_checkpoint
from ganplay.config import TrainConfig
from ganplay.grid_divergence import GridReference
from ganplay.live_eval import LiveEvaluator, best_row, live_evaluator_for
from ganplay.metrics import toy_mode_stats
from ganplay.point_store import keep_run_points
from ganplay.run_files import EVALS_FILE, METRIC_KEYS
from ganplay.run_state import MetricHistory
from ganplay.sources import DataSource, toy_modes_or_none
from ganplay.toylab import ToyView, toy_view
from ganplay.trainer import GANTrainer

METRICS_FILE = "metrics.jsonl"
# The speed shown is measured over the last this many seconds of training (pauses and queueing excluded):
# a single 10-step window swings several-fold on a toy run when it holds a snapshot or a live score.
RATE_WINDOW_SECONDS = 10.0
COVERAGE_KEPT = 500  # snapshots whose coverage the health check sees, bounded like the history


class Diverged(RuntimeError):
    def __init__(self, step: int, values: dict[str, float]):
        self.step = step
        bad = ", ".join(f"{k}={v}" for k, v in values.items() if not np.isfinite(v))
        super().__init__(f"diverged at step {step}: {bad}")


class SpeedMeter:
    """Images per second of training time: the time between restart() and the next reading is not counted."""

    def __init__(self, images_per_step: int, step: int = 0):
        self.images_per_step = images_per_step
        self._clock, self._clock_step = time.perf_counter(), step
        self._training_seconds = 0.0
        self._marks: list[tuple[float, int]] = []  # (training seconds, step) at each reading

    def restart(self, step: int) -> None:
        """After a pause or at the start: the time away is not training time, so no rate spans it."""
        self._clock, self._clock_step = time.perf_counter(), step
        if not self._marks or self._marks[-1][1] != step:
            self._marks.append((self._training_seconds, step))

    def read(self, step: int) -> tuple[float, float]:
        """(images/s since the last reading, images/s over the last RATE_WINDOW_SECONDS of training)."""
        now = time.perf_counter()
        elapsed = max(now - self._clock, 1e-9)
        rate = (step - self._clock_step) * self.images_per_step / elapsed
        self._clock, self._clock_step = now, step
        self._training_seconds += elapsed
        marks = self._marks
        marks.append((self._training_seconds, step))
        while len(marks) > 2 and marks[-1][0] - marks[1][0] >= RATE_WINDOW_SECONDS:
            marks.pop(0)  # keep just over one window of training time
        if len(marks) < 2:
            return rate, rate
        (t0, s0), (t1, s1) = marks[0], marks[-1]
        return rate, (s1 - s0) * self.images_per_step / max(t1 - t0, 1e-9)


@dataclass(frozen=True)
class _Look:
    samples: torch.Tensor  # the fixed-noise samples, on the CPU
    picture: np.ndarray  # their grid, or a scatter of the points
    points: np.ndarray | None  # 2-D toys: (N, 2)
    view: ToyView | None  # 2-D toys: D's heat map and G's map
    stats: dict[str, float] | None  # 2-D toys: grid KL/JS (grid_divergence.py), and for mixtures the PacGAN numbers


class Recorder:
    """The run folder's growing files and their in-memory views. Fields read by snapshots change under `lock`."""

    def __init__(self, folder: Path, config: TrainConfig, lock: threading.Lock, start_step: int = 0):
        self.folder, self.config, self.lock = Path(folder), config, lock
        self.history = MetricHistory()
        self.evals = MetricHistory()
        self.latest: dict[str, float] = {}
        self.grid: np.ndarray | None = None
        self.grid_step = 0
        self.points: np.ndarray | None = None
        self.toy_view: ToyView | None = None
        self.toy_stats: dict[str, float] | None = None  # 2-D toys: grid KL/JS, and mixtures' PacGAN numbers
        self._grid: GridReference | None = None  # the real points' grid histogram, made at the first toy snapshot
        self.coverage: list[tuple[int, float]] = []  # modes covered (toys) or sample diversity, per snapshot
        self.images_per_sec = 0.0
        self.live_eval: LiveEvaluator | None = None
        self.eval_note = ""
        self.best: dict[str, float] | None = None
        self.speed = SpeedMeter(config.batch_size * config.d_steps, start_step)
        self._eval_clock = time.perf_counter()
        self._pending: list[dict[str, torch.Tensor]] = []
        self._metrics_file: Any = None
        self.trainer: GANTrainer | None = None
        self.data: DataSource | None = None

    # -- the files on disk ---------------------------------------------------------------------------
    def read_back(self, upto: int, rewrite: bool = False) -> None:
        """The curves and scores already on disk up to step `upto`; rewrite drops the rows after it (resume)."""
        self.history = run_files.history_of(self.folder / METRICS_FILE, METRIC_KEYS, upto=upto, rewrite=rewrite)
        self.evals = run_files.history_of(self.folder / EVALS_FILE, upto=upto, rewrite=rewrite)
        if rewrite:  # D's per-layer norms are only drawn from disk: nothing to keep in memory
            layer_norms.cut_back(self.folder, upto)

    def start_fresh(self) -> None:
        """A run from step 0 keeps nothing of an earlier attempt's curves, scores or best model."""
        for name in (METRICS_FILE, EVALS_FILE, BEST_CHECKPOINT_NAME, layer_norms.LAYERS_FILE):
            (self.folder / name).unlink(missing_ok=True)

    def open(self, trainer: GANTrainer, data: DataSource) -> None:
        """Set up the live score and open metrics.jsonl for appending; the speed clock starts now."""
        cfg = self.config
        keep_run_points(self.folder, data)  # a points file: copied at the start, checked against the copy on resume
        self.trainer, self.data = trainer, data
        self.live_eval, self.eval_note = (
            live_evaluator_for(data, cfg.z_dim, cfg.conditional)
            if cfg.eval_every
            else (None, "live quality is off (eval_every 0)")
        )
        if self.live_eval is not None and (self.folder / BEST_CHECKPOINT_NAME).exists():
            self.best = best_row(self.evals.rows(), self.live_eval.metric)
        # open for the run's whole life (one append per read-back); close() ends it
        self._metrics_file = open(self.folder / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115
        self.restart_clock()

    def close(self) -> None:
        if self._metrics_file is None:
            return
        try:
            self._metrics_file.close()
        except OSError:
            pass  # buffered rows that a full disk refused; the failure has been recorded
        self._metrics_file = None

    def restart_clock(self) -> None:
        self._eval_clock = time.perf_counter()
        self.speed.restart(self.trainer.step)

    # -- what each step adds ---------------------------------------------------------------------------
    def add(self, step_values: dict[str, torch.Tensor]) -> None:
        """Keep a step's values on the device; flush() reads them back in one sync."""
        self._pending.append(step_values)

    def flush(self) -> bool:
        """Read the pending step values back in one device sync and append their mean as a row; NaN or Inf
        raises Diverged. False when there was nothing to write."""
        if not self._pending:
            return False
        pending, self._pending = self._pending, []
        keys = tuple(pending[0])  # what the step reports: the losses, D's outputs, gradients (+ InfoGAN's code loss)
        values = torch.stack([torch.stack([row[k].float() for k in keys]) for row in pending]).cpu()  # (n, K)
        finite = torch.isfinite(values).all(dim=1)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0])
            raise Diverged(self.trainer.step - len(pending) + 1 + bad, dict(zip(keys, values[bad].tolist())))
        rate, smoothed = self.speed.read(self.trainer.step)
        row = {
            "step": self.trainer.step,
            **dict(zip(keys, values.mean(0).tolist())),
            "images_per_sec": rate,
            "time": time.time(),
        }
        try:
            self._metrics_file.write(json.dumps(row) + "\n")
            self._metrics_file.flush()
        except OSError as err:  # name the file: a bare "[Errno 28]" said nothing of where
            raise OSError(err.errno, err.strerror, str(self.folder / METRICS_FILE)) from err
        with self.lock:
            self.history.append(row)
            self.latest = row
            self.images_per_sec = smoothed
        return True

    def snapshot_samples(self) -> None:
        """The fixed-noise grid (or 2-D points, the lab's view and mode statistics) saved under samples/."""
        if self.data.kind != "toy":  # D's per-layer norms, first: before anything else runs D (layer_norms.py)
            layer_norms.append_row(self.folder, layer_norms.layer_row(self.trainer.D, self.trainer.step))
        look = self._look()
        step = self.trainer.step
        imaging.save_png(look.picture, self.folder / "samples" / f"step_{step:08d}.png")
        if look.view is not None:  # the lab's data too, so a finished run can be replayed step by step
            look.view.save(self.folder / "samples" / f"step_{step:08d}.npz", look.points)
        stats = look.stats
        modes_known = stats is not None and "num_modes" in stats  # every toy has grid numbers; mixtures have modes
        coverage = stats["modes_covered"] / stats["num_modes"] if modes_known else sample_diversity(look.samples)
        self._show(look)
        with self.lock:
            self.coverage.append((step, coverage))
            del self.coverage[:-COVERAGE_KEPT]

    def refresh_view(self) -> None:
        """The live view of the model as it is now, in memory only: moves by hand and slow motion show every
        update without a snapshot file for each (snapshots keep their own cadence)."""
        self._show(self._look())

    def _look(self) -> _Look:
        """The fixed-noise samples, their picture, and for 2-D toys the lab's view and the mode statistics."""
        samples = self.trainer.fixed_samples().float().cpu()
        view, stats, points = None, None, None
        if self.data.kind == "toy":
            points = samples.numpy()
            found = toy_modes_or_none(self.data.name)
            modes = found[0] if found else None
            picture = imaging.scatter_image(points, modes=modes)
            view = self._toy_view(modes, samples)
            stats = self._toy_stats(points, modes)
        else:
            picture = imaging.image_grid(samples)
        return _Look(samples, picture, points, view, stats)

    def _toy_stats(self, points: np.ndarray, modes: np.ndarray | None) -> dict[str, float]:
        """The grid KL/JS against real points for every 2-D toy (grid_divergence.py), beside the PacGAN numbers of
        a mixture; the real reference is drawn once per run."""
        stats = toy_mode_stats(points, modes, self.data.sigma).as_dict() if modes is not None else {}
        if self._grid is None:
            self._grid = GridReference(self.data)
        return {**stats, **self._grid.score(points).as_dict()}

    def _show(self, look: _Look) -> None:
        with self.lock:
            self.grid, self.grid_step, self.points = look.picture, self.trainer.step, look.points
            self.toy_view, self.toy_stats = look.view, look.stats

    def _toy_view(self, modes: np.ndarray | None, points: torch.Tensor) -> ToyView:
        t = self.trainer
        generator = t.G_ema if t.G_ema is not None else t.G
        return toy_view(
            generator,
            t.D,
            t.loss.probabilistic,
            self.config.z_dim,
            self.config.pac,
            self.data.scale,
            modes,
            t.device,
            loss=t.loss.name,
            points=points,
        )

    # -- live quality ------------------------------------------------------------------------------------
    def score(self, name: str) -> dict[str, float]:
        """The live quality score of the generator now, without recording it (benchmarks, checks)."""
        if self.live_eval is None:
            raise ValueError(f"{name}: {self.eval_note or 'live quality is not set up (call prepare first)'}")
        return self.live_eval.score(self.trainer)

    def evaluate(self, name: str) -> dict[str, float]:
        """Score the generator; a new best is saved as best.pt. The row records what the score cost."""
        start = time.perf_counter()
        row = {"step": self.trainer.step, **self.score(name)}
        metric = self.live_eval.metric
        if metric.better(row[metric.key], self.best[metric.key] if self.best else None):
            self.flush()  # raises on NaN first: never keep a diverged model as the best
            save_checkpoint(
                self.folder / BEST_CHECKPOINT_NAME, self.trainer.state_dict(), self.config, data_meta(self.data)
            )
            self.best = row
        now = time.perf_counter()
        row["seconds"] = now - start
        row["cost"] = row["seconds"] / max(now - self._eval_clock, 1e-9)  # share of the time since the last score
        self._eval_clock = now
        _append_line(self.folder / EVALS_FILE, json.dumps(row))
        with self.lock:
            self.evals.append(row)
        return row


def _append_line(path: Path, line: str) -> None:
    try:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError as err:
        raise OSError(err.errno, err.strerror, str(path)) from err


def sample_diversity(samples: torch.Tensor) -> float:
    """Mean distance between pairs of fixed-noise samples: it falls when G collapses."""
    flat = samples.flatten(1).float()
    return float(torch.pdist(flat[:256]).mean()) if len(flat) > 1 else 0.0
