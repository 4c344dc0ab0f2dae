"""The live view of one run: controls, curves and samples refreshed about once a second, and a time-lapse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from ganplay import guides, plots
from ganplay.checkpoints import CHECKPOINT_NAME
from ganplay.run_state import RunSnapshot, RunState
from ganplay.timelapse import snapshots
from pages.common import is_active, plain, registry
from pages.live_panel import live_panel, progress_texts, quality_texts, samples_png
from pages.run_views import timelapse_download_ui
from pages.stepper import stepper_ui

# Seconds between live refreshes. When training runs on the CPU, the page's CPU is taken from training. On a
# 2-core box (scripts/live_overhead.py, mnist-quick) a 1 s refresh took 0.46 cores with plotly's charts, 0.24
# with pictures as separate elements, and 0.17 (browser 0.13, server 0.04: 8.5% of the machine) since the
# live view is one panel (pages/live_panel.py); 2 s takes 0.09. Within the 10% goal, so every run refreshes
# each second by default.
REFRESH_CHOICES = (1, 2, 5, 10)
DEFAULT_REFRESH = 1


def controls_ui(snap: RunSnapshot) -> None:
    """Pause, resume and stop for runs of this process; continue from the checkpoint for stopped ones."""
    run = registry().get(snap.name)
    if run is not None and run.is_alive():
        _live_controls(run, snap)
    elif snap.state in (RunState.STOPPED, RunState.INTERRUPTED) and snap.step < snap.total_steps:
        saved = (Path(snap.folder) / CHECKPOINT_NAME).exists()
        label = "Continue training" if saved else "Start again from step 0"
        if st.button(
            label,
            key="continue",
            help=f"from the checkpoint at step {snap.step:,}"
            if saved
            else "it stopped before saving its first checkpoint, so it trains again from the beginning",
        ):
            try:
                registry().resume(snap.name)
            except (ValueError, OSError) as err:
                st.session_state["continue_error"] = plain(f"Cannot continue {snap.name}: {err}")
            st.rerun()
    if "continue_error" in st.session_state:
        st.error(st.session_state.pop("continue_error"))


def _live_controls(run, snap: RunSnapshot) -> None:
    cols = st.columns(3)
    paused = snap.state == RunState.PAUSED
    if cols[0].button("Pause", key="pause", disabled=paused or snap.state != RunState.RUNNING, width="stretch"):
        run.pause()
        st.rerun()
    slow = snap.state == RunState.RUNNING and snap.play_rate is not None
    if cols[1].button("Resume", key="resume", disabled=not (paused or slow), width="stretch"):
        run.unpause()
        st.rerun()
    if cols[2].button("Stop", key="stop", type="primary", width="stretch", disabled=snap.state == RunState.STOPPING):
        run.stop()
        st.rerun()
    stepper_ui(run, snap)


def live_view(snap: RunSnapshot) -> None:
    """The live body of the run the picker shows; `snap` is the picker's own, so that a state change between
    the two is caught by poll() (a fresh snapshot here would hide it, and the picker's label would lag)."""
    poll(snap, _live_body, progress=False)  # the live body draws its own progress
    # Outside the refreshed fragment: they change rarely, and each redraw costs the CPU that trains
    guide_ui(snap)
    timelapse_ui(snap)


def poll(snap: RunSnapshot, body: Callable[[RunSnapshot], None], progress: bool = True) -> None:
    """Draw the progress line (unless told not to) and body(fresh snapshot), again every refresh period while
    the run is active.

    When the run changes state (queued to running, paused from another tab, finished...), one full
    rerun redraws what lies outside the fragment: the buttons that depend on it and the run picker.
    """
    every = refresh_ui() if is_active(snap) else None
    st.fragment(run_every=every)(_poll_once)(snap.name, snap.state, body, progress)


def _poll_once(name: str, drawn_state: RunState, body: Callable[[RunSnapshot], None], progress: bool) -> None:
    snap = registry().snapshot(name)
    if snap is None:
        return
    if snap.state != drawn_state:
        st.rerun()
    if progress:
        progress_ui(snap)
    body(snap)


def refresh_ui() -> int:
    """The refresh period in seconds, kept in the URL (?refresh=N) so a reload or a shared link keeps it."""
    asked = st.query_params.get("refresh", "")
    current = int(asked) if asked.isdigit() and int(asked) in REFRESH_CHOICES else DEFAULT_REFRESH
    chosen = st.segmented_control(
        "Refresh every",
        REFRESH_CHOICES,
        default=current,
        format_func=lambda s: f"{s} s",
        key="refresh_choice",
        help="Each refresh costs the browser and the server CPU. When training runs on this machine's CPU too, "
        "a 1 s refresh took about 8.5% of a 2-core machine from training; 2 s about 4.5%; interactive charts more.",
    )
    chosen = chosen or current  # clicking the selected option again unselects it: keep the period
    if chosen != DEFAULT_REFRESH:
        st.query_params["refresh"] = str(chosen)
    elif "refresh" in st.query_params:
        del st.query_params["refresh"]
    return chosen


def _live_body(snap: RunSnapshot) -> None:
    for alarm in snap.alarms:
        st.warning(
            f"**{alarm.kind.replace('_', ' ')}** at step {alarm.step:,}: {alarm.message}\n\nTry: {alarm.remedy}",
            icon=":material/warning:",
        )
    smoothing = float(st.session_state.get("smoothing", 0.6))
    if st.session_state.get(INTERACTIVE_KEY, False):
        progress_ui(snap)
        _interactive_body(snap, smoothing)
    else:  # one element for the lot: the browser's redraw at each refresh is what a small machine feels
        live_panel(snap, smoothing)


def _interactive_body(snap: RunSnapshot, smoothing: float) -> None:
    """The samples and plotly's charts, which the browser redraws at every refresh (hover, zoom and pan)."""
    history = snap.history
    # The picture of what G makes comes first (left, top): it is what shows learning; the curves explain it.
    top_left, top_right = st.columns(2)
    picture, step = samples_png(snap)
    if picture is not None:
        top_left.image(picture, caption=f"fixed-noise samples at step {step:,}", width="stretch")
    else:
        top_left.caption("The first samples appear once the run has built its networks.")
    with top_right:
        if history:
            st.plotly_chart(plots.loss_figure(history, smoothing), width="stretch", key="loss_chart")
        else:
            st.caption("The first metrics arrive after a few steps.")
    low_left, low_right = st.columns(2)
    with low_left:
        quality_ui(snap)
    if history:
        with low_right:
            st.plotly_chart(plots.d_output_figure(history, smoothing), width="stretch", key="d_chart")


INTERACTIVE_KEY = "live_interactive"


def guide_ui(snap: RunSnapshot) -> None:
    """How to read the curves for this run's loss, and the smoothing of the curves (not of quality scores)."""
    loss = snap.config.get("loss", "nsgan")
    with st.expander(f"How to read these curves ({loss})"):
        st.markdown(guides.curve_guide(loss))
    st.slider(
        "Smoothing of the loss and D curves",
        0.0,
        0.95,
        0.6,
        0.05,
        key="smoothing",
        help="exponential smoothing, as in TensorBoard; the raw values stay faint behind",
    )
    st.toggle(
        "Interactive charts",
        key=INTERACTIVE_KEY,
        help="Hover for values, zoom and pan. The browser redraws interactive charts at every refresh, which "
        "on a small machine takes CPU from training; the pictures show the same lines.",
    )


def quality_ui(snap: RunSnapshot) -> None:
    """The live quality score's plotly chart, its verdict in words, its cost, and which step best.pt holds."""
    texts = quality_texts(snap)
    if "verdict" not in texts:
        st.caption(texts["quality_note"])
        return
    metric, best_step = snap.eval_metric, (snap.best["step"] if snap.best else None)
    figure = plots.quality_figure(snap.evals, metric.key, metric.label, best_step)
    st.plotly_chart(figure, width="stretch", key="quality_chart")
    st.markdown(f"**{texts['verdict']}** {texts['verdict_step']}", help=texts["verdict_help"])
    st.caption(texts["summary"], help=texts["summary_help"])


def progress_ui(snap: RunSnapshot) -> None:
    """The state and speed line, then the progress bar (or what a run that has not begun waits for)."""
    shown = progress_texts(snap)
    st.markdown(f"**{shown['state']}**{shown['status']}")
    if "waiting" in shown:
        st.caption(plain(shown["waiting"]))
    else:
        st.progress(shown["progress"], text=plain(shown["progress_text"]))


def timelapse_ui(snap: RunSnapshot) -> None:
    found = snapshots(snap.folder)
    with st.expander(f"Time-lapse ({len(found)} snapshots)", expanded=False):
        if len(found) < 2:
            st.caption("Snapshots are saved every sample_every steps; come back when there are two.")
            return
        if is_active(snap):  # drawn outside the live refresh, which would redraw it every second
            st.caption("Snapshots up to when this view was opened; newer ones show when the run ends or on reload.")
        steps = [s.step for s in found]
        step = st.select_slider("Step", steps, value=steps[-1], key=f"timelapse:{snap.name}")
        st.image(str(found[steps.index(step)].path), caption=f"step {step:,}")
        timelapse_download_ui(snap.folder, snap.name, key=f"live:{snap.name}")
