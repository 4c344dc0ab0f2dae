"""The live view's progress, samples and charts as one element whose few nodes the browser updates in place.

Why one element: at each refresh Streamlit's frontend re-renders every element of the refreshed fragment
(React and its styles), even those whose content did not change. The dozen elements of the live view cost the
browser about 0.18 cores at a 1 s refresh; this panel, with the same pictures, about 0.09
(scripts/live_overhead.py). Its script only swaps a picture's address when the picture changed and a text
when it changed; everything it shows is set as text or an image address, never as HTML.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import streamlit as st
from PIL import Image

from ganplay import chart_picture, live_eval
from ganplay.drawing import png_bytes
from ganplay.run_state import RunSnapshot, RunState
from ganplay.timelapse import snapshots
from pages.common import format_seconds

HTML = """
<div class="panel">
  <p><b data-text="state"></b><span data-text="status"></span></p>
  <p class="caption" data-text="waiting"></p>
  <div data-if="progress_text">
    <p class="progress-text" data-text="progress_text"></p>
    <div class="track"><div class="bar" data-width="progress"></div></div>
  </div>
  <div class="row">
    <figure class="cell">
      <img data-img="samples"><figcaption class="caption" data-text="samples_caption"></figcaption>
      <p class="caption" data-text="samples_note"></p>
    </figure>
    <figure class="cell"><img data-img="loss"><p class="caption" data-text="loss_note"></p></figure>
  </div>
  <div class="row">
    <div class="cell">
      <img data-img="quality">
      <p data-if="verdict"><b data-text="verdict"></b> <span data-text="verdict_step"></span>
        <abbr class="help" data-title="verdict_help" aria-label="what the verdicts mean">?</abbr></p>
      <p class="caption" data-if="summary"><span data-text="summary"></span>
        <abbr class="help" data-title="summary_help" aria-label="how the score is measured">?</abbr></p>
      <p class="caption" data-text="quality_note"></p>
    </div>
    <figure class="cell"><img data-img="d"></figure>
  </div>
