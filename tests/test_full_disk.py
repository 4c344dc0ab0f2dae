"""A full disk in the middle of a run: the run ends as failed, says which file, and its last checkpoint loads."""

from __future__ import annotations

import errno
import io
import pathlib
import subprocess
import time

import pytest
from conftest import tiny_toy_config

from ganplay import checkpoints, safe_files
from ganplay.checkpoints import load_checkpoint
from ganplay.cli import follow, main
from ganplay.run_state import RunState


class Disk:
    """A disk that fills up: once `full`, every write through the patched calls fails with ENOSPC."""

    def __init__(self):
        self.full = False

    def check(self, what):
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device", None if what is None else str(what))


@pytest.fixture
def disk(monkeypatch):
    disk = Disk()
    real_open, real_write_text, real_atomic = open, pathlib.Path.write_text, checkpoints.atomic_write_bytes

    class FillingFile(io.TextIOWrapper):
        def write(self, text):
            disk.check(None)  # a full disk refuses the append; the file object knows no name
            return super().write(text)

    def opening(path, mode="r", *args, **kwargs):
        if "a" in mode and str(path).endswith(".jsonl"):
            handle = real_open(path, mode.replace("t", "") + ("b" if "b" not in mode else ""))
            return FillingFile(handle, encoding=kwargs.get("encoding", "utf-8"), write_through=True)
        return real_open(path, mode, *args, **kwargs)

    def atomic(path, payload):
        disk.check(path)
        return real_atomic(path, payload)

    def write_text(self, *args, **kwargs):
        disk.check(self)
        return real_write_text(self, *args, **kwargs)

    monkeypatch.setattr("ganplay.run_recorder.open", opening, raising=False)
    monkeypatch.setattr(checkpoints, "atomic_write_bytes", atomic)  # checkpoint files
    monkeypatch.setattr(safe_files, "atomic_write_bytes", atomic)  # atomic_write_text: config and status files
    monkeypatch.setattr(pathlib.Path, "write_text", write_text)
    return disk


def test_a_full_disk_fails_the_run_with_the_file_and_keeps_the_checkpoint(registry, disk, capsys):
    run = registry.start(
        tiny_toy_config(steps=1_000_000, log_every=5, checkpoint_every=20, sample_every=20, eval_every=0),
        name="filling",
    )
    deadline = time.monotonic() + 60
    while run.snapshot().step < 45 and time.monotonic() < deadline:
        time.sleep(0.01)
    disk.full = True
    assert run.wait(60)
    snap = run.snapshot()
    assert snap.state == RunState.FAILED
    assert snap.error.startswith("disk full while writing ")
    assert any(name in snap.error for name in ("metrics.jsonl", "checkpoint.pt", ".png", "status.json"))
    assert "the last checkpoint (step" in snap.error
    disk.full = False
    ckpt = load_checkpoint(registry.root / "filling")  # the last one written before the disk filled
    assert ckpt.step >= 40 and ckpt.step % 20 == 0
    assert follow(run, quiet=True) == 1
    out = capsys.readouterr()
    assert "failed at step" in out.out and "disk full while writing" in out.err


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MiB tmpfs (root can mount one; elsewhere the test is skipped and the patched disk above stands)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip() or made.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_real_full_disk_stops_the_cli_run_with_a_clear_message(small_disk, capsys):
    code = main(
        [
            "train",
            "--dataset",
            "ring8",
            "--mlp-hidden",
            "64",
            "--batch-size",
            "64",
            "--device",
            "cpu",
            "--steps",
            "1000000",
            "--log-every",
            "1",
            "--sample-every",
            "1",
            "--checkpoint-every",
            "25",
            "--eval-every",
            "0",
            "--quiet",
            "--name",
            "fills",
            "--runs-dir",
            str(small_disk / "runs"),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1 and "failed at step" in out, (out, err)
    assert "disk full while writing " + str(small_disk / "runs" / "fills") in err, err
    assert "the last checkpoint (step" in err
    ckpt = load_checkpoint(small_disk / "runs" / "fills")
    assert ckpt.step >= 25 and ckpt.step % 25 == 0
