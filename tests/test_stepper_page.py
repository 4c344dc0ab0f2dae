"""Stepping the game by hand from the pages (AppTest): a run started paused from the form, the D, G and full-step
buttons with what each changed, N steps, slow motion, and the same controls in the Toy 2-D lab."""

from __future__ import annotations

import json
import time

from conftest import tiny_toy_config
from pagetest import open_page, texts

from ganplay.run_state import RunState


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def wait_for_state(run, state, seconds=60):
    deadline = time.monotonic() + seconds
    while run.state != state and time.monotonic() < deadline:
        time.sleep(0.02)
    assert run.state == state


def paused_run(app_registry, name="stepped", **overrides):
    run = app_registry.start(tiny_toy_config(steps=1000, eval_every=0, **overrides), name=name, paused=True)
    wait_for_state(run, RunState.PAUSED)
    return run


def test_g_step_five_times_moves_the_counter_by_five_and_changes_the_picture(app_registry):
    run = paused_run(app_registry)
    at = open_page("pages/train.py")
    first = run.snapshot().points.copy()
    for _ in range(5):
        button(at, "G step").click().run()
    snap = run.snapshot()
    assert snap.step == 5 and snap.last_move.kind == "g"
    assert not (snap.points == first).all()  # the live view follows every move, not only the snapshots
    assert "1 G update (step 4 → 5): loss D " in texts(at) and "Losses on a fixed probe batch" in texts(at)
    button(at, "D step").click().run()
    assert run.snapshot().step == 5 and "1 D update (step 5)" in texts(at)
    assert "1 D update(s) by hand so far" in texts(at)
    at.number_input(key="move_count").set_value(7).run()
    button(at, "7 full steps").click().run()
    assert run.snapshot().step == 12 and "7 full steps (step 5 → 12)" in texts(at)


def test_slow_motion_from_the_page_and_resume_at_full_speed(app_registry):
    run = paused_run(app_registry, name="slowly")
    at = open_page("pages/train.py")
    at.slider(key="play_rate").set_value(2.0).run()
    button(at, "Play slowly").click().run()
    assert run.snapshot().play_rate == 2.0
    wait_for_state(run, RunState.RUNNING)
    at.run()
    assert "Slow motion: 2 full steps a second" in texts(at)
    assert not [b for b in at.button if b.label == "G step"]  # no moves by hand while it plays
    button(at, "Pause").click().run()
    wait_for_state(run, RunState.PAUSED)
    button(at, "Resume").click().run()
    assert run.snapshot().play_rate is None


def test_a_run_started_paused_from_the_form(app_registry):
    at = open_page("pages/train.py")
    at.checkbox(key="start_paused").check().run()
    at.text_input(key="run_name").input("byhand").run()
    button(at, "Start training").click().run()
    run = app_registry.get("byhand")
    wait_for_state(run, RunState.PAUSED)
    assert run.snapshot().step == 0
    assert json.loads((app_registry.root / "byhand" / "config.json").read_text())["steps"] > 0


def test_the_toy_lab_has_the_controls_and_redraws_after_a_d_step(app_registry):
    run = paused_run(app_registry, name="labbed")
    at = open_page("pages/toy_lab.py")
    before = run.snapshot().toy_view.d_values.copy()
    button(at, "D step").click().run()
    after = run.snapshot().toy_view.d_values
    assert not (before == after).all()  # D's heat map moved with one D update
    assert "1 D update (step 0)" in texts(at)
