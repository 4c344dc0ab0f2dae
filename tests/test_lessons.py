"""The Learn page's lessons in the core: each run small, its numbers pointing the way the lesson says; the pairing,
slots and refusals around them."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest
from conftest import tiny_toy_config

from ganplay.config import ConfigError
from ganplay.errors import UsageError
from ganplay.lessons import (
    LESSONS,
    PACKING,
    VANISHING,
    WEAK_D,
    LessonRun,
    latest_pair,
    lesson_run,
    real_spread,
    run_lesson,
    run_names,
    slot_holders,
    snapshot_stats,
    spread,
    start_lesson,
)
from ganplay.run_state import RunState
from ganplay.toylab import toy_snapshots

# Each lesson at a size that runs in seconds, and still shows its lesson (measured with seed 0).
TINY = {
    "vanishing": dict(device="cpu", steps=120, ngf=8, ndf=8, batch_size=16),
    "weak-d": dict(device="cpu", steps=300, mlp_hidden=32, batch_size=64, sample_every=50),
    "packing": dict(device="cpu", steps=300, mlp_hidden=32, batch_size=64, sample_every=50),
}


def test_each_lesson_s_two_configs_differ_only_in_its_sides_settings():
    assert LESSONS.names() == ["vanishing", "weak-d", "packing"]
    for name in LESSONS.names():
        lesson = LESSONS.get(name)
        a, b = (config.validated().to_dict() for config in lesson.configs(seed=3))
        differ = {key for key in a if a[key] != b[key]}
        assert differ == set(lesson.sides[0].settings) | set(lesson.sides[1].settings), name
        assert a["seed"] == b["seed"] == 3
        assert all(q.key for q in lesson.quantities) and lesson.question and lesson.look_at


@pytest.mark.slow
def test_minimax_s_gradient_for_g_fades_while_the_non_saturating_one_does_not(registry):
    result = run_lesson(registry, VANISHING, **TINY["vanishing"])
    n = result.findings.numbers
    assert n["minimax.early_grad_g"] < n["nsgan.early_grad_g"]
    assert n["minimax.late_grad_g"] < n["nsgan.late_grad_g"] / 10  # 0.59 against 7.8 when measured
    assert n["minimax.late_grad_g"] < n["minimax.early_grad_g"] / 2  # it fades with training
    assert result.findings.shown
    assert f"{n['minimax.early_grad_g']:#.3g} under minimax against {n['nsgan.early_grad_g']:#.3g}" in (
        result.findings.text
    )
    assert [len(run.rows) for run in result.runs] == [12, 12]  # every logged row, both runs to the end


@pytest.mark.slow
def test_a_weak_d_cannot_tell_real_from_generated_while_its_loss_looks_balanced(registry):
    result = run_lesson(registry, WEAK_D, **TINY["weak-d"])
    n = result.findings.numbers
    assert abs(n["weak.late_loss_d"] - 2 * math.log(2)) < 0.05  # what a D that always says 0.5 scores
    assert abs(n["weak.late_d_gap"]) < 0.02 < n["strong.late_d_gap"]
    assert "2 log 2 = 1.386" in result.findings.text
    assert len(result.runs[0].snapshots) == 7  # steps 0, 50, ..., 300


@pytest.mark.slow
def test_packing_keeps_g_from_collapsing_onto_one_spot(registry):
    result = run_lesson(registry, PACKING, **TINY["packing"])
    n = result.findings.numbers
    assert n["pac1.spread"] < 0.25 and n["pac4.spread"] > 0.5  # 0.19 against 0.84 when measured
    assert result.findings.shown and "with pac 4" in result.findings.text


def test_snapshot_statistics_are_the_pacgan_numbers_of_the_saved_points(registry):
    assert registry.start(tiny_toy_config(steps=6), name="toy").wait(60)
    files = toy_snapshots(registry.root / "toy")
    row = snapshot_stats(files[6], "ring8")
    assert row["step"] == 6 and row["num_modes"] == 8 and 0 <= row["modes_covered"] <= 8
    assert row["spread"] > 0 and 0 <= row["high_quality"] <= 1
    assert abs(real_spread("ring8") - math.sqrt(0.5)) < 0.02  # points on the unit circle: sqrt(1/2) per axis
    assert spread(np.zeros((50, 2))) == 0.0 and spread(np.full((50, 2), np.nan)) == 0.0
    assert "modes_covered" not in snapshot_stats(files[6], "spiral")  # a toy without clusters: spread only


def test_latest_pair_is_the_newest_stamp_with_both_sides():
    old, new = run_names(PACKING, "20260101-100000"), run_names(PACKING, "20260101-120000")
    half = run_names(PACKING, "20260101-130000")[0]  # its other side never started
    other = run_names(WEAK_D, "20260101-140000")
    assert latest_pair(PACKING, [*old, *new, half, *other, "toy"]) == new
    assert latest_pair(PACKING, [*old, "learn-packing-x-pac1-2"]) == old
    assert latest_pair(PACKING, ["toy", half]) is None
    assert latest_pair(WEAK_D, [*other]) == other


def test_findings_wait_for_numbers_rather_than_guess():
    empty = [LessonRun(side, "ring8", [], [], 0) for side in PACKING.sides]
    early = PACKING.findings(*empty)
    assert not early.shown and early.numbers == {} and "Measuring" in early.text
    rows = [{"step": 30.0, "loss_d": 1.0, "loss_g": 1.0}]
    logged = [replace(run, rows=rows) for run in empty]
    assert "first snapshots" in PACKING.findings(*logged).text


def test_a_second_start_while_the_first_runs_is_refused_and_starts_nothing(registry):
    first = start_lesson(registry, PACKING, **{**TINY["packing"], "steps": 100_000})
    before = {s.name for s in registry.list_runs()}
    with pytest.raises(UsageError, match="this experiment is still running"):
        start_lesson(registry, PACKING, **TINY["packing"])
    assert {s.name for s in registry.list_runs()} == before
    start_lesson(registry, WEAK_D, **TINY["weak-d"])  # another lesson is not this one
    for run in first:
        run.stop()


def test_a_bad_setting_is_refused_before_either_run_starts(registry):
    with pytest.raises(ConfigError, match="pac must be 1, 2 or 4"):
        start_lesson(registry, PACKING, device="cpu", pac=3)
    with pytest.raises(ConfigError, match="steps"):
        start_lesson(registry, VANISHING, device="cpu", steps=0)
    assert registry.list_runs() == []


def test_a_lesson_run_waiting_for_a_slot_is_told_who_holds_it(registry):
    """Two slots: with another run training, one side of the lesson waits, and slot_holders names the other run."""
    other = registry.start(tiny_toy_config(steps=100_000), name="other")
    deadline = time.monotonic() + 60
    while other.state != RunState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    runs = start_lesson(registry, PACKING, **{**TINY["packing"], "steps": 100_000})
    time.sleep(1.0)
    states = sorted(run.state.value for run in runs)
    assert "queued" in states, states
    ours = tuple(run.name for run in runs)
    assert slot_holders(registry.list_runs(), ours) == ["other"]
    other.stop()
    assert other.wait(30)
    deadline = time.monotonic() + 60
    while any(run.state == RunState.QUEUED for run in runs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(run.state != RunState.QUEUED for run in runs)  # the freed slot goes to the waiting side


def test_a_damaged_snapshot_is_named_and_left_out_of_the_numbers(registry):
    assert registry.start(tiny_toy_config(steps=6), name="toy").wait(60)
    files = toy_snapshots(registry.root / "toy")
    files[3].write_bytes(b"not a zip")
    run = lesson_run(PACKING.sides[0], registry.snapshot("toy"))
    assert [row["step"] for row in run.snapshots] == [0, 6]
    assert len(run.problems) == 1 and "step_00000003.npz: not a readable toy snapshot" in run.problems[0]
