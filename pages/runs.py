"""Runs: every run in a table that follows them live; compare curves; diff configs; resume, delete, download
(checkpoints and a time-lapse GIF); D's per-layer norms over training."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ganplay import live_eval, plots
from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME
from ganplay.run_state import RunState
from pages.common import data_kind, is_active, plain, registry, use_the_router
from pages.run_views import layers_ui, timelapse_download_ui

use_the_router()

RESUMABLE = (RunState.STOPPED, RunState.INTERRUPTED, RunState.FINISHED, RunState.FAILED)
TRAINING_CURVES = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "images_per_sec")
QUALITY_CURVES = ("fd", "mode_score", "confidence", "rarest_class", "conditional_accuracy", "high_quality")
TABLE_REFRESH_SECONDS = 2
COLUMNS = {
    "name": st.column_config.TextColumn("name", width=200),
    "status": st.column_config.TextColumn("status", width=80),
    "step": st.column_config.TextColumn("step", width=120),
    "quality": st.column_config.TextColumn(
        "quality (latest live score)", width=300, help="where the latest live score stands, in words"
    ),
    "score": st.column_config.TextColumn("score", width=120, help="the latest live score and its floor"),
    "best.pt step": st.column_config.NumberColumn("best.pt", width=70, help="the step best.pt holds"),
    "run of": st.column_config.TextColumn("run of", help="dataset · architecture · loss"),
}


def kind_of(snap) -> str:
    """toy or image, for keeping comparisons between runs of one kind ('?' for a dataset that is gone)."""
    return data_kind(snap.config.get("dataset"))


def table_rows(snaps) -> list[dict]:
    """One row per run: what a reader scans first (state, progress, quality) fits the page; the rest follows."""
    rows = []
    for s in snaps:
        evals = s.evals[-1] if s.evals else None
        rows.append(
            {
                "name": s.name,
                "status": s.state.value,
                "step": f"{s.step:,} / {s.total_steps:,}",
                "quality": live_eval.verdict(evals) if evals else "-",
                "score": live_eval.summary(evals).split(" · ")[0] if evals else "-",
                "best.pt step": s.best["step"] if s.best else None,
                "run of": f"{s.config.get('dataset')} · {s.config.get('arch')} · {s.config.get('loss')}",
                "created": s.created_at[:16].replace("T", " "),
            }
        )
    return rows


def table_ui(snaps) -> None:
    """The table, redrawn every few seconds while any of the page's runs is active, so steps and scores keep up."""
    active = any(is_active(s) for s in snaps)
    st.fragment(run_every=TABLE_REFRESH_SECONDS if active else None)(_table)()


def _table() -> None:
    snaps = registry().list_runs()
    st.dataframe(table_rows(snaps), hide_index=True, width="stretch", column_config=COLUMNS)
    if any(is_active(s) for s in snaps):
        st.caption(f"Runs in progress: the table follows them every {TABLE_REFRESH_SECONDS} s.")


def config_diff(a: dict, b: dict) -> list[dict]:
    return [
        {"field": k, "A": str(a.get(k)), "B": str(b.get(k))} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
    ]


def compare_ui(snaps) -> None:
    st.subheader("Compare curves")
    by_name = {s.name: s for s in snaps}
    newest_kind = kind_of(snaps[0])
    same_kind = [s.name for s in snaps if kind_of(s) == newest_kind]  # a toy's loss beside MNIST's says nothing
    chosen = st.multiselect(
        "Runs",
        list(by_name),
        default=same_kind[:2],
        key="runs_overlay",
        help="by default the two newest runs of the newest run's kind (2-D or images)",
    )
    cols = st.columns([2, 1])
    scored = [k for k in QUALITY_CURVES if any(k in row for n in chosen for row in by_name[n].evals)]
    info = ["loss_info"] if any(by_name[n].config.get("info_codes") for n in chosen) else []  # InfoGAN runs
    metric = cols[0].selectbox(
        "Metric",
        [*TRAINING_CURVES, *info, *scored],
        format_func=lambda k: plots.LABELS.get(k, k),
        help="Training curves come from every logged step, quality ones from the live scores.",
    )
    sparse = metric in QUALITY_CURVES
    smoothing = cols[1].slider(
        "Smoothing",
        0.0,
        0.95,
        0.6,
        0.05,
        key="runs_smoothing",
        disabled=sparse,
        help="quality scores are never smoothed: there are too few of them"
        if sparse
        else "exponential smoothing; the raw values stay faint behind",
    )
    if len({kind_of(by_name[n]) for n in chosen}) > 1:
        st.caption("These runs learn different kinds of data (2-D points and images): their values do not compare.")
    if chosen:
        source = {n: by_name[n].evals if sparse else by_name[n].history for n in chosen}
        st.plotly_chart(plots.overlay_figure(source, metric, smoothing, sparse=sparse), width="stretch", key="overlay")


