"""Plotly figure builders: plain data in, a figure out. No Streamlit, so tests can check them directly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LOSS_COLORS = {"loss_d": "#d62728", "loss_g": "#1f77b4", "d_real": "#2ca02c", "d_fake": "#ff7f0e",
               "loss_info": "#9467bd"}
LABELS = {"loss_d": "loss D", "loss_g": "loss G", "d_real": "D(x)", "d_fake": "D(G(z))",
          "loss_info": "InfoGAN code loss (cross-entropy)",
          "grad_norm_d": "|grad D|", "grad_norm_g": "|grad G|", "images_per_sec": "images/s",
          "fd": "FD (live, evaluator features)", "mode_score": "modes covered x high quality",
          "confidence": "classifier confidence", "rarest_class": "rarest class share",
          "conditional_accuracy": "asked-for class accuracy", "high_quality": "high-quality share"}
MARGIN = dict(l=10, r=10, t=40, b=10)


def smooth(values: Sequence[float], weight: float) -> list[float]:
    """TensorBoard-style exponential smoothing with bias correction; weight 0 returns the values."""
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing must be in [0, 1), got {weight}")
    out, average, norm = [], 0.0, 0.0
    for value in values:
        average = weight * average + (1 - weight) * value
        norm = weight * norm + (1 - weight)
        out.append(average / norm)
    return out


def curves_figure(history: list[dict[str, float]], keys: Sequence[str], title: str, smoothing: float = 0.0,
                  y_title: str = "") -> go.Figure:
    """One line per metric key against step; raw values stay faint behind the smoothed ones."""
    fig = go.Figure()
    steps = [row["step"] for row in history]
    for key in keys:
        values = [row.get(key, float("nan")) for row in history]
        color = LOSS_COLORS.get(key)
        if smoothing > 0:
            fig.add_scatter(x=steps, y=values, mode="lines", line=dict(color=color, width=1), opacity=0.25,
                            name=f"{LABELS.get(key, key)} (raw)", showlegend=False, hoverinfo="skip")
            values = smooth(values, smoothing)
        fig.add_scatter(x=steps, y=values, mode="lines", name=LABELS.get(key, key), line=dict(color=color))
    fig.update_layout(title=title, xaxis_title="step", yaxis_title=y_title, margin=MARGIN, height=320,
                      legend=dict(orientation="h", y=-0.25), uirevision=title)
    return fig


def loss_figure(history: list[dict[str, float]], smoothing: float = 0.0) -> go.Figure:
    """Both players' losses, and InfoGAN's code loss for runs that have one (near 0: every code is readable)."""
    info = ("loss_info",) if history and "loss_info" in history[-1] else ()
    return curves_figure(history, ("loss_d", "loss_g", *info), "Losses", smoothing)


def d_output_figure(history: list[dict[str, float]], smoothing: float = 0.0) -> go.Figure:
    fig = curves_figure(history, ("d_real", "d_fake"), "D(x) and D(G(z))", smoothing)
    return fig


def quality_figure(evals: list[dict[str, float]], key: str, label: str, best_step: int | None = None) -> go.Figure:
    """The live quality score against step; its real-versus-real floor dotted when there is one; best circled."""
    fig = go.Figure()
    steps = [row["step"] for row in evals]
    fig.add_scatter(x=steps, y=[row.get(key, float("nan")) for row in evals], mode="lines+markers", name=key,
                    line=dict(color="#9467bd"))
    floor_key = f"{key}_floor"
    if evals and floor_key in evals[-1]:
        fig.add_scatter(x=steps, y=[row.get(floor_key, float("nan")) for row in evals], mode="lines",
                        name="real vs real", line=dict(color="#7f7f7f", dash="dot"))
    best = next((row for row in evals if row["step"] == best_step), None)
    if best is not None:
        fig.add_scatter(x=[best_step], y=[best[key]], mode="markers", name="best.pt",
                        marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(color="#d62728", width=2)))
    fig.update_layout(title=label, xaxis_title="step", margin=MARGIN, height=320,
                      legend=dict(orientation="h", y=-0.25), uirevision=label)
    return fig


# Distinct hues in a fixed order (Tableau 10): Streamlit's own theme draws the first two traces in two blues.
RUN_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
              "#bab0ac")


def overlay_figure(histories: dict[str, list[dict[str, float]]], key: str, smoothing: float = 0.0,
                   sparse: bool = False) -> go.Figure:
    """The same metric for several runs, one colour per run.

    Training curves (a point every few steps) are smoothed with the raw values faint behind; `sparse` ones
    (live quality scores, one every few hundred steps) are drawn as they are, with markers: smoothing so
    few points would drag the last one far from its true value.
    """
    fig = go.Figure()
    for i, (name, history) in enumerate(histories.items()):
        color = RUN_COLORS[i % len(RUN_COLORS)]
        steps = [row["step"] for row in history]
        values = [row.get(key, float("nan")) for row in history]
        if sparse or not smoothing:
            fig.add_scatter(x=steps, y=values, mode="lines+markers" if sparse else "lines", name=name,
                            line=dict(color=color))
            continue
        fig.add_scatter(x=steps, y=values, mode="lines", line=dict(color=color, width=1), opacity=0.25,
                        name=f"{name} (raw)", showlegend=False, hoverinfo="skip")
        fig.add_scatter(x=steps, y=smooth(values, smoothing), mode="lines", name=name, line=dict(color=color))
    fig.update_layout(title=f"{LABELS.get(key, key)} by run", xaxis_title="step", margin=MARGIN, height=360,
                      legend=dict(orientation="h", y=-0.25))
    return fig


def image_figure(picture: np.ndarray, title: str = "") -> go.Figure:
    """A zoomable picture (H, W, 3) uint8: drag to zoom, double-click to reset."""
    fig = go.Figure(go.Image(z=_rgb(picture)))
    fig.update_layout(title=title, margin=MARGIN, height=min(900, max(320, picture.shape[0] + 80)))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def animation_figure(pictures: list[np.ndarray], title: str = "", fps: float = 8.0,
                     labels: Sequence[str] | None = None) -> go.Figure:
    """Frames with a play button and a frame slider (all pictures must share one size)."""
    fig = synced_animation_figure({"": pictures}, fps, labels)
    fig.update_layout(title=title)
    return fig


def synced_animation_figure(panels: dict[str, list[np.ndarray]], fps: float = 8.0,
                            labels: Sequence[str] | None = None) -> go.Figure:
    """Animations side by side (lerp | slerp), titled by their keys, driven in step by one Play/Pause and one slider.

    Each plotly frame updates every panel at once, so the panels cannot drift apart as two players would.
    """
    lengths = {len(pictures) for pictures in panels.values()}
    if not panels or 0 in lengths:
        raise ValueError("an animation needs at least one frame")
    if len(lengths) > 1:
        raise ValueError(f"panels played in step need as many frames each, got {sorted(lengths)}")
    labels = list(labels) if labels is not None else [str(i) for i in range(lengths.pop())]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels), horizontal_spacing=0.02)
    for col, pictures in enumerate(panels.values(), start=1):
        fig.add_trace(go.Image(z=_rgb(pictures[0])), row=1, col=col)
    fig.frames = [go.Frame(data=[go.Image(z=_rgb(pictures[i])) for pictures in panels.values()],
                           traces=list(range(len(panels))), name=label) for i, label in enumerate(labels)]
    pictures_px = min(600, max(PICTURES_PX, *(pictures[0].shape[0] for pictures in panels.values())))
    fig.update_layout(margin={"l": 10, "r": 10, "t": 56, "b": CONTROLS_PX}, updatemenus=[_play_pause(fps)],
                      sliders=[_frame_slider(labels)], height=56 + pictures_px + CONTROLS_PX)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


PICTURES_PX = 300  # at least this tall on the page (a 28 px digit is unreadable at 1x); narrow panels shrink it
CONTROLS_PX = 100  # under the pictures: a row of buttons, then the slider with its frame number


def _play_pause(fps: float) -> dict[str, Any]:
    duration = int(1000 / max(fps, 0.1))
    play = {"label": "Play", "method": "animate",
            "args": [None, {"frame": {"duration": duration, "redraw": True}, "fromcurrent": True,
                            "mode": "immediate"}]}
    pause = {"label": "Pause", "method": "animate",
             "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}
    # Anchored at the pictures' bottom edge and padded in pixels, so the row keeps its place at any width
    return {"type": "buttons", "buttons": [play, pause], "direction": "left", "x": 0, "y": 0, "xanchor": "left",
            "yanchor": "top", "pad": {"t": 8}, "showactive": False}


def _frame_slider(labels: list[str]) -> dict[str, Any]:
    steps = [{"label": label, "method": "animate",
              "args": [[label], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}]} for label in labels]
    # A row of its own under the buttons (pad t, in pixels) with the frame number at its right end: a slider
    # beside the buttons put "frame N" on top of Pause once the chart was narrow.
    return {"steps": steps, "active": 0, "x": 0, "len": 1, "y": 0, "yanchor": "top", "pad": {"t": 40, "b": 0},
            "currentvalue": {"prefix": "frame ", "visible": True, "xanchor": "right"}}


MODE_COLORS = {"lerp": "#ff7f0e", "slerp": "#1f77b4"}


def norm_figure(norms: dict[str, Sequence[float]], typical: float, title: str = "|z| along the path") -> go.Figure:
    """The latent's norm at each frame, a line per mode, and a typical draw's norm as a dotted line."""
    fig = go.Figure()
    frames = max(len(values) for values in norms.values())
    for mode, values in norms.items():
        fig.add_scatter(x=list(range(len(values))), y=[float(v) for v in values], mode="lines+markers", name=mode,
                        line={"color": MODE_COLORS.get(mode)})
    # a trace rather than a shape, so its label sits in the legend instead of on top of the lines
    fig.add_scatter(x=[0, frames - 1], y=[typical, typical], mode="lines", name=f"typical |z|: {typical:.1f}",
                    line={"color": "#7f7f7f", "dash": "dot"}, hoverinfo="skip")
    fig.update_layout(title=title, xaxis_title="frame", yaxis_title="norm of z", margin=MARGIN, height=300,
                      legend={"orientation": "h", "y": -0.3})
    fig.update_yaxes(rangemode="tozero")
    return fig


def toy_figure(fake: np.ndarray, real: np.ndarray | None = None, modes: np.ndarray | None = None,
               heatmap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               manifold: np.ndarray | None = None, title: str = "", scale: HeatScale | None = None) -> go.Figure:
    """The 2-D lab: D's output over the plane (heatmap xs, ys, values) on `scale` (d_scale; default: centred on
    its median), real and generated points, the mixture's means as hollow rings that leave the points inside
    visible, and G's image of a regular grid of noise (manifold (rows, cols, 2)) as lines."""
    fig = go.Figure()
    if heatmap is not None:
        xs, ys, values = heatmap
        scale = scale or d_scale(None, values)
        ticks = dict(tickvals=[v for v, _ in scale.ticks], ticktext=[t for _, t in scale.ticks])
        fig.add_heatmap(x=xs, y=ys, z=values, colorscale=HEAT_COLORS, zmin=scale.low, zmax=scale.high, name="D(x)",
                        colorbar=dict(title=dict(text=scale.title), len=0.75, **ticks),
                        hovertemplate="x %{x:.2f}, y %{y:.2f}<br>D %{z:.3f}<extra></extra>")
    if manifold is not None:
        lines_x, lines_y = _manifold_lines(manifold)
        fig.add_scatter(x=lines_x, y=lines_y, mode="lines", line=dict(color=TOY_COLORS["noise grid"], width=1),
                        name="G(noise grid)", hoverinfo="skip")
    if real is not None:
        fig.add_scatter(x=real[:, 0], y=real[:, 1], mode="markers", name="real",
                        marker=dict(size=4, color=TOY_COLORS["real"]))
    fig.add_scatter(x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated",
                    marker=dict(size=4, color=TOY_COLORS["generated"]))
    if modes is not None:
        fig.add_scatter(x=modes[:, 0], y=modes[:, 1], mode="markers", name="modes", hoverinfo="skip",
                        marker=dict(size=15, symbol="circle-open", color=TOY_COLORS["modes"], line=dict(width=1.5)))
    fig.update_layout(title=title, margin=MARGIN, height=560, legend=dict(orientation="h", y=-0.08),
                      uirevision="toy", plot_bgcolor="white")
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


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
TOY_COLORS = {"generated": "rgba(213,94,0,0.85)", "real": "rgba(0,114,178,0.55)", "modes": "#000000",
              "noise grid": "rgba(60,60,60,0.5)"}
