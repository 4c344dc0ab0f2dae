"""What a run is in, and what readers see of it: the state machine's states, a bounded history, a snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

from ganplay.game_steps import Move
from ganplay.health import Alarm
from ganplay.live_eval import LiveMetric
from ganplay.toylab import ToyView

HISTORY_CAPACITY = 2000  # points kept in memory per run; metrics.jsonl on disk keeps every one


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
    last_move: Move | None = None  # the latest update made by hand on the paused run, with its probe numbers
    extra_d_updates: int = 0  # D updates made by hand outside a full step
    play_rate: float | None = None  # full steps per second while playing in slow motion; None: full speed

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0
