"""Training across processes with torchrun (gloo on this CPU): two processes of 32 rows each against one
process of the whole batch of 64, resume under the same world size, Ctrl-C, a batch that does not split, and the
app showing such a run from its folder. Each torchrun costs a few seconds of start-up, so they are few."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config
from pagetest import open_page, picker, texts

from ganplay.checkpoints import load_checkpoint
from ganplay.distributed import SINGLE, World
from ganplay.errors import UsageError
from ganplay.run_files import snapshot_from_disk
from ganplay.run_registry import RunRegistry
from ganplay.run_state import RunState
from ganplay.runs import Run

ROOT = Path(__file__).resolve().parents[1]
TOY = [
    "--dataset", "ring8", "--mlp-hidden", "32", "--mlp-layers", "2", "--batch-size", "64", "--device", "cpu",
    "--log-every", "1", "--sample-every", "10", "--checkpoint-every", "10", "--num-samples", "64", "--quiet",
    "--lr-decay", "none",  # a schedule over the total steps would differ between 10 resumed to 20 and 20
]  # fmt: skip
LOSSES = ("loss_d", "loss_g", "d_real", "d_fake")


def torchrun(runs: Path, *args: str, wait: bool = True, processes: int = 2):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}"]
    cmd += ["-m", "ganplay", "train", "--runs-dir", str(runs), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    if not wait:  # its own process group, so that a Ctrl-C reaches torchrun and both processes, as in a terminal
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
    return subprocess.run(cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


def rows(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def largest_difference(a: list[dict], b: list[dict]) -> float:
    assert [r["step"] for r in a] == [r["step"] for r in b]
    return max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in LOSSES)


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory):
    """A 2-process toy run of 20 steps, and the same run stopped at step 10 and resumed to 20."""
    runs = tmp_path_factory.mktemp("ddp-runs")
    for args in (
        ["--steps", "20", "--name", "whole"],
        ["--steps", "10", "--name", "halves"],
        ["--resume", str(runs / "halves"), "--steps", "20", "--quiet"],
    ):
        done = torchrun(runs, *(TOY if "--resume" not in args else []), *args)
        assert done.returncode == 0, done.stderr[-3000:]
    return runs


def _toy_fields(**overrides):
    values = dict(
        mlp_hidden=32,
        batch_size=64,
        log_every=1,
        sample_every=10,
        checkpoint_every=10,
        num_samples=64,
        steps=20,
        lr_decay="none",
    )
    return {**values, **overrides}


def test_two_processes_of_32_take_the_same_steps_as_one_of_64(toy_runs, tmp_path):
    """Each process keeps its rows of the same seeded batch and the gradients are averaged: the losses match
    a single process's to float rounding (the sum over 64 rows is added up in another order)."""
    single = RunRegistry(tmp_path).start(tiny_toy_config(**_toy_fields(steps=20)), name="single")
    assert single.wait(120) and single.state == RunState.FINISHED
    difference = largest_difference(rows(toy_runs / "whole"), rows(single.folder))
    assert difference < 1e-5, difference
    two = load_checkpoint(toy_runs / "whole").state["G"]
    one = load_checkpoint(single.folder).state["G"]
    assert max((two[k] - one[k]).abs().max().item() for k in one) < 1e-5


def test_a_distributed_run_resumes_exactly_under_the_same_world_size(toy_runs):
    whole, halves = toy_runs / "whole", toy_runs / "halves"
    assert [r["step"] for r in rows(halves)] == list(range(1, 21))
    assert largest_difference(rows(whole), rows(halves)) == 0.0
    a, b = load_checkpoint(whole).state, load_checkpoint(halves).state
    assert a["world_size"] == b["world_size"] == 2
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])
    assert torch.equal(a["noise_state"], b["noise_state"])


def test_rank_0_alone_writes_the_run_and_says_it_is_distributed(toy_runs):
    folder = toy_runs / "whole"
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "finished" and status["step"] == 20
    assert "distributed: 2 processes, gloo" in status["device"]
    assert sorted(p.name for p in toy_runs.iterdir()) == ["halves", "whole"]  # no folder per process
    assert (folder / "commands.txt").read_text().count("\n") == 1  # written once, by rank 0


