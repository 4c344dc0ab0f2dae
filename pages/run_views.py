"""Views of a run's folder that the Train and Runs pages share: the time-lapse GIF download, D's per-layer norms."""

from __future__ import annotations

import streamlit as st

from ganplay import layer_norms, timelapse
from ganplay.errors import UsageError
from ganplay.run_state import RunSnapshot
from pages.common import data_kind, plain

LAYER_GUIDE = (
    "Each line is one conv or linear layer of D, measured at every fixed-noise snapshot. **sigma** is the largest "
    "singular value of the layer's weight as an (out, in x kernel) matrix: the part of D's Lipschitz bound that "
    "spectral norm holds near 1 (with it on, these are the weights after normalisation). A layer whose sigma keeps "
    "climbing is D sharpening without bound, the usual start of an exploding D and vanishing G gradients. "
    "**Gradient norms** falling towards zero say a layer stopped learning; one growing by decades says D is "
    "becoming unstable. Both axes' values span decades, so the scale is logarithmic."
)


@st.cache_data(max_entries=8, show_spinner="Making the GIF...")
def _timelapse(folder: str, last_step: int, count: int, mtime_ns: int) -> timelapse.Timelapse:
    """The GIF of the snapshots as they were when asked for; the arguments after `folder` key the cache, so a
    rerun (a live refresh every few seconds) reuses it, and new snapshots make a new one only when asked."""
    return timelapse.build(folder)


def _signature(found: list[timelapse.Snapshot]) -> tuple[int, int, int]:
    last = found[-1]
    return last.step, len(found), last.path.stat().st_mtime_ns  # a run deleted and made again is a new one


def timelapse_download_ui(folder: str, name: str, key: str) -> None:
    """A button that makes the run's time-lapse GIF, then its download; made once per set of snapshots."""
    found = timelapse.snapshots(folder)
    if len(found) < 2:
        st.caption("The time-lapse GIF needs two snapshots (one is saved every sample_every steps).")
        return
    asked_key = f"timelapse_asked:{key}"
    current = _signature(found)
    if st.button(
        "Make a time-lapse GIF" if asked_key not in st.session_state else "Make it again with the latest snapshots",
        key=f"timelapse_make:{key}",
        disabled=st.session_state.get(asked_key) == current,
        help=f"the fixed-noise snapshots as an animation, step under each frame (at most "
        f"{timelapse.DEFAULT_MAX_FRAMES} frames, {timelapse.DEFAULT_FPS:g} per second; the CLI's "
        f"`python -m ganplay timelapse {name.replace('`', '')} --out progress.gif` has more choices)",
    ):
        st.session_state[asked_key] = current
    asked = st.session_state.get(asked_key)
    if asked is None:
        return
    try:
        lapse = _timelapse(folder, *asked)
    except (UsageError, OSError) as err:  # the run deleted meanwhile, a full disk...
        st.error(plain(f"Could not make the GIF: {err}"))
        return
    st.download_button(
        "Download the GIF",
        lapse.gif,
        f"{name}-timelapse.gif",
        "image/gif",
        key=f"timelapse_download:{key}",
        on_click="ignore",  # a download needs no rerun (a live view would redraw everything)
        help=lapse.summary(),
    )
    st.caption(
        plain(lapse.summary()) + (f" · {len(lapse.skipped)} unreadable snapshots skipped" if lapse.skipped else "")
    )


def layers_ui(snap: RunSnapshot) -> None:
    """D's per-layer sigma and gradient norms over training, for image runs."""
    st.subheader("D's layers over training")
    if data_kind(snap.config.get("dataset")) == "toy":
        st.caption("Per-layer norms are recorded for image runs; a 2-D run's D is read in the Toy 2-D lab.")
        return
    problems: list[str] = []
    rows = layer_norms.read_rows(snap.folder, problems)
    if problems:
        st.warning(plain(f"{layer_norms.LAYERS_FILE}: " + "; ".join(problems[:3])), icon=":material/warning:")
    if not rows:
        st.caption(
            "No per-layer norms recorded yet: they are measured at every fixed-noise snapshot (runs made before "
            "ganplay recorded them have none)."
        )
        return
    left, right = st.columns(2)
    for column, quantity in ((left, layer_norms.SIGMA), (right, layer_norms.GRAD)):
        column.plotly_chart(
            layer_norms.layer_figure(rows, quantity), width="stretch", key=f"layers:{quantity}:{snap.name}"
        )
    st.caption(LAYER_GUIDE)
