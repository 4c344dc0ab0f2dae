"""Your own points on the Train page (AppTest): a CSV named by path, a drawing (the canvas stood in for by what it
returns), an upload, saved points; the refusals shown beside the picker; and the lab's grid numbers for such a run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_toy_config
from pagetest import open_page, texts

from pages import point_data
from pages.common import plain

POINTS = "your own 2-D points (draw, or a CSV)"
SCOPE = "cfg:quick-cpu-demo|"


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    monkeypatch.setenv("GANPLAY_DATA", str(folder))
    return folder


def blobs_csv(path, labels: bool = False):
    rng = np.random.default_rng(0)
    rows = ["x,y,label" if labels else "x,y"]
    for k, centre in enumerate(((0, 0), (4, 0), (2, 3))):
        for x, y in rng.normal(centre, 0.3, (20, 2)):
            rows.append(f"{x},{y},{'abc'[k]}" if labels else f"{x},{y}")
    path.write_text("\n".join(rows) + "\n")
    return path


def points_page(how: str):
    at = open_page("pages/train.py")
    at.selectbox(key="dataset_choice").set_value(POINTS).run()
    at.radio(key="points_how").set_value(how).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def start_button(at):
    return next(b for b in at.button if b.label == "Start training")


def clicks(points_px, colours=("#1f77b4",)):
    """The canvas's Fabric JSON after clicks at these pixels (a point tool's circles), colours in turn."""
    objects = []
    for i, (x, y) in enumerate(points_px):
        colour = colours[i % len(colours)]
        objects.append(
            {"type": "Circle", "left": x - 4, "top": y, "originX": "left", "originY": "center", "radius": 3}
            | {"strokeWidth": 2, "stroke": colour, "fill": colour}
        )
    return {"objects": objects}


class Drawn:
    """What the canvas returns to the page: its Fabric JSON (the real canvas needs a browser to draw on)."""

    def __init__(self, json_data):
        self.json_data = json_data


def fake_canvas(monkeypatch, drawing):
    monkeypatch.setattr(point_data, "draw_canvas", lambda **options: Drawn(drawing))


def test_a_csv_on_this_machine_trains_from_the_form(app_registry, data_dir, tmp_path):
    path = blobs_csv(tmp_path / "mine.csv", labels=True)
    at = points_page("a CSV file on this machine")
    at.text_input(key="points_path").set_value(str(path)).run()
    scope = f"{SCOPE}points:{path}:"
    assert not at.error and at.number_input(key=scope + "mlp_hidden").value == 64  # the toys' fields and defaults
    at.checkbox(key=scope + "conditional").check().run()  # three labels: a class-conditional model is allowed
    at.number_input(key=scope + "steps").set_value(6).run()
    at.text_input(key="run_name").set_value("mine").run()
    assert not at.error
    start_button(at).click().run()
    run = app_registry.get("mine")
    assert run is not None and run.wait(60) and run.snapshot().error == ""
    config = json.loads((app_registry.root / "mine" / "config.json").read_text())
    assert config["dataset"] == f"points:{path}" and config["conditional"]
    assert (app_registry.root / "mine" / "points.csv").is_file()


@pytest.mark.parametrize(
    "text, words",
    [
        ("x,y\n1,2\n3,nan\n", "line 3: y is nan; every x and y must be a finite number"),
        ("name,town\nann,rome\n", "holds no numbers"),
        ("1\n2\n3\n", "one column"),
        ("x,y\n1,2\n2,3\n", "holds 2 points; at least 10 are needed"),
    ],
)
def test_a_bad_csv_is_named_beside_the_picker_and_blocks_start(app_registry, data_dir, tmp_path, text, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    at = points_page("a CSV file on this machine")
    at.text_input(key="points_path").set_value(str(path)).run()
    assert any(words in e.value for e in at.error), [e.value for e in at.error]
    assert start_button(at).disabled and any("(Dataset)" in e.value for e in at.error)
    assert app_registry.list_runs() == []


def test_a_drawing_of_fewer_than_ten_points_is_not_yet_a_dataset(app_registry, data_dir, monkeypatch):
    fake_canvas(monkeypatch, None)
    at = points_page("draw them")
    assert "0 points drawn: at least 10 are needed" in texts(at)
    fake_canvas(monkeypatch, clicks([(50, 50), (60, 60), (70, 50)]))
    at.run()
    assert any("3 points drawn: at least 10 are needed" in w.value for w in at.warning)
    assert not [b for b in at.button if b.label == "Start training"]  # no form without a dataset
    assert not data_dir.exists() or not list(data_dir.rglob("*.csv"))  # nothing saved


def test_drawn_points_are_saved_once_and_become_the_dataset(app_registry, data_dir, monkeypatch):
    rng = np.random.default_rng(1)
    spots = [(cx + dx, cy + dy) for cx, cy in ((90, 270), (270, 270), (180, 90)) for dx, dy in rng.normal(0, 8, (6, 2))]
    fake_canvas(monkeypatch, clicks(spots, colours=("#1f77b4", "#ff7f0e")))
    at = points_page("draw them")
    assert "18 points, 2 labels (labels 0, 1)" in texts(at)
    next(b for b in at.button if b.label == "Use these points").click().run()
    [saved] = list((data_dir / "points").glob("drawn-*.csv"))
    assert plain(f"saved as {saved}") in texts(at) and start_button(at) is not None
    drawn, _ = point_data.canvas_points(clicks(spots), point_data.CANVAS_PX)
    assert np.array_equal(np.loadtxt(saved, delimiter=",", skiprows=1, usecols=(0, 1)), drawn)  # as drawn, exactly
    at.run()  # the same drawing again: the same file, no second one
    assert len(list((data_dir / "points").glob("*.csv"))) == 1
    other = [(x + 5, y) for x, y in spots]
    fake_canvas(monkeypatch, clicks(other))
    at.run()
    at.text_input(key="points_name:drawn").set_value(saved.stem).run()  # another drawing, the same name
    next(b for b in at.button if b.label == "Use these points").click().run()
    assert any("already holds other points; pick another name" in e.value for e in at.error)
    at.radio(key="points_how").set_value("saved points").run()
    assert at.selectbox(key="points_saved_pick").options == [saved.name]


def test_an_uploaded_csv_is_checked_then_saved(app_registry, data_dir, tmp_path, monkeypatch):
    import streamlit as st

    class Upload:
        def __init__(self, name, payload):
            self.name, self.payload = name, payload

        def getvalue(self):
            return self.payload

    uploads = {"points_upload": Upload("my points!.csv", blobs_csv(tmp_path / "u.csv").read_bytes())}
    real_uploader = st.file_uploader
    monkeypatch.setattr(
        st, "file_uploader", lambda *a, key=None, **kw: uploads.get(key) or real_uploader(*a, key=key, **kw)
    )
    at = points_page("upload a CSV")
    [saved] = list((data_dir / "points").glob("*.csv"))
    assert saved.name.startswith("my-points-") and plain(f"60 points, saved as {saved}") in texts(at)
    uploads["points_upload"] = Upload("nan.csv", b"x,y\n1,2\nnan,1\n")
    at.run()
    assert any(plain("nan.csv, line 3: x is nan") in e.value for e in at.error)
    assert len(list((data_dir / "points").glob("*.csv"))) == 1  # a refused upload leaves nothing


def test_canvas_clicks_and_brush_strokes_map_onto_the_plane():
    side = 200
    xy, labels = point_data.canvas_points(clicks([(0, 0), (100, 100), (200, 200)], ("#1f77b4", "#2ca02c")), side)
    assert np.allclose(xy, [[-1, 1], [0, 0], [1, -1]]) and labels == [0, 2, 0]  # y up, colour by palette
    stroke = {
        "type": "Path",
        "stroke": "#ff7f0e",
        "strokeWidth": 16,
        "path": [["M", 20, 100], ["Q", 60, 100, 100, 100]],
    }
    sprayed, labels = point_data.canvas_points({"objects": [stroke]}, side, spacing=5)
    assert len(sprayed) == 17 and set(labels) == {1}  # 80 px of stroke, a point every 5 px
    assert np.abs(sprayed[:, 1]).max() < 0.2 and sprayed[:, 0].min() > -0.9  # along the stroke, across the brush
    again, _ = point_data.canvas_points({"objects": [stroke]}, side, spacing=5)
    assert np.array_equal(sprayed, again)  # the same stroke sprays the same points


def test_the_lab_shows_grid_numbers_for_a_run_on_points(app_registry, tmp_path):
    path = blobs_csv(tmp_path / "lab.csv")
    assert app_registry.start(tiny_toy_config(dataset=f"points:{path}", steps=4), name="pts").wait(60)
    at = open_page("pages/toy_lab.py")
    assert [m.label for m in at.metric] == ["Grid KL (bits)", "Grid JS (bits)"]
    assert "No separate clusters to count here" in texts(at) and "real vs real: KL" in texts(at)
