"""Every page through Streamlit's AppTest: renders, rejects bad values, starts a real run, shows checkpoints."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import tiny_image_config, tiny_toy_config
from ganplay.runs import RunState, get_registry

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ["pages/train.py", "pages/toy_lab.py", "pages/samples.py", "pages/interpolate.py", "pages/runs.py"]


@pytest.fixture
def app_registry(runs_root):
    registry = get_registry(runs_root)
    yield registry
    for run in registry.live_runs():
        run.stop()
        run.wait(30)


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def picker(at: AppTest, label: str):
    """The one select box with this label (class, cluster and code pickers key themselves per model)."""
    [box] = [s for s in at.selectbox if s.label == label]
    return box


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [w.value for w in at.warning]
    return "\n".join(str(p) for p in parts)


@pytest.fixture
def trained(app_registry):
    """One finished toy run and one finished conditional image run, made through the core."""
    toy = app_registry.start(tiny_toy_config(steps=6), name="toy")
    digits = app_registry.start(tiny_image_config(steps=4, conditional=True), name="digits")
    assert toy.wait(60) and digits.wait(60)
    return app_registry


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_with_no_runs(app_registry, page):
    open_page(page)


@pytest.mark.parametrize("page", [None, *PAGES])
def test_every_page_renders_with_runs(trained, page):
    at = open_page(page)
    if page == "pages/runs.py":
        assert {"toy", "digits"} <= set(at.dataframe[0].value["name"])


def test_home_shows_device_and_links(app_registry):
    at = open_page()
    assert "Training device: CPU" in texts(at)
    assert "ganplay" in at.title[0].value


def test_bad_form_values_show_errors_and_start_nothing(app_registry):
    at = open_page("pages/train.py")
    at.number_input(key="cfg:quick-cpu-demo|ring8:batch_size").set_value(0)
    at.number_input(key="cfg:quick-cpu-demo|ring8:lr_g").set_value(5.0)
    at.button[-1].click().run()  # the form's Start button is its last
    errors = [e.value for e in at.error]
    assert "batch_size must be between 1 and 4096, got 0" in errors
    assert "lr_g must be between 1e-08 and 1, got 5.0" in errors
    assert app_registry.list_runs() == []


def test_form_offers_every_config_field_and_checks_augmentation(app_registry):
    from dataclasses import fields

    from ganplay.config import TrainConfig

    at = open_page("pages/train.py")
    scope = "cfg:quick-cpu-demo|ring8:"
    widgets = [*at.selectbox, *at.number_input, *at.checkbox, *at.text_input]
    offered = {w.key.removeprefix(scope).split(":")[0] for w in widgets if w.key and w.key.startswith(scope)}
    assert offered == {f.name for f in fields(TrainConfig)} - {"dataset"}  # the dataset has its own picker
    at.selectbox(key=scope + "augment").set_value("translation")
    at.button[-1].click().run()
    assert any("2-D points" in e.value for e in at.error)
    assert app_registry.list_runs() == []


def test_missing_image_folder_is_rejected(app_registry):
    at = open_page("pages/train.py")
    at.selectbox(key="dataset_choice").set_value("an image folder on this machine").run()
    at.text_input(key="folder_path").set_value("/no/such/folder").run()
    at.button[-1].click().run()
    assert any("does not exist" in e.value for e in at.error)
    assert app_registry.list_runs() == []


def test_starting_a_toy_run_from_the_form(app_registry):
    at = open_page("pages/train.py")
    at.number_input(key="cfg:quick-cpu-demo|ring8:steps").set_value(100_000)
    at.text_input(key="run_name").set_value("fromform")
    at.button[-1].click().run()
    assert not at.exception
    run = app_registry.get("fromform")
    assert run is not None
    deadline = time.monotonic() + 60
    while run.snapshot().step == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.snapshot().step > 0
    at.run()  # the watch panel now shows it
    assert any(m.value.startswith("**running**") for m in at.markdown)
    stop = next(b for b in at.button if b.label == "Stop")
    stop.click().run()
    assert run.wait(30)
    assert run.snapshot().state == RunState.STOPPED
    config = json.loads((app_registry.root / "fromform" / "config.json").read_text())
    assert config["dataset"] == "ring8" and config["steps"] == 100_000


def test_live_refresh_period_defaults_by_device_and_follows_the_url(app_registry):
    """CPU runs refresh every 2 s (the browser shares the cores); a choice lands in ?refresh= and is read back."""
    app_registry.start(tiny_toy_config(steps=100_000), name="long")
    at = open_page("pages/train.py")
    refresh = at.segmented_control(key="refresh_choice")
    assert refresh.value == 2 and "refresh" not in at.query_params
    refresh.set_value(5).run()
    assert at.query_params["refresh"] == "5"
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params["refresh"] = "1"
    fresh.run().switch_page("pages/train.py").run()
    assert fresh.segmented_control(key="refresh_choice").value == 1


def test_live_quality_on_train_and_runs_pages(trained):
    at = open_page("pages/train.py")
    at.selectbox(key="watch_pick").set_value("digits").run()
    assert "best.pt holds step 4" in texts(at) and "asked-for class" in texts(at)
    at.switch_page("pages/runs.py").run()
    table = at.dataframe[0].value
    assert table.loc[table["name"] == "toy", "best.pt step"].item() == 6
    assert "modes" in table.loc[table["name"] == "toy", "quality (latest live score)"].item()


@pytest.mark.parametrize("page, key", [("pages/samples.py", "samples_ckpt"), ("pages/interpolate.py", "interp_ckpt")])
def test_pages_open_on_a_shipped_model_before_any_training(app_registry, page, key):
    at = open_page(page)
    options = at.selectbox(key=key).options
    assert options[:3] == ["pretrained: mnist-cdcgan", "pretrained: mnist-dcgan", "pretrained: ring8-mlp"]
    assert at.selectbox(key=key).value == "pretrained: mnist-cdcgan" and at.get("plotly_chart")


def test_a_class_picked_for_one_model_is_not_carried_to_a_clustered_one(app_registry):
    """Digit 7 of the conditional model is not cluster 7 of the self-conditioned one: the pick starts afresh."""
    at = open_page("pages/samples.py")
    picker(at, "Class").set_value(7).run()
    at.selectbox(key="samples_ckpt").set_value("pretrained: mnist-dcgan").run()
    cluster = picker(at, "Cluster")
    assert cluster.value is None and cluster.options[:2] == ["drawn at their real shares", "cluster 0"]
    assert not at.exception


def test_samples_page_draws_from_a_checkpoint(trained):
    at = open_page("pages/samples.py")
    at.selectbox(key="samples_ckpt").set_value(next(o for o in at.selectbox(key="samples_ckpt").options
                                                    if "digits" in o)).run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert charts, "the sample grid is missing"
    figure = json.loads(charts[0].proto.spec)
    assert figure["data"][0]["type"] == "image"
    picker(at, "Class").set_value(3).run()
    assert not at.exception
    assert len(at.get("download_button")) == 1


def test_interpolate_page_paths(trained):
    at = open_page("pages/interpolate.py")
    options = at.selectbox(key="interp_ckpt").options
    at.selectbox(key="interp_ckpt").set_value(next(o for o in options if "digits" in o)).run()
    assert not at.exception
    anims = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [a["layout"]["title"]["text"] for a in anims] == ["lerp", "slerp"]
    assert all(len(a["frames"]) == 16 for a in anims)
    at.radio(key="interp_how").set_value("from candidates").run()
    assert not at.exception
    at.radio(key="interp_kind").set_value("four-corner plane").run()
    assert not at.exception and at.get("plotly_chart")
    at.radio(key="interp_kind").set_value("class to class").run()
    assert not at.exception
    anims = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert anims[0]["layout"]["title"]["text"] == "class path"
    assert len(at.get("download_button")) == 2  # GIF and PNG strip


def test_toy_lab_shows_the_plane_and_coverage(trained):
    at = open_page("pages/toy_lab.py")
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [trace.get("name") for trace in figure["data"]]
    assert names == ["D(x)", "G(noise grid)", "real", "generated", "modes"]
    assert any(m.label == "Modes covered" for m in at.metric)


def test_samples_page_memorization_check(trained):
    at = open_page("pages/samples.py")
    options = at.selectbox(key="samples_ckpt").options
    at.selectbox(key="samples_ckpt").set_value(next(o for o in options if "digits" in o)).run()
    assert not at.exception
    assert any("to the 5 nearest of 10,000 training images" in c.value for c in at.caption)
    assert len(at.get("image")) == 4  # the first four samples, each beside its nearest training images


def test_an_infogan_run_on_samples_interpolate_and_runs(app_registry):
    run = app_registry.start(tiny_image_config(steps=4, info_codes=5, z_dim=16), name="codes")
    assert run.wait(60)
    at = open_page("pages/samples.py")
    options = at.selectbox(key="samples_ckpt").options
    at.selectbox(key="samples_ckpt").set_value(next(o for o in options if "codes" in o)).run()
    assert any("InfoGAN, 5 codes" in c.value for c in at.caption)
    code = picker(at, "InfoGAN code")
    assert code.options == ["as drawn", "each in turn (a column per code)", *[f"code {i}" for i in range(5)]]
    at.number_input(key="samples_n").set_value(10)
    code.set_value("each").run()
    assert not at.exception
    pixels = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["z"]
    assert pixels["shape"] == f"{2 * 30 + 2}, {5 * 30 + 2}, 3"  # a column per code: 2 rows of 5 digits
    at = open_page("pages/interpolate.py")
    at.selectbox(key="interp_ckpt").set_value(next(o for o in options if "codes" in o)).run()
    assert "each in turn (a column per code)" not in picker(at, "InfoGAN code").options
    picker(at, "InfoGAN code").set_value(2).run()
    assert not at.exception and len(at.get("plotly_chart")) == 2
    at = open_page("pages/runs.py")
    metric = next(s for s in at.selectbox if s.label == "Metric")
    assert "InfoGAN code loss (cross-entropy)" in metric.options
