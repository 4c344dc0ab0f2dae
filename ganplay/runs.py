"""Runs: one background training thread each, a clear state machine, and the process-wide registry."""

from __future__ import annotations

import atexit
import errno
import json
import os
import re
import shutil
import threading
import time
import traceback
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganplay import imaging, run_files, run_lock
from ganplay.checkpoints import (BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, atomic_write_text, data_meta, load_checkpoint,
                                 remove_stale_temporaries, save_checkpoint)
from ganplay.config import ConfigError, TrainConfig
from ganplay.data import load_training_data
from ganplay.health import ROWS_NEEDED, Alarm, check_health
from ganplay.live_eval import LiveEvaluator, LiveMetric, live_evaluator_for, metric_of
from ganplay.metrics import toy_mode_stats
from ganplay.toylab import ToyView, toy_view
from ganplay.trainer import GANTrainer, describe_device, resolve_device

EVALS_FILE = "eval.jsonl"  # live quality scores, one JSON row each
METRIC_KEYS = ("step", "loss_d", "loss_g")  # what every metrics.jsonl row holds; readers rely on them
HISTORY_CAPACITY = 2000  # points kept in memory per run; metrics.jsonl on disk keeps every one
# The speed shown is measured over the last this many seconds of training (pauses and queueing excluded):
# a single 10-step window swings several-fold on a toy run when it holds a snapshot or a live score.
RATE_WINDOW_SECONDS = 10.0


class RunState(str, Enum):
    QUEUED = "queued"  # waiting for a free training slot
    STARTING = "starting"  # has a slot; loading the data and building the networks
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"  # stop asked; saving a checkpoint
    STOPPED = "stopped"  # stopped by the user; can be resumed
    FINISHED = "finished"
    FAILED = "failed"  # an error or divergence; `error` says which
    INTERRUPTED = "interrupted"  # its process ended while it was active; can be resumed
    DAMAGED = "damaged"  # its folder's files cannot be read back as a run; `error` says what is wrong


ACTIVE_STATES = {RunState.QUEUED, RunState.STARTING, RunState.RUNNING, RunState.PAUSED, RunState.STOPPING}


class Diverged(RuntimeError):
    def __init__(self, step: int, values: dict[str, float]):
        self.step = step
        bad = ", ".join(f"{k}={v}" for k, v in values.items() if not np.isfinite(v))
        super().__init__(f"diverged at step {step}: {bad}")


class MetricHistory:
    """Bounded history: past capacity, the older three quarters are thinned to every second point."""

    def __init__(self, capacity: int = HISTORY_CAPACITY):
        self.capacity = max(8, capacity)
        self._rows: list[dict[str, float]] = []

    def append(self, row: dict[str, float]) -> None:
        self._rows.append(row)
        if len(self._rows) > self.capacity:
            keep_recent = self.capacity // 4
            older, recent = self._rows[:-keep_recent], self._rows[-keep_recent:]
            self._rows = older[::2] + recent

    def rows(self) -> list[dict[str, float]]:
        return list(self._rows)

    def __len__(self) -> int:
        return len(self._rows)


