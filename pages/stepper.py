"""Moves by hand on a paused run: one D update, one G update, a full step or N, and slow motion."""

from __future__ import annotations

import streamlit as st

from ganplay.errors import UsageError
from ganplay.game_steps import MAX_MOVES
from ganplay.run_controls import MAX_PLAY_RATE, MIN_PLAY_RATE
from ganplay.run_state import RunSnapshot, RunState
from ganplay.runs import Run
from pages.common import plain

WAIT_SECONDS = 20.0  # a page waits this long for its moves; longer ones finish in the run's thread, shown live
DEFAULT_PLAY_RATE = 2.0
BUTTONS = (  # (kind, label, help)
    ("d", "D step", "one update of the discriminator on a fresh real batch and a fresh fake one; the step stays"),
    ("g", "G step", "one update of the generator (the step moves by one)"),
    ("step", "Full step", "what training does each step: {d} D update(s), then one G update"),
)


def stepper_ui(run: Run, snap: RunSnapshot, key: str = "") -> None:
    """The step buttons for a paused run of this process, slow motion, and what the last move changed."""
    if snap.state == RunState.RUNNING and snap.play_rate:
        st.caption(
            f"Slow motion: {snap.play_rate:g} full steps a second. Pause to step by hand; Resume for full speed."
        )
        return
    if snap.state != RunState.PAUSED:
        if snap.state == RunState.RUNNING:
            st.caption("Pause the run to step through the game by hand: one D or G update at a time.")
        return
    d_steps = int(snap.config.get("d_steps", 1))
    columns = st.columns([1, 1, 1, 1.4])
    for column, (kind, label, why) in zip(columns, BUTTONS):
        if column.button(label, key=f"move_{kind}{key}", help=why.format(d=d_steps), width="stretch"):
            _move(run, kind, 1)
    with columns[3]:
        many = st.number_input(
            "Full steps", 1, MAX_MOVES, 10, key=f"move_count{key}", label_visibility="collapsed", help="how many"
        )
        if st.button(f"{int(many)} full steps", key=f"move_many{key}", width="stretch"):
            _move(run, "step", int(many))
    rate_col, play_col = st.columns([3, 1], vertical_alignment="bottom")
    rate = rate_col.slider(
        "Slow motion (full steps a second)",
        MIN_PLAY_RATE,
        MAX_PLAY_RATE,
        DEFAULT_PLAY_RATE,
        0.5,
        key=f"play_rate{key}",
        help="train on at this pace, redrawing the view after every step; Pause stops it, Resume goes full speed",
    )
    if play_col.button("Play slowly", key=f"play{key}", width="stretch"):
        try:
            run.play(rate)
        except UsageError as err:
            st.session_state["move_error"] = plain(err)
        st.rerun()
    if "move_error" in st.session_state:
        st.error(st.session_state.pop("move_error"))
    if "move_note" in st.session_state:
        st.info(st.session_state.pop("move_note"))
    if snap.last_move is not None:
        extra = f" · {snap.extra_d_updates:,} D update(s) by hand so far" if snap.extra_d_updates else ""
        st.info(f"{snap.last_move.summary()}{extra}. Losses on a fixed probe batch.", icon=":material/footprint:")


def _move(run: Run, kind: str, count: int) -> None:
    try:
        if run.move(kind, count, timeout=WAIT_SECONDS) is None:
            st.session_state["move_note"] = f"Still moving after {WAIT_SECONDS:g} s; the view follows as it goes."
    except UsageError as err:
        st.session_state["move_error"] = plain(err)
    st.rerun()
