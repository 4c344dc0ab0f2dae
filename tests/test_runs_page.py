"""The Runs page through AppTest: quality scores drawn unsmoothed, distinct colours, runs of one kind compared
by default, verdicts in the table, a table that follows active runs, and delete that says what it did."""

from __future__ import annotations

import json
import time

import pytest
from conftest import tiny_image_config, tiny_toy_config
from pagetest import open_page, texts

from ganplay.run_registry import get_registry
from ganplay.run_state import RunState


@pytest.fixture(scope="module")
def trained_root(tmp_path_factory):
    """A toy run first, then two image runs (the newest run is an image run), trained once for the module."""
    root = tmp_path_factory.mktemp("runs")
    registry = get_registry(root)
    for name, config in (
        ("toy", tiny_toy_config(steps=6, eval_every=3)),
        ("digits-a", tiny_image_config(steps=6, eval_every=2)),
        ("digits-b", tiny_image_config(steps=6, eval_every=2, seed=1)),
    ):
        assert registry.start(config, name=name).wait(60)
        time.sleep(1.1)  # created_at has one-second resolution: keep the order
    return root


@pytest.fixture
def three_runs(trained_root, monkeypatch):
    monkeypatch.setenv("GANPLAY_RUNS", str(trained_root))
    return get_registry(trained_root)


def overlay(at) -> dict:
    return json.loads(next(c for c in at.get("plotly_chart") if "by run" in c.proto.spec).proto.spec)


def test_runs_of_one_kind_are_compared_by_default_in_distinct_colours(three_runs):
    at = open_page("pages/runs.py")
    assert at.multiselect(key="runs_overlay").value == ["digits-b", "digits-a"]  # not the toy run
    traces = [t for t in overlay(at)["data"] if t.get("showlegend", True) is not False]
    colors = {t["name"]: t["line"]["color"] for t in traces}
    assert set(colors) == {"digits-b", "digits-a"} and len(set(colors.values())) == 2
    at.multiselect(key="runs_overlay").set_value(["digits-a", "toy"]).run()
    assert "do not compare" in texts(at)


def test_quality_scores_are_drawn_as_they_are(three_runs):
    at = open_page("pages/runs.py")
    metric = next(s for s in at.selectbox if s.label == "Metric")
    metric.set_value("fd").run()
    figure = overlay(at)
    truth = {s.name: [row["fd"] for row in s.evals] for s in three_runs.list_runs() if s.name != "toy"}
    for trace in figure["data"]:
        assert trace["y"] == pytest.approx(truth[trace["name"]])  # the last point is the last score, unsmoothed
        assert "markers" in trace["mode"]
    assert at.slider(key="runs_smoothing").disabled


def test_the_table_says_where_each_score_stands(three_runs):
    at = open_page("pages/runs.py")
    table = at.dataframe[0].value
    assert list(table.columns[:4]) == ["name", "status", "step", "quality"]
    digits = table.loc[table["name"] == "digits-a", "quality"].item()
    assert "x the floor: " in digits
    assert table.loc[table["name"] == "digits-a", "score"].item().startswith("FD ")


def test_an_active_run_cannot_be_deleted_and_the_page_says_why(app_registry):
    run = app_registry.start(tiny_toy_config(steps=1_000_000), name="busy")
    deadline = time.monotonic() + 60
    while run.state != RunState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
    at = open_page("pages/runs.py")
    assert "busy is running: stop it on the Train page before resuming or deleting it." in texts(at)
    assert next(b for b in at.button if b.label == "Delete").disabled
    assert "the table follows them every 2 s" in texts(at)


def test_delete_confirms_what_it_removed(app_registry):
    for name in ("keep", "toy"):
        assert app_registry.start(tiny_toy_config(steps=2), name=name).wait(60)
    at = open_page("pages/runs.py")
    at.selectbox(key="runs_manage").set_value("toy").run()
    at.checkbox(key="confirm:toy").check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert not at.exception
    assert any(s.value.startswith("Deleted toy and its folder") for s in at.success)
    assert not (app_registry.root / "toy").exists()
    assert list(at.dataframe[0].value["name"]) == ["keep"]
