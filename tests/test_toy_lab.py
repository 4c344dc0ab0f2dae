"""The Toy 2-D lab: D's colour scale per loss, replayable snapshots, shipped models, points never hidden."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_toy_config
from pagetest import picker
from PIL import Image
from streamlit.testing.v1 import AppTest

from ganplay import imaging, toy_plots
from ganplay.cli import main
from ganplay.losses import LOSSES
from ganplay.sources import ring_modes
from ganplay.toylab import load_toy_snapshot, saved_toy_view, toy_snapshots

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
RING8 = ROOT / "checkpoints" / "ring8-mlp.pt"  # a generator-only export: no D


@pytest.fixture
def trained(app_registry):
    """One finished tiny ring8 run: snapshots at steps 0, 3 and 6."""
    assert app_registry.start(tiny_toy_config(steps=6), name="toy").wait(60)
    return app_registry


def open_lab(interactive: bool = True) -> AppTest:
    """The lab page; `interactive`: switched to the plotly chart, whose figure the tests can read trace by trace
    (the default picture's drawing is tested in test_toy_picture.py)."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("pages/toy_lab.py").run()
    assert not at.exception, [e.message for e in at.exception]
    if interactive:
        at.toggle(key="lab_interactive").set_value(True).run()
        assert not at.exception, [e.message for e in at.exception]
    return at


@pytest.fixture
def served(monkeypatch):
    """{URL: bytes} of every media file the pages hand to the browser."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict[str, bytes] = {}
    add = MediaFileManager.add

    def recording(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        url = add(self, data, mimetype, coordinates, file_name, is_for_static_download)
        files[url] = data
        return url

    monkeypatch.setattr(MediaFileManager, "add", recording)
    return files


def lab_png(at: AppTest, served: dict[str, bytes]) -> bytes:
    """The default picture's PNG, as the browser would fetch it."""
    (image,) = at.get("image")
    (url,) = image.value
    return served[url]


def lab_figure(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def trace(figure: dict, name: str) -> dict:
    return next(t for t in figure["data"] if t.get("name") == name)


def xy(scatter: dict) -> np.ndarray:
    """A scatter trace's points; plotly writes numpy arrays as base64 typed arrays."""

    def values(v):
        return np.frombuffer(base64.b64decode(v["bdata"]), v["dtype"]) if isinstance(v, dict) else np.asarray(v)

    return np.stack([values(scatter["x"]), values(scatter["y"])], 1)


def notes(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.caption, *at.info, *at.error])


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


# -- the core ---------------------------------------------------------------------------------------


def test_every_loss_has_a_stated_colour_scale_for_d():
    inside = np.linspace(0.1, 0.9, 100)
    for name in LOSSES.names():
        assert toy_plots.d_scale(name, inside).caption.startswith("Background: ")
    probability = toy_plots.d_scale("nsgan", inside)
    assert (probability.low, probability.high) == (0.0, 1.0) and "P(real)" in probability.title
    assert "probability that a point is real" in probability.caption and "0.5 (D can't tell)" in probability.caption
    assert "end colours" not in probability.caption  # nothing clipped
    lsgan = toy_plots.d_scale("lsgan", np.array([-20.0, 0.0, 1.0, 20.0]))
    assert (lsgan.low, lsgan.high) == (-0.5, 1.5) and "LSGAN" in lsgan.title
    assert "towards 1 on real points and 0 on generated ones" in lsgan.caption
    assert "reach -20 to 20, and those beyond the span take the end colours" in lsgan.caption
    hinge = toy_plots.d_scale("hinge", inside)
    assert (hinge.low, hinge.high) == (-2.0, 2.0) and "+1 real margin" in dict(hinge.ticks).values()
    critic = toy_plots.d_scale("wgan-gp", 100.0 + np.arange(101.0))  # an offset critic: only differences matter
    assert (critic.low + critic.high) / 2 == pytest.approx(150.0) and critic.high - 150 == pytest.approx(49.0)
    assert "only by differences" in critic.caption and "median over the plane (150)" in critic.caption
    with pytest.raises(ValueError, match="no colour scale for D's output under loss 'bce'; known losses: nsgan"):
        toy_plots.d_scale("bce", inside)


def test_the_figure_draws_d_on_its_scale_in_colours_no_point_uses():
    xs = np.linspace(-1, 1, 4)
    heat = (xs, xs, np.full((4, 4), 30.0))
    points = np.zeros((3, 2))
    figure = toy_plots.toy_figure(
        points, points, points[:1], heat, np.zeros((2, 2, 2)), scale=toy_plots.d_scale("lsgan", heat[2])
    )
    heatmap = figure.data[0]
    assert (heatmap.zmin, heatmap.zmax) == (-0.5, 1.5) and heatmap.colorbar.title.text == "D score<br>(LSGAN)"
    heat_colours = {colour for _, colour in toy_plots.HEAT_COLORS}
    used = {
        figure.data[i].line.color if figure.data[i].mode == "lines" else figure.data[i].marker.color
        for i in range(1, 5)
    }
    assert len(used) == 4 and not used & heat_colours
    assert figure.data[4].marker.symbol == "circle-open"  # a hollow ring: the points inside it stay visible


def test_toy_run_saves_a_replayable_snapshot_beside_each_png(registry):
    run = registry.start(tiny_toy_config(steps=6, loss="lsgan"), name="replay")
    assert run.wait(60)
    folder = registry.root / "replay"
    saved = toy_snapshots(folder)
    assert list(saved) == [0, 3, 6]
    assert [p.stem for p in saved.values()] == sorted(p.stem for p in (folder / "samples").glob("*.png"))
    view, points = load_toy_snapshot(saved[6])
    snap = run.snapshot()
    np.testing.assert_array_equal(points, snap.points)  # the same fixed-noise points the run showed live
    np.testing.assert_array_equal(view.d_values, snap.toy_view.d_values)
    assert view.d_values.shape == (64, 64) and view.manifold.shape == (21, 21, 2) and points.shape == (64, 2)
    assert view.loss == "lsgan" and view.probabilistic is False and view.extent == pytest.approx(1.55)
    older, _ = load_toy_snapshot(saved[0])
    assert not np.array_equal(older.d_values, view.d_values)  # D moved between the snapshots
    broken = folder / "samples" / "step_00000009.npz"
    broken.write_bytes(saved[6].read_bytes()[:100])
    with pytest.raises(ValueError, match="step_00000009.npz: not a readable toy snapshot"):
        load_toy_snapshot(broken)


def test_a_generator_only_file_gives_g_s_half_of_the_lab():
    view, points, ckpt = saved_toy_view(RING8, num_points=200)
    assert view.d_values is None and view.manifold.shape == (21, 21, 2) and points.shape == (200, 2)
    assert ckpt.step == 8000 and view.loss == "nsgan"


def test_scatter_picture_never_hides_a_point_under_a_mode():
    modes = ring_modes(8).numpy()
    on_a_mode = modes[:1]

    def point_pixels(picture):
        return int((picture == imaging.POINT_COLOR).all(-1).sum())

    with_modes = imaging.scatter_image(on_a_mode, modes=modes, extent=1.25, size=128)
    alone = imaging.scatter_image(on_a_mode, extent=1.25, size=128)
    assert point_pixels(with_modes) == point_pixels(alone) == 9  # the whole 3x3 dot
    assert (with_modes == imaging.MODE_COLOR).all(-1).sum() > 8 * 10  # and the eight rings are drawn


def test_cli_sample_defaults_to_many_points_for_a_2d_model(tmp_path, capsys):
    assert main(["sample", "--checkpoint", str(RING8), "--out", str(tmp_path / "ring.npy")]) == 0
    assert np.load(tmp_path / "ring.npy").shape == (1000, 2)
    assert "wrote 1000 samples" in capsys.readouterr().out
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(ROOT / "checkpoints" / "mnist-dcgan.pt"),
                "--out",
                str(tmp_path / "digits.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "digits.npy").shape[0] == 64  # image grids keep 64


# -- the page ---------------------------------------------------------------------------------------


def test_toy_lab_shows_the_plane_and_coverage(trained):
    at = open_lab()
    figure = lab_figure(at)
    names = ["D(x)", "G(noise grid)", "real", "generated", "G's push", "modes"]
    assert [t.get("name") for t in figure["data"]] == names
    assert figure["data"][0]["colorbar"]["title"]["text"] == "D: P(real)"
    arrows = trace(figure, "G's push")
    tails = [(x, y) for x, y in zip(arrows["x"][0::3], arrows["y"][0::3])]
    assert tails == [tuple(p) for p in xy(trace(figure, "generated"))[: len(tails)]]  # one arrow per point
    assert arrows["x"][2::3] == [None] * len(tails) and arrows["marker"]["size"][:3] == [0, 7, 0]
    assert "Pink arrows: where G's loss pushes each of the first" in notes(at)
    layers = at.multiselect(key="lab_layers:True:push")
    layers.set_value([v for v in layers.value if v != "G's push (arrows)"]).run()
    assert "G's push" not in [t.get("name") for t in lab_figure(at)["data"]]
    assert any(m.label == "Modes covered" for m in at.metric)
    help_of = {m.label: m.proto.help for m in at.metric}
    assert help_of["Modes covered"].startswith("How many of the 8 clusters of real points the generator reaches")
    assert help_of["High quality"].startswith("Share of generated points that land on a cluster (within 3 standard")
    assert help_of["KL to uniform"].startswith("0 when the generator visits every covered cluster equally often")


def test_lab_opens_the_shipped_2d_model_before_any_run(app_registry):
    at = open_lab()
    assert picker(at, "Toy run or shipped model").value == "pretrained: ring8-mlp"
    figure = lab_figure(at)
    assert [t.get("name") for t in figure["data"]] == ["G(noise grid)", "real", "generated", "modes"]  # no heat map
    assert len(xy(trace(figure, "generated"))) == 1000
    assert "keeps only the generator" in notes(at)
    assert "D heat map" not in at.multiselect(key="lab_layers:False").options
    labels = ["Grid KL (bits)", "Grid JS (bits)", "Modes covered", "High quality", "KL to uniform"]
    assert [m.label for m in at.metric] == labels  # GAN Lab's grid numbers beside the PacGAN ones
    assert any(m.value == "**all 8 clusters, 94% of points on them: solved**" for m in at.markdown)


def test_the_lab_is_a_picture_until_asked_for_the_interactive_chart(trained, served):
    at = open_lab(interactive=False)
    assert not at.get("plotly_chart") and at.get("image")[0].proto.imgs[0].alt == "step 6"
    latest = lab_png(at, served)
    assert latest.startswith(b"\x89PNG") and Image.open(io.BytesIO(latest)).size[0] > 1000  # sharp: 2 px per CSS px
    at.select_slider(key="lab_step:toy").set_value(3).run()
    assert at.get("image")[0].proto.imgs[0].alt == "step 3" and lab_png(at, served) != latest
    layers = at.multiselect(key="lab_layers:True:push")
    layers.set_value([]).run()  # every layer off: only the generated points are left
    assert not at.exception and "Pink arrows" not in notes(at)
    at.toggle(key="lab_interactive").set_value(True).run()
    assert not at.get("image") and [t.get("name") for t in lab_figure(at)["data"]] == ["generated", "modes"]


def test_step_slider_replays_an_older_snapshot(trained):
    at = open_lab()
    slider = at.select_slider(key="lab_step:toy")
    assert slider.options == ["0", "3", "latest"] and slider.value == "latest"
    assert lab_figure(at)["layout"]["title"]["text"] == "step 6"
    slider.set_value(3).run()
    figure = lab_figure(at)
    _, points = load_toy_snapshot(toy_snapshots(trained.root / "toy")[3])
    assert figure["layout"]["title"]["text"] == "step 3"
    np.testing.assert_allclose(xy(trace(figure, "generated")), points)
    assert not at.exception


def test_an_older_step_stays_put_while_latest_follows_a_live_run(app_registry):
    run = app_registry.start(tiny_toy_config(steps=1_000_000, sample_every=20, checkpoint_every=1000), name="live")
    folder = app_registry.root / "live"
    wait_for(lambda: len(toy_snapshots(folder)) >= 3)
    at = open_lab()
    slider = at.select_slider(key="lab_step:live")
    slider.set_value(20).run()
    seen = len(toy_snapshots(folder))
    wait_for(lambda: len(toy_snapshots(folder)) > seen + 1)
    at.run()  # what a live refresh does
    assert at.select_slider(key="lab_step:live").value == 20
    assert lab_figure(at)["layout"]["title"]["text"] == "step 20"
    at.select_slider(key="lab_step:live").set_value("latest").run()
    first = int(lab_figure(at)["layout"]["title"]["text"].split()[-1].replace(",", ""))
    wait_for(lambda: run.snapshot().grid_step > first)
    at.run()
    assert int(lab_figure(at)["layout"]["title"]["text"].split()[-1].replace(",", "")) > first


def test_colour_bar_and_caption_state_lsgan_s_scale(app_registry):
    assert app_registry.start(tiny_toy_config(steps=6, loss="lsgan"), name="squares").wait(60)
    at = open_lab()
    figure = lab_figure(at)
    heatmap = trace(figure, "D(x)")
    assert heatmap["colorbar"]["title"]["text"] == "D score<br>(LSGAN)"
    assert (heatmap["zmin"], heatmap["zmax"]) == (-0.5, 1.5)
    assert "LSGAN trains it towards 1 on real points and 0 on generated ones" in notes(at)
