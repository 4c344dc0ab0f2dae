"""Plotly figure builders: plain data in, a figure out. No Streamlit, so tests can check them directly."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

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


def overlay_figure(histories: dict[str, list[dict[str, float]]], key: str, smoothing: float = 0.0) -> go.Figure:
    """The same metric for several runs, one line per run."""
    fig = go.Figure()
    for name, history in histories.items():
        values = [row.get(key, float("nan")) for row in history]
        fig.add_scatter(x=[row["step"] for row in history], y=smooth(values, smoothing) if smoothing else values,
                        mode="lines", name=name)
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
    if not pictures:
        raise ValueError("an animation needs at least one frame")
    labels = list(labels) if labels is not None else [str(i) for i in range(len(pictures))]
    duration = int(1000 / max(fps, 0.1))
    frames = [go.Frame(data=[go.Image(z=_rgb(p))], name=label) for p, label in zip(pictures, labels)]
    fig = go.Figure(data=[go.Image(z=_rgb(pictures[0]))], frames=frames)
    play = dict(label="Play", method="animate",
                args=[None, dict(frame=dict(duration=duration, redraw=True), fromcurrent=True, mode="immediate")])
    pause = dict(label="Pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")])
    steps = [dict(label=label, method="animate",
                  args=[[label], dict(frame=dict(duration=0, redraw=True), mode="immediate")]) for label in labels]
    fig.update_layout(title=title, margin=dict(l=10, r=10, t=40, b=60),
                      height=min(900, max(320, pictures[0].shape[0] + 160)),
                      updatemenus=[dict(type="buttons", buttons=[play, pause], direction="left", x=0, y=-0.05,
                                        xanchor="left", yanchor="top", showactive=False)],
                      sliders=[dict(steps=steps, active=0, x=0.15, len=0.85, y=-0.02,
                                    currentvalue=dict(prefix="frame ", visible=True))])
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def toy_figure(fake: np.ndarray, real: np.ndarray | None = None, modes: np.ndarray | None = None,
               heatmap: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               manifold: np.ndarray | None = None, title: str = "", probabilistic: bool = True) -> go.Figure:
    """The 2-D lab: D's output over the plane (heatmap xs, ys, values), real and generated points, the
    mixture's means, and G's image of a regular grid of noise (manifold (rows, cols, 2)) as lines."""
    fig = go.Figure()
    if heatmap is not None:
        xs, ys, values = heatmap
        scale = dict(zmin=0.0, zmax=1.0) if probabilistic else dict(zmid=0.0)  # scores: centred on 0
        fig.add_heatmap(x=xs, y=ys, z=values, colorscale="RdBu", opacity=0.6, colorbar=dict(title="D", len=0.7),
                        name="D(x)", **scale)
    if manifold is not None:
        lines_x, lines_y = _manifold_lines(manifold)
        fig.add_scatter(x=lines_x, y=lines_y, mode="lines", line=dict(color="rgba(80,80,80,0.45)", width=1),
                        name="G(noise grid)", hoverinfo="skip")
    if real is not None:
        fig.add_scatter(x=real[:, 0], y=real[:, 1], mode="markers", name="real",
                        marker=dict(size=4, color="rgba(40,160,40,0.6)"))
    fig.add_scatter(x=fake[:, 0], y=fake[:, 1], mode="markers", name="generated",
                    marker=dict(size=4, color="rgba(31,119,180,0.8)"))
    if modes is not None:
        fig.add_scatter(x=modes[:, 0], y=modes[:, 1], mode="markers", name="modes",
                        marker=dict(size=9, symbol="x", color="#d62728"))
    fig.update_layout(title=title, margin=MARGIN, height=560, legend=dict(orientation="h", y=-0.08),
                      uirevision="toy")
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


def _rgb(picture: np.ndarray) -> np.ndarray:
    """go.Image wants (H, W, 3); grayscale pictures are repeated into three channels."""
    if picture.ndim == 2:
        picture = picture[:, :, None]
    if picture.shape[2] == 1:
        picture = np.repeat(picture, 3, axis=2)
    return picture


def figure_summary(fig: go.Figure) -> dict[str, Any]:
    """Trace names and point counts: what a test wants to know about a figure."""
    return {trace.name or trace.type: len(trace.x) if getattr(trace, "x", None) is not None else None
            for trace in fig.data}
