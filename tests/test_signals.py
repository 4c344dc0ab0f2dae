"""Stopping the process (SIGTERM, as a service manager or `kill` does) saves the runs' checkpoints first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ganplay.checkpoints import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_sigterm_stops_a_cli_run_with_a_checkpoint(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "ganplay",
        "train",
        "--dataset",
        "ring8",
        "--steps",
        "1000000",
        "--checkpoint-every",
        "1000000",
        "--log-every",
        "5",
        "--quiet",
        "--runs-dir",
        str(tmp_path),
        "--name",
        "sig",
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "sig" / "metrics.jsonl"
    _wait_for(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "stopping: saving a checkpoint" in err
    step = load_checkpoint(tmp_path / "sig").step
    assert step >= 15  # no checkpoint was due for a million steps: this one is the stop's
    assert json.loads((tmp_path / "sig" / "status.json").read_text())["state"] == "stopped"


def test_a_process_that_exits_stops_its_runs_and_saves_first(tmp_path):
    """Runs are threads of their process (the app's server): at exit they stop and save, not die mid-step.
    The real server is stopped the same way in tests/test_browser.py."""
    script = tmp_path / "serve.py"
    # The app's process as far as runs go: a registry with a training run, then the exit Streamlit makes on SIGTERM.
    script.write_text(f"""
import signal, sys, time
sys.path.insert(0, {str(ROOT)!r})
from conftest import tiny_toy_config
from ganplay.run_registry import get_registry
run = get_registry({str(tmp_path / "runs")!r}).start(tiny_toy_config(steps=1_000_000, checkpoint_every=1_000_000,
                                                                      log_every=5), name="served")
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))  # Streamlit's handler also ends in a normal exit
while True:
    time.sleep(0.1)
""")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    metrics = tmp_path / "runs" / "served" / "metrics.jsonl"
    _wait_for(lambda: metrics.exists() and len(metrics.read_text().splitlines()) >= 3)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "terminate called" not in err
    assert load_checkpoint(tmp_path / "runs" / "served").step >= 15
    assert json.loads((tmp_path / "runs" / "served" / "status.json").read_text())["state"] == "stopped"
