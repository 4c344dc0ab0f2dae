"""One trainer per run, across processes: the CLI cannot resume a run another process trains."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import tiny_toy_config

from ganplay import run_lock
from ganplay.run_registry import RunRegistry
from ganplay.run_state import RunState

ROOT = Path(__file__).resolve().parent.parent


def test_the_cli_cannot_resume_a_run_this_process_trains(registry):
    run = registry.start(tiny_toy_config(steps=1_000_000, checkpoint_every=50), name="owned")
    deadline = time.monotonic() + 60
    while not (registry.root / "owned" / "checkpoint.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = subprocess.run(
        [sys.executable, "-m", "ganplay", "train", "--resume", str(registry.root / "owned"), "--steps", "2000000"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"run owned is being trained by process {os.getpid()} on {socket.gethostname()}" in result.stderr
    assert run.is_alive() and run.state == RunState.RUNNING  # untouched by the refused resume
    run.stop()
    assert run.wait(30)
    assert not (registry.root / "owned" / run_lock.LOCK_NAME).exists()  # given back when the run ended


def test_a_lock_left_by_a_dead_process_is_taken_over(registry):
    assert registry.start(tiny_toy_config(steps=4), name="left").wait(60)
    lock = registry.root / "left" / run_lock.LOCK_NAME
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "earlier"}))
    assert run_lock.owner_of(lock.parent) is None
    run = registry.resume("left", steps=8)
    assert run.wait(60) and run.snapshot().step == 8


def test_a_lock_held_on_another_host_is_refused_by_resume_and_delete(registry):
    assert registry.start(tiny_toy_config(steps=4), name="remote").wait(60)
    lock = registry.root / "remote" / run_lock.LOCK_NAME
    lock.write_text(json.dumps({"pid": 4242, "host": "elsewhere.example", "since": "2026-12-02T05:00:00+00:00"}))
    with pytest.raises(run_lock.RunLocked, match="being trained by process 4242 on elsewhere.example"):
        registry.resume("remote", steps=8)
    with pytest.raises(ValueError, match="being trained by process 4242 on elsewhere.example"):
        registry.delete("remote")
    other = RunRegistry(registry.root)
    assert other.snapshot("remote").state == RunState.FINISHED
    assert (registry.root / "remote").is_dir()