def test_an_image_run_with_batch_norm_takes_the_steps_of_one_process(tmp_path):
    """Batch norm is shared over the processes (shared_batch_norm.py): the first step matches one process to float
    rounding (with each process normalising its own 16 rows it was 3e-4 off). Later steps drift apart as any
    change of summation order makes them drift (1 thread against 2 in one process: 1e-3 by step 30)."""
    fields = dict(batch_size=32, steps=10, log_every=1, sample_every=10, checkpoint_every=10, ngf=8, ndf=8)
    cfg = tiny_image_config(**fields)
    (tmp_path / "config.json").write_text(cfg.to_json())
    done = torchrun(tmp_path / "runs", "--config", str(tmp_path / "config.json"), "--name", "digits", "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    single = RunRegistry(tmp_path / "one").start(cfg, name="digits")
    assert single.wait(120) and single.state == RunState.FINISHED
    two, one = rows(tmp_path / "runs" / "digits"), rows(single.folder)
    assert largest_difference(two[:1], one[:1]) < 1e-5  # measured 1e-6
    assert largest_difference(two, one) < 0.01  # measured 4e-4 by step 10


def test_ctrl_c_saves_a_checkpoint_and_the_app_shows_the_run_live(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    proc = torchrun(runs, *TOY, "--steps", "100000", "--name", "long", wait=False)
    folder = runs / "long"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            snap = snapshot_from_disk(folder) if (folder / "status.json").exists() else None
            if snap is not None and snap.state == RunState.RUNNING and snap.step >= 20 and snap.history:
                break
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            time.sleep(0.5)
        else:
            raise AssertionError("the distributed run never showed as running")
        assert "distributed: 2 processes, gloo" in snap.device
        monkeypatch.setenv("GANPLAY_RUNS", str(runs))
        at = open_page("pages/train.py")  # the newest run is watched: this one, read from its folder
        shown = texts(at) + "\n".join(p.proto.text for p in at.get("progress"))
        assert picker(at, "Run").value == "long" and "2 processes, gloo" in shown, shown
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # as Ctrl-C in a terminal: torchrun and both processes hear it
        out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 or "stopped at step" in out, err[-3000:]
    status = json.loads((folder / "status.json").read_text())
    assert status["state"] == "stopped" and status["checkpoint_step"] == status["step"] > 0
    assert load_checkpoint(folder).state["world_size"] == 2


def test_a_batch_that_does_not_split_is_refused_by_every_process(tmp_path):
    done = torchrun(tmp_path, *TOY, "--steps", "5", "--batch-size", "66", "--name", "odd")  # ring8 packs pairs
    assert done.returncode != 0
    assert "batch size 66 does not split into 2 equal shares of whole groups of pac 2" in done.stderr
    assert "rank 0 did not start the run" in done.stderr  # the other process heard why, and did not wait
    assert not (tmp_path / "odd").exists()


def test_a_distributed_run_refuses_moves_by_hand(tmp_path):
    world = World(rank=0, size=2)
    run = Run(tmp_path / "r", tiny_toy_config(batch_size=32), world=world)
    for act in (run.pause, lambda: run.play(2), lambda: run.move("g")):
        with pytest.raises(UsageError, match="trains across 2 processes"):
            act()
    with pytest.raises(UsageError, match="cannot start paused"):
        Run(tmp_path / "p", tiny_toy_config(batch_size=32), world=world, paused=True)


def test_a_share_is_a_slice_of_the_whole_batch():
    batch = torch.arange(12).reshape(6, 2)
    assert SINGLE.share(batch) is batch
    shares = [World(rank=r, size=3).share(batch) for r in range(3)]
    assert torch.equal(torch.cat(shares), batch)
    assert World(rank=0, size=2).rank_seed(5, 1, 2) != World(rank=1, size=2).rank_seed(5, 1, 2)
    with pytest.raises(UsageError, match="multiple of 4"):
        World(rank=0, size=4).check_batch(30)
    World(rank=0, size=4).check_batch(32, pac=2)
    with pytest.raises(UsageError, match="multiple of 16"):
        World(rank=0, size=4).check_batch(40, pac=4)
