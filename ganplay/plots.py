"""Plotly figure builders: plain data in, a figure out. No Streamlit, so tests can check them directly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

LOSS_COLORS = {
    "loss_d": "#d62728",
    "loss_g": "#1f77b4",
    "d_real": "#2ca02c",
    "d_fake": "#ff7f0e",
    "loss_info": "#9467bd",
}
LABELS = {
    "loss_d": "loss D",
    "loss_g": "loss G",
    "d_real": "D(x)",
    "d_fake": "D(G(z))",
    "loss_info": "InfoGAN code loss (cross-entropy)",
    "grad_norm_d": "|grad D|",
    "grad_norm_g": "|grad G|",
    "images_per_sec": "images/s",
    "fd": "FD (live, evaluator features)",
    "mode_score": "modes covered x high quality",
    "confidence": "classifier confidence",
    "rarest_class": "rarest class share",
    "conditional_accuracy": "asked-for class accuracy",
    "high_quality": "high-quality share",
}
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


MAX_DRAWN_POINTS = 400  # per line: a chart 400 px wide shows no more, and the live view redraws it each second


def drawn_points(count: int, limit: int = MAX_DRAWN_POINTS) -> list[int]:
    """Indices of the points drawn of `count`: evenly spaced, always the first and the last."""
    if count <= limit:
        return list(range(count))
    stride = -(-count // limit)  # ceiling
    return [*range(0, count - 1, stride), count - 1]


@dataclass(frozen=True)
class CurveLine:
    """One drawn line of a curves chart: `raw` lines are the faint unsmoothed values behind a smoothed one."""

    key: str
    name: str
    colour: str | None
    steps: list[int]
    values: list[float]
    raw: bool = False


def curve_lines(history: list[dict[str, float]], keys: Sequence[str], smoothing: float = 0.0) -> list[CurveLine]:
    """The lines of a curves chart, raw ones first: smoothed over every point, at most MAX_DRAWN_POINTS of them
    drawn (the cost of a live redraw grows with the points)."""
    drawn = drawn_points(len(history))
    steps = [history[i]["step"] for i in drawn]
    lines = []
    for key in keys:
        every = [row.get(key, float("nan")) for row in history]
        name, colour = LABELS.get(key, key), LOSS_COLORS.get(key)
        if smoothing > 0:
            lines.append(CurveLine(key, f"{name} (raw)", colour, steps, [every[i] for i in drawn], raw=True))
            every = smooth(every, smoothing)
        lines.append(CurveLine(key, name, colour, steps, [every[i] for i in drawn]))
    return lines


def curves_figure(
    history: list[dict[str, float]], keys: Sequence[str], title: str, smoothing: float = 0.0, y_title: str = ""
) -> go.Figure:
    """One line per metric key against step; raw values stay faint behind the smoothed ones (curve_lines)."""
    fig = go.Figure()
    for line in curve_lines(history, keys, smoothing):
        if line.raw:
            fig.add_scatter(
                x=line.steps,
                y=line.values,
                mode="lines",
                line=dict(color=line.colour, width=1),
                opacity=0.25,
                name=line.name,
                showlegend=False,
                hoverinfo="skip",
            )
        else:
            fig.add_scatter(x=line.steps, y=line.values, mode="lines", name=line.name, line=dict(color=line.colour))
    fig.update_layout(
        title=title,
        xaxis_title="step",
        yaxis_title=y_title,
        margin=MARGIN,
        height=320,
        legend=dict(orientation="h", y=-0.25),
        uirevision=title,
    )
    return fig


def loss_keys(history: list[dict[str, float]]) -> tuple[str, ...]:
    """Both players' losses, and InfoGAN's code loss for runs that have one (near 0: every code is readable)."""
    return ("loss_d", "loss_g", *(("loss_info",) if history and "loss_info" in history[-1] else ()))


D_OUTPUT_KEYS = ("d_real", "d_fake")


def loss_figure(history: list[dict[str, float]], smoothing: float = 0.0) -> go.Figure:
    return curves_figure(history, loss_keys(history), "Losses", smoothing)


def d_output_figure(history: list[dict[str, float]], smoothing: float = 0.0) -> go.Figure:
    return curves_figure(history, D_OUTPUT_KEYS, "D(x) and D(G(z))", smoothing)


def quality_figure(evals: list[dict[str, float]], key: str, label: str, best_step: int | None = None) -> go.Figure:
    """The live quality score against step; its real-versus-real floor dotted when there is one; best circled."""
    fig = go.Figure()
    steps = [row["step"] for row in evals]
    fig.add_scatter(
        x=steps,
        y=[row.get(key, float("nan")) for row in evals],
        mode="lines+markers",
        name=key,
        line=dict(color="#9467bd"),
    )
    floor_key = f"{key}_floor"
    if evals and floor_key in evals[-1]:
        fig.add_scatter(
            x=steps,
            y=[row.get(floor_key, float("nan")) for row in evals],
            mode="lines",
            name="real vs real",
            line=dict(color="#7f7f7f", dash="dot"),
        )
    best = next((row for row in evals if row["step"] == best_step), None)
    if best is not None:
        fig.add_scatter(
            x=[best_step],
            y=[best[key]],
            mode="markers",
            name="best.pt",
            marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(color="#d62728", width=2)),
        )
    fig.update_layout(
        title=label,
        xaxis_title="step",
        margin=MARGIN,
        height=320,
        legend=dict(orientation="h", y=-0.25),
        uirevision=label,
    )
    return fig


# Distinct hues in a fixed order (Tableau 10): Streamlit's own theme draws the first two traces in two blues.
RUN_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#bab0ac",
)


def overlay_figure(
    histories: dict[str, list[dict[str, float]]], key: str, smoothing: float = 0.0, sparse: bool = False
) -> go.Figure:
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
            fig.add_scatter(
                x=steps, y=values, mode="lines+markers" if sparse else "lines", name=name, line=dict(color=color)
            )
            continue
        fig.add_scatter(
            x=steps,
            y=values,
            mode="lines",
            line=dict(color=color, width=1),
            opacity=0.25,
            name=f"{name} (raw)",
            showlegend=False,
            hoverinfo="skip",
        )
        fig.add_scatter(x=steps, y=smooth(values, smoothing), mode="lines", name=name, line=dict(color=color))
    fig.update_layout(
        title=f"{LABELS.get(key, key)} by run",
        xaxis_title="step",
        margin=MARGIN,
        height=360,
        legend=dict(orientation="h", y=-0.25),
    )
    return fig


def image_figure(picture: np.ndarray, title: str = "") -> go.Figure:
    """A zoomable picture (H, W, 3) uint8: drag to zoom, double-click to reset."""
    fig = go.Figure(go.Image(z=_rgb(picture)))
    fig.update_layout(title=title, margin=MARGIN, height=min(900, max(320, picture.shape[0] + 80)))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def animation_figure(
    pictures: list[np.ndarray], title: str = "", fps: float = 8.0, labels: Sequence[str] | None = None
) -> go.Figure:
    """Frames with a play button and a frame slider (all pictures must share one size)."""
    fig = synced_animation_figure({"": pictures}, fps, labels)
    fig.update_layout(title=title)
    return fig


def synced_animation_figure(
    panels: dict[str, list[np.ndarray]], fps: float = 8.0, labels: Sequence[str] | None = None
) -> go.Figure:
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
    fig.frames = [
        go.Frame(
            data=[go.Image(z=_rgb(pictures[i])) for pictures in panels.values()],
            traces=list(range(len(panels))),
            name=label,
        )
        for i, label in enumerate(labels)
    ]
    pictures_px = min(600, max(PICTURES_PX, *(pictures[0].shape[0] for pictures in panels.values())))
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 56, "b": CONTROLS_PX},
        updatemenus=[_play_pause(fps)],
        sliders=[_frame_slider(labels)],
        height=56 + pictures_px + CONTROLS_PX,
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


PICTURES_PX = 300  # at least this tall on the page (a 28 px digit is unreadable at 1x); narrow panels shrink it
CONTROLS_PX = 100  # under the pictures: a row of buttons, then the slider with its frame number


def _play_pause(fps: float) -> dict[str, Any]:
    duration = int(1000 / max(fps, 0.1))
    play = {
        "label": "Play",
        "method": "animate",
        "args": [None, {"frame": {"duration": duration, "redraw": True}, "fromcurrent": True, "mode": "immediate"}],
    }
    pause = {
        "label": "Pause",
        "method": "animate",
        "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}],
    }
    # Anchored at the pictures' bottom edge and padded in pixels, so the row keeps its place at any width
    return {
        "type": "buttons",
        "buttons": [play, pause],
        "direction": "left",
        "x": 0,
        "y": 0,
        "xanchor": "left",
        "yanchor": "top",
        "pad": {"t": 8},
        "showactive": False,
    }


def _frame_slider(labels: list[str]) -> dict[str, Any]:
    steps = [
        {
            "label": label,
            "method": "animate",
            "args": [[label], {"frame": {"duration": 0, "redraw": True}, "mode": "immediate"}],
        }
        for label in labels
    ]
    # A row of its own under the buttons (pad t, in pixels) with the frame number at its right end: a slider
    # beside the buttons put "frame N" on top of Pause once the chart was narrow.
    return {
        "steps": steps,
        "active": 0,
        "x": 0,
        "len": 1,
        "y": 0,
        "yanchor": "top",
        "pad": {"t": 40, "b": 0},
        "currentvalue": {"prefix": "frame ", "visible": True, "xanchor": "right"},
    }


MODE_COLORS = {"lerp": "#ff7f0e", "slerp": "#1f77b4"}


def norm_figure(norms: dict[str, Sequence[float]], typical: float, title: str = "|z| along the path") -> go.Figure:
    """The latent's norm at each frame, a line per mode, and a typical draw's norm as a dotted line."""
    fig = go.Figure()
    frames = max(len(values) for values in norms.values())
    for mode, values in norms.items():
        fig.add_scatter(
            x=list(range(len(values))),
            y=[float(v) for v in values],
            mode="lines+markers",
            name=mode,
            line={"color": MODE_COLORS.get(mode)},
        )
    # a trace rather than a shape, so its label sits in the legend instead of on top of the lines
    fig.add_scatter(
        x=[0, frames - 1],
        y=[typical, typical],
        mode="lines",
        name=f"typical |z|: {typical:.1f}",
        line={"color": "#7f7f7f", "dash": "dot"},
        hoverinfo="skip",
    )
    fig.update_layout(
        title=title,
        xaxis_title="frame",
        yaxis_title="norm of z",
        margin=MARGIN,
        height=300,
        legend={"orientation": "h", "y": -0.3},
    )
    fig.update_yaxes(rangemode="tozero")
    return fig


def _rgb(picture: np.ndarray) -> np.ndarray:
    """go.Image wants (H, W, 3); grayscale pictures are repeated into three channels."""
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.shape[2] == 1:
        picture = np.repeat(picture, 3, axis=2)
    return picture
