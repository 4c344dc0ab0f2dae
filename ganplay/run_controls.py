"""Pausing a run, slow motion and moves by hand: asked for from any thread, carried out by the run's own thread
between two steps. A mixin of runs.Run, whose state (lock, events, trainer, recorder) it acts on."""

from __future__ import annotations

import queue
import threading
import time
from typing import TYPE_CHECKING

from ganplay.errors import UsageError
from ganplay.game_steps import Move, Probe, check_move, make_moves
from ganplay.run_state import RunState

if TYPE_CHECKING:
    from ganplay.config import TrainConfig
    from ganplay.distributed import World
    from ganplay.run_recorder import Recorder
    from ganplay.trainer import GANTrainer

MIN_PLAY_RATE, MAX_PLAY_RATE = 0.5, 50.0  # slow motion, in full steps per second


class MoveRequest:
    """Moves asked for by another thread; the run's thread makes them and sets `done`."""

    def __init__(self, kind: str, count: int):
        self.kind, self.count = kind, count
        self.done = threading.Event()
        self.result: Move | None = None
        self.dropped = ""  # why it was not made


class HandControls:
    """Run's pause, unpause, play and move, and the run thread's side of them. It calls back into Run for the
    rest: state, snapshot(), flush_metrics(), save_checkpoint(), _set_state(), _restart_clock(), _keep_up()."""

    name: str
    config: TrainConfig
    world: World
    trainer: GANTrainer | None
    recorder: Recorder
    _lock: threading.Lock
    _pause_event: threading.Event
    _stop_event: threading.Event
    _moves: queue.Queue[MoveRequest]
    _probe: Probe | None
    _last_move: Move | None
    _play_rate: float | None

    # -- asked for from any thread ------------------------------------------------------------------
    def pause(self) -> None:
        self._refuse_if_distributed("pause")
        self._pause_event.set()

    def _refuse_if_distributed(self, what: str) -> None:
        if self.world.distributed:  # the other processes wait on rank 0's every step and would time out
            raise UsageError(
                f"{self.name} trains across {self.world.size} processes: it cannot {what}; stop it instead"
            )

    def unpause(self) -> None:
        """Go on training at full speed after pause() (continuing an ended run from its checkpoint is
        RunRegistry.resume)."""
        with self._lock:
            self._play_rate = None
        self._pause_event.clear()

    def play(self, steps_per_second: float) -> None:
        """Train in slow motion: full steps at this rate, each one redrawing the live view, until pause()."""
        if not MIN_PLAY_RATE <= steps_per_second <= MAX_PLAY_RATE:
            raise UsageError(
                f"slow motion runs at {MIN_PLAY_RATE:g} to {MAX_PLAY_RATE:g} updates per second, got {steps_per_second:g}"
            )
        self._refuse_if_distributed("play in slow motion")
        with self._lock:
            self._play_rate = float(steps_per_second)
        self._pause_event.clear()

    def move(self, kind: str, count: int = 1, timeout: float | None = 30.0) -> Move | None:
        """Make `count` moves of `kind` (game_steps.MOVES: "d", "g", "step") on this paused run, in its own
        thread; the Move once done, or None when `timeout` seconds pass first (it still happens, and
        snapshot().last_move shows it)."""
        check_move(kind, count)
        self._refuse_if_distributed("make moves by hand")
        state = self.state
        if state != RunState.PAUSED:
            raise UsageError(
                f"{self.name} is {state.value}: moves by hand need a paused run; pause it first"
                if state in (RunState.RUNNING, RunState.QUEUED, RunState.STARTING)
                else f"{self.name} is {state.value}: moves by hand need a live, paused run"
            )
        left = self.config.steps - self.snapshot().step
        if kind != "d" and count > left:
            raise UsageError(
                f"{self.name} has {left:,} of its {self.config.steps:,} steps left, not {count:,}; "
                "resume it with more steps to go on"
            )
        request = MoveRequest(kind, count)
        self._moves.put(request)
        if not request.done.wait(timeout):
            return None
        if request.result is None:
            raise UsageError(f"{self.name}: the moves were not made: {request.dropped or self.snapshot().error}")
        return request.result

    # -- the run's own thread, between two steps ----------------------------------------------------
    def _slow_down(self, started: float) -> None:
        """In slow motion: redraw the live view after the step, then wait out the rest of its time slot."""
        with self._lock:
            rate = self._play_rate
        if rate is None:
            return
        self.flush_metrics()
        self.recorder.refresh_view()
        left = started + 1.0 / rate - time.perf_counter()
        if left > 0:
            self._stop_event.wait(left)

    def _pause_until_released(self) -> None:
        self.flush_metrics()
        self._set_state(RunState.PAUSED)
        moved = False
        while self._pause_event.is_set() and not self._stop_event.is_set():
            try:
                request = self._moves.get(timeout=0.05)
            except queue.Empty:
                continue
            self._make_moves(request)
            moved = True
        self._drop_moves()
        if moved:  # a checkpoint after moves by hand, so that a resume replays the game that was played
            self.save_checkpoint()
        self._restart_clock()
        if not self._stop_event.is_set():
            self._set_state(RunState.RUNNING)

    def _drop_moves(self) -> None:
        """Moves still asked for when the pause ends are not made; their callers hear so at once."""
        why = "the run was stopped first" if self._stop_event.is_set() else "the run went on training first"
        while True:
            try:
                request = self._moves.get_nowait()
            except queue.Empty:
                return
            request.dropped = why
            request.done.set()

    def _make_moves(self, request: MoveRequest) -> None:
        """Moves by hand, with the bookkeeping of training: a full step's values go to the metric rows, and the
        snapshots, checkpoints and scores due at a step that a G update reaches are taken."""
        if self._probe is None:
            self._probe = Probe(self.trainer)

        def after_each(stats: dict) -> None:
            if request.kind == "step":
                self.recorder.add(stats)
            if request.kind != "d":
                self._keep_up()

        try:
            move = make_moves(self.trainer, self._probe, request.kind, request.count, after_each)
            self.flush_metrics()
            self.recorder.refresh_view()
            with self._lock:
                self._last_move = request.result = move
        finally:
            request.done.set()  # a failure is the run's own (it fails, and says why); the caller is not left waiting
