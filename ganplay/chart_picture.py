"""The live view's line charts (losses, D's outputs, the quality score) as pictures drawn on the server with PIL,
the same lines and colours as plots.py's plotly figures, without their hover and zoom.

Why: a live view redraws its charts every refresh. Plotly redrawing three charts each second cost the browser
about a third of a core, which a 2-core machine takes from training; a PNG swap costs it next to nothing, and
drawing one here takes a few milliseconds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ganplay.drawing import FRAME, GRID, INK, SCALE, font, nice_ticks, palette_png, rgba, tick_label
from ganplay.plots import D_OUTPUT_KEYS, LOSS_COLORS, RUN_COLORS, curve_lines, loss_keys

# CSS pixels. Narrow with large type: a live view's chart column is often 250-450 px wide, where the browser
# shrinks the picture to fit and its type with it.
WIDTH, PLOT_HEIGHT = 420, 260  # the picture's width; its height down to the x axis' labels
LEFT, RIGHT, TOP = 50, 20, 34  # room for the y ticks and the title
LEGEND_ROW = 22  # one legend row under the x axis; the picture grows by a row when the names need it
TITLE_SIZE, TEXT_SIZE = 16, 14
FAINT = 0.25  # the raw values' opacity behind a smoothed line, as in the plotly figures
QUALITY_COLOUR, FLOOR_COLOUR, BEST_COLOUR = "#9467bd", "#7f7f7f", "#d62728"
CHART_COLOURS = (*LOSS_COLORS.values(), *RUN_COLORS, QUALITY_COLOUR, FLOOR_COLOUR, BEST_COLOUR)


def encode(image: Image.Image) -> bytes:
    """A chart's PNG, in palette colours: about 3 ms where RGB takes 12 (drawing.palette_png)."""
    return palette_png(image, CHART_COLOURS)


@dataclass(frozen=True)
class Series:
    """One line: `faint` ones (raw values) are drawn thin and pale and left out of the legend."""

    steps: Sequence[float]
    values: Sequence[float]
    colour: str
    name: str
    faint: bool = False
    markers: bool = False
    dotted: bool = False


@dataclass(frozen=True)
class Ring:
    """A hollow circle around one point (best.pt's score)."""

    step: float
    value: float
    colour: str
    name: str


@dataclass(frozen=True)
class Axes:
    """Where data (step, value) lands in the picture."""

    x0: float
    x1: float
    y0: float
    y1: float

    def pixels(self, steps: Sequence[float], values: Sequence[float]) -> np.ndarray:
        s = SCALE
        x = LEFT * s + (np.asarray(steps, np.float64) - self.x0) / (self.x1 - self.x0) * (WIDTH - LEFT - RIGHT) * s
        y = TOP * s + (self.y1 - np.asarray(values, np.float64)) / (self.y1 - self.y0) * (AXIS_Y - TOP) * s
        return np.stack([x, y], axis=1)


AXIS_Y = PLOT_HEIGHT - 2 * TEXT_SIZE  # the x axis, with its tick labels below


def line_chart(series: Sequence[Series], title: str, rings: Sequence[Ring] = ()) -> Image.Image:
    """Lines against step on axes that fit every finite value (5% of room above and below), y grid lines, a
    title and a legend row; NaN values break a line."""
    axes = _fit(series, rings)
    entries = _legend_entries([s for s in series if not s.faint], rings)
    rows = _legend_rows(entries)
    image = Image.new("RGB", (WIDTH * SCALE, (PLOT_HEIGHT + LEGEND_ROW * len(rows) + 4) * SCALE), "white")
    draw = ImageDraw.Draw(image, "RGBA")  # translucent colours blend with what is already drawn
    _draw_grid(draw, axes)
    for line in sorted(series, key=lambda line: not line.faint):  # faint raw values behind the rest
        _draw_series(draw, axes, line)
    for ring in rings:
        (x, y), r = axes.pixels([ring.step], [ring.value])[0], 7 * SCALE
        draw.ellipse((x - r, y - r, x + r, y + r), outline=rgba(ring.colour), width=2 * SCALE)
    draw.text((LEFT * SCALE, 9 * SCALE), title, fill=INK, font=font(TITLE_SIZE))
    _draw_legend(draw, rows)
    return image


def curves_picture(history: list[dict[str, float]], keys: Sequence[str], title: str, smoothing: float) -> Image.Image:
    """plots.curves_figure as a picture: the same lines (curve_lines), raw values faint behind smoothed ones."""
    series = [
        Series(line.steps, line.values, line.colour or RUN_COLORS[i % len(RUN_COLORS)], line.name, faint=line.raw)
        for i, line in enumerate(curve_lines(history, keys, smoothing))
    ]
    return line_chart(series, title)


def loss_picture(history: list[dict[str, float]], smoothing: float = 0.0) -> Image.Image:
    return curves_picture(history, loss_keys(history), "Losses", smoothing)


def d_output_picture(history: list[dict[str, float]], smoothing: float = 0.0) -> Image.Image:
    return curves_picture(history, D_OUTPUT_KEYS, "D(x) and D(G(z))", smoothing)


def quality_picture(evals: list[dict[str, float]], key: str, label: str, best_step: int | None = None) -> Image.Image:
    """plots.quality_figure as a picture: the live score with markers, its real-vs-real floor dotted, best.pt's
    score circled."""
    steps = [row["step"] for row in evals]
    series = [Series(steps, [row.get(key, math.nan) for row in evals], QUALITY_COLOUR, key, markers=True)]
    floor_key = f"{key}_floor"
    if evals and floor_key in evals[-1]:
        series.append(
            Series(steps, [row.get(floor_key, math.nan) for row in evals], FLOOR_COLOUR, "real vs real", dotted=True)
        )
    best = next((row for row in evals if row["step"] == best_step), None)
    rings = [Ring(best_step, best[key], BEST_COLOUR, "best.pt")] if best is not None else []
    return line_chart(series, label, rings)


