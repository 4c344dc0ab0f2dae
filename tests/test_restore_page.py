"""The Restore page: a bundled digit restored with live progress, and bad input as clear messages."""

from __future__ import annotations

import io

import numpy as np
import pytest
from pagetest import open_page, picker, texts
from PIL import Image

from ganplay.latent_files import read_latent

JOB_KEY = "restore_job"


@pytest.fixture
def page(app_registry):
    """The Restore page on the default shipped model; its restoration, if any, is stopped at teardown."""
    at = open_page("pages/restore.py")
    yield at
    if JOB_KEY in at.session_state:
        job = at.session_state[JOB_KEY][0]
        job.cancel()
        assert job.wait(30)


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_page_opens_on_a_shipped_image_model(page):
    assert picker(page, "Model").value == "pretrained: mnist-cdcgan"
    assert [b for b in page.button if b.label == "Restore"]
    assert page.image[0].captions == ["what G sees"]
    assert picker(page, "Class").options[:2] == ["try every one", "0"]
    picker(page, "Model").set_value("pretrained: mnist-dcgan").run()
    assert not page.exception and len(picker(page, "Cluster").options) == 51  # every cluster, or one of the 50


def test_a_masked_digit_is_restored_with_live_progress_then_three_pictures(page, downloads):
    page.radio(key="restore_damage").set_value("mask preset").run()
    page.selectbox(key="restore_preset").set_value("centre")
    page.number_input(key="restore_steps").set_value(20)
    page.number_input(key="restore_restarts").set_value(1).run()
    next(b for b in page.button if b.label == "Restore").click().run()
    assert not page.exception, [e.message for e in page.exception]
    job = page.session_state[JOB_KEY][0]
    assert job.steps == 20 and job.restarts == 1 and job.known is not None
    if job.snapshot().active:  # the live view: a Stop button beside the progress
        assert [b for b in page.button if b.label == "Stop"]
    assert job.wait(60)
    page.run()
    assert not page.exception, [e.message for e in page.exception]
    captions = [c for image in page.image for c in image.captions]
    assert captions[-3:] == ["damaged input", "raw reconstruction G(z)", "restored: known pixels, G's fill"]
    shown = texts(page)
    assert "Found class " in shown and "(the digit is a 7)" in shown  # digit 0 of the MNIST test split is a 7
    assert "against the undamaged image: MSE" in shown and "give two or more to Interpolate" in shown
    stem = f"mnist-cdcgan_class{job.snapshot().result.label}_digit0_centre"
    restored = Image.open(io.BytesIO(downloads[f"{stem}_restored.png"]))
    assert restored.size == (28, 28)
    latent = read_latent(io.BytesIO(downloads[f"{stem}_z.npz"]), name="z.npz")
    assert latent.z.shape == (job.ckpt.config.z_dim,) and latent.model == "mnist-cdcgan"
    assert latent.label == job.snapshot().result.label  # the class it was found with travels with z


def test_stop_cancels_a_running_restoration(page):
    page.number_input(key="restore_steps").set_value(2_000).run()
    next(b for b in page.button if b.label == "Restore").click().run()
    job = page.session_state[JOB_KEY][0]
    stop = [b for b in page.button if b.label == "Stop"]
    assert stop, "a 2,000-step restoration is still going on the first rerun"
    stop[0].click().run()
    assert job.wait(30)
    page.run()
    assert "Stopped at step" in texts(page)


def test_a_non_image_upload_is_a_clear_error(page):
    page.radio(key="restore_target").set_value("an uploaded image").run()
    page.file_uploader[0].set_value(("notes.png", b"this is no picture", "image/png")).run()
    assert not page.exception, [e.message for e in page.exception]
    [error] = [e.value for e in page.error]
    assert error.replace("\\", "") == "notes.png: not an image this tool can read (UnidentifiedImageError)"
    assert not [b for b in page.button if b.label == "Restore"]


@pytest.mark.parametrize("fill, message", [(255, "covers every pixel"), (0, "marks no pixel as missing")])
def test_an_all_covering_or_empty_mask_is_a_clear_error(page, fill, message):
    page.radio(key="restore_damage").set_value("uploaded mask").run()
    page.file_uploader[0].set_value(("mask.png", png(np.full((28, 28), fill, np.uint8)), "image/png")).run()
    assert not page.exception, [e.message for e in page.exception]
    assert message in page.error[0].value


def test_an_uploaded_colour_picture_says_it_was_converted(page):
    page.radio(key="restore_target").set_value("an uploaded image").run()
    photo = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    page.file_uploader[0].set_value(("photo.png", png(photo), "image/png")).run()
    assert not page.exception, [e.message for e in page.exception]
    assert "made grey" in texts(page) and "cropped to the centre square" in texts(page)


def test_a_2d_model_gets_a_clear_message(page):
    picker(page, "Model").set_value("pretrained: ring8-mlp").run()
    assert not page.exception, [e.message for e in page.exception]
    assert "ring8-mlp makes 2-D points: restoration needs an image model" in page.error[0].value.replace("\\", "")
    assert not [b for b in page.button if b.label == "Restore"]


def test_a_drawing_or_painted_mask_waits_for_strokes(page):
    """Until something is drawn (or painted), the page says what to do, and offers no Restore to press."""
    page.radio(key="restore_target").set_value("a drawing").run()
    assert not page.exception, [e.message for e in page.exception]
    assert "draw an image" in page.info[0].value and not [b for b in page.button if b.label == "Restore"]
    page.radio(key="restore_target").set_value("a bundled digit").run()
    page.radio(key="restore_damage").set_value("painted mask").run()
    assert not page.exception, [e.message for e in page.exception]
    assert "paint or upload the mask" in page.info[0].value and not [b for b in page.button if b.label == "Restore"]
