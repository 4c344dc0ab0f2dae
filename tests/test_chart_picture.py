"""The live view's server-drawn charts: lines where their values say, faint raw values, NaN gaps, floor and ring."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ganplay import chart_picture, plots
from ganplay.chart_picture import Axes, Ring, Series, line_chart
from ganplay.drawing import SCALE, rgba, tick_label


def axes_for(series, rings=()) -> Axes:
    return chart_picture._fit(series, rings)


def colour_near(image, xy, colour, radius=3, tolerance=40) -> bool:
    """Whether some pixel within `radius` of xy has `colour` (the line is a few pixels wide)."""
    x, y = (round(v) for v in xy)
    target = np.array(rgba(colour)[:3])
    patch = np.asarray(image)[y - radius : y + radius + 1, x - radius : x + radius + 1].reshape(-1, 3).astype(int)
    return bool((np.abs(patch - target).max(axis=1) < tolerance).any())


def test_a_line_passes_through_its_points_and_a_nan_breaks_it():
    line = Series([0, 10, 20, 30, 40], [0.0, 1.0, float("nan"), 1.0, 0.0], "#1f77b4", "loss G")
    image = line_chart([line], "Losses")
    axes = axes_for([line])
    pixels = axes.pixels(line.steps, line.values)
    assert colour_near(image, pixels[1], "#1f77b4") and colour_near(image, pixels[3], "#1f77b4")
    middle = axes.pixels([20], [1.0])[0]  # where the line would run between steps 10 and 30 without the gap
    assert not colour_near(image, middle, "#1f77b4", radius=2)
    assert axes.y0 < 0.0 and axes.y1 > 1.0  # room above and below the values


def test_raw_values_are_faint_and_smoothed_ones_solid():
    history = [{"step": i, "loss_d": float(i % 2), "loss_g": 1.0} for i in range(50)]
    lines = plots.curve_lines(history, ("loss_d",), smoothing=0.9)
    assert [line.raw for line in lines] == [True, False]
    image = chart_picture.curves_picture(history, ("loss_d",), "Losses", 0.9)
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    solid = np.array(rgba(plots.LOSS_COLORS["loss_d"])[:3])
    faint = np.round(solid * 0.25 + 255 * 0.75)
    assert (np.abs(pixels - solid).max(1) < 10).sum() > 200  # the smoothed line
    assert (np.abs(pixels - faint).max(1) < 10).sum() > 200  # the raw values behind it


def test_quality_picture_dots_the_floor_and_circles_best():
    evals = [{"step": s, "fd": v, "fd_floor": 2.0} for s, v in [(100, 50.0), (200, 20.0), (300, 30.0)]]
    image = chart_picture.quality_picture(evals, "fd", "FD (live)", best_step=200)
    series = [Series([100, 200, 300], [50.0, 20.0, 30.0], "#000000", "fd")]
    axes = axes_for(series + [Series([100, 300], [2.0, 2.0], "#000000", "floor")], [Ring(200, 20.0, "#000000", "b")])
    best = axes.pixels([200], [20.0])[0]
    assert colour_near(image, best + [7 * 2, 0], chart_picture.BEST_COLOUR, radius=2)  # the ring around best.pt
    floor = axes.pixels(np.linspace(100, 300, 200), np.full(200, 2.0))
    grey = [colour_near(image, p, chart_picture.FLOOR_COLOUR, radius=0, tolerance=60) for p in floor]
    assert 0.1 < np.mean(grey) < 0.9  # dotted: some of the floor's line is drawn, not all of it


def test_one_point_and_no_finite_value_still_draw():
    one = line_chart([Series([5], [1.0], "#9467bd", "fd", markers=True)], "t")
    assert one.width == chart_picture.WIDTH * 2
    assert line_chart([Series([5, 6], [float("nan")] * 2, "#9467bd", "fd")], "t").size == one.size


def test_a_long_legend_wraps_onto_a_second_row():
    short = line_chart([Series([0, 1], [0, 1], "#1f77b4", "loss G")], "t")
    names = ["loss D", "loss G", "InfoGAN code loss (cross-entropy)", "another long name here"]
    long = line_chart([Series([0, 1], [0, 1], "#1f77b4", name) for name in names], "t")
    assert long.width == short.width and long.height == short.height + 2 * chart_picture.LEGEND_ROW * SCALE  # 3 rows


def test_tick_labels_are_short():
    assert [tick_label(v) for v in (12_000, 1_500_000, 0.25, 500)] == ["12k", "1.5M", "0.25", "500"]


def test_the_palette_png_looks_like_the_drawn_picture():
    history = [{"step": i, "loss_d": float(i % 3), "loss_g": 1.0 + i / 50} for i in range(100)]
    image = chart_picture.loss_picture(history, 0.6)
    decoded = Image.open(io.BytesIO(chart_picture.encode(image)))
    assert decoded.mode == "P" and decoded.size == image.size
    difference = np.abs(np.asarray(decoded.convert("RGB"), int) - np.asarray(image, int)).max(axis=-1)
    assert np.mean(difference > 24) < 0.002  # nearly every pixel within a small step of the drawn colour
    white = (np.asarray(image) == 255).all(axis=-1)
    assert (np.asarray(decoded.convert("RGB"))[white] == 255).all()  # the background stays white, not near it
