"""A run: one background training thread, its state machine, and the files it writes as it trains."""

from __future__ import annotations

import errno
import json
import os
import queue
import threading
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganplay import run_files, run_lock
from ganplay.checkpoints import CHECKPOINT_NAME, data_meta, load_checkpoint, save_checkpoint
from ganplay.config import TrainConfig
from ganplay.data import load_training_data
from ganplay.distributed import SINGLE, Lead, World
from ganplay.errors import UsageError
from ganplay.game_steps import Move, Probe
from ganplay.health import ROWS_NEEDED, check_health
from ganplay.run_controls import HandControls, MoveRequest
from ganplay.run_recorder import Diverged, Recorder
from ganplay.run_state import ACTIVE_STATES, RunSnapshot, RunState
from ganplay.safe_files import atomic_write_text, remove_stale_temporaries
from ganplay.trainer import GANTrainer, describe_device, resolve_device

if TYPE_CHECKING:
    from ganplay.run_registry import TrainingSlots

STATUS_EVERY_SECONDS = 2.0  # status.json follows the metrics at most this often: `runs` shows a recent step


class Run(HandControls):
    """One training run in its own thread; pause, unpause and stop act between two steps (HandControls:
    pausing, slow motion and moves by hand)."""

    def __init__(
        self,
        folder: Path,
        config: TrainConfig,
        *,
        resume: bool = False,
        slots: TrainingSlots | None = None,
        start_step: int = 0,
        paused: bool = False,
        world: World = SINGLE,
    ):
        """`world`: rank 0's place in a distributed run (torchrun); this Run leads the other processes."""
        world.check_batch(
            config.batch_size, config.pac
        )  # before any file: a batch that does not split is refused at once
        if paused and world.distributed:
            raise UsageError("a distributed run cannot start paused: moves by hand are for runs in one process")
        self.folder = Path(folder)
        self.name = self.folder.name
        self.config = config
        self._resume = resume
        self._slots = slots
        self._ticket = slots.enqueue() if slots is not None else None  # its place in the queue, taken now
        self._lock = threading.Lock()
        self._pause_event = threading.Event()
        self._stop_event = threading.Event()
        if paused:  # created paused: it prepares, shows step 0, and waits for moves by hand or unpause()
            self._pause_event.set()
        self.world = world
        self._lead = Lead(world)  # says to the other processes what to do; silent for a run of one process
        self._moves: queue.Queue[MoveRequest] = queue.Queue()
        self._probe: Probe | None = None
        self._last_move: Move | None = None
        self._play_rate: float | None = None
        self._thread: threading.Thread | None = None
        self._state = RunState.QUEUED
        self._error = ""
        self._device_text = ""
        self._created_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._start_step = start_step  # a resumed run shows its checkpoint's step before its trainer exists
        self._checkpoint_position = (-1, 0)  # (step, D updates by hand) of the last checkpoint written
        self._status_written = 0.0
        self.trainer: GANTrainer | None = None
        self.data = None
        self.recorder = Recorder(self.folder, config, self._lock, start_step)
        self.restarted = False  # set by the registry when a run with no checkpoint starts again from step 0
        if resume:  # shown while the run waits for a slot and loads; prepare() reads them again, exactly
            self.recorder.read_back(upto=start_step)
            self._created_at = run_files.created_at(self.folder, self._created_at)

    # -- control (any thread) ------------------------------------------------------------------
    def start(self) -> Run:
        """Start the thread. A new run's config.json is written first, so that a run still queued, or killed
        before its first checkpoint, is listed everywhere and can start again from step 0."""
        if not self._resume:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / "config.json", self.config.to_json())
        self._thread = threading.Thread(target=self._main, name=f"ganplay-run-{self.name}", daemon=True)
        self._thread.start()
        return self

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
        rec = self.recorder
        with self._lock:
            step = self.trainer.step if self.trainer else self._start_step
            running = self._state == RunState.RUNNING  # a paused, queued or ended run has no speed to show
            images_per_sec = rec.images_per_sec if running else 0.0
            rate = images_per_sec / max(1, self.config.batch_size * self.config.d_steps)  # steps/s
            eta = max(0, self.config.steps - step) / rate if rate > 0 else None
            rows, config = rec.history.rows(), self.config.to_dict()
            return RunSnapshot(
                name=self.name,
                folder=str(self.folder),
                state=self._state,
                step=step,
                total_steps=self.config.steps,
                config=config,
                history=rows,
                latest=dict(rec.latest),
                grid=rec.grid,
                grid_step=rec.grid_step,
                points=rec.points,
                toy_view=rec.toy_view,
                toy_stats=rec.toy_stats,
                alarms=check_health(rows[-ROWS_NEEDED:], self._error, rec.coverage, rec.toy_stats, config),
                images_per_sec=images_per_sec,
                eta_seconds=eta,
                error=self._error,
                device=self._device_text,
                data_title=self.data.title if self.data else "",
                data_note=self.data.note if self.data else "",
                created_at=self._created_at,
                live=self.is_alive(),
                evals=rec.evals.rows(),
                eval_metric=rec.live_eval.metric if rec.live_eval else None,
                eval_note=rec.eval_note,
                best=dict(rec.best) if rec.best else None,
                last_move=self._last_move,
                extra_d_updates=self.trainer.extra_d_updates if self.trainer else 0,
                play_rate=self._play_rate,
            )

    # -- the thread ----------------------------------------------------------------------------
    def _main(self) -> None:
        acquired = False
        try:
            self._write_status()
            acquired = self._wait_for_slot()
            if acquired and not self._stop_event.is_set():  # a stop while it queued: nothing to load or save
                self._set_state(RunState.STARTING)
                self.prepare()
                self._set_state(RunState.RUNNING)
                self._loop()
        except Diverged as err:
            kept = (
                f"; the last good checkpoint (step {self._checkpoint_step}) is kept"
                if self._checkpoint_step >= 0
                else ""
            )
            self._fail(f"{err}{kept}")
        except Exception as err:  # noqa: BLE001 - the thread must record every failure, never die silently
            self._fail(self._failure_message(err))
            try:
                (self.folder / "error.log").write_text(traceback.format_exc())
            except OSError:
                pass  # a full disk: the message above, kept in memory and shown by the app and CLI, says it
        finally:
            if acquired and self._slots is not None:
                self._slots.release()
            self._end_world()
            self.recorder.close()
            self._drop_moves()
            run_lock.release(self.folder)
            with self._lock:
                if self._state in ACTIVE_STATES:
                    self._state = RunState.STOPPED
            self._write_status()

    def _end_world(self) -> None:
        """Tell the other processes of a distributed run that it is over (or why it never started)."""
        try:
            self._lead.end(self._error)
        except torch.distributed.DistError:
            return  # another process has gone already: the run's own state says why

    def _failure_message(self, err: Exception) -> str:
        kept = (
            f"; the last checkpoint (step {self._checkpoint_step:,}) is kept"
            if self._checkpoint_step >= 0
            else "; no checkpoint had been saved yet"
        )
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            return f"disk full while writing {err.filename or 'a file of the run'}{kept}"
        if self.world.distributed and isinstance(err, torch.distributed.DistError):
            return f"another process of this distributed run has gone (its own output says why): {err}{kept}"
        return f"{type(err).__name__}: {err}" + (kept if isinstance(err, OSError) else "")

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
            started = time.perf_counter()
            self.advance()
            self._slow_down(started)
        self.flush_metrics()
        self.save_checkpoint()
        done = self.trainer.step >= total
        self._set_state(RunState.FINISHED if done else RunState.STOPPED)

    # -- one step and its bookkeeping (also driven directly, without a thread, by bench and tests)
    def prepare(self) -> None:
        """Load data, build the trainer, restore the checkpoint when resuming, open the run's files."""
        cfg, rec = self.config, self.recorder
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(self.folder)  # left by a kill during an atomic write; only this run writes here
        device = resolve_device(cfg.device)
        self.data = load_training_data(cfg, device)
        trainer = GANTrainer(cfg, self.data, device, self.world)
        if self._resume:
            trainer.load_state_dict(load_checkpoint(self.folder / CHECKPOINT_NAME).state)
            self._checkpoint_position = (trainer.step, trainer.extra_d_updates)
            rec.read_back(upto=trainer.step, rewrite=True)
            self._created_at = run_files.created_at(self.folder, self._created_at)
        else:
            rec.start_fresh()
        self._lead.start(cfg.to_json(), trainer.state_dict())  # the others start from exactly this state
        if self._resume or not (self.folder / "config.json").exists():  # start() wrote a new run's already
            atomic_write_text(self.folder / "config.json", cfg.to_json())
        with self._lock:
            self.trainer = trainer
            shared = f" · {self.world.describe(device)}" if self.world.distributed else ""
            self._device_text = f"{describe_device(device)}{shared} · {trainer.precision_text}"
        rec.open(trainer, self.data)
        if not self._resume:
            rec.snapshot_samples()

    def advance(self) -> None:
        self._lead.step()  # the other processes of a distributed run take the same step with their shares
        self.recorder.add(self.trainer.train_step())
        self._keep_up()

    def _keep_up(self) -> None:
        """What is due at the step just reached: metric rows, a snapshot, a checkpoint, a live score."""
        trainer, cfg = self.trainer, self.config
        step = trainer.step
        last = step >= cfg.steps
        if step % cfg.log_every == 0 or last:
            self.flush_metrics()
        if step % cfg.sample_every == 0 or last:
            self.recorder.snapshot_samples()
        if step % cfg.checkpoint_every == 0:
            self.save_checkpoint()
        if self.recorder.live_eval is not None and (step % cfg.eval_every == 0 or last):
            self.evaluate()

    def score(self) -> dict[str, float]:
        """The live quality score of the generator now, without recording it (benchmarks, checks)."""
        return self.recorder.score(self.name)

    def evaluate(self) -> dict[str, float]:
        """Score the generator and record it; a new best is saved as best.pt."""
        return self.recorder.evaluate(self.name)

    def flush_metrics(self) -> None:
        """Read the pending step values back (NaN or Inf stops the run); status.json follows now and then."""
        if self.recorder.flush() and time.monotonic() - self._status_written >= STATUS_EVERY_SECONDS:
            self._write_status()

    @property
    def _checkpoint_step(self) -> int:
        return self._checkpoint_position[0]  # -1 before the first checkpoint

    def save_checkpoint(self) -> None:
        position = (self.trainer.step, self.trainer.extra_d_updates)
        if position == self._checkpoint_position:
            return
        self.flush_metrics()  # raises on NaN first, so a checkpoint is never written from a diverged state
        save_checkpoint(self.folder / CHECKPOINT_NAME, self.trainer.state_dict(), self.config, data_meta(self.data))
        self._checkpoint_position = position
        self._write_status()

    # -- state and status file --------------------------------------------------------------------
    def _restart_clock(self) -> None:
        """After a pause: the time away is not training time, so no rate spans it."""
        self.recorder.restart_clock()

    def _set_state(self, state: RunState) -> None:
        with self._lock:
            if self._state == RunState.STOPPING and state in (RunState.STARTING, RunState.RUNNING):
                return  # a stop that arrived first wins
            self._state = state
        self._write_status()

    def _fail(self, message: str) -> None:
        with self._lock:
            self._state, self._error = RunState.FAILED, message
        self._write_status()

    def _write_status(self) -> None:
        snap = self.snapshot()
        status = {
            "name": self.name,
            "state": snap.state.value,
            "step": snap.step,
            "total_steps": snap.total_steps,
            "checkpoint_step": self._checkpoint_step,
            "error": snap.error,
            "pid": os.getpid(),
            "created_at": snap.created_at,
            "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "device": snap.device,
            "data_title": snap.data_title,
        }
        self._status_written = time.monotonic()
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.folder / "status.json", json.dumps(status, indent=2))
        except OSError:
            pass  # a full disk must not hide the run's real state, which stays in memory