def _fit(series: Sequence[Series], rings: Sequence[Ring]) -> Axes:
    steps = np.array([x for s in series for x in s.steps] + [r.step for r in rings], np.float64)
    values = np.array([v for s in series for v in s.values] + [r.value for r in rings], np.float64)
    values = values[np.isfinite(values)]
    x0, x1 = (float(steps.min()), float(steps.max())) if steps.size else (0.0, 1.0)
    y0, y1 = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    if x1 <= x0:
        x0, x1 = x0 - 1, x1 + 1
    room = (y1 - y0) * 0.05 if y1 > y0 else max(abs(y0) * 0.1, 0.5)
    return Axes(x0, x1, y0 - room, y1 + room)


def _draw_grid(draw: ImageDraw.ImageDraw, axes: Axes) -> None:
    s, small = SCALE, font(TEXT_SIZE)
    left, right = LEFT * s, (WIDTH - RIGHT) * s
    bottom = AXIS_Y * s
    for value in nice_ticks(axes.y0, axes.y1, target=5):
        y = axes.pixels([axes.x0], [value])[0, 1]
        draw.line((left, y, right, y), fill=GRID, width=s)
        draw.text((left - 6 * s, y), tick_label(value), fill=INK, font=small, anchor="rm")
    for value in nice_ticks(axes.x0, axes.x1, target=6):
        x = axes.pixels([value], [axes.y0])[0, 0]
        draw.line((x, bottom, x, bottom + 4 * s), fill=FRAME, width=s)
        draw.text((x, bottom + 6 * s), tick_label(value), fill=INK, font=small, anchor="mt")
    draw.line((left, bottom, right, bottom), fill=FRAME, width=s)
    draw.text((left - 6 * s, bottom + 6 * s), "step", fill=INK, font=small, anchor="rt")


def _draw_series(draw: ImageDraw.ImageDraw, axes: Axes, line: Series) -> None:
    colour = rgba(line.colour, FAINT if line.faint else 1.0)
    width = SCALE if line.faint else 2 * SCALE
    points = axes.pixels(line.steps, line.values)
    for run in _finite_runs(points):
        if line.dotted:
            _dotted(draw, run, colour, width)
        elif len(run) > 1:
            draw.line([tuple(p) for p in run], fill=colour, width=width, joint="curve")
        if line.markers or len(run) == 1:
            r = 3 * SCALE
            for x, y in run:
                draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)


def _finite_runs(points: np.ndarray) -> list[np.ndarray]:
    """The stretches of a line between its NaN values."""
    finite = np.isfinite(points).all(axis=1)
    runs, start = [], None
    for i, ok in enumerate([*finite, False]):
        if ok and start is None:
            start = i
        elif not ok and start is not None:
            runs.append(points[start:i])
            start = None
    return runs


def _dotted(draw: ImageDraw.ImageDraw, points: np.ndarray, colour: tuple, width: int) -> None:
    """Dots every few pixels along a polyline."""
    gap = 5 * SCALE
    carried = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        at = carried
        while at < length:
            x, y = x0 + (x1 - x0) * at / length, y0 + (y1 - y0) * at / length
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=colour)
            at += gap
        carried = at - length


Entry = tuple[str, str, str]  # (name, colour, mark: line | dotted | ring)
MARK = 24  # CSS pixels from an entry's mark to its name
ENTRY_GAP = 14


def _legend_entries(series: Sequence[Series], rings: Sequence[Ring]) -> list[Entry]:
    return [(s.name, s.colour, "dotted" if s.dotted else "line") for s in series] + [
        (r.name, r.colour, "ring") for r in rings
    ]


def _legend_rows(entries: list[Entry]) -> list[list[Entry]]:
    """Entries in rows that fit the picture's width, in order."""
    names, room = font(TEXT_SIZE), (WIDTH - LEFT - RIGHT) * SCALE
    rows: list[list[Entry]] = [[]]
    used = 0.0
    for entry in entries:
        width = (MARK + ENTRY_GAP) * SCALE + names.getlength(entry[0])
        if rows[-1] and used + width > room:
            rows.append([])
            used = 0.0
        rows[-1].append(entry)
        used += width
    return rows if entries else []


def _draw_legend(draw: ImageDraw.ImageDraw, rows: list[list[Entry]]) -> None:
    s, names = SCALE, font(TEXT_SIZE)
    for i, row in enumerate(rows):
        x, y = LEFT * s, (PLOT_HEIGHT + LEGEND_ROW * i + LEGEND_ROW // 2) * s
        for name, colour, mark in row:
            ink = rgba(colour)
            if mark == "dotted":
                _dotted(draw, np.array([[x, y], [x + 18 * s, y]]), ink, 2 * s)
            elif mark == "ring":
                draw.ellipse((x + 3 * s, y - 6 * s, x + 15 * s, y + 6 * s), outline=ink, width=2 * s)
            else:
                draw.line((x, y, x + 18 * s, y), fill=ink, width=2 * s)
            x += MARK * s
            draw.text((x, y), name, fill=INK, font=names, anchor="lm")
            x += draw.textlength(name, font=names) + ENTRY_GAP * s
