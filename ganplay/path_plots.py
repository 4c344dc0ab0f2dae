"""Figures of a walk through the latent space: its frames played as an animation (panels in step, one Play/Pause
and one slider) and the latent's norm along it. Plain data in, a figure out, like plots.py."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ganplay.plots import MARGIN, rgb_picture


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
        fig.add_trace(go.Image(z=rgb_picture(pictures[0])), row=1, col=col)
    fig.frames = [
        go.Frame(
            data=[go.Image(z=rgb_picture(pictures[i])) for pictures in panels.values()],
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
