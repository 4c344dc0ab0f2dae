"""Every page through Streamlit's AppTest: renders, shows checkpoints, live quality, InfoGAN and clusters."""

from __future__ import annotations

import json

import pytest
from conftest import tiny_image_config, tiny_toy_config
from pagetest import APP, PAGES, open_page, picker, texts
from streamlit.testing.v1 import AppTest


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


def test_live_refresh_period_defaults_to_a_second_and_follows_the_url(app_registry):
    """Every run refreshes each second unless asked; a choice lands in ?refresh= and is read back."""
    app_registry.start(tiny_toy_config(steps=100_000), name="long")
    at = open_page("pages/train.py")
    refresh = at.segmented_control(key="refresh_choice")
    assert refresh.value == 1 and "refresh" not in at.query_params
    refresh.set_value(5).run()
    assert at.query_params["refresh"] == "5"
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params["refresh"] = "2"
    fresh.run().switch_page("pages/train.py").run()
    assert fresh.segmented_control(key="refresh_choice").value == 2


def test_live_quality_on_train_and_runs_pages(trained):
    at = open_page("pages/train.py")
    picker(at, "Run").set_value("digits").run()
    assert "best.pt holds step 4" in texts(at) and "asked-for class" in texts(at)
    at.switch_page("pages/runs.py").run()
    table = at.dataframe[0].value
    assert table.loc[table["name"] == "digits", "best.pt step"].item() == 4
    assert table.isna().loc[table["name"] == "toy", "best.pt step"].item()  # 0 of 8 clusters: nothing to keep
    assert "modes" in table.loc[table["name"] == "toy", "score"].item()


@pytest.mark.parametrize("page, key", [("pages/samples.py", "samples_ckpt"), ("pages/interpolate.py", "interp_ckpt")])
def test_pages_open_on_a_shipped_model_before_any_training(app_registry, page, key):
    at = open_page(page)
    options = picker(at, "Model").options
    assert options[:3] == ["pretrained: mnist-cdcgan", "pretrained: mnist-dcgan", "pretrained: ring8-mlp"]
    assert at.session_state[key] == "pretrained: mnist-cdcgan" and at.get("plotly_chart")


def test_a_class_picked_for_one_model_is_not_carried_to_a_clustered_one(app_registry):
    """Digit 7 of the conditional model is not cluster 7 of the self-conditioned one: the pick starts afresh."""
    at = open_page("pages/samples.py")
    picker(at, "Class").set_value(7).run()
    picker(at, "Model").set_value("pretrained: mnist-dcgan").run()
    cluster = picker(at, "Cluster")
    assert cluster.value is None and cluster.options[:2] == ["drawn at their real shares", "cluster 0: mostly 7 (100%)"]
    assert not at.exception


def test_samples_page_draws_from_a_checkpoint(trained):
    at = open_page("pages/samples.py")
    picker(at, "Model").set_value("run: digits").run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert charts, "the sample grid is missing"
    figure = json.loads(charts[0].proto.spec)
    assert figure["data"][0]["type"] == "image"
    picker(at, "Class").set_value(3).run()
    assert not at.exception
    assert len(at.get("download_button")) == 1


def test_samples_page_memorization_check(trained):
    at = open_page("pages/samples.py")
    picker(at, "Model").set_value("run: digits").run()
    assert not at.exception
    assert any("to the 5 nearest of 10,000 training images" in c.value for c in at.caption)
    assert len(at.get("image")) == 4  # the first four samples, each beside its nearest training images


def test_an_infogan_run_on_samples_interpolate_and_runs(app_registry):
    run = app_registry.start(tiny_image_config(steps=4, info_codes=5, z_dim=16), name="codes")
    assert run.wait(60)
    at = open_page("pages/samples.py")
    picker(at, "Model").set_value("run: codes").run()
    assert any("InfoGAN, 5 codes" in c.value for c in at.caption)
    code = picker(at, "InfoGAN code")
    assert code.options == ["as drawn", "each in turn (a column per code)", *[f"code {i}" for i in range(5)]]
    at.number_input(key="samples_n:image").set_value(10)
    code.set_value("each").run()
    assert not at.exception
    pixels = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["z"]
    assert pixels["shape"] == f"{2 * 30 + 2}, {5 * 30 + 2}, 3"  # a column per code: 2 rows of 5 digits
    at = open_page("pages/interpolate.py")
    picker(at, "Model").set_value("run: codes").run()
    assert "each in turn (a column per code)" not in picker(at, "InfoGAN code").options
    picker(at, "InfoGAN code").set_value(2).run()
    assert not at.exception and len(at.get("plotly_chart")) == 2
    at = open_page("pages/runs.py")
    metric = next(s for s in at.selectbox if s.label == "Metric")
    assert "InfoGAN code loss (cross-entropy)" in metric.options
