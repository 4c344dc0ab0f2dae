"""The runs of one runs folder: training slots, starting, resuming, listing and deleting runs, and the
process-wide registries (stopped, with their checkpoints saved, when the process exits)."""

from __future__ import annotations

import atexit
import os
import re
import shutil
import threading
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from ganplay import run_lock
from ganplay.checkpoints import CHECKPOINT_NAME, load_checkpoint
from ganplay.config import ConfigError, TrainConfig
from ganplay.distributed import SINGLE, World
from ganplay.errors import UsageError
from ganplay.memory import fits_in_memory
from ganplay.run_files import config_edits, snapshot_from_disk
from ganplay.run_state import RunSnapshot
from ganplay.runs import Run


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

    def start(self, config: TrainConfig, name: str | None = None, paused: bool = False, world: World = SINGLE) -> Run:
        """A new run in its own thread; `paused`: it prepares, shows step 0 and waits for moves by hand;
        `world`: rank 0's place in a distributed run, which then leads the other processes."""
        fits_in_memory(config.validated())
        with self._lock:
            name = self._new_name(config, name)
            run = Run(self.root / name, config, slots=self._slots, paused=paused, world=world)
            run_lock.acquire(run.folder)
            self._runs[name] = run
        return run.start()

    def resume(self, name_or_folder: str | Path, steps: int | None = None, world: World = SINGLE) -> Run:
        folder = self._folder(name_or_folder)
        with self._lock:
            live = self._runs.get(folder.name)
            if live is not None and live.is_alive():
                raise UsageError(f"run {folder.name} is still active ({live.state.value}); stop it before resuming")
            run_lock.acquire(folder)  # refused, naming the owner, while another process trains this run
            try:
                if not (folder / CHECKPOINT_NAME).exists() and (folder / "config.json").exists():
                    return self._start_again(folder, steps, world)  # stopped before its first checkpoint
                ckpt = load_checkpoint(folder / CHECKPOINT_NAME)
                _refuse_edited_config(folder, ckpt.config)
                config = ckpt.config if steps is None else replace(ckpt.config, steps=steps)
                fits_in_memory(config.validated())
            except Exception:
                run_lock.release(folder)  # nothing will train it: the next taker must not find it held
                raise
            run = Run(folder, config, resume=True, slots=self._slots, start_step=ckpt.step, world=world)
            self._runs[folder.name] = run
        return run.start()

    def _start_again(self, folder: Path, steps: int | None, world: World) -> Run:
        """A run that saved no checkpoint (killed within seconds of its start) trains again from step 0 from its
        config.json; `run.restarted` says so. Called with the lock held."""
        try:
            config = TrainConfig.load(folder / "config.json")
        except (ConfigError, TypeError) as err:
            raise UsageError(f"{folder} has no checkpoint, and its config.json cannot start it again: {err}") from None
        config = fits_in_memory((config if steps is None else replace(config, steps=steps)).validated())
        run = Run(folder, config, slots=self._slots, world=world)
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
                raise UsageError(f"run {name} is still active; stop it before deleting")
            owner = run_lock.owner_of(folder)
            if owner is not None and owner.get("pid") != os.getpid():
                raise UsageError(
                    f"run {name} is being trained by process {owner.get('pid')} on {owner.get('host')}; "
                    f"stop it there before deleting"
                )
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
            raise UsageError(f"{text!r} cannot be resolved to a run folder: {err}") from None
        if resolved.parent != self.root.resolve():  # in the root itself, not deeper, not elsewhere
            raise UsageError(f"{text!r} is not a run of {self.root}: name a run by its folder's name there")
        if not resolved.is_dir():
            raise UsageError(f"no run named {resolved.name!r} in {self.root}")
        return resolved

    def _new_name(self, config: TrainConfig, name: str | None) -> str:
        if name:
            if not NAME_PATTERN.match(name):
                raise UsageError(f"run name {name!r} must be 1-64 letters, digits, '.', '_' or '-'")
            if (self.root / name).exists() or name in self._runs:
                raise UsageError(f"a run named {name!r} already exists in {self.root}")
            return name
        dataset = re.sub(r"[^A-Za-z0-9]+", "-", config.dataset.split(":")[-1].strip("/").split("/")[-1])[:24]
        base = f"{dataset}-{config.arch}-{config.loss}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
        candidate, n = base, 1
        while (self.root / candidate).exists() or candidate in self._runs:
            n += 1
            candidate = f"{base}-{n}"
        return candidate


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


def _refuse_edited_config(folder: Path, config: TrainConfig) -> None:
    """A resume trains on with the checkpoint's settings and rewrites config.json: a hand edit would be lost
    without a word, so it is refused, saying what differs and what to do."""
    edits = config_edits(folder, config)
    if edits:
        raise UsageError(
            f"{folder / 'config.json'} was edited since the run's last checkpoint ({'; '.join(edits[:5])}"
            f"{'; ...' if len(edits) > 5 else ''}); a run resumes with its checkpoint's settings (only steps may "
            f"change). Undo the edit, or start a new run with these settings: "
            f"python -m ganplay train --config {folder / 'config.json'}"
        )