def diff_ui(names: list[str], by_name: dict) -> None:
    st.subheader("Config diff")
    a, b = st.columns(2)
    first = a.selectbox("A", names, key="diff_a")
    second = b.selectbox("B", names, index=min(1, len(names) - 1), key="diff_b")
    diff = config_diff(by_name[first].config, by_name[second].config)
    if diff:
        st.dataframe(diff, hide_index=True, width="stretch")
    else:
        st.caption("Same config.")


def manage_ui(snap) -> None:
    st.subheader(f"Manage {plain(snap.name)}")
    busy = is_active(snap)
    if snap.state in (RunState.FAILED, RunState.DAMAGED):
        st.error(plain(snap.error))
    if busy:
        st.info(
            f"{plain(snap.name)} is {snap.state.value}: stop it on the Train page before resuming or deleting it.",
            icon=":material/info:",
        )
    cols = st.columns(3)
    with cols[0]:
        more = int(
            st.number_input(
                "Train until step",
                snap.step + 1,
                100_000_000,
                max(snap.total_steps, snap.step + 1000) if snap.step >= snap.total_steps else snap.total_steps,
                key=f"more:{snap.name}",
            )
        )
        if st.button("Resume", disabled=busy or snap.state not in RESUMABLE, key="runs_resume"):
            try:
                registry().resume(snap.name, steps=more)
                st.session_state["watch"] = snap.name
                st.success(f"Resumed {plain(snap.name)}: watch it on the Train page.")
            except (ValueError, OSError) as err:
                st.error(plain(err))
    with cols[1]:
        path, best = Path(snap.folder) / CHECKPOINT_NAME, Path(snap.folder) / BEST_CHECKPOINT_NAME
        if path.exists():
            st.download_button(
                "Download latest checkpoint",
                path.read_bytes(),
                f"{snap.name}.pt",
                "application/octet-stream",
                key="runs_download",
            )
        else:
            st.caption("No checkpoint saved yet.")
        if best.exists() and snap.best:
            st.download_button(
                f"Download best.pt (step {snap.best['step']:,})",
                best.read_bytes(),
                f"{snap.name}-best.pt",
                "application/octet-stream",
                key="runs_download_best",
            )
        timelapse_download_ui(snap.folder, snap.name, key=f"runs:{snap.name}")
    with cols[2]:
        confirm = st.checkbox(
            f"Yes, delete {plain(snap.name)} and all its files", key=f"confirm:{snap.name}", disabled=busy
        )
        if st.button(
            "Delete",
            type="primary",
            disabled=not confirm or busy,
            key="runs_delete",
            help=f"{snap.name} is {snap.state.value}: stop it first" if busy else None,
        ):
            try:
                registry().delete(snap.name)
            except (ValueError, OSError) as err:
                st.error(plain(err))
            else:
                st.session_state["runs_deleted"] = plain(f"Deleted {snap.name} and its folder {snap.folder}.")
                st.rerun()


st.title("Runs")
if "runs_deleted" in st.session_state:
    st.success(st.session_state.pop("runs_deleted"), icon=":material/delete:")
snaps = registry().list_runs()
if not snaps:
    st.info("No runs yet: start one on the Train page.")
    st.stop()
table_ui(snaps)
by_name = {s.name: s for s in snaps}
compare_ui(snaps)
diff_ui(list(by_name), by_name)
selected = by_name[st.selectbox("Run to manage", list(by_name), key="runs_manage")]
manage_ui(selected)
layers_ui(selected)
