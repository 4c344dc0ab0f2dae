"""Plotly figure builders: plain data in, a figure out. No Streamlit, so tests can check them directly."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

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
    fig = go.Figure(go.Image(z=rgb_picture(picture)))
    fig.update_layout(title=title, margin=MARGIN, height=min(900, max(320, picture.shape[0] + 80)))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def rgb_picture(picture: np.ndarray) -> np.ndarray:
    """go.Image wants (H, W, 3); grayscale pictures are repeated into three channels."""
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.shape[2] == 1:
        picture = np.repeat(picture, 3, axis=2)
    return picture
