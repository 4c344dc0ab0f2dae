"""kill -9 a training run at random moments, then resume it: does every kill leave a run that resumes, checkpoints
that load and no stray temporary files?

    .venv/bin/python scripts/kill_probe.py --kills 20 [--seed 0] [--root DIR]

Each round starts `python -m ganplay train` (a small DCGAN on the bundled MNIST that checkpoints every few steps,
so many kills land during a checkpoint write), kills it with SIGKILL (half the rounds at a random time, half at
the moment a checkpoint's temporary file appears), then runs `train --resume` to the end and checks the folder.
The suite runs a 2-kill form of this on 2-D data (tests/test_kill_probe.py); the closing note reports the 20-kill run.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, load_checkpoint

STEPS = 150
# Small runs that checkpoint every few steps, so that many kills land during a checkpoint write.
SHARED = [
    "--device",
    "cpu",
    "--log-every",
    "2",
    "--sample-every",
    "10",
    "--checkpoint-every",
    "5",
    "--eval-every",
    "20",
]
TRAIN = {
    "mnist": ["--dataset", "mnist-bundled", "--ngf", "16", "--ndf", "16", "--batch-size", "32", *SHARED, "--quiet"],
    "toy": ["--dataset", "ring8", "--mlp-hidden", "64", "--batch-size", "64", *SHARED, "--quiet"],
}
KILL_WINDOW_S = {"mnist": (0.0, 10.0), "toy": (0.0, 3.0)}  # from the run's creation to about its end


@dataclass
class Round:
    kill: int
    how: str  # "at 2.31 s" or "during a checkpoint write"
    killed_at_step: int  # the step status.json showed when the kill came (-1: no status yet)
    resumed: bool
    restarted: bool  # no checkpoint had been saved: trained again from step 0
    final_step: int
    checkpoints_load: bool
    temporaries_after_kill: int  # left by a kill mid-write; the resume must remove them
    stray_temporaries: list[str]  # still there after the resume
    problem: str = ""


def run_round(root: Path, kill: int, rng: random.Random, data: str = "mnist") -> Round:
    name = f"k{kill:02d}"
    folder = root / name
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ganplay",
            "train",
            *TRAIN[data],
            "--steps",
            str(STEPS),
            "--name",
            name,
            "--runs-dir",
            str(root),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    mid_write = kill % 2 == 1
    how = _kill_when(proc, folder, rng.uniform(*KILL_WINDOW_S[data]), rng.randint(1, 8) if mid_write else 0)
    proc.wait()
    killed_at = _status_step(folder)
    left = len(_temporaries(folder))
    resume = subprocess.run(
        [sys.executable, "-m", "ganplay", "train", "--resume", str(folder), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    result = Round(
        kill,
        how,
        killed_at,
        resume.returncode == 0,
        "again from step 0" in resume.stdout,
        _status_step(folder),
        _checkpoints_load(folder),
        left,
        _temporaries(folder),
    )
    if resume.returncode != 0:
        result.problem = ((resume.stderr or resume.stdout).strip().splitlines() or ["no output"])[-1]
    elif result.final_step != STEPS:
        result.problem = f"ended at step {result.final_step}, not {STEPS}"
    return result


def _kill_when(proc: subprocess.Popen, folder: Path, delay: float, nth_write: int) -> str:
    """SIGKILL `delay` seconds after the run exists (its config.json is written), or, with nth_write, as soon as
    the nth checkpoint write's temporary file appears. A kill before the run exists leaves nothing to resume."""
    deadline = time.monotonic() + 120
    while not (folder / "config.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    writes, writing = 0, False
    while nth_write and proc.poll() is None and time.monotonic() < deadline:
        now_writing = any(folder.glob(f".{CHECKPOINT_NAME}.*.tmp")) or any(
            folder.glob(f".{BEST_CHECKPOINT_NAME}.*.tmp")
        )
        writes += now_writing and not writing
        writing = now_writing
        if writing and writes >= nth_write:
            os.kill(proc.pid, signal.SIGKILL)
            return f"during checkpoint write {writes} at {time.monotonic() - started:.2f} s"
        time.sleep(0.0005)
    time.sleep(max(0.0, started + delay - time.monotonic()))
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    return f"at {delay:.2f} s"


def _temporaries(folder: Path) -> list[str]:
    return sorted(p.name for place in (folder, folder / "samples") if place.is_dir() for p in place.glob(".*.tmp"))


def _status_step(folder: Path) -> int:
    try:
        return int(json.loads((folder / "status.json").read_text())["step"])
    except (OSError, ValueError, KeyError):
        return -1


def _checkpoints_load(folder: Path) -> bool:
    try:
        for path in (folder / CHECKPOINT_NAME, folder / BEST_CHECKPOINT_NAME):
            if path.exists():
                load_checkpoint(path)
    except Exception:  # noqa: BLE001 - any failure to load is what this probe reports
        return False
    return (folder / CHECKPOINT_NAME).exists()


def probe(root: Path, kills: int, seed: int = 0, data: str = "mnist") -> list[Round]:
    rng = random.Random(seed)
    return [run_round(root, kill, rng, data) for kill in range(kills)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--root", default="")
    parser.add_argument("--data", choices=sorted(TRAIN), default="mnist")
    args = parser.parse_args()
    root = Path(args.root or tempfile.mkdtemp(prefix="ganplay-kill-"))
    rounds = probe(root, args.kills, args.seed, args.data)
    for r in rounds:
        print(json.dumps(asdict(r)))
    good = [r for r in rounds if r.resumed and r.final_step == STEPS and r.checkpoints_load and not r.stray_temporaries]
    during = sum("checkpoint write" in r.how for r in rounds)
    finished = sum(r.killed_at_step == STEPS for r in rounds)
    print(
        f"{len(good)} of {len(rounds)} resumed to step {STEPS} with loading checkpoints and no stray temporary "
        f"files; {during} kills landed during a checkpoint write, {sum(r.restarted for r in rounds)} before the "
        f"first checkpoint (trained again from step 0); {sum(r.temporaries_after_kill > 0 for r in rounds)} "
        f"kills left temporary files, which the resume removed; {finished} came after the run had finished; runs in "
        f"{root}"
    )
    return 0 if len(good) == len(rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