@dataclass(frozen=True)
class RunSnapshot:
    """A consistent copy of a run's state for readers in other threads (pages, the CLI)."""

    name: str
    folder: str
    state: RunState
    step: int
    total_steps: int
    config: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    latest: dict[str, float] = field(default_factory=dict)
    grid: np.ndarray | None = None  # latest fixed-noise picture (H, W, C) uint8
    grid_step: int = 0
    points: np.ndarray | None = None  # latest fixed-noise samples of a 2-D toy (N, 2)
    toy_view: ToyView | None = None  # D's heat map and G's noise-grid image at grid_step (2-D toys)
    toy_stats: dict[str, float] | None = None  # PacGAN numbers of the fixed-noise points (mixtures)
    alarms: list[Alarm] = field(default_factory=list)  # training-health problems, in plain words
    images_per_sec: float = 0.0
    eta_seconds: float | None = None
    error: str = ""
    device: str = ""
    data_title: str = ""
    data_note: str = ""
    created_at: str = ""
    live: bool = False  # owned by a thread of this process
    evals: list[dict[str, float]] = field(default_factory=list)  # live quality scores, one row per eval_every
    eval_metric: LiveMetric | None = None  # the headline score, which picks best.pt
    eval_note: str = ""  # why there is no live score, when there is none
    best: dict[str, float] | None = None  # the eval row of best.pt

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class TrainingSlots:
    """At most `capacity` runs train at once; the others wait in the order they were started (FIFO)."""

    def __init__(self, capacity: int):
        self.capacity = max(1, capacity)
        self._cond = threading.Condition()
        self._waiting: list[object] = []
        self._active = 0

    def enqueue(self) -> object:
        ticket = object()
        with self._cond:
            self._waiting.append(ticket)
        return ticket

    def acquire(self, ticket: object, timeout: float) -> bool:
        """True once `ticket` is first in line and a slot is free; False after `timeout` seconds."""
        with self._cond:
            ready = self._cond.wait_for(lambda: self._waiting[0] is ticket and self._active < self.capacity, timeout)
            if ready:
                self._waiting.pop(0)
                self._active += 1
                self._cond.notify_all()
            return ready

    def cancel(self, ticket: object) -> None:
        with self._cond:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._cond.notify_all()

    def release(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()


class Run:
    """One training run in its own thread; pause, resume and stop act between two steps."""

    def __init__(self, folder: Path, config: TrainConfig, *, resume: bool = False,
                 slots: TrainingSlots | None = None, start_step: int = 0):
        self.folder = Path(folder)
        self.name = self.folder.name
        self.config = config
        self._resume = resume
        self._slots = slots
        self._ticket = slots.enqueue() if slots is not None else None  # its place in the queue, taken now
        self._lock = threading.Lock()
        self._pause_event = threading.Event()
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = RunState.QUEUED
        self._error = ""
        self._history = MetricHistory()
        self._latest: dict[str, float] = {}
        self._grid: np.ndarray | None = None
        self._grid_step = 0
        self._points: np.ndarray | None = None
        self._toy_view: ToyView | None = None
        self._toy_stats: dict[str, float] | None = None
        self._coverage: list[tuple[int, float]] = []  # modes covered (toys) or sample diversity, per snapshot
        self._images_per_sec = 0.0
        self._device_text = ""
        self._created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.trainer: GANTrainer | None = None
        self.data = None
        self._pending: list[dict[str, torch.Tensor]] = []
        self._clock = time.perf_counter()
        self._clock_step = start_step  # a resumed run shows its checkpoint's step before its trainer exists
        self._training_seconds = 0.0  # time spent training, excluding pauses and the queue
        self._rate_marks: list[tuple[float, int]] = []  # (training seconds, step) at each read-back
        self._checkpoint_step = -1
        self._metrics_file = None
        self._live_eval: LiveEvaluator | None = None
        self._eval_note = ""
        self._evals = MetricHistory()
        self._best: dict[str, float] | None = None
        self._eval_clock = time.perf_counter()
        self.restarted = False  # set by the registry when a run with no checkpoint starts again from step 0
        if resume:  # shown while the run waits for a slot and loads; prepare() reads them again, exactly
            self._history = _history_of(self.folder / "metrics.jsonl", METRIC_KEYS, upto=start_step)
            self._evals = _history_of(self.folder / EVALS_FILE, upto=start_step)
            self._created_at = _created_at(self.folder, self._created_at)

    # -- control (any thread) ------------------------------------------------------------------
    def start(self) -> "Run":
        """Start the thread. A new run's config.json is written first, so that a run still queued, or killed
        before its first checkpoint, is listed everywhere and can start again from step 0."""
        if not self._resume:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / "config.json", self.config.to_json())
        self._thread = threading.Thread(target=self._main, name=f"ganplay-run-{self.name}", daemon=True)
        self._thread.start()
        return self

    def pause(self) -> None:
        self._pause_event.set()

    def resume(self) -> None:
        self._pause_event.clear()

    def stop(self) -> None:
        self._stop_event.set()
        with self._lock:
            if self._state in (RunState.RUNNING, RunState.PAUSED, RunState.QUEUED, RunState.STARTING):
                self._state = RunState.STOPPING

    def wait(self, timeout: float | None = None) -> bool:
        """True when the thread has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_alive()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def state(self) -> RunState:
        with self._lock:
            return self._state

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            step = self.trainer.step if self.trainer else self._clock_step
            running = self._state == RunState.RUNNING  # a paused, queued or ended run has no speed to show
            images_per_sec = self._images_per_sec if running else 0.0
            rate = images_per_sec / max(1, self.config.batch_size * self.config.d_steps)  # steps/s
            eta = max(0, self.config.steps - step) / rate if rate > 0 else None
            rows = self._history.rows()
            return RunSnapshot(
                name=self.name, folder=str(self.folder), state=self._state, step=step,
                total_steps=self.config.steps, config=self.config.to_dict(), history=rows,
                latest=dict(self._latest), grid=self._grid, grid_step=self._grid_step, points=self._points,
                toy_view=self._toy_view, toy_stats=self._toy_stats,
                alarms=check_health(rows[-ROWS_NEEDED:], self._error, self._coverage, self._toy_stats),
                images_per_sec=images_per_sec, eta_seconds=eta, error=self._error,
                device=self._device_text, data_title=self.data.title if self.data else "",
                data_note=self.data.note if self.data else "", created_at=self._created_at, live=self.is_alive(),
                evals=self._evals.rows(), eval_metric=self._live_eval.metric if self._live_eval else None,
                eval_note=self._eval_note, best=dict(self._best) if self._best else None)

    # -- the thread ----------------------------------------------------------------------------
    def _main(self) -> None:
        acquired = False
        try:
            self._write_status()
            acquired = self._wait_for_slot()
            if acquired:
                self._set_state(RunState.STARTING)
                self.prepare()
                self._set_state(RunState.RUNNING)
                self._loop()
        except Diverged as err:
            kept = f"; the last good checkpoint (step {self._checkpoint_step}) is kept" if self._checkpoint_step >= 0 else ""
            self._fail(f"{err}{kept}")
        except Exception as err:  # the thread must record every failure, never die silently
            self._fail(self._failure_message(err))
            try:
                (self.folder / "error.log").write_text(traceback.format_exc())
            except OSError:
                pass  # a full disk: the message above, kept in memory and shown by the app and CLI, says it
        finally:
            if acquired and self._slots is not None:
                self._slots.release()
            self._close_metrics()
            run_lock.release(self.folder)
            with self._lock:
                if self._state in ACTIVE_STATES:
                    self._state = RunState.STOPPED
            self._write_status()

    def _failure_message(self, err: Exception) -> str:
        kept = (f"; the last checkpoint (step {self._checkpoint_step:,}) is kept" if self._checkpoint_step >= 0
                else "; no checkpoint had been saved yet")
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return f"disk full while writing {err.filename or 'a file of the run'}{kept}"
        return f"{type(err).__name__}: {err}" + (kept if isinstance(err, OSError) else "")

    def _close_metrics(self) -> None:
        if self._metrics_file is None:
            return
        try:
            self._metrics_file.close()
        except OSError:
            pass  # buffered rows that a full disk refused; the failure has been recorded
        self._metrics_file = None

    def _wait_for_slot(self) -> bool:
        if self._slots is None:
            return True
        while not self._slots.acquire(self._ticket, timeout=0.2):
            if self._stop_event.is_set():
                self._slots.cancel(self._ticket)
                return False
        return True

    def _loop(self) -> None:
        total = self.config.steps
        while self.trainer.step < total and not self._stop_event.is_set():
            if self._pause_event.is_set():
                self._pause_until_released()
                continue
            self.advance()
        self.flush_metrics()
        self.save_checkpoint()
        done = self.trainer.step >= total
        self._set_state(RunState.FINISHED if done else RunState.STOPPED)

    def _pause_until_released(self) -> None:
        self.flush_metrics()
        self._set_state(RunState.PAUSED)
        while self._pause_event.is_set() and not self._stop_event.is_set():
            time.sleep(0.05)
        self._restart_clock()
        if not self._stop_event.is_set():
            self._set_state(RunState.RUNNING)

    # -- one step and its bookkeeping (also driven directly, without a thread, by bench and tests)
    def prepare(self) -> None:
        """Load data, build the trainer, restore the checkpoint when resuming, write config.json."""
        cfg = self.config
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.folder)  # left by a kill during an atomic write; only this run writes here
        device = resolve_device(cfg.device)
        self.data = load_training_data(cfg, device)
        trainer = GANTrainer(cfg, self.data, device)
        if self._resume:
            ckpt = load_checkpoint(self.folder / CHECKPOINT_NAME)
            trainer.load_state_dict(ckpt)
            self._checkpoint_step = trainer.step
            self._history = _history_of(self.folder / "metrics.jsonl", METRIC_KEYS, upto=trainer.step, rewrite=True)
            self._created_at = _created_at(self.folder, self._created_at)
            self._evals = _history_of(self.folder / EVALS_FILE, upto=trainer.step, rewrite=True)
        else:
            (self.folder / "metrics.jsonl").unlink(missing_ok=True)
            (self.folder / EVALS_FILE).unlink(missing_ok=True)
            (self.folder / BEST_CHECKPOINT_NAME).unlink(missing_ok=True)
        self._live_eval, self._eval_note = (live_evaluator_for(self.data, cfg.z_dim, cfg.conditional)
                                            if cfg.eval_every else (None, "live quality is off (eval_every 0)"))
        if self._live_eval is not None and (self.folder / BEST_CHECKPOINT_NAME).exists():
            self._best = _best_row(self._evals.rows(), self._live_eval.metric)
        atomic_write_text(self.folder / "config.json", cfg.to_json())
        with self._lock:
            self.trainer = trainer
            self._device_text = describe_device(device)
        self._metrics_file = open(self.folder / "metrics.jsonl", "a", encoding="utf-8")
        self._restart_clock()
        if not self._resume:
            self.snapshot_samples()

    def advance(self) -> None:
        trainer, cfg = self.trainer, self.config
        self._pending.append(trainer.train_step())
        step = trainer.step
        last = step >= cfg.steps
        if step % cfg.log_every == 0 or last:
            self.flush_metrics()
        if step % cfg.sample_every == 0 or last:
            self.snapshot_samples()
        if step % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if self._live_eval is not None and (step % cfg.eval_every == 0 or last):
            self.evaluate()

    def score(self) -> dict[str, float]:
        """The live quality score of the generator now, without recording it (benchmarks, checks)."""
        if self._live_eval is None:
            raise ValueError(f"{self.name}: {self._eval_note or 'live quality is not set up (call prepare first)'}")
        return self._live_eval.score(self.trainer)

    def evaluate(self) -> dict[str, float]:
        """Score the generator; a new best is saved as best.pt. The row records what the score cost."""
        start = time.perf_counter()
        row = {"step": self.trainer.step, **self.score()}
        metric = self._live_eval.metric
        if metric.better(row[metric.key], self._best[metric.key] if self._best else None):
            self.flush_metrics()  # raises on NaN first: never keep a diverged model as the best
            save_checkpoint(self.folder / BEST_CHECKPOINT_NAME, self.trainer.state_dict(), self.config,
                            data_meta(self.data))
            self._best = row
        now = time.perf_counter()
        row["seconds"] = now - start
        row["cost"] = row["seconds"] / max(now - self._eval_clock, 1e-9)  # share of the time since the last score
        self._eval_clock = now
        _append_line(self.folder / EVALS_FILE, json.dumps(row))
        with self._lock:
            self._evals.append(row)
        return row

    def flush_metrics(self) -> None:
        """Read the pending step values back in one device sync; NaN or Inf stops the run."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        keys = tuple(pending[0])  # what the step reports: the losses, D's outputs, gradients (+ InfoGAN's code loss)
        values = torch.stack([torch.stack([row[k].float() for k in keys]) for row in pending]).cpu()  # (n, K)
        first_step = self.trainer.step - len(pending) + 1
        finite = torch.isfinite(values).all(dim=1)
        if not bool(finite.all()):
            bad = int((~finite).nonzero()[0])
            raise Diverged(first_step + bad, dict(zip(keys, values[bad].tolist())))
        rate, smoothed = self._measure_speed()
        row = {"step": self.trainer.step, **dict(zip(keys, values.mean(0).tolist())),
               "images_per_sec": rate, "time": time.time()}
        try:
            self._metrics_file.write(json.dumps(row) + "\n")
            self._metrics_file.flush()
        except OSError as err:  # name the file: a bare "[Errno 28]" said nothing of where
            raise OSError(err.errno, err.strerror, str(self.folder / "metrics.jsonl")) from err
        with self._lock:
            self._history.append(row)
            self._latest = row
            self._images_per_sec = smoothed

    def _measure_speed(self) -> tuple[float, float]:
        """(images/s since the last read-back, images/s over the last RATE_WINDOW_SECONDS of training)."""
        now, step = time.perf_counter(), self.trainer.step
        images_per_step = self.config.batch_size * self.config.d_steps
        elapsed = max(now - self._clock, 1e-9)
        rate = (step - self._clock_step) * images_per_step / elapsed
        self._clock, self._clock_step = now, step
        self._training_seconds += elapsed
        marks = self._rate_marks
        marks.append((self._training_seconds, step))
        while len(marks) > 2 and marks[-1][0] - marks[1][0] >= RATE_WINDOW_SECONDS:
            marks.pop(0)  # keep just over one window of training time
        if len(marks) < 2:
            return rate, rate
        (t0, s0), (t1, s1) = marks[0], marks[-1]
        return rate, (s1 - s0) * images_per_step / max(t1 - t0, 1e-9)

    def snapshot_samples(self) -> None:
        samples = self.trainer.fixed_samples().float().cpu()
        view, stats, points = None, None, None
        if self.data.kind == "toy":
            points = samples.numpy()
            modes = _modes_or_none(self.data.name)
            picture = imaging.scatter_image(points, modes=modes)
            view = self._compute_toy_view(modes)
            if modes is not None:
                stats = toy_mode_stats(points, modes, self.data.sigma).as_dict()
        else:
            picture = imaging.image_grid(samples)
        step = self.trainer.step
        imaging.save_png(picture, self.folder / "samples" / f"step_{step:08d}.png")
        if view is not None:  # the lab's data too, so a finished run can be replayed step by step
            view.save(self.folder / "samples" / f"step_{step:08d}.npz", points)
        coverage = stats["modes_covered"] / stats["num_modes"] if stats else sample_diversity(samples)
        with self._lock:
            self._grid, self._grid_step, self._points = picture, step, points
            self._toy_view, self._toy_stats = view, stats
            self._coverage.append((step, coverage))
            del self._coverage[:-500]  # bounded, like the history

    def _compute_toy_view(self, modes: np.ndarray | None) -> ToyView:
        t = self.trainer
        generator = t.G_ema if t.G_ema is not None else t.G
        return toy_view(generator, t.D, t.loss.probabilistic, self.config.z_dim, self.config.pac, self.data.scale,
                        modes, t.device, loss=t.loss.name)

    def save_checkpoint(self) -> None:
        if self.trainer.step == self._checkpoint_step:
            return
        self.flush_metrics()  # raises on NaN first, so a checkpoint is never written from a diverged state
        save_checkpoint(self.folder / CHECKPOINT_NAME, self.trainer.state_dict(), self.config, data_meta(self.data))
        self._checkpoint_step = self.trainer.step
        self._write_status()

    # -- state and status file --------------------------------------------------------------------
    def _restart_clock(self) -> None:
        """After a pause or at the start: the time away is not training time, so no rate spans it."""
        self._clock = self._eval_clock = time.perf_counter()
        self._clock_step = self.trainer.step if self.trainer else self._clock_step
        if not self._rate_marks or self._rate_marks[-1][1] != self._clock_step:
            self._rate_marks.append((self._training_seconds, self._clock_step))

    def _set_state(self, state: RunState) -> None:
        with self._lock:
            if self._state == RunState.STOPPING and state == RunState.RUNNING:
                return  # a stop that arrived first wins
            self._state = state
        self._write_status()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._state, self._error = RunState.FAILED, message
        self._write_status()

    def _write_status(self) -> None:
        snap = self.snapshot()
        status = {"name": self.name, "state": snap.state.value, "step": snap.step, "total_steps": snap.total_steps,
                  "checkpoint_step": self._checkpoint_step, "error": snap.error, "pid": os.getpid(),
                  "created_at": snap.created_at, "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  "device": snap.device, "data_title": snap.data_title}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / "status.json", json.dumps(status, indent=2))
        except OSError:
            pass  # a full disk must not hide the run's real state, which stays in memory


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


def _modes_or_none(name: str) -> np.ndarray | None:
    from ganplay.data import toy_modes

    try:
        return toy_modes(name)[0].numpy()
    except ValueError:
        return None


def _best_row(rows: list[dict[str, float]], metric: LiveMetric) -> dict[str, float] | None:
    best = None
    for row in rows:
        if metric.key in row and metric.better(row[metric.key], best[metric.key] if best else None):
            best = row
    return best


def _history_of(path: Path, required: tuple[str, ...] = ("step",), upto: int | None = None,
                rewrite: bool = False) -> MetricHistory:
    return _bounded(run_files.read_rows(path, required, upto=upto, rewrite=rewrite))


def _bounded(rows: list[dict[str, float]]) -> MetricHistory:
    history = MetricHistory()
    for row in rows:
        history.append(row)
    return history


def _created_at(folder: Path, default: str) -> str:
    found = run_files.read_json(folder / "status.json").get("created_at")
    return found if isinstance(found, str) else default


# -- the registry -------------------------------------------------------------------------------

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def default_runs_root() -> Path:
    return Path(os.environ.get("GANPLAY_RUNS", "checkpoints/runs"))


class RunRegistry:
    """All runs under one folder: live ones (threads of this process) and finished ones on disk."""

    def __init__(self, root: str | Path, max_active: int = 2):
        self.root = Path(root)
        self._runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._slots = TrainingSlots(max_active)  # more runs than this wait as "queued"

    def start(self, config: TrainConfig, name: str | None = None) -> Run:
        config.validated()
        with self._lock:
            name = self._new_name(config, name)
            run = Run(self.root / name, config, slots=self._slots)
            run_lock.acquire(run.folder)
            self._runs[name] = run
        return run.start()

    def resume(self, name_or_folder: str | Path, steps: int | None = None) -> Run:
        folder = self._folder(name_or_folder)
        with self._lock:
            live = self._runs.get(folder.name)
            if live is not None and live.is_alive():
                raise ValueError(f"run {folder.name} is still active ({live.state.value}); stop it before resuming")
            run_lock.acquire(folder)  # refused, naming the owner, while another process trains this run
            try:
                if not (folder / CHECKPOINT_NAME).exists() and (folder / "config.json").exists():
                    return self._start_again(folder, steps)  # stopped before its first checkpoint
                ckpt = load_checkpoint(folder / CHECKPOINT_NAME)
                config = ckpt["config"] if steps is None else replace(ckpt["config"], steps=steps)
                config.validated()
            except Exception:
                run_lock.release(folder)  # nothing will train it: the next taker must not find it held
                raise
            run = Run(folder, config, resume=True, slots=self._slots, start_step=ckpt["step"])
            self._runs[folder.name] = run
        return run.start()

    def _start_again(self, folder: Path, steps: int | None) -> Run:
        """A run that saved no checkpoint (killed within seconds of its start) trains again from step 0 from its
        config.json; `run.restarted` says so. Called with the lock held."""
        try:
            config = TrainConfig.load(folder / "config.json")
        except (ConfigError, TypeError) as err:
            raise ValueError(f"{folder} has no checkpoint, and its config.json cannot start it again: {err}") from None
        config = (config if steps is None else replace(config, steps=steps)).validated()
        run = Run(folder, config, slots=self._slots)
        run.restarted = True
        self._runs[folder.name] = run
        return run.start()

    def get(self, name: str) -> Run | None:
        with self._lock:
            return self._runs.get(name)

    def snapshot(self, name: str) -> RunSnapshot | None:
        """One run's snapshot: from its thread when live here, else from its folder; None if unknown."""
        run = self.get(name)
        if run is not None:
            return run.snapshot()
        folder = self.root / name
        return snapshot_from_disk(folder) if (folder / "config.json").exists() else None

    def live_runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def list_runs(self) -> list[RunSnapshot]:
        """Every run, newest first: live runs from memory, the rest from their folders."""
        with self._lock:
            live = dict(self._runs)
        found = {name: run.snapshot() for name, run in live.items()}
        if self.root.is_dir():
            for folder in self.root.iterdir():
                if folder.is_dir() and folder.name not in found and (folder / "config.json").exists():
                    found[folder.name] = snapshot_from_disk(folder)
        return sorted(found.values(), key=lambda s: s.created_at, reverse=True)

    def delete(self, name: str) -> None:
        folder = self._folder(name)
        with self._lock:
            run = self._runs.get(folder.name)
            if run is not None and run.is_alive():
                raise ValueError(f"run {name} is still active; stop it before deleting")
            owner = run_lock.owner_of(folder)
            if owner is not None and owner.get("pid") != os.getpid():
                raise ValueError(f"run {name} is being trained by process {owner.get('pid')} on {owner.get('host')}; "
                                 f"stop it there before deleting")
            self._runs.pop(folder.name, None)
        shutil.rmtree(folder)

    def _folder(self, name_or_folder: str | Path) -> Path:
        """The run folder a name, or a path to a folder in the runs root, means: never anything outside the root.

        A bare name is always a run under the root, even when the working directory holds a folder of that
        name (deleting the run "docs" once deleted ./docs). Paths are resolved (.., symlinks) before the check.
        """
        text = str(name_or_folder)
        path = Path(text)
        candidate = path if path.is_absolute() or len(path.parts) > 1 else self.root / text
        try:
            resolved = candidate.resolve()
        except (OSError, RuntimeError) as err:  # a symlink loop, an unreadable parent
            raise ValueError(f"{text!r} cannot be resolved to a run folder: {err}") from None
        if resolved.parent != self.root.resolve():  # in the root itself, not deeper, not elsewhere
            raise ValueError(f"{text!r} is not a run of {self.root}: name a run by its folder's name there")
        if not resolved.is_dir():
            raise ValueError(f"no run named {resolved.name!r} in {self.root}")
        return resolved

    def _new_name(self, config: TrainConfig, name: str | None) -> str:
        if name:
            if not NAME_PATTERN.match(name):
                raise ValueError(f"run name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
            if (self.root / name).exists() or name in self._runs:
                raise ValueError(f"a run named {name!r} already exists in {self.root}")
            return name
        dataset = re.sub(r"[^A-Za-z0-9]+", "-", config.dataset.split(":")[-1].strip("/").split("/")[-1])[:24]
        base = f"{dataset}-{config.arch}-{config.loss}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        candidate, n = base, 1
        while (self.root / candidate).exists() or candidate in self._runs:
            n += 1
            candidate = f"{base}-{n}"
        return candidate


def snapshot_from_disk(folder: Path) -> RunSnapshot:
    """A run of no live thread here, from its folder; a folder whose files are damaged reads as DAMAGED, with
    what is wrong in `error`, and never raises."""
    problems: list[str] = []
    status = run_files.read_json(folder / "status.json", problems)
    config = run_files.checked_config(run_files.read_json(folder / "config.json", problems), problems)
    state = _state_on_disk(status, problems)
    step = run_files.whole_number(status, "step", 0, "status.json", problems)
    total = run_files.whole_number(status, "total_steps", config.get("steps", 0), "status.json", problems)
    error, device, title, created = (run_files.text(status, key, "status.json", problems)
                                     for key in ("error", "device", "data_title", "created_at"))
    rows = run_files.read_rows(folder / "metrics.jsonl", METRIC_KEYS, problems=problems)
    evals = run_files.read_rows(folder / EVALS_FILE, problems=problems)
    metric = metric_of(evals)
    best = _best_row(evals, metric) if metric and (folder / BEST_CHECKPOINT_NAME).exists() else None
    if problems:
        state, error = RunState.DAMAGED, f"damaged run folder {folder}: " + "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    return RunSnapshot(name=folder.name, folder=str(folder), state=state, step=step, total_steps=total,
                       config=config, history=_bounded(rows).rows(), latest=rows[-1] if rows else {},
                       error=error, device=device, alarms=check_health(rows[-ROWS_NEEDED:], error),
                       data_title=title, created_at=created, evals=evals, eval_metric=metric, best=best)


def _state_on_disk(status: dict[str, Any], problems: list[str]) -> RunState:
    value = status.get("state", RunState.INTERRUPTED.value)
    try:
        state = RunState(value)
    except (ValueError, TypeError):
        problems.append(f"status.json: state {run_files.shown(value)} is not one of "
                        f"{', '.join(s.value for s in RunState if s != RunState.DAMAGED)}")
        return RunState.DAMAGED
    if state in ACTIVE_STATES and not _process_alive(status.get("pid")):
        return RunState.INTERRUPTED  # its process is gone: the run can be resumed from its checkpoint
    return state


def _process_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return False  # this process has no live thread for it, or it would be in the registry
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, under another user
    except (ProcessLookupError, OverflowError, OSError):
        return False  # gone, or a pid no process can have (2**70)
    return True


_REGISTRIES: dict[Path, RunRegistry] = {}
_REGISTRIES_LOCK = threading.Lock()


def stop_every_run(timeout: float = 120.0) -> list[str]:
    """Stop the runs of every registry and wait while they save their checkpoints; the names stopped.

    Registered with atexit: when the app's server is stopped (SIGTERM, Ctrl-C) its runs' daemon threads would
    otherwise die mid-step at interpreter exit, losing everything since their last checkpoint.
    """
    with _REGISTRIES_LOCK:
        runs = [run for registry in _REGISTRIES.values() for run in registry.live_runs() if run.is_alive()]
    for run in runs:
        run.stop()
    deadline = time.monotonic() + timeout
    for run in runs:
        run.wait(max(0.0, deadline - time.monotonic()))
    return [run.name for run in runs]


atexit.register(stop_every_run)


def get_registry(root: str | Path | None = None) -> RunRegistry:
    """The process-wide registry for a runs folder (pages and the CLI share it)."""
    key = Path(root or default_runs_root()).resolve()
    with _REGISTRIES_LOCK:
        if key not in _REGISTRIES:
            _REGISTRIES[key] = RunRegistry(key)
        return _REGISTRIES[key]
