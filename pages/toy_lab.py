"""Toy 2-D lab: real against generated points, D's view of the plane, and G's map of a noise grid, live."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from ganplay import plots
from ganplay.checkpoints import CHECKPOINT_NAME, CheckpointError
from ganplay.data import dataset_info, load_dataset
from ganplay.metrics import toy_mode_stats
from ganplay.toylab import toy_view_from_checkpoint
from pages.common import pick_run, registry, use_the_router
from pages.live import poll

use_the_router()

REAL_POINTS = 500


@st.cache_resource(max_entries=8)
def real_points(dataset: str) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """A fixed draw of real points, the mixture's means and sigma (None for curves)."""
    data = load_dataset(dataset, seed=0)
    points, _ = data.real_samples(REAL_POINTS, seed=0)
    modes = getattr(data, "modes", None)
    return points.numpy(), None if modes is None else modes.numpy(), getattr(data, "sigma", None)


@st.cache_resource(max_entries=16, show_spinner=False)
def saved_view(path: str, mtime: float):
    return toy_view_from_checkpoint(path)


def is_toy(snap) -> bool:
    try:
        return dataset_info(snap.config.get("dataset", ""))["kind"] == "toy"
    except ValueError:
        return False


def lab_body(snap) -> None:
    real, modes, sigma = real_points(snap.config["dataset"])
    view, fake = snap.toy_view, snap.points
    if view is None or fake is None:  # not trained in this process: read its checkpoint
        path = Path(snap.folder) / CHECKPOINT_NAME
        if not path.exists():
            st.info("No view yet: the first one arrives with the first snapshot.")
            return
        try:
            view, fake = saved_view(str(path), path.stat().st_mtime)
        except CheckpointError as err:
            st.error(str(err))
            return
    show = st.multiselect("Show", ["D heat map", "G's noise grid", "real points"],
                          default=["D heat map", "G's noise grid", "real points"], key="lab_layers")
    plot_col, stats_col = st.columns([3, 1])
    heat = (view.xs, view.ys, view.d_values) if "D heat map" in show else None
    figure = plots.toy_figure(fake, real if "real points" in show else None, modes, heat,
                              view.manifold if "G's noise grid" in show else None,
                              title=f"step {snap.grid_step or snap.step:,}", probabilistic=view.probabilistic)
    plot_col.plotly_chart(figure, width="stretch", key="lab_plot")
    with stats_col:
        if modes is not None and sigma is not None:
            stats = toy_mode_stats(fake, modes, sigma)
            st.metric("Modes covered", f"{stats.modes_covered} / {stats.num_modes}")
            st.metric("High quality", f"{100 * stats.high_quality:.1f}%",
                      help="points within 3 sigma of their nearest mode (PacGAN protocol)")
            kl = f"{stats.kl_to_uniform:.3f}" if np.isfinite(stats.kl_to_uniform) else "-"
            st.metric("KL to uniform", kl, help="0: every covered mode equally often; -: no high-quality point yet")
            st.caption(f"over {stats.num_samples:,} fixed-noise samples; the CLI reports 2,500 (PacGAN protocol)")
        else:
            st.caption("This toy is a curve with no discrete modes: judge the fit by eye.")
        st.caption("Blue heat: D says real; red: D says fake. Grey lines: where G sends a regular grid of noise.")


st.title("Toy 2-D lab")
toys = [s for s in registry().list_runs() if is_toy(s)]
snap = pick_run("Toy run", toys, key="lab_run", prefer=st.session_state.get("watch"))
if snap is None:
    st.info("No 2-D run yet. On the Train page pick the quick-cpu-demo preset (ring8) and press Start.")
    st.page_link("pages/train.py", label="Go to Train")
else:
    poll(snap, lab_body)