TOY_LEGEND = ("Orange dots: generated points (G's output for fixed noise). Blue dots: real points. Black rings: "
              "the centres of the real clusters. Grey lines: where G sends a regular grid of its input noise.")
ROBUST_SHARE = 98  # a median-centred scale spans this percentage of the plane; the rest takes the end colours


@dataclass(frozen=True)
class HeatScale:
    """How the lab colours D's output for one loss, so a colour means the same thing at every step."""

    title: str  # the colour bar's title
    low: float  # drawn in the "generated" end colour, as is everything below it
    high: float  # drawn in the "real" end colour, as is everything above it
    ticks: tuple[tuple[float, str], ...]  # marked values on the colour bar
    caption: str  # what the colours mean, in plain words


_PROBABILITY = HeatScale("D: P(real)", 0.0, 1.0, ((0.0, "0 generated"), (0.5, "0.5 can't tell"), (1.0, "1 real")),
                         "Background: D's probability that a point is real: green near 1 (real), purple near 0 "
                         "(generated), white at 0.5 (D can't tell).")
FIXED_SCALES = {
    "nsgan": _PROBABILITY,
    "minimax": _PROBABILITY,
    "lsgan": HeatScale("D score<br>(LSGAN)", -0.5, 1.5, ((0.0, "0 fake target"), (1.0, "1 real target")),
                       "Background: D's score. LSGAN trains it towards 1 on real points and 0 on generated ones: "
                       "green near 1 (real), purple near 0 (generated), white at 0.5, halfway between."),
    "hinge": HeatScale("D score<br>(hinge)", -2.0, 2.0, ((-1.0, "-1 fake margin"), (0.0, "0"), (1.0, "+1 real margin")),
                       "Background: D's score. The hinge loss pushes it above +1 on real points and below -1 on "
                       "generated ones: green means real, purple generated, white (0) is the boundary."),
}
RELATIVE_SCALES = {  # scores that mean something only by differences: loss -> (title, whose score)
    "wgan-gp": ("critic score<br>(WGAN-GP)", "the critic's score (WGAN-GP)"),
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
    return HeatScale(title, median - half, median + half, ((median, "median"),),
                     f"Background: {whose}, which means something only by differences: greener spots look more "
                     f"real to it than purpler ones. Centred on its median over the plane ({median:.3g}), the colours "
                     f"span ±{half:.3g}, which covers {ROBUST_SHARE}% of the plane; the rest takes the end colours.")


def _clip_note(scale: HeatScale, values: np.ndarray) -> str:
    finite = values[np.isfinite(values)]
    if not finite.size or (finite.min() >= scale.low and finite.max() <= scale.high):
        return ""
    return (f" Colours span {scale.low:.3g} to {scale.high:.3g}; D's values here reach {finite.min():.3g} to "
            f"{finite.max():.3g}, and those beyond the span take the end colours.")


def _rgb(picture: np.ndarray) -> np.ndarray:
    """go.Image wants (H, W, 3); grayscale pictures are repeated into three channels."""
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.shape[2] == 1:
        picture = np.repeat(picture, 3, axis=2)
    return picture
