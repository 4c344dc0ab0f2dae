"""The 2-D lab's figure: D's output over the plane on a scale that fits its loss, the real and generated points,
the mixture's modes and G's manifold. Plain data in, a plotly figure out."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import plotly.graph_objects as go

from ganplay.plots import MARGIN


def toy_figure(
    fake: np.ndarray,
    real: np.ndarray | None = None,
    modes: np.ndarray | None = None,
    heatmap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    manifold: np.ndarray | None = None,
    title: str = "",
    scale: HeatScale | None = None,
    forces: np.ndarray | None = None,
) -> go.Figure:
    """The 2-D lab: D's output over the plane (heatmap xs, ys, values) on `scale` (d_scale; default: centred on
    its median), real and generated points, the mixture's means as hollow rings that leave the points inside
    visible, and G's image of a regular grid of noise (manifold (rows, cols, 2)) as lines. `forces` (K, 2): the
    push of G's loss on the first K generated points, drawn as arrows (force_arrows)."""
    fig = go.Figure()
    if heatmap is not None:
        xs, ys, values = heatmap
        scale = scale or d_scale(None, values)
        ticks = dict(tickvals=[v for v, _ in scale.ticks], ticktext=[t for _, t in scale.ticks])
        fig.add_heatmap(
            x=xs,
            y=ys,
            z=values,
            colorscale=HEAT_COLORS,
            zmin=scale.low,
            zmax=scale.high,
            name="D(x)",
            colorbar=dict(title=dict(text=scale.title), len=0.75, **ticks),
            hovertemplate="x %{x:.2f}, y %{y:.2f}<br>D %{z:.3f}<extra></extra>",
        )
    if manifold is not None:
        lines_x, lines_y = _manifold_lines(manifold)
        fig.add_scatter(
            x=lines_x,
            y=lines_y,
            mode="lines",
            line=dict(color=TOY_COLORS["noise grid"], width=1),
            name="G(noise grid)",
            hoverinfo="skip",
        )
    if real is not None:
        fig.add_scatter(
            x=real[:, 0], y=real[:, 1], mode="markers", name="real", marker=dict(size=4, color=TOY_COLORS["real"])
        )
    fig.add_scatter(
        x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated", marker=dict(size=4, color=TOY_COLORS["generated"])
    )
    if forces is not None and len(forces):
        arrow_x, arrow_y, tips = force_arrows(fake[: len(forces)], forces, plot_span(fake, real))
        fig.add_scatter(
            x=arrow_x,
            y=arrow_y,
            mode="lines+markers",
            name="G's push",
            hoverinfo="skip",
            line=dict(color=TOY_COLORS["push"], width=1.2),
            marker=dict(symbol="arrow", size=tips, angleref="previous", color=TOY_COLORS["push"]),
        )
    if modes is not None:
        fig.add_scatter(
            x=modes[:, 0],
            y=modes[:, 1],
            mode="markers",
            name="modes",
            hoverinfo="skip",
            marker=dict(size=15, symbol="circle-open", color=TOY_COLORS["modes"], line=dict(width=1.5)),
        )
    fig.update_layout(
        title=title,
        margin=MARGIN,
        height=560,
        legend=dict(orientation="h", y=-0.08),
        uirevision="toy",
        plot_bgcolor="white",
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


ARROW_SHARE = 0.06  # a typical arrow (the median push) is this share of the plane's width
ARROW_CAP = 3.0  # no arrow is longer than this many typical ones, so a few strong pushes do not hide the rest


def arrow_heads(points: np.ndarray, forces: np.ndarray, span: float) -> np.ndarray:
    """(K, 2) arrow tips from each point along its force. Lengths keep their ratios up to ARROW_CAP times the
    median, which is drawn at ARROW_SHARE of `span`: the forces' own size changes by orders of magnitude over a
    run."""
    lengths = np.linalg.norm(forces, axis=1)
    typical = float(np.median(lengths[lengths > 0])) if (lengths > 0).any() else 1.0
    drawn = np.minimum(lengths, ARROW_CAP * typical) * (ARROW_SHARE * span / typical)
    return points + forces / np.maximum(lengths, 1e-12)[:, None] * drawn[:, None]


def force_arrows(
    points: np.ndarray, forces: np.ndarray, span: float
) -> tuple[list[float | None], list[float | None], list[int]]:
    """arrow_heads as plotly polylines with None gaps and a tip size per vertex (0 at the tail and the gap)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    tips: list[int] = []
    for (x0, y0), (x1, y1) in zip(points.tolist(), arrow_heads(points, forces, span).tolist()):
        xs += [x0, x1, None]
        ys += [y0, y1, None]
        tips += [0, 7, 0]
    return xs, ys, tips


def plot_span(fake: np.ndarray, real: np.ndarray | None) -> float:
    """The points' widest extent on either axis: the arrows' yardstick."""
    both = fake if real is None else np.concatenate([fake, real])
    return float(max(np.ptp(both[:, 0]), np.ptp(both[:, 1]), 1e-6))


def _manifold_lines(grid: np.ndarray) -> tuple[list[float | None], list[float | None]]:
    """Rows and columns of a mapped (R, C, 2) grid as polylines separated by None gaps."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for line in list(grid) + list(grid.transpose(1, 0, 2)):
        xs += [*line[:, 0].tolist(), None]
        ys += [*line[:, 1].tolist(), None]
    return xs, ys


# The 2-D lab's colours (Okabe-Ito hues, safe for colour-blind eyes). The heat map keeps to pale purple, white and
# pale green, which no point or line uses, so the dark points, rings and lines read on it at every value.
HEAT_COLORS = [[0.0, "#af8dc3"], [0.5, "#f7f7f7"], [1.0, "#7fbf7b"]]  # D says generated -> can't tell -> real
TOY_COLORS = {
    "generated": "rgba(213,94,0,0.85)",
    "real": "rgba(0,114,178,0.55)",
    "modes": "#000000",
    "noise grid": "rgba(60,60,60,0.5)",
    "push": "rgba(204,121,167,0.95)",  # reddish purple: apart from the points' orange and blue
}
TOY_LEGEND = (
    "Orange dots: generated points (G's output for fixed noise). Blue dots: real points. Black rings: "
    "the centres of the real clusters. Grey lines: where G sends a regular grid of its input noise."
)


def forces_legend(n: int) -> str:
    """What the arrows of force_arrows mean, for n arrows."""
    return (
        f"Pink arrows: where G's loss pushes each of the first {n} generated points (minus its gradient): G's next "
        "update moves its points this way, as far as its weights let it. Lengths are relative (the median push "
        f"is drawn at {ARROW_SHARE:.0%} of the plot; the longest are capped at {ARROW_CAP:g} times that)."
    )


ROBUST_SHARE = 98  # a median-centred scale spans this percentage of the plane; the rest takes the end colours


@dataclass(frozen=True)
class HeatScale:
    """How the lab colours D's output for one loss, so a colour means the same thing at every step."""

    title: str  # the colour bar's title
    low: float  # drawn in the "generated" end colour, as is everything below it
    high: float  # drawn in the "real" end colour, as is everything above it
    ticks: tuple[tuple[float, str], ...]  # marked values on the colour bar
    caption: str  # what the colours mean, in plain words


_PROBABILITY = HeatScale(
    "D: P(real)",
    0.0,
    1.0,
    ((0.0, "0 generated"), (0.5, "0.5 can't tell"), (1.0, "1 real")),
    "Background: D's probability that a point is real: green near 1 (real), purple near 0 "
    "(generated), white at 0.5 (D can't tell).",
)
FIXED_SCALES = {
    "nsgan": _PROBABILITY,
    "minimax": _PROBABILITY,
    "lsgan": HeatScale(
        "D score<br>(LSGAN)",
        -0.5,
        1.5,
        ((0.0, "0 fake target"), (1.0, "1 real target")),
        "Background: D's score. LSGAN trains it towards 1 on real points and 0 on generated ones: "
        "green near 1 (real), purple near 0 (generated), white at 0.5, halfway between.",
    ),
    "hinge": HeatScale(
        "D score<br>(hinge)",
        -2.0,
        2.0,
        ((-1.0, "-1 fake margin"), (0.0, "0"), (1.0, "+1 real margin")),
        "Background: D's score. The hinge loss pushes it above +1 on real points and below -1 on "
        "generated ones: green means real, purple generated, white (0) is the boundary.",
    ),
}
RELATIVE_SCALES = {  # scores that mean something only by differences: loss -> (title, whose score)
    "wgan-gp": ("critic score<br>(WGAN-GP)", "the critic's score (WGAN-GP)"),
    "wgan-clip": ("critic score<br>(WGAN, clipped)", "the critic's score (WGAN with weight clipping)"),
    None: ("D", "D's output (its loss is not known)"),
}


def d_scale(loss: str | None, values: np.ndarray) -> HeatScale:
    """The colour scale of D's values over the plane for a run's loss (None: not known).

    BCE losses (nsgan, minimax): D's probability that a point is real, 0 to 1. LSGAN and hinge: D's score on a
    fixed range around its training targets. WGAN-GP's critic score means something only by differences: centred
    on its median over the plane, spanning ROBUST_SHARE percent of it. Values beyond a range take its end colours,
    and the caption says so.
    """
    if loss in FIXED_SCALES:
        scale = FIXED_SCALES[loss]
        return replace(scale, caption=scale.caption + _clip_note(scale, np.asarray(values)))
    if loss in RELATIVE_SCALES:
        return _median_scale(values, *RELATIVE_SCALES[loss])
    known = ", ".join(str(name) for name in [*FIXED_SCALES, *RELATIVE_SCALES] if name)
    raise ValueError(f"no colour scale for D's output under loss {loss!r}; known losses: {known}")


def _median_scale(values: np.ndarray, title: str, whose: str) -> HeatScale:
    finite = np.asarray(values, np.float64)[np.isfinite(values)]
    median = float(np.median(finite)) if finite.size else 0.0
    half = float(np.percentile(np.abs(finite - median), ROBUST_SHARE)) if finite.size else 1.0
    half = max(half, 1e-6)  # a flat critic (untrained) still gets a scale
    return HeatScale(
        title,
        median - half,
        median + half,
        ((median, "median"),),
        f"Background: {whose}, which means something only by differences: greener spots look more "
        f"real to it than purpler ones. Centred on its median over the plane ({median:.3g}), the colours "
        f"span ±{half:.3g}, which covers {ROBUST_SHARE}% of the plane; the rest takes the end colours.",
    )


def _clip_note(scale: HeatScale, values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if not finite.size or (finite.min() >= scale.low and finite.max() <= scale.high):
        return ""
    return (
        f" Colours span {scale.low:.3g} to {scale.high:.3g}; D's values here reach {finite.min():.3g} to "
        f"{finite.max():.3g}, and those beyond the span take the end colours."
    )
