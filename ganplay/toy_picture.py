"""The 2-D lab's figure as a picture drawn on the server with PIL: the same layers, colours and scale as the
interactive plotly figure (toy_plots.toy_figure), without its hover and zoom.

Why a picture: a browser needs about two seconds to start plotly's 4.7 MB script before it draws the first chart,
and redrawing the chart every refresh costs it a share of a core that a 2-core machine takes from training. A
PNG appears with the page and costs the browser next to nothing per refresh; drawing it here takes milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ganplay.drawing import FRAME, INK, SCALE, font, nice_ticks, rgba
from ganplay.toy_plots import HEAT_COLORS, TOY_COLORS, HeatScale, arrow_heads, d_scale, plot_span

PLOT_SIDE = 520  # the square plot's side, in CSS pixels
MARGIN_LEFT, MARGIN_TOP, MARGIN_BOTTOM = 48, 34, 62
BAR_WIDTH, BAR_GAP, BAR_LABELS = 14, 14, 128  # the colour bar and the room its tick labels need
VIEW_LIMIT = 2.0  # the picture grows past the plane to fit points out to this many times its extent, no further


@dataclass(frozen=True)
class ToyPicture:
    image: Image.Image  # RGB
    outside: int  # generated points beyond the drawn square (drawn clipped to its edge)


@dataclass(frozen=True)
class PlotBox:
    """Where the plane [x0, x1] x [y0, y1] lands in the picture: a square of `side` pixels at (left, top)."""

    left: float
    top: float
    side: float
    x0: float
    x1: float
    y0: float
    y1: float

    def pixels(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) plane coordinates -> (N, 2) pixel coordinates, y pointing down."""
        xy = np.asarray(xy, np.float64)
        px = self.left + (xy[:, 0] - self.x0) / (self.x1 - self.x0) * self.side
        py = self.top + (self.y1 - xy[:, 1]) / (self.y1 - self.y0) * self.side
        return np.stack([px, py], axis=1)

    def inside(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy)
        return (xy[:, 0] >= self.x0) & (xy[:, 0] <= self.x1) & (xy[:, 1] >= self.y0) & (xy[:, 1] <= self.y1)


def toy_picture(
    fake: np.ndarray,
    real: np.ndarray | None = None,
    modes: np.ndarray | None = None,
    heatmap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    manifold: np.ndarray | None = None,
    title: str = "",
    scale: HeatScale | None = None,
    forces: np.ndarray | None = None,
    extent: float | None = None,
) -> ToyPicture:
    """The lab's layers, as toy_figure draws them, on one square plane with equal axes: D's output under its
    colour bar, G's noise grid, real points, generated points, G's push on the first len(forces) of them, and the
    clusters' centres. `extent`: the plane the lab evaluates, [-extent, extent]^2; the picture grows to fit the
    points up to VIEW_LIMIT times it, and counts the generated points beyond."""
    has_heat = heatmap is not None
    box = _plot_box(fake, real, heatmap, extent)
    width = MARGIN_LEFT + PLOT_SIDE + (BAR_GAP + BAR_WIDTH + BAR_LABELS if has_heat else 24)
    height = MARGIN_TOP + PLOT_SIDE + MARGIN_BOTTOM
    canvas = Image.new("RGB", (width * SCALE, height * SCALE), "white")
    if has_heat:
        scale = scale or d_scale(None, heatmap[2])
        _draw_heat(canvas, box, heatmap, scale)
    draw = ImageDraw.Draw(canvas, "RGBA")  # "RGBA": translucent colours blend with what is already drawn
    if manifold is not None:
        _draw_grid_lines(draw, box, manifold)
    if real is not None:
        _draw_dots(draw, box, real, TOY_COLORS["real"])
    _draw_dots(draw, box, fake, TOY_COLORS["generated"])
    if forces is not None and len(forces):
        heads = arrow_heads(fake[: len(forces)], forces, plot_span(fake, real))
        _draw_arrows(draw, box, fake[: len(forces)], heads)
    if modes is not None:
        _draw_rings(draw, box, modes)
    _draw_axes(draw, box)
    if has_heat:
        _draw_colour_bar(draw, box, scale)
    _draw_title(draw, title)
    _draw_legend(draw, real is not None, modes is not None, manifold is not None, forces is not None and len(forces))
    finite = np.isfinite(fake).all(axis=1)
    return ToyPicture(canvas, int((finite & ~box.inside(fake)).sum()))


