"""The 2-D lab's server-drawn picture: every layer lands where its data says, in the lab's colours."""

from __future__ import annotations

import numpy as np
import pytest

from ganplay import toy_plots
from ganplay.drawing import nice_ticks, rgba
from ganplay.toy_picture import PlotBox, heat_colours, toy_picture

EXTENT = 1.5


def pixel(picture, box: PlotBox, xy) -> tuple[int, ...]:
    (x, y) = box.pixels(np.array([xy]))[0]
    return picture.image.getpixel((round(x), round(y)))


def box_of(picture) -> PlotBox:
    """The plot square of a picture with the lab's plane [-EXTENT, EXTENT]^2 and nothing beyond it."""
    from ganplay import drawing
    from ganplay import toy_picture as tp

    s = drawing.SCALE
    return PlotBox(tp.MARGIN_LEFT * s, tp.MARGIN_TOP * s, tp.PLOT_SIDE * s, -EXTENT, EXTENT, -EXTENT, EXTENT)


def close(a, b, tolerance=12) -> bool:
    return all(abs(int(x) - int(y)) <= tolerance for x, y in zip(a[:3], b[:3]))


def blended(colour: str) -> tuple[int, int, int]:
    """A translucent lab colour as it looks on white."""
    r, g, b, a = rgba(colour)
    return tuple(round(c * a / 255 + 255 * (1 - a / 255)) for c in (r, g, b))


def test_points_rings_and_heat_land_where_their_values_say():
    xs = np.linspace(-EXTENT, EXTENT, 8)
    values = np.where(xs[None, :] > 0, 1.0, 0.0) * np.ones((8, 1))  # D says real on the right half, fake on the left
    fake = np.array([[-0.75, 0.75]])
    real = np.array([[0.75, -0.75]])
    modes = np.array([[0.75, 0.75]])
    scale = toy_plots.d_scale("nsgan", values)
    picture = toy_picture(fake, real, modes, (xs, xs, values), None, title="t", scale=scale, extent=EXTENT)
    box = box_of(picture)
    green, purple = (rgba(c) for _, c in (toy_plots.HEAT_COLORS[2], toy_plots.HEAT_COLORS[0]))
    assert close(pixel(picture, box, (1.2, -1.2)), green) and close(pixel(picture, box, (-1.2, 1.2)), purple)
    orange_on_purple = pixel(picture, box, (-0.75, 0.75))
    assert orange_on_purple[0] > 190 and orange_on_purple[2] < 90  # the generated point, over D's purple
    blue = pixel(picture, box, (0.75, -0.75))
    assert blue[2] > blue[0] + 40  # the real point, blue over green
    assert close(pixel(picture, box, (0.75, 0.75)), green)  # a ring is hollow: its centre shows what lies below
    r = 7 * 2  # the ring's radius in pixels (SCALE 2)
    (cx, cy) = box.pixels(modes)[0]
    assert picture.image.getpixel((int(cx + r), int(cy)))[:3] == (0, 0, 0)
    assert picture.outside == 0


def test_arrows_point_along_the_force():
    fake = np.array([[0.0, 0.0], [-1.0, -1.0], [1.0, 1.0]])
    forces = np.array([[1.0, 0.0]])  # the first point is pushed right
    picture = toy_picture(fake, forces=forces, extent=EXTENT)
    box = box_of(picture)
    tip = toy_plots.arrow_heads(fake[:1], forces, toy_plots.plot_span(fake, None))[0]
    along = pixel(picture, box, (tip[0] * 0.6, 0.0))
    assert close(along, blended(toy_plots.TOY_COLORS["push"]), 30)
    assert pixel(picture, box, (-tip[0] * 0.6, 0.0))[:3] == (255, 255, 255)  # nothing drawn behind the point


def test_the_noise_grid_is_drawn_and_far_points_are_counted():
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, 3), np.linspace(-1, 1, 3)), -1)  # (3, 3, 2)
    fake = np.array([[0.5, 0.5], [50.0, 0.0], [np.nan, 0.0]])
    picture = toy_picture(fake, manifold=grid, extent=EXTENT)
    assert picture.outside == 1  # the one at x = 50 (the NaN one is not drawn, and not counted as beyond)
    image = np.asarray(picture.image)
    assert (np.abs(image.astype(int) - blended(toy_plots.TOY_COLORS["noise grid"])).max(-1) < 20).sum() > 500


def test_without_d_the_picture_has_no_colour_bar():
    fake = np.zeros((4, 2))
    with_d = toy_picture(fake, heatmap=(np.linspace(-1, 1, 4),) * 2 + (np.zeros((4, 4)),), extent=EXTENT)
    without = toy_picture(fake, extent=EXTENT)
    assert without.image.width < with_d.image.width


def test_heat_colours_clip_to_the_scale_and_mark_bad_values_grey():
    scale = toy_plots.d_scale("hinge", np.zeros(1))
    out = heat_colours(np.array([[-5.0, 0.0, 5.0, np.nan]]), scale)
    stops = [rgba(c)[:3] for _, c in toy_plots.HEAT_COLORS]
    assert out[0, 0].tolist() == list(stops[0]) and out[0, 2].tolist() == list(stops[2])
    assert out[0, 1].tolist() == list(stops[1]) and out[0, 3].tolist() == [190, 190, 190]


@pytest.mark.parametrize(
    "low, high, expected",
    [(-1.5, 1.5, [-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5]), (0.0, 10.0, [0, 2, 4, 6, 8, 10]), (3.0, 3.0, [3.0])],
)
def test_nice_ticks(low, high, expected):
    assert nice_ticks(low, high) == pytest.approx(expected)
