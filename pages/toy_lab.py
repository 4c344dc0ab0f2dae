"""Toy 2-D lab: real against generated points, D's view of the plane, and G's map of a noise grid, live."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import streamlit as st

from ganplay import drawing, live_eval, toy_picture, toy_plots
from ganplay.checkpoints import CHECKPOINT_NAME, CheckpointError
from ganplay.data import load_dataset
from ganplay.image_files import DatasetError
from ganplay.metrics import HQ_SIGMAS, PACGAN_PROTOCOL_SAMPLES, toy_mode_stats
from ganplay.run_state import RunSnapshot
from ganplay.toylab import ToyView, load_toy_snapshot, saved_toy_view, toy_models_in, toy_snapshots
from pages.common import SHIPPED_MODELS, data_kind, model_caption, pick_labelled, plain, registry, use_the_router
from pages.live import controls_ui, poll
from pages.point_data import file_version, grid_divergence_ui

use_the_router()

REAL_POINTS = 500
PUSH = "G's push (arrows)"
LATEST = "latest"  # the step slider's last option: it follows the run's newest snapshot
NO_D_NOTE = (
    "No D heat map: this file keeps only the generator (a generator-only export); D's view of the plane "
    "needs a run's own checkpoint."
)
INTERACTIVE_HELP = (
    "Hover for D's value at any spot, zoom and pan. The browser takes a couple of seconds to start this chart "
    "and works harder at every refresh, which a small machine takes from training; the picture shows the same "
    "layers."
)
Frame = tuple[ToyView, np.ndarray, int]  # the views, the generated points, and their step


@st.cache_resource(max_entries=8)
def real_points(dataset: str, version: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None, float | None]:
    """A fixed draw of real points, the mixture's means and sigma (None for curves); `version` (a points file's
    size and time) makes an edited file read again."""
    data = load_dataset(dataset, seed=0)
    points, _ = data.real_samples(REAL_POINTS, seed=0)
    modes = getattr(data, "modes", None)
    return points.numpy(), None if modes is None else modes.numpy(), getattr(data, "sigma", None)


@st.cache_resource(max_entries=16, show_spinner=False)
def saved_view(path: str, mtime: float):
    return saved_toy_view(path)


@st.cache_resource(max_entries=256, show_spinner=False)
def saved_snapshot(path: str) -> tuple[ToyView, np.ndarray]:
    return load_toy_snapshot(path)  # written once, atomically: a path is all the key it needs


@st.cache_resource(max_entries=2, show_spinner=False)
def _toy_models(listing: tuple[tuple[str, float], ...]) -> list[Path]:
    return toy_models_in(SHIPPED_MODELS)


def shipped_toy_models() -> list[Path]:
    """checkpoints/*.pt that make 2-D points, read again when a file there changes."""
    return _toy_models(tuple((p.name, p.stat().st_mtime) for p in sorted(SHIPPED_MODELS.glob("*.pt"))))


def is_toy(snap: RunSnapshot) -> bool:
    return data_kind(snap.config.get("dataset")) == "toy"


def pick_source(runs: list[RunSnapshot], shipped: list[Path]) -> RunSnapshot | Path | None:
    """Toy runs (newest first), then shipped 2-D models. A run just watched elsewhere is picked once, not forced."""
    choices: dict[str, RunSnapshot | Path] = {s.name: s for s in runs}
    choices.update({f"pretrained: {p.stem}": p for p in shipped})  # run names cannot hold ': '
    if not choices:
        return None
    watched = st.session_state.get("watch")
    prefer = watched if watched in choices and watched != st.session_state.get("lab_watched") else None
    st.session_state["lab_watched"] = watched
    labels = {name: f"{name} ({c.state.value})" if isinstance(c, RunSnapshot) else name for name, c in choices.items()}
    return choices[pick_labelled("Toy run or shipped model", labels, "lab_run", prefer)]


def step_slider(run: str, steps: list[int]) -> int | str:
    """Saved snapshots, oldest first; the last option, "latest", follows the run while an older pick stays put."""
    if len(steps) < 2:
        return LATEST
    return st.select_slider(
        "Step",
        [*steps[:-1], LATEST],
        value=LATEST,
        key=f"lab_step:{run}",
        format_func=lambda s: s if s == LATEST else f"{s:,}",
        help="Replay the run: one snapshot every sample_every steps. An older step stays put "
        "while the run goes on; latest follows it.",
    )


def run_frame(snap: RunSnapshot) -> Frame | None:
    """The views at the slider's step: saved snapshots from disk, a run of this process's latest from memory."""
    saved = toy_snapshots(snap.folder)
    live = (
        (snap.toy_view, snap.points, snap.grid_step) if snap.toy_view is not None and snap.points is not None else None
    )
    steps = sorted(set(saved) | ({snap.grid_step} if live else set()))
    if not steps:
        return checkpoint_frame(snap)  # a run saved before the lab's snapshot files existed
    step = step_slider(snap.name, steps)
    try:
        if step in saved:
            return (*saved_snapshot(str(saved[step])), step)
        return live or (*saved_snapshot(str(saved[steps[-1]])), steps[-1])
    except ValueError as err:
        st.error(str(err))
        return None


def checkpoint_frame(snap: RunSnapshot) -> Frame | None:
    path = Path(snap.folder) / CHECKPOINT_NAME
    if not path.exists():
        st.info("No view yet: the first one arrives with the first snapshot.")
        return None
    try:
        view, points, ckpt = saved_view(str(path), path.stat().st_mtime)
    except CheckpointError as err:
        st.error(str(err))
        return None
    return view, points, ckpt.step


def lab_body(snap: RunSnapshot) -> None:
    frame = run_frame(snap)
    if frame is not None:
        view, points, step = frame
        draw_lab(view, points, snap.config["dataset"], f"step {step:,}")


def shipped_body(path: Path) -> None:
    try:
        view, points, ckpt = saved_view(str(path), path.stat().st_mtime)
    except CheckpointError as err:
        st.error(str(err))
        return
    st.caption(f"{model_caption(ckpt)} · {plain(path.name)}, shipped with ganplay · {len(points):,} points from seed 0")
    draw_lab(view, points, ckpt.data["name"], f"{path.stem}, step {ckpt.step:,}")


def draw_lab(view: ToyView, points: np.ndarray, dataset: str, title: str) -> None:
    try:
        real, modes, sigma = real_points(dataset, file_version(dataset))
    except (DatasetError, ValueError) as err:  # a points file deleted or broken since the run began
        st.warning(plain(f"The real points cannot be shown: {err}"))
        real, modes, sigma = None, None, None
    has_d = view.d_values is not None
    has_forces = view.forces is not None
    layers = [*(["D heat map"] if has_d else []), *([PUSH] if has_forces else []), "G's noise grid", "real points"]
    show = st.multiselect(
        "Show",
        layers,
        default=layers,
        key=f"lab_layers:{has_d}" + (":push" if has_forces else ""),
        help="D heat map: what the discriminator says about each spot of the plane. G's push: arrows for the "
        "way G's loss pulls each generated point. G's noise grid: where the generator sends a regular grid "
        "of its input noise.",
    )
    scale = toy_plots.d_scale(view.loss, view.d_values) if has_d else None
    heat = (view.xs, view.ys, view.d_values) if "D heat map" in show else None
    drawn = dict(
        real=real if "real points" in show else None,
        modes=modes,
        heatmap=heat,
        manifold=view.manifold if "G's noise grid" in show else None,
        title=title,
        scale=scale,
        forces=view.forces if PUSH in show else None,
    )
    plot_col, stats_col = st.columns([3, 1])
    with plot_col:
        if st.toggle("Interactive chart", key="lab_interactive", help=INTERACTIVE_HELP):
            st.plotly_chart(toy_plots.toy_figure(points, **drawn), width="stretch", key="lab_plot")
        else:
            picture_ui(points, drawn, view.extent)
    with stats_col:
        stats_ui(points, modes, sigma, dataset)
    if not has_d:
        st.info(NO_D_NOTE, icon=":material/info:")
    arrows = f" {toy_plots.forces_legend(len(view.forces))}" if PUSH in show else ""
    st.caption(toy_plots.TOY_LEGEND + arrows + (f" {scale.caption}" if heat is not None else ""))


def picture_ui(points: np.ndarray, layers: dict, extent: float) -> None:
    """The lab as a picture drawn on the server: it shows with the page and costs the browser little per refresh."""
    png, outside = lab_picture(frame_digest(points, layers), points, layers, extent)
    st.image(png, width="stretch", output_format="PNG", alt=layers["title"])
    if outside:
        st.caption(f"{outside:,} generated points lie beyond the picture's edge and are drawn on it.")


def frame_digest(points: np.ndarray, layers: dict) -> str:
    """What the picture shows, as a short key: a D-only move changes the view without changing the step."""
    digest = hashlib.blake2b(digest_size=16)

    def add(value) -> None:
        if isinstance(value, np.ndarray):
            digest.update(f"{value.dtype}{value.shape}".encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif isinstance(value, tuple):
            for item in value:
                add(item)
        else:  # None, strings and the heat scale (a frozen dataclass of plain values)
            digest.update(repr(value).encode())

    add(points)
    for name, value in sorted(layers.items()):
        digest.update(name.encode())
        add(value)
    return digest.hexdigest()


@st.cache_data(max_entries=64, show_spinner=False)
def lab_picture(key: str, _points: np.ndarray, _layers: dict, extent: float) -> tuple[bytes, int]:
    """PNG bytes and the count of points beyond the edge, drawn once per distinct `key` (frame_digest)."""
    picture = toy_picture.toy_picture(_points, **_layers, extent=extent)
    return drawing.png_bytes(picture.image), picture.outside


def stats_ui(points: np.ndarray, modes: np.ndarray | None, sigma: float | None, dataset: str) -> None:
    grid_divergence_ui(points, dataset)  # every 2-D dataset: GAN Lab's grid KL and JS, no modes needed
    if modes is None or sigma is None:
        st.caption("No separate clusters to count here (a curve, or your own points): the grid numbers say how close.")
        return
    stats = toy_mode_stats(points, modes, sigma)
    k = stats.num_modes
    st.metric(
        "Modes covered",
        f"{stats.modes_covered} / {k}",
        help=f"How many of the {k} clusters of real points the generator reaches: a cluster counts once a "
        f"high-quality point lands on it (PacGAN protocol)",
    )
    st.metric(
        "High quality",
        f"{100 * stats.high_quality:.1f}%",
        help=f"Share of generated points that land on a cluster (within {HQ_SIGMAS:g} standard deviations "
        f"of its centre; PacGAN protocol)",
    )
    kl = f"{stats.kl_to_uniform:.3f}" if np.isfinite(stats.kl_to_uniform) else "-"
    st.metric(
        "KL to uniform",
        kl,
        help="0 when the generator visits every covered cluster equally often; larger when it favours some "
        "(KL divergence of the clusters' shares from uniform; PacGAN protocol). -: no point has landed "
        "on a cluster yet",
    )
    row = {"modes_covered": stats.modes_covered, "num_modes": k, "high_quality": stats.high_quality}
    st.markdown(f"**{live_eval.verdict(row)}**", help=live_eval.verdict_scale(live_eval.TOY_METRIC))
    st.caption(
        f"over {stats.num_samples:,} generated points; the CLI's eval uses {PACGAN_PROTOCOL_SAMPLES:,} "
        f"(PacGAN protocol)"
    )


st.title("Toy 2-D lab")
source = pick_source([s for s in registry().list_runs() if is_toy(s)], shipped_toy_models())
if source is None:
    st.info("No 2-D run yet. On the Train page pick the quick-cpu-demo preset (ring8) and press Start.")
    st.page_link("pages/train.py", label="Go to Train")
elif isinstance(source, Path):
    shipped_body(source)
else:
    controls_ui(source)
    poll(source, lab_body)