def _plot_box(fake: np.ndarray, real: np.ndarray | None, heatmap: tuple | None, extent: float | None) -> PlotBox:
    """A square view: the lab's plane, grown to the points (up to VIEW_LIMIT times the plane), with a margin."""
    both = fake if real is None else np.concatenate([fake, real])
    both = np.asarray(both, np.float64)[np.isfinite(both).all(axis=1)]
    if extent is None and heatmap is not None:
        extent = float(max(np.abs(heatmap[0]).max(), np.abs(heatmap[1]).max()))
    if extent is not None:
        limit = VIEW_LIMIT * extent
        both = np.clip(both, -limit, limit) if both.size else np.zeros((1, 2))
        low = np.minimum(both.min(axis=0), -extent)
        high = np.maximum(both.max(axis=0), extent)
    else:
        both = both if both.size else np.zeros((1, 2))
        low, high = both.min(axis=0), both.max(axis=0)
    centre = (low + high) / 2
    half = max(float((high - low).max()) / 2, 1e-6) * (1.0 if extent is not None else 1.06)  # the plane has room
    s = SCALE
    return PlotBox(
        MARGIN_LEFT * s,
        MARGIN_TOP * s,
        PLOT_SIDE * s,
        centre[0] - half,
        centre[0] + half,
        centre[1] - half,
        centre[1] + half,
    )


def _draw_heat(canvas: Image.Image, box: PlotBox, heatmap: tuple, scale: HeatScale) -> None:
    """D's values as colours on the plane they were computed on (cell centres xs, ys), outside it white."""
    xs, ys, values = (np.asarray(a, np.float64) for a in heatmap)
    colours = heat_colours(values, scale)[::-1]  # rows from the top (high y) down
    dx = (xs[-1] - xs[0]) / max(len(xs) - 1, 1)
    dy = (ys[-1] - ys[0]) / max(len(ys) - 1, 1)
    corners = box.pixels(np.array([[xs[0] - dx / 2, ys[-1] + dy / 2], [xs[-1] + dx / 2, ys[0] - dy / 2]]))
    (left, top), (right, bottom) = np.round(corners).astype(int)
    tile = Image.fromarray(colours, "RGB").resize(
        (max(right - left, 1), max(bottom - top, 1)), Image.NEAREST
    )  # cells, as plotly draws a heat map
    # Only the plot square shows the heat map: crop the part of the tile that reaches past it.
    square = (int(box.left), int(box.top), int(box.left + box.side), int(box.top + box.side))
    visible = (max(left, square[0]), max(top, square[1]), min(right, square[2]), min(bottom, square[3]))
    if visible[2] > visible[0] and visible[3] > visible[1]:
        part = tile.crop((visible[0] - left, visible[1] - top, visible[2] - left, visible[3] - top))
        canvas.paste(part, visible[:2])


def heat_colours(values: np.ndarray, scale: HeatScale) -> np.ndarray:
    """(R, C) values -> (R, C, 3) uint8 colours on HEAT_COLORS between scale.low and scale.high (end colours
    beyond; grey where a value is not finite)."""
    stops = np.array([p for p, _ in HEAT_COLORS])
    rgb = np.array([rgba(c)[:3] for _, c in HEAT_COLORS], np.float64)
    t = np.clip((np.nan_to_num(values, nan=0.5) - scale.low) / max(scale.high - scale.low, 1e-12), 0.0, 1.0)
    out = np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=-1)
    out[~np.isfinite(values)] = 190
    return np.round(out).astype(np.uint8)


def _clip_to(box: PlotBox, px: np.ndarray) -> np.ndarray:
    return np.clip(px, [box.left, box.top], [box.left + box.side, box.top + box.side])


def _draw_dots(draw: ImageDraw.ImageDraw, box: PlotBox, points: np.ndarray, colour: str) -> None:
    r = 2.2 * SCALE
    fill = rgba(colour)
    points = np.asarray(points)[np.isfinite(points).all(axis=1)]
    for x, y in _clip_to(box, box.pixels(points)):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)


def _draw_grid_lines(draw: ImageDraw.ImageDraw, box: PlotBox, grid: np.ndarray) -> None:
    colour = rgba(TOY_COLORS["noise grid"])
    for line in list(grid) + list(grid.transpose(1, 0, 2)):
        px = _clip_to(box, box.pixels(line))
        draw.line([tuple(p) for p in px], fill=colour, width=SCALE)


def _draw_arrows(draw: ImageDraw.ImageDraw, box: PlotBox, tails: np.ndarray, heads: np.ndarray) -> None:
    colour = rgba(TOY_COLORS["push"])
    for (x0, y0), (x1, y1) in zip(_clip_to(box, box.pixels(tails)), _clip_to(box, box.pixels(heads))):
        draw.line((x0, y0, x1, y1), fill=colour, width=max(1, round(1.2 * SCALE)))
        length = math.hypot(x1 - x0, y1 - y0)
        if length < 1e-6:
            continue
        ux, uy = (x1 - x0) / length, (y1 - y0) / length
        size = min(4.5 * SCALE, length * 0.6)
        back_x, back_y = x1 - ux * size, y1 - uy * size
        half = size * 0.55
        draw.polygon(
            [(x1, y1), (back_x - uy * half, back_y + ux * half), (back_x + uy * half, back_y - ux * half)], fill=colour
        )


