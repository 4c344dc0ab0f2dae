"""Restorations for the web app: one inversion in a background thread, its live state and result, a cancel flag,
and a process-wide limit of MAX_RUNNING at once (a page never freezes, and many tabs cannot take every core)."""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass
from enum import Enum

from torch import Tensor, nn

from ganplay import imaging
from ganplay.checkpoints import Checkpoint
from ganplay.errors import UsageError
from ganplay.inversion import DEFAULT_RESTARTS, DEFAULT_STEPS, InversionState, compose, invert
from ganplay.latent_files import latent_bytes
from ganplay.restoration import check_known, damage

MAX_RUNNING = 2  # inversions at once in this process; a third waits as queued
SLOTS = threading.BoundedSemaphore(MAX_RUNNING)
QUEUE_POLL_S = 0.1  # how often a queued job looks at its cancel flag while it waits for a slot


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (JobState.QUEUED, JobState.RUNNING)


class _Cancelled(Exception):
    """Raised from the progress callback: the only way to stop invert() between two of its steps."""


@dataclass(frozen=True)
class RestoreResult:
    damaged: Tensor  # (C, H, W) in [-1, 1]: what the inversion saw (missing pixels black)
    known: Tensor | None  # (H, W) bool: the pixels kept; None for pure inversion or denoising
    reconstruction: Tensor  # (C, H, W): G(z, label), the raw fit
    restored: Tensor  # (C, H, W): the known pixels with G's fill, or G's image when no pixel is missing
    z: Tensor  # (z_dim,) the found latent
    label: int | None  # the found class or cluster
    loss: float  # MSE on the known pixels, in [-1, 1] units

    def restored_mse(self, undamaged: Tensor) -> float:
        """MSE of the restored pixels against the undamaged image: the missing ones, or all when none is missing."""
        error = (self.restored - undamaged) ** 2
        return float(error[:, ~self.known].mean() if self.known is not None else error.mean())

    def png(self) -> bytes:
        """The restored image as a PNG at the model's own size."""
        return imaging.png_bytes(imaging.image_grid(self.restored[None], nrow=1, padding=0))

    def latent_file(self, model: str) -> bytes:
        """The found z with its label, as a .npz latent file: an Interpolate keyframe."""
        return latent_bytes(self.z, self.label, model)


@dataclass(frozen=True)
class JobSnapshot:
    """What a page draws, read in one go under the job's lock."""

    state: JobState
    step: int
    steps: int
    loss: float | None  # the best candidate's, at the last report
    image: Tensor | None  # (C, H, W): its current reconstruction
    result: RestoreResult | None
    error: str
    elapsed_s: float  # since the job got its slot (0 while queued)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def named_bytes(data: bytes, name: str) -> io.BytesIO:
    """An uploaded file in memory that reads as its name in messages ("photo.png: not an image ...")."""
    return _NamedBytes(data, name)


class _NamedBytes(io.BytesIO):
    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name

    def __str__(self) -> str:
        return self.name


class RestoreJob:
    """One inversion of `target` (C, H, W) where `known` (H, W) is true, after optional noise, off the caller's
    thread. Start it, read snapshot() as often as wanted, cancel() from any thread."""

    def __init__(
        self,
        generator: nn.Module,
        ckpt: Checkpoint,
        target: Tensor,
        known: Tensor | None = None,
        *,
        noise: float | None = None,
        steps: int = DEFAULT_STEPS,
        restarts: int = DEFAULT_RESTARTS,
        seed: int = 0,
        class_id: int | None = None,
        slots: threading.Semaphore = SLOTS,
    ):
        self.generator, self.ckpt, self.target, self.known = generator, ckpt, target, known
        self.noise, self.steps, self.restarts, self.seed, self.class_id = noise, steps, restarts, seed, class_id
        self._slots = slots
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = JobState.QUEUED
        self._latest: InversionState | None = None
        self._result: RestoreResult | None = None
        self._error = ""
        self._started: float | None = None
        self._ended: float | None = None

    def start(self) -> RestoreJob:
        self._thread = threading.Thread(target=self._main, name="ganplay-restore", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True when the thread has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            latest, now = self._latest, self._ended or time.monotonic()
            return JobSnapshot(
                state=self._state,
                step=latest.step if latest else 0,
                steps=self.steps,
                loss=latest.loss if latest else None,
                image=latest.image if latest else None,
                result=self._result,
                error=self._error,
                elapsed_s=0.0 if self._started is None else now - self._started,
            )

    # -- the job's own thread --------------------------------------------------------------------
    def _main(self) -> None:
        if not self._take_slot():
            self._end(JobState.CANCELLED)
            return
        try:
            with self._lock:
                self._state, self._started = JobState.RUNNING, time.monotonic()
            self._end(JobState.DONE, result=self._restore())
        except _Cancelled:
            self._end(JobState.CANCELLED)
        except UsageError as err:
            self._end(JobState.FAILED, str(err))
        except Exception as err:  # noqa: BLE001 - a bug still ends the job, with its type, instead of a dead thread
            self._end(JobState.FAILED, f"{type(err).__name__}: {err}")
        finally:
            self._slots.release()

    def _take_slot(self) -> bool:
        """Wait for one of the process's slots; False when cancelled while waiting."""
        while not self._slots.acquire(timeout=QUEUE_POLL_S):
            if self._cancel.is_set():
                return False
        if self._cancel.is_set():
            self._slots.release()
            return False
        return True

    def _restore(self) -> RestoreResult:
        known = None if self.known is None else check_known(self.known.bool())
        damaged = damage(self.target, known, self.noise, self.seed)
        state = invert(
            self.generator,
            self.ckpt,
            damaged,
            known,
            steps=self.steps,
            restarts=self.restarts,
            class_id=self.class_id,
            seed=self.seed,
            progress=self._progress,
        )
        restored = compose(damaged, known, state.image)
        return RestoreResult(damaged, known, state.image, restored, state.z, state.label, state.loss)

    def _progress(self, state: InversionState) -> None:
        if self._cancel.is_set():
            raise _Cancelled
        with self._lock:
            self._latest = state

    def _end(self, state: JobState, error: str = "", result: RestoreResult | None = None) -> None:
        with self._lock:
            self._state, self._error, self._result, self._ended = state, error, result, time.monotonic()
