"""The Learn page through AppTest: the objective written out, one click starting both runs of an experiment, their
curves and pictures side by side, why a run waits, and refusals that start nothing."""

from __future__ import annotations

import json
import time

import pytest
from conftest import tiny_toy_config
from pagetest import open_page
from pagetest import texts as markdown_texts

from ganplay.lessons import PACKING, VANISHING, WEAK_D
from ganplay.run_state import RunState

PAGE = "pages/learn.py"


@pytest.fixture
def tiny_lessons(monkeypatch):
    """The page's lessons at a size that ends in seconds (the page reads each lesson's base settings)."""
    for lesson, size in (
        (PACKING, dict(steps=40, mlp_hidden=16, batch_size=32, sample_every=10)),
        (VANISHING, dict(steps=20, ngf=8, ndf=8, batch_size=8, sample_every=10)),
    ):
        for key, value in {**size, "device": "cpu", "log_every": 5}.items():
            monkeypatch.setitem(lesson.base, key, value)


def texts(at) -> str:
    return markdown_texts(at).replace("\\", "")  # as shown: plain() escapes markdown in names and messages


def lesson_runs(registry, lesson) -> list:
    return [s for s in registry.list_runs() if s.name.startswith(f"learn-{lesson.name}-")]


def wait_until_ended(registry, names, timeout=90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(registry.snapshot(n).state not in (RunState.QUEUED, RunState.STARTING, RunState.RUNNING) for n in names):
            return
        time.sleep(0.1)
    raise AssertionError(f"{names} still running after {timeout:.0f} s")


def start(at, lesson):
    at.radio(key="learn_lesson").set_value(lesson.name).run()
    at.button(key=f"learn_start:{lesson.name}").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_page_writes_out_the_minimax_game_and_the_non_saturating_loss(app_registry):
    at = open_page(PAGE)
    formulas = [element.value for element in at.get("latex")]
    assert any(r"\min_G \max_D V(D, G)" in f and r"\log(1 - D(G(z)))" in f for f in formulas)
    assert any(r"-\mathbb{E}_{z\sim p_z(z)}[\log D(G(z))]" in f for f in formulas)
    assert at.radio(key="learn_lesson").options == [lesson.title for lesson in (VANISHING, WEAK_D, PACKING)]
    assert "Press Run both" in texts(at)


def test_one_click_starts_both_runs_and_draws_them_side_by_side(app_registry, tiny_lessons):
    at = start(open_page(PAGE), PACKING)
    runs = lesson_runs(app_registry, PACKING)
    assert sorted(s.name.rsplit("-", 1)[1] for s in runs) == ["pac1", "pac4"]
    assert {s.config["pac"] for s in runs} == {1, 4} and {s.total_steps for s in runs} == {40}
    assert at.button(key="learn_start:packing").disabled  # no second pair while this one runs
    wait_until_ended(app_registry, [s.name for s in runs])
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    shown = texts(at)
    assert "At step 40: without packing" in shown and "with pac 4" in shown
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    titles = [f["layout"]["title"]["text"] for f in figures]
    assert "no packing (pac 1), step 40" in titles and "packing (pac 4), step 40" in titles  # the two toy plots
    spread_chart = figures[titles.index("spread of G's points (standard deviation)")]
    assert [trace["name"] for trace in spread_chart["data"]] == ["no packing (pac 1)", "packing (pac 4)"]
    assert all(len(trace["x"]) == 5 for trace in spread_chart["data"])  # snapshots at 0, 10, ..., 40
    assert not at.button(key="learn_start:packing").disabled


def test_an_image_lesson_shows_both_fixed_noise_grids(app_registry, tiny_lessons):
    at = start(open_page(PAGE), VANISHING)
    wait_until_ended(app_registry, [s.name for s in lesson_runs(app_registry, VANISHING)])
    at.run()
    captions = [caption for image in at.image for caption in image.captions]
    assert captions == ["minimax: fixed-noise samples at step 20", "non-saturating: fixed-noise samples at step 20"]
    assert "G's mean gradient norm over the first 20 steps" in texts(at)
    grad = next(c for c in at.get("plotly_chart") if "|grad G|" in c.proto.spec)
    assert json.loads(grad.proto.spec)["layout"]["yaxis"]["type"] == "log"


def test_a_run_that_waits_for_a_slot_says_who_holds_it(app_registry, tiny_lessons, monkeypatch):
    monkeypatch.setitem(PACKING.base, "steps", 100_000)
    other = app_registry.start(tiny_toy_config(steps=100_000), name="other")
    deadline = time.monotonic() + 60
    while other.state != RunState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    at = open_page(PAGE)
    at.radio(key="learn_lesson").set_value("packing").run()
    assert "will wait for a training slot" in texts(at) and "training now: other" in texts(at)  # before the click
    at.button(key="learn_start:packing").click().run()
    time.sleep(1.0)
    at.run()
    shown = texts(at)
    assert "waits for a training slot" in shown and "training now: other (a paused run keeps its slot)" in shown
    at.button(key="learn_stop:packing").click().run()
    ours = [app_registry.get(s.name) for s in lesson_runs(app_registry, PACKING)]
    assert all(run.wait(60) for run in ours)
    assert {run.state for run in ours} == {RunState.STOPPED} and other.state == RunState.RUNNING


def test_a_refused_start_says_why_and_starts_nothing(app_registry, monkeypatch):
    monkeypatch.setitem(PACKING.base, "batch_size", 30)  # not a multiple of pac 4
    at = start(open_page(PAGE), PACKING)
    assert "Not started" in texts(at) and "must be a multiple of pac (4)" in texts(at)
    assert app_registry.list_runs() == []