def _draw_rings(draw: ImageDraw.ImageDraw, box: PlotBox, modes: np.ndarray) -> None:
    r = 7.0 * SCALE
    colour = rgba(TOY_COLORS["modes"])
    for x, y in box.pixels(modes)[box.inside(modes)]:
        draw.ellipse((x - r, y - r, x + r, y + r), outline=colour, width=max(1, round(1.5 * SCALE)))


def _draw_axes(draw: ImageDraw.ImageDraw, box: PlotBox) -> None:
    left, top, side = box.left, box.top, box.side
    draw.rectangle((left, top, left + side, top + side), outline=FRAME, width=SCALE)
    small, tick = font(13), 4 * SCALE
    for value in nice_ticks(box.x0, box.x1):
        x = box.pixels(np.array([[value, box.y0]]))[0, 0]
        draw.line((x, top + side, x, top + side + tick), fill=FRAME, width=SCALE)
        draw.text((x, top + side + tick + SCALE), f"{value:g}", fill=INK, font=small, anchor="mt")
    for value in nice_ticks(box.y0, box.y1):
        y = box.pixels(np.array([[box.x0, value]]))[0, 1]
        draw.line((left - tick, y, left, y), fill=FRAME, width=SCALE)
        draw.text((left - tick - 2 * SCALE, y), f"{value:g}", fill=INK, font=small, anchor="rm")


def _draw_colour_bar(draw: ImageDraw.ImageDraw, box: PlotBox, scale: HeatScale) -> None:
    """A vertical bar of the heat colours from scale.low (bottom) to scale.high, with the scale's own ticks."""
    s = SCALE
    left = box.left + box.side + BAR_GAP * s
    top, bottom = box.top + box.side * 0.2, box.top + box.side
    steps = int(bottom - top)
    values = np.linspace(scale.high, scale.low, steps)[:, None]
    colours = heat_colours(values, scale)[:, 0]
    for i, colour in enumerate(colours):
        draw.line((left, top + i, left + BAR_WIDTH * s, top + i), fill=tuple(int(c) for c in colour))
    draw.rectangle((left, top, left + BAR_WIDTH * s, bottom), outline=FRAME, width=s)
    labels = font(12.5)
    for value, label in scale.ticks:
        if not scale.low <= value <= scale.high:
            continue
        y = bottom - (value - scale.low) / max(scale.high - scale.low, 1e-12) * (bottom - top)
        draw.line((left + BAR_WIDTH * s, y, left + (BAR_WIDTH + 4) * s, y), fill=FRAME, width=s)
        draw.text((left + (BAR_WIDTH + 6) * s, y), label, fill=INK, font=labels, anchor="lm")
    title = scale.title.replace("<br>", "\n")
    draw.multiline_text((left, top - 6 * s), title, fill=INK, font=font(12.5), anchor="ld", spacing=2 * s)


def _draw_title(draw: ImageDraw.ImageDraw, title: str) -> None:
    if title:
        draw.text((MARGIN_LEFT * SCALE, 10 * SCALE), title, fill=INK, font=font(16))


def _draw_legend(draw: ImageDraw.ImageDraw, real: bool, modes: bool, grid: bool, push: bool) -> None:
    """One row under the plot: a mark and a name for each layer drawn."""
    s, names = SCALE, font(13)
    x, y = MARGIN_LEFT * s, (MARGIN_TOP + PLOT_SIDE + 40) * s
    entries = [("generated", "dot"), *([("real", "dot")] if real else []), *([("modes", "ring")] if modes else [])]
    entries += [*([("G(noise grid)", "line")] if grid else []), *([("G's push", "arrow")] if push else [])]
    for name, mark in entries:
        key = {"G(noise grid)": "noise grid", "G's push": "push"}.get(name, name)
        colour = rgba(TOY_COLORS[key])
        if mark == "dot":
            draw.ellipse((x, y - 3 * s, x + 6 * s, y + 3 * s), fill=colour)
        elif mark == "ring":
            draw.ellipse((x - s, y - 5 * s, x + 9 * s, y + 5 * s), outline=colour, width=s)
        else:
            draw.line((x - 4 * s, y, x + 12 * s, y), fill=colour, width=s * (2 if mark == "arrow" else 1))
            if mark == "arrow":
                draw.polygon([(x + 14 * s, y), (x + 9 * s, y - 3 * s), (x + 9 * s, y + 3 * s)], fill=colour)
        x += 20 * s
        draw.text((x, y), name, fill=INK, font=names, anchor="lm")
        x += draw.textlength(name, font=names) + 18 * s
