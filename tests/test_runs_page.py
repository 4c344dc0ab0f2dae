"""The Runs page through AppTest: quality scores drawn unsmoothed, distinct colours, runs of one kind compared
by default, verdicts in the table, a table that follows active runs, delete that says what it did, D's
per-layer norms of the selected run, and its time-lapse GIF made on demand, once."""

from __future__ import annotations

import json
import time
from io import BytesIO

import pytest
from conftest import tiny_image_config, tiny_toy_config
from pagetest import open_page, texts
from PIL import Image

from ganplay import layer_norms, timelapse
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


def test_the_selected_image_run_shows_d_per_layer_one_line_per_layer(three_runs):
    at = open_page("pages/runs.py")
    at.selectbox(key="runs_manage").set_value("digits-a").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart") if "D per layer" in c.proto.spec]
    rows = layer_norms.read_rows(three_runs.root / "digits-a")
    assert len(charts) == 2 and [row["step"] for row in rows] == [0, 3, 6]
    sigma, grad = (chart["data"] for chart in charts)
    assert [t["name"] for t in sigma] == [t["name"] for t in grad] == ["features.0", "features.2", "head"]
    assert sigma[2]["y"] == pytest.approx([row["sigma/head"] for row in rows])
    assert grad[0]["x"] == [3, 6]  # no gradient before the first update
    assert "sigma keeps climbing" in texts(at)
    at.selectbox(key="runs_manage").set_value("toy").run()
    assert "recorded for image runs" in texts(at) and not any(
        "D per layer" in c.proto.spec for c in at.get("plotly_chart")
    )


def test_the_time_lapse_gif_is_made_on_demand_and_once(three_runs, downloads, monkeypatch):
    made = []
    build = timelapse.build
    monkeypatch.setattr(timelapse, "build", lambda folder, *a, **k: made.append(folder) or build(folder, *a, **k))
    at = open_page("pages/runs.py")
    assert made == [] and not any(name.endswith(".gif") for name in downloads)
    next(b for b in at.button if b.label == "Make a time-lapse GIF").click().run()
    assert not at.exception
    gif = Image.open(BytesIO(downloads["digits-b-timelapse.gif"]))
    assert gif.n_frames == 3  # snapshots at steps 0, 3 and 6
    at.run()
    at.run()
    assert len(made) == 1  # reruns reuse it
    assert next(b for b in at.button if b.label.startswith("Make it again")).disabled  # no newer snapshots
    assert "3 frames, steps 0 to 6" in texts(at)
