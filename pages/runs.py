"""Runs: every run in a table; compare curves; diff configs; resume, delete and download."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ganplay import live_eval, plots
from ganplay.checkpoints import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME
from ganplay.runs import RunState
from pages.common import is_active, registry, use_the_router

use_the_router()

RESUMABLE = (RunState.STOPPED, RunState.INTERRUPTED, RunState.FINISHED, RunState.FAILED)
TRAINING_CURVES = ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "images_per_sec")
QUALITY_CURVES = ("fd", "mode_score", "confidence", "rarest_class", "conditional_accuracy", "high_quality")


def table_rows(snaps) -> list[dict]:
    rows = []
    for s in snaps:
        latest = s.latest or {}
        rows.append({"name": s.name, "status": s.state.value, "step": f"{s.step:,}/{s.total_steps:,}",
                     "dataset": s.config.get("dataset"), "arch": s.config.get("arch"), "loss": s.config.get("loss"),
                     "loss D": latest.get("loss_d"), "loss G": latest.get("loss_g"), "D(x)": latest.get("d_real"),
                     "D(G(z))": latest.get("d_fake"),
                     "quality (latest live score)": live_eval.summary(s.evals[-1]) if s.evals else "-",
                     "best.pt step": s.best["step"] if s.best else None,
                     "created": s.created_at[:19].replace("T", " ")})
    return rows


def config_diff(a: dict, b: dict) -> list[dict]:
    return [{"field": k, "A": str(a.get(k)), "B": str(b.get(k))} for k in sorted(set(a) | set(b))
            if a.get(k) != b.get(k)]


def manage_ui(snap) -> None:
    st.subheader(f"Manage {snap.name}")
    cols = st.columns(3)
    with cols[0]:
        more = int(st.number_input("Train until step", snap.step + 1, 100_000_000,
                                   max(snap.total_steps, snap.step + 1000) if snap.step >= snap.total_steps
                                   else snap.total_steps, key=f"more:{snap.name}"))
        if st.button("Resume", disabled=is_active(snap) or snap.state not in RESUMABLE, key="runs_resume"):
            try:
                registry().resume(snap.name, steps=more)
                st.session_state["watch"] = snap.name
                st.success(f"Resumed {snap.name}: watch it on the Train page.")
            except (ValueError, OSError) as err:
                st.error(str(err))
    with cols[1]:
        path, best = Path(snap.folder) / CHECKPOINT_NAME, Path(snap.folder) / BEST_CHECKPOINT_NAME
        if path.exists():
            st.download_button("Download latest checkpoint", path.read_bytes(), f"{snap.name}.pt",
                               "application/octet-stream", key="runs_download")
        else:
            st.caption("No checkpoint saved yet.")
        if best.exists() and snap.best:
            st.download_button(f"Download best.pt (step {snap.best['step']:,})", best.read_bytes(),
                               f"{snap.name}-best.pt", "application/octet-stream", key="runs_download_best")
    with cols[2]:
        confirm = st.checkbox(f"Yes, delete {snap.name} and all its files", key=f"confirm:{snap.name}")
        if st.button("Delete", type="primary", disabled=not confirm or is_active(snap), key="runs_delete"):
            try:
                registry().delete(snap.name)
                st.rerun()
            except (ValueError, OSError) as err:
                st.error(str(err))


st.title("Runs")
snaps = registry().list_runs()
if not snaps:
    st.info("No runs yet: start one on the Train page.")
    st.stop()
st.dataframe(table_rows(snaps), hide_index=True, width="stretch")
names = [s.name for s in snaps]
by_name = {s.name: s for s in snaps}

st.subheader("Compare curves")
chosen = st.multiselect("Runs", names, default=names[:2], key="runs_overlay")
cols = st.columns([2, 1])
scored = [k for k in QUALITY_CURVES if any(k in row for n in chosen for row in by_name[n].evals)]
info = ["loss_info"] if any(by_name[n].config.get("info_codes") for n in chosen) else []  # InfoGAN runs
metric = cols[0].selectbox("Metric", [*TRAINING_CURVES, *info, *scored], format_func=lambda k: plots.LABELS.get(k, k),
                           help="Training curves come from every logged step, quality ones from the live scores.")
smoothing = cols[1].slider("Smoothing", 0.0, 0.95, 0.6, 0.05, key="runs_smoothing")
if chosen:
    source = {n: by_name[n].evals if metric in QUALITY_CURVES else by_name[n].history for n in chosen}
    figure = plots.overlay_figure(source, metric, smoothing)
    st.plotly_chart(figure, width="stretch", key="overlay")

st.subheader("Config diff")
a, b = st.columns(2)
first = a.selectbox("A", names, key="diff_a")
second = b.selectbox("B", names, index=min(1, len(names) - 1), key="diff_b")
diff = config_diff(by_name[first].config, by_name[second].config)
if diff:
    st.dataframe(diff, hide_index=True, width="stretch")
else:
    st.caption("Same config.")

manage_ui(by_name[st.selectbox("Run to manage", names, key="runs_manage")])
