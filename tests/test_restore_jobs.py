"""RestoreJob: an inversion off the caller's thread, with its result, cancel, errors and the two-at-once limit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch

from ganplay.checkpoints import load_generator
from ganplay.restoration import digit_target, preset_known
from ganplay.restore_jobs import MAX_RUNNING, JobState, RestoreJob

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints"


@pytest.fixture(scope="module")
def model():
    return load_generator(SHIPPED / "mnist-cdcgan.pt")


@pytest.fixture(scope="module")
def digit(model):
    return digit_target(0, model[1]).image


@pytest.fixture
def jobs():
    """Jobs made by a test; every one is cancelled and waited for at teardown (threads outlive a test)."""
    made: list[RestoreJob] = []
    yield made
    for job in made:
        job.cancel()
    assert all(job.wait(30) for job in made)


def until(condition, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    return condition()


def test_a_job_restores_the_missing_pixels_and_keeps_the_known_ones(model, digit, jobs):
    known = preset_known("centre", (28, 28))
    jobs.append(job := RestoreJob(*model, digit, known, steps=20, restarts=1).start())
    assert job.wait(60)
    snap = job.snapshot()
    assert snap.state == JobState.DONE and not snap.error and snap.step == snap.steps == 20
    r = snap.result
    assert torch.equal(r.restored[:, known], digit[:, known])
    assert torch.equal(r.restored[:, ~known], r.reconstruction[:, ~known])
    assert (r.damaged[:, ~known] == -1).all() and r.label in range(10) and r.z.shape == (model[1].config.z_dim,)
    assert r.restored_mse(digit) == pytest.approx(float(((r.reconstruction - digit)[:, ~known] ** 2).mean()))
    assert snap.elapsed_s > 0


def test_denoising_restores_with_g_s_whole_image(model, digit, jobs):
    jobs.append(job := RestoreJob(*model, digit, noise=0.5, steps=10, restarts=1, class_id=7).start())
    assert job.wait(60)
    r = job.snapshot().result
    assert r.known is None and r.label == 7 and torch.equal(r.restored, r.reconstruction)
    assert not torch.equal(r.damaged, digit)  # the noise is in what the inversion saw


def test_cancel_stops_a_job_early(model, digit, jobs):
    jobs.append(job := RestoreJob(*model, digit, steps=100_000, restarts=1).start())
    assert until(lambda: job.snapshot().step > 0)
    job.cancel()
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == JobState.CANCELLED and snap.step < 100_000 and snap.result is None


@pytest.mark.parametrize(
    "known, message",
    [(torch.zeros(28, 28, dtype=torch.bool), "covers every pixel"), (None, "class must be between 0 and 9")],
)
def test_a_users_mistake_ends_as_a_failed_job_with_its_message(model, digit, jobs, known, message):
    class_id = None if known is not None else 12
    jobs.append(job := RestoreJob(*model, digit, known, steps=5, restarts=1, class_id=class_id).start())
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == JobState.FAILED and message in snap.error and snap.result is None


def test_a_bug_ends_as_a_failed_job_naming_the_exception(model, digit, jobs):
    jobs.append(job := RestoreJob(*model, digit, torch.ones(5, 5, dtype=torch.bool).tril(), steps=5).start())
    assert job.wait(30)
    snap = job.snapshot()
    assert snap.state == JobState.FAILED and snap.error.startswith("RuntimeError: ")


def test_at_most_two_run_at_once_and_a_queued_one_starts_when_one_ends(model, digit, jobs):
    assert MAX_RUNNING == 2
    for _ in range(3):
        jobs.append(RestoreJob(*model, digit, steps=100_000, restarts=1).start())
    states = lambda: [j.snapshot().state for j in jobs]
    assert until(lambda: states().count(JobState.RUNNING) == 2)
    time.sleep(0.3)  # long enough for a third to start, were it allowed to
    assert sorted(states()) == sorted([JobState.RUNNING, JobState.RUNNING, JobState.QUEUED])
    queued = next(j for j in jobs if j.snapshot().state == JobState.QUEUED)
    assert queued.snapshot().elapsed_s == 0
    next(j for j in jobs if j.snapshot().state == JobState.RUNNING).cancel()
    assert until(lambda: queued.snapshot().state == JobState.RUNNING)
    assert states().count(JobState.RUNNING) == 2


def test_a_job_cancelled_while_queued_never_runs(model, digit, jobs):
    for _ in range(3):
        jobs.append(RestoreJob(*model, digit, steps=100_000, restarts=1).start())
    assert until(lambda: [j.snapshot().state for j in jobs].count(JobState.RUNNING) == 2)
    queued = next(j for j in jobs if j.snapshot().state == JobState.QUEUED)
    queued.cancel()
    assert queued.wait(5) and queued.snapshot().state == JobState.CANCELLED and queued.snapshot().step == 0
