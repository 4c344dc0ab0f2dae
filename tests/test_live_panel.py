"""The live panel's data (pages/live_panel.py): what each state of a run shows, and the samples' PNG reused."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from ganplay.run_state import RunSnapshot, RunState
from pages.live_panel import panel_data, samples_png


def snapshot(tmp_path, **changes) -> RunSnapshot:
    base = dict(name="r", folder=str(tmp_path), state=RunState.RUNNING, step=30, total_steps=120)
    return RunSnapshot(**{**base, "config": {"dataset": "mnist-bundled", "arch": "dcgan", "loss": "nsgan"}, **changes})


def history(steps: int) -> list[dict[str, float]]:
    rng = np.random.default_rng(0)
    return [
        {"step": s, "loss_d": float(rng.random()), "loss_g": 1.0, "d_real": 0.6, "d_fake": 0.4}
        for s in range(10, steps + 1, 10)
    ]


def decoded(picture: dict[str, str]) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(picture["src"].removeprefix("data:image/png;base64,"))))


def test_a_queued_run_says_it_waits_and_shows_no_bar(tmp_path):
    data = panel_data(snapshot(tmp_path, state=RunState.QUEUED, step=0), 0.6)
    assert data["state"] == "queued" and data["status"] == " · step 0 / 120"
    assert data["waiting"].startswith("waiting for a free training slot") and "dcgan" in data["waiting"]
    assert "progress" not in data and "progress_text" not in data
    assert data["samples_note"].startswith("The first samples") and data["loss_note"].startswith("The first metrics")
    assert "loss" not in data and "d" not in data and "samples" not in data


def test_a_running_run_shows_its_speed_bar_samples_and_charts(tmp_path):
    grid = np.zeros((62, 62, 3), np.uint8)
    grid[10:20, 10:20] = 255
    snap = snapshot(
        tmp_path, history=history(30), grid=grid, grid_step=30, images_per_sec=1234.4, eta_seconds=75, device="CPU"
    )
    data = panel_data(snap, 0.6)
    assert data["status"] == " · step 30 / 120 · 1,234 images/s · ETA 1m 15s"
    assert data["progress"] == 0.25 and data["progress_text"] == "25% · mnist-bundled · dcgan · nsgan · CPU"
    samples = decoded(data["samples"])
    assert samples.size == (62, 62) and np.array_equal(np.asarray(samples.convert("RGB")), grid)
    assert data["samples"]["alt"] == data["samples_caption"] == "fixed-noise samples at step 30"
    assert data["loss"]["alt"] == "losses up to step 30" and decoded(data["loss"]).width > 400
    assert data["d"]["alt"] == "D(x) and D(G(z)) up to step 30"
    assert "verdict" not in data and data["quality_note"]  # no live metric for this run: said why


def test_the_samples_png_is_made_once_per_snapshot_step(tmp_path):
    grid = np.full((30, 30, 3), 7, np.uint8)
    first, step = samples_png(snapshot(tmp_path, grid=grid, grid_step=100))
    again, _ = samples_png(snapshot(tmp_path, grid=grid, grid_step=100))
    newer, newer_step = samples_png(snapshot(tmp_path, grid=grid + 1, grid_step=200))
    assert step == 100 and again is first  # not encoded again at each refresh
    assert newer_step == 200 and newer != first
    grey, _ = samples_png(snapshot(tmp_path, grid=np.full((30, 30, 1), 9, np.uint8), grid_step=300))  # 1 channel
    assert Image.open(io.BytesIO(grey)).getpixel((0, 0)) == 9


def test_an_ended_run_shows_its_newest_saved_samples(tmp_path):
    (tmp_path / "samples").mkdir()
    for step, shade in ((100, 10), (200, 200)):
        Image.new("RGB", (20, 20), (shade,) * 3).save(tmp_path / "samples" / f"step_{step:08d}.png")
    data = panel_data(snapshot(tmp_path, state=RunState.FINISHED, step=200, total_steps=200), 0.6)
    assert data["samples_caption"] == "fixed-noise samples at step 200"
    assert decoded(data["samples"]).convert("RGB").getpixel((0, 0)) == (200, 200, 200)
    assert data["status"] == " · step 200 / 200" and data["progress"] == 1.0
