"""The Directions page: a grid of the shipped model's directions, sliders that combine them, the table of what
each does, an uploaded z, and bad input as clear messages."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from pagetest import open_page, picker, texts

from ganplay import directions
from ganplay.latent_files import latent_bytes


@pytest.fixture
def page(app_registry, tmp_path, monkeypatch):
    """The page on the default shipped model; its cache files go to a temporary folder, not checkpoints/."""
    monkeypatch.setattr(directions, "cache_path", lambda path, method, weights: tmp_path / f"{method}-{weights}.npz")
    return open_page("pages/directions.py")


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_the_page_opens_on_a_sefa_grid_of_the_shipped_model(downloads, page):
    assert picker(page, "Model").value == "pretrained: mnist-cdcgan"
    assert page.get("plotly_chart") and "rows: directions 1-8, strongest first" in texts(page)
    assert "class 0 held" in texts(page)
    assert "mnist-cdcgan_sefa_8dirs_seed0_s3.png" in downloads
    picker(page, "Class").set_value(7)
    page.selectbox(key="dirs_method").set_value("pca")
    page.number_input(key="dirs_k:32").set_value(3).run()
    assert not page.exception, [e.message for e in page.exception]
    assert "rows: directions 1-3" in texts(page) and "class 7 held" in texts(page)
    assert [s.label for s in page.slider if s.label.startswith("Direction")] == [f"Direction {i}" for i in (1, 2, 3)]


def test_sliders_combine_directions_into_one_image(page):
    page.slider(key="dirs_mix:0").set_value(2.0)
    page.slider(key="dirs_mix:2").set_value(-1.5).run()
    assert not page.exception, [e.message for e in page.exception]
    captions = [c for image in page.image for c in image.captions]
    assert captions == ["z", "z moved: +2 x direction 1, -1.5 x direction 3"]


def test_the_table_says_what_the_top_five_do(page):
    page.toggle(key="dirs_describe").set_value(True).run()
    assert not page.exception, [e.message for e in page.exception]
    table = page.dataframe[0].value
    assert list(table["direction"]) == ["1", "2", "3", "4", "5", "random"]
    assert table["reads as"].str.startswith("-3 -> +3: ").all() and "pixels moved" in texts(page)


def test_an_uploaded_z_is_the_centre_and_a_wrong_one_a_clear_error(page):
    page.radio(key="dirs_source").set_value("an uploaded z (.npz or .npy)").run()
    assert not page.get("plotly_chart")  # nothing to draw until a file comes
    page.file_uploader[0].set_value(("z.npy", npy(np.zeros(100, np.float32)), "application/octet-stream")).run()
    assert "holds z alone, and this model takes a class" in page.error[0].value  # the inversion's class, please
    picker(page, "Class").set_value(4).run()
    assert not page.exception and not page.error and page.get("plotly_chart")
    page.file_uploader[0].set_value(("bad.npy", npy(np.zeros((3, 4))), "application/octet-stream")).run()
    error = page.error[0].value.replace("\\", "")
    assert error.startswith("bad.npy: a z is one row of numbers; this holds float64 of shape (3, 4)")
    picker(page, "Class").set_value(None)
    found = latent_bytes(torch.zeros(100), 6, "mnist-cdcgan")  # the Restore page's z download: z and its class
    page.file_uploader[0].set_value(("z6.npz", found, "application/octet-stream")).run()
    assert not page.exception and not page.error and "class 6 held" in texts(page)


def test_a_2d_model_gets_a_clear_message(page):
    picker(page, "Model").set_value("pretrained: ring8-mlp").run()
    assert not page.exception, [e.message for e in page.exception]
    assert "ring8-mlp: latent directions need an image model" in page.error[0].value.replace("\\", "")
    assert not page.get("plotly_chart")
