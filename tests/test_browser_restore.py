"""In Chromium, as a new user: draw a digit, paint over part of it, restore it; then morph between two real
digits in Interpolate from the latent files Restore saved. Fixtures and helpers: browser_kit.py."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from browser_kit import no_exception, open_nav, shots_folder, wait_for, whole_page

pytestmark = pytest.mark.slow

SEVEN = [(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]  # a 7: the bar, then the diagonal
ERASE = [(0.25, 0.45), (0.75, 0.45)]  # a band across the diagonal


def stroke(page, canvas, points: list[tuple[float, float]]) -> None:
    """Drag the mouse through points given as fractions of the canvas, as a person draws."""
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0, side = box["x"], box["y"], box["width"]
    page.mouse.move(x0 + points[0][0] * side, y0 + points[0][1] * side)
    page.mouse.down()
    for (ax, ay), (bx, by) in itertools.pairwise(points):
        for t in np.linspace(0.1, 1, 10):
            page.mouse.move(x0 + (ax + (bx - ax) * t) * side, y0 + (ay + (by - ay) * t) * side)
    page.mouse.up()


def two_panel_animation(page):
    """Whether the page shows lerp and slerp in one animation (a predicate for wait_for)."""
    return lambda: page.evaluate(
        "[...document.querySelectorAll('.js-plotly-plot')].some(c => c.data && c.data.length === 2)"
    )


def restore_and_save_z(page, path, expect: str) -> float:
    """Click Restore, wait for a result that says `expect`; the seconds it took, its latent file saved at path."""
    started = time.monotonic()
    page.get_by_role("button", name="Restore", exact=True).click()
    page.get_by_text(expect).wait_for(timeout=120_000)  # not the last result, still shown as the click lands
    took = time.monotonic() - started
    no_exception(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Found z (.npz)").click()
    download.value.save_as(path)
    return took


def test_draw_erase_restore_then_morph_two_real_digits(server, browser, tmp_path):
    shots = shots_folder()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    open_nav(page, server, "Restore")
    page.get_by_text("a drawing").click()
    wait_for(lambda: page.locator("canvas").count() >= 3, what="the drawing canvas (Fabric draws on 3)")
    page.wait_for_timeout(1000)  # the canvas takes mouse events once Fabric has set it up
    stroke(page, page.locator("canvas").last, SEVEN)
    page.get_by_text("what G sees").wait_for(timeout=30_000)

    page.get_by_text("painted mask").click()
    page.get_by_text("Eraser width").wait_for(timeout=30_000)
    wait_for(lambda: page.locator("canvas").count() >= 6, what="the painting canvas over the drawn digit")
    page.wait_for_timeout(1000)
    stroke(page, page.locator("canvas").last, ERASE)
    page.get_by_text("what G sees").wait_for(timeout=30_000)
    # the drawn 7, with a band of its diagonal erased, is still a 7
    took = restore_and_save_z(page, tmp_path / "seven.npz", "Found class 7")
    print(f"drawn 7, painted mask: restored in {took:.1f} s in the browser")
    whole_page(page, shots / "restore.png")

    page.get_by_text("a bundled digit").click()
    page.get_by_text("none", exact=True).click()
    digit = page.get_by_label("Digit of the bundled MNIST (0-9,999)")
    digit.fill("1")  # the bundled test set's second digit: a 2
    digit.press("Enter")
    page.get_by_text("what G sees").wait_for(timeout=30_000)
    restore_and_save_z(page, tmp_path / "two.npz", "Found class 2, MSE")

    open_nav(page, server, "Interpolate")
    wait_for(two_panel_animation(page), what="the seed walk Interpolate opens on")  # its first run is over
    page.get_by_text("from found z files").click()
    page.get_by_text("Latent files, in order").wait_for(timeout=60_000)
    page.locator("input[type=file]").set_input_files([str(tmp_path / "seven.npz"), str(tmp_path / "two.npz")])
    page.get_by_text("Each keyframe keeps the class").wait_for(timeout=60_000)  # the morph, not the seed walk
    wait_for(two_panel_animation(page), what="lerp and slerp of the morph in one animation")
    page.get_by_text("Play", exact=True).first.click()
    page.wait_for_timeout(1200)
    no_exception(page)
    page.screenshot(path=str(shots / "interpolate-found.png"))