</div>
"""

CSS = """
.panel { line-height: 1.6; }
p, figure { margin: 0 0 0.75rem 0; }
.caption { font-size: 0.875rem; opacity: 0.6; }
figcaption.caption { text-align: center; margin-top: 0.25rem; }
.progress-text { font-size: 0.875rem; margin-bottom: 0.25rem; }
.track { height: 0.5rem; margin-bottom: 1rem; border-radius: 0.25rem; background: var(--st-secondary-background-color, #f0f2f6); }
.bar { height: 100%; border-radius: 0.25rem; background: var(--st-primary-color, #ff4b4b); }
.row { display: flex; flex-wrap: wrap; gap: 1rem; }
.cell { flex: 1 1 0; min-width: 0; }
@media (max-width: 640px) { .cell { flex-basis: 100%; } }  /* where st.columns stack too */
img { display: block; width: 100%; height: auto; }
.help { display: inline-block; width: 1.1em; line-height: 1.1em; text-align: center; font-size: 0.75em;
        border: 1px solid currentColor; border-radius: 50%; text-decoration: none; cursor: help; opacity: 0.6; }
[hidden] { display: none !important; }
"""

# Nodes name their slot in data-text, data-img, data-title (a tooltip), data-width (a bar) or data-if (shown
# only with it); a slot with no value hides its nodes. A picture keeps its address while it is the same
# picture, so the browser neither fetches nor decodes it again; nothing is set as HTML.
JS = """
const given = (value) => value !== undefined && value !== null && value !== "";
const setters = {
  text: (node, value) => { if (node.textContent !== String(value)) node.textContent = String(value); },
  img: (node, value) => {
    if (node.getAttribute("src") !== value.src) node.setAttribute("src", value.src);
    if (node.alt !== value.alt) node.alt = value.alt;
  },
  title: (node, value) => { if (node.title !== value) node.title = value; },
  width: (node, value) => { node.style.width = (100 * Math.min(Math.max(value, 0), 1)).toFixed(1) + "%"; },
  if: () => {},
};
export default function ({ data, parentElement }) {
  for (const [kind, set] of Object.entries(setters)) {
    for (const node of parentElement.querySelectorAll(`[data-${kind}]`)) {
      const value = data[node.dataset[kind]];
      node.hidden = !given(value);
      if (!node.hidden) set(node, value);
    }
  }
}
"""

_panel = st.components.v2.component("ganplay_live_panel", html=HTML, css=CSS, js=JS)


def live_panel(snap: RunSnapshot, smoothing: float) -> None:
    _panel(key="live_panel", data=panel_data(snap, smoothing), width="stretch", height="content")


def panel_data(snap: RunSnapshot, smoothing: float) -> dict[str, Any]:
    """What the panel shows, by slot: texts, numbers and {"src", "alt"} pictures; absent slots are hidden."""
    data: dict[str, Any] = {**progress_texts(snap), **_samples(snap)}
    history = snap.history
    if history:
        step = history[-1]["step"]
        data["loss"] = _picture(chart_picture.loss_picture(history, smoothing), f"losses up to step {step:,}")
        data["d"] = _picture(
            chart_picture.d_output_picture(history, smoothing), f"D(x) and D(G(z)) up to step {step:,}"
        )
    else:
        data["loss_note"] = "The first metrics arrive after a few steps."
    data.update(_quality(snap))
    return data


def progress_texts(snap: RunSnapshot) -> dict[str, Any]:
    """The state, its line (step, speed, ETA), and the bar's fraction and text or what the run waits for."""
    status = f" · step {snap.step:,} / {snap.total_steps:,}"
    if snap.state == RunState.RUNNING:  # paused, queued or ended runs have no speed to show
        status += f" · {snap.images_per_sec:,.0f} images/s" if snap.images_per_sec else " · measuring speed..."
        status += f" · ETA {format_seconds(snap.eta_seconds)}" if snap.eta_seconds is not None else ""
    what = " · ".join(
        str(w)
        for w in (
            snap.data_title or snap.config.get("dataset"),
            snap.config.get("arch"),
            snap.config.get("loss"),
            snap.device,
        )
        if w
    )
    data: dict[str, Any] = {"state": snap.state.value, "status": status}
    if snap.state in (RunState.QUEUED, RunState.STARTING):  # an empty bar here read as a broken grey box
        waiting = (
            "waiting for a free training slot (two runs train at once)"
            if snap.state == RunState.QUEUED
            else "loading the data and building the networks"
        )
        data["waiting"] = f"{waiting} · {what}"
    else:
        data.update(progress=snap.progress, progress_text=f"{snap.progress:.0%} · {what}")
    return data


def _samples(snap: RunSnapshot) -> dict[str, Any]:
    png, step = samples_png(snap)
    if png is None:
        return {"samples_note": "The first samples appear once the run has built its networks."}
    caption = f"fixed-noise samples at step {step:,}"
    return {"samples": {"src": data_url(png), "alt": caption}, "samples_caption": caption}


# The last samples' PNG of each run: the grid changes every sample_every steps, the panel every refresh.
_SAMPLES_CACHE: dict[str, tuple[int, bytes]] = {}


def samples_png(snap: RunSnapshot) -> tuple[bytes | None, int]:
    """The run's latest fixed-noise picture as PNG and its step: from memory when live, else its newest saved
    PNG; (None, 0) before the first."""
    if snap.grid is not None:
        cached = _SAMPLES_CACHE.get(snap.folder)
        if cached is None or cached[0] != snap.grid_step:
            grid = snap.grid[..., 0] if snap.grid.ndim == 3 and snap.grid.shape[2] == 1 else snap.grid  # grey
            cached = (snap.grid_step, png_bytes(Image.fromarray(np.ascontiguousarray(grid))))
            _SAMPLES_CACHE[snap.folder] = cached
        return cached[1], cached[0]
    found = snapshots(snap.folder)
    if not found:
        return None, 0
    return found[-1].path.read_bytes(), found[-1].step


def quality_texts(snap: RunSnapshot) -> dict[str, Any]:
    """The live score's words: a note while there is none, else its verdict with the verdict scale as help,
    and a summary (the score's numbers, its cost, which step best.pt holds) with how it is measured as help."""
    metric = snap.eval_metric
    if metric is None:
        return {"quality_note": snap.eval_note or "Live quality scores arrive every eval_every steps."}
    if not snap.evals:
        return {"quality_note": f"The first quality score comes at step {snap.config.get('eval_every', 0):,}."}
    best_step = snap.best["step"] if snap.best else None
    latest = snap.evals[-1]
    kept = (
        f" · best.pt holds step {best_step:,}"
        if best_step is not None
        else " · no best.pt yet: no score has been good enough to keep"
    )
    return {
        "verdict": live_eval.verdict(latest),
        "verdict_step": f"(step {latest['step']:,})",
        "verdict_help": live_eval.verdict_scale(metric),
        "summary": live_eval.summary(latest)
        + f" · scoring took {live_eval.cost_share(snap.evals):.1%} of training time{kept}",
        "summary_help": snap.eval_note,
    }


def _quality(snap: RunSnapshot) -> dict[str, Any]:
    texts = quality_texts(snap)
    if "verdict" not in texts:
        return texts
    metric, best_step = snap.eval_metric, (snap.best["step"] if snap.best else None)
    chart = chart_picture.quality_picture(snap.evals, metric.key, metric.label, best_step)
    return {**texts, "quality": _picture(chart, f"{metric.label} up to step {snap.evals[-1]['step']:,}")}


def _picture(image: Image.Image, alt: str) -> dict[str, str]:
    return {"src": data_url(chart_picture.encode(image)), "alt": alt}


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
