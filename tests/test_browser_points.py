"""In Chromium: draw three blobs with the brush, use them as the dataset, train a few hundred steps from the form,
and see G cover all three; the Toy 2-D lab shows the run's grid KL and JS. Fixtures: browser_kit.py."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from browser_kit import no_exception, open_nav, shots_folder, wait_for, whole_page

from ganplay.checkpoints import load_generator
from ganplay.point_files import RUN_COPY, read_points
from ganplay.sampling import sample

pytestmark = pytest.mark.slow

BLOBS = [(0.25, 0.7), (0.75, 0.7), (0.5, 0.28)]  # centres as fractions of the canvas (y down)
STEPS = 600


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """Drawn points are saved under $GANPLAY_DATA: a temporary folder, set before the server starts."""
    monkeypatch.setenv("GANPLAY_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def scribble(page, canvas, cx: float, cy: float, radius: float = 0.06, turns: int = 3) -> None:
    """Drag the brush round and round a centre, widening, as a person fills a blob."""
    box = canvas.bounding_box()
    x0, y0, side = box["x"], box["y"], box["width"]
    for i in range(61):
        t = i / 60
        angle, r = t * turns * 2 * math.pi, radius * (0.3 + 0.7 * t)
        page.mouse.move(x0 + (cx + r * math.cos(angle)) * side, y0 + (cy + r * math.sin(angle)) * side)
        if i == 0:
            page.mouse.down()
    page.mouse.up()


def blob_shares(points: np.ndarray, real: np.ndarray) -> np.ndarray:
    """The share of `points` on each of the three blobs of `real` (k-means, 3 clusters, farthest-point start)."""
    centres = [real[0]]
    for _ in range(2):
        centres.append(real[np.argmax(np.min([np.linalg.norm(real - c, axis=1) for c in centres], axis=0))])
    centres = np.stack(centres)
    for _ in range(20):
        near = np.argmin(np.linalg.norm(real[:, None] - centres[None], axis=-1), 1)
        centres = np.stack([real[near == k].mean(0) for k in range(3)])
    radius = max(np.linalg.norm(real[near == k] - centres[k], axis=1).max() for k in range(3))
    dist = np.linalg.norm(points[:, None] - centres[None], axis=-1)
    on = dist.min(1) <= radius
    return np.bincount(dist.argmin(1)[on], minlength=3) / len(points)


def test_draw_three_blobs_train_on_them_and_cover_all_three(data_dir, server, browser, tmp_path):
    shots = shots_folder()
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server)
    open_nav(page, server, "Train")
    page.get_by_role("combobox", name="Dataset").click()
    page.get_by_role("option", name=re.compile("your own 2-D points")).click()
    page.get_by_text("brush: drag to spray").click()
    wait_for(lambda: page.locator("canvas").count() >= 2, what="the drawing canvas")
    page.wait_for_timeout(1000)  # the canvas takes mouse events once Fabric has set it up
    canvas = page.locator("canvas").last
    canvas.scroll_into_view_if_needed()
    scribble(page, canvas, *BLOBS[0])
    page.get_by_text("points drawn: at least 10 are needed").or_(page.get_by_text("(one colour: no labels)")).wait_for(
        timeout=30_000
    )
    for centre in BLOBS[1:]:
        scribble(page, canvas, *centre)
        page.wait_for_timeout(500)
    page.get_by_text("(one colour: no labels)").wait_for(timeout=30_000)
    page.get_by_role("button", name="Use these points").click()
    page.get_by_text("saved as").first.wait_for(timeout=30_000)
    [saved] = list((data_dir / "points").glob("drawn-*.csv"))
    drawn = read_points(saved)
    assert len(drawn.xy) > 60  # sprayed along three strokes

    steps = page.get_by_label("Training steps", exact=True)
    steps.fill(str(STEPS))
    steps.press("Tab")
    page.get_by_text("custom").first.wait_for(timeout=30_000)  # the new step count has reached the form
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(f"step {STEPS:,} / {STEPS:,}").first.wait_for(timeout=300_000)
    no_exception(page)
    whole_page(page, shots / "train_points.png")

    [run] = list((tmp_path / "runs").iterdir())
    assert read_points(run / RUN_COPY).fingerprint == drawn.fingerprint  # the run's own copy of the drawing
    generator, ckpt = load_generator(run)
    generated = sample(generator, ckpt, 2500, seed=12345).numpy()
    shares = blob_shares(generated, drawn.normalised())
    print(f"share of 2,500 generated points on each drawn blob after {STEPS} steps: {shares.round(3).tolist()}")
    assert shares.min() > 0.15 and shares.sum() > 0.75  # all three covered, most points on a blob

    open_nav(page, server, "Toy 2-D lab")
    page.get_by_text("Grid KL (bits)").wait_for(timeout=60_000)
    kl = float(page.get_by_test_id("stMetricValue").first.inner_text())
    print(f"the lab's grid KL of the run's 1,000 fixed-noise points: {kl:.3f} bits")
    assert 0 < kl < 5
    page.wait_for_timeout(1000)
    whole_page(page, shots / "toy_lab_points.png")
    no_exception(page)
