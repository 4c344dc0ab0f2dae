"""Learn: the GAN game written out, and one-click experiments that show its classic lessons, two runs side by side."""

from __future__ import annotations

import streamlit as st

from ganplay import lessons, plots, toy_plots
from ganplay.data import load_dataset
from ganplay.lessons import LESSONS, Lesson
from ganplay.run_state import RunSnapshot, RunState
from ganplay.sources import toy_modes_or_none
from ganplay.toylab import load_toy_snapshot, toy_snapshots
from pages.common import data_kind, is_active, plain, registry, use_the_router
from pages.live import progress_ui
from pages.live_panel import samples_png

use_the_router()
REFRESH_SECONDS = 2  # a CPU run loses about 4% of its speed to a 2 s refresh (pages/live.py)


def objective_ui() -> None:
    st.markdown(
        "Training a GAN is a two-player zero-sum game. The discriminator D learns to tell real data from the "
        "generator's output; the generator G, fed random noise z, learns to make D wrong. Written as one "
        "objective that D maximises and G minimises:"
    )
    st.latex(
        r"\min_G \max_D V(D, G) = \mathbb{E}_{x\sim p_{data}(x)}[\log D(x)]"
        r" + \mathbb{E}_{z\sim p_z(z)}[\log(1 - D(G(z)))]"
    )
    st.markdown(
        "D(x) is D's probability that x is real, G(z) is what G makes of the noise z, and p_data and p_z are "
        "the distributions of the real data and of the noise. Early in training D rejects G's samples easily, "
        "D(G(z)) is near 0, and there log(1 - D(G(z))) is flat: G gets almost no gradient. So G is usually "
        "trained to maximise log D(G(z)) instead, the non-saturating loss (the dense GAN of seed tutorial 001 does "
        "this: it trains G with the label 1, real, for G's own samples). It has the same goal, and pushes hardest "
        "exactly where the original goes flat:"
    )
    st.latex(r"\mathcal{L}_G^{\text{non-saturating}} = -\mathbb{E}_{z\sim p_z(z)}[\log D(G(z))]")


@st.cache_resource(max_entries=1024, show_spinner=False)
def snapshot_stats(path: str, dataset: str) -> dict[str, float]:
    return lessons.snapshot_stats(path, dataset)  # a snapshot file is written once: its path is its key


@st.cache_resource(max_entries=4, show_spinner=False)
def real_points(dataset: str):
    points, _ = load_dataset(dataset, seed=0).real_samples(500, seed=0)
    found = toy_modes_or_none(dataset)
    return points.numpy(), found[0] if found else None


def start_ui(lesson: Lesson, pair: tuple[str, str] | None, active: bool) -> None:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    seed = left.number_input(
        "Seed",
        0,
        2**31 - 1,
        0,
        key=f"learn_seed:{lesson.name}",
        help="the same seed gives the same runs on CPU; another seed shows how much of a lesson is chance",
    )
    if right.button(
        "Run both",
        type="primary",
        disabled=active,
        key=f"learn_start:{lesson.name}",
        help="this experiment is running: stop it or let it finish first" if active else None,
    ):
        try:
            lessons.start_lesson(registry(), lesson, int(seed))
        except ValueError as err:  # a config, memory or name refusal: nothing was started
            st.session_state["learn_error"] = plain(f"Not started: {err}")
        st.rerun()
    if "learn_error" in st.session_state:
        st.error(st.session_state.pop("learn_error"))
    busy = lessons.slot_holders(registry().list_runs(), pair or ())
    if busy and not active:
        st.caption(plain("Part of this experiment will wait for a training slot. " + lessons.wait_reason(busy)))


def run_notes(snap: RunSnapshot, run: lessons.LessonRun, pair: tuple[str, str]) -> None:
    """Why a run waits, why it failed, and which of its snapshots could not be read."""
    if snap.state == RunState.QUEUED:
        holders = lessons.slot_holders(registry().list_runs(), pair)
        st.info(plain(f"{run.side.label} waits for a training slot. " + lessons.wait_reason(holders)))
    if snap.error:
        st.error(plain(snap.error))
    for problem in run.problems[:3]:
        st.warning(plain(problem))


def picture_ui(snap: RunSnapshot, label: str) -> None:
    dataset = str(snap.config.get("dataset"))
    if data_kind(dataset) != "toy":
        picture, step = samples_png(snap)
        if picture is not None:
            st.image(picture, caption=f"{label}: fixed-noise samples at step {step:,}", width="stretch")
        return
    if snap.toy_view is not None and snap.points is not None:
        (view, points), step = (snap.toy_view, snap.points), snap.grid_step
    elif saved := toy_snapshots(snap.folder):
        step = max(saved)
        try:
            view, points = load_toy_snapshot(saved[step])
        except ValueError:
            return  # run_notes names the damaged file
    else:
        return
    real, modes = real_points(dataset)
    heat = (view.xs, view.ys, view.d_values) if view.d_values is not None else None
    scale = toy_plots.d_scale(view.loss, view.d_values) if heat else None
    fig = toy_plots.toy_figure(points, real, modes, heat, view.manifold, title=f"{label}, step {step:,}", scale=scale)
    fig.update_layout(height=430, uirevision=snap.name)
    st.plotly_chart(fig, width="stretch", key=f"learn_picture:{label}")


def charts_ui(lesson: Lesson, runs: list[lessons.LessonRun]) -> None:
    columns = st.columns(2)
    for i, quantity in enumerate(lesson.quantities):
        curves = {r.side.label: r.snapshots if quantity.from_snapshots else r.rows for r in runs}
        fig = plots.overlay_figure(curves, quantity.key, smoothing=0.0, sparse=quantity.from_snapshots)
        fig.update_layout(title=quantity.title, height=320)
        if quantity.log_scale:
            fig.update_yaxes(type="log")
        columns[i % 2].plotly_chart(fig, width="stretch", key=f"learn_chart:{quantity.key}")


def experiment_ui(lesson: Lesson, pair: tuple[str, str], drawn: tuple[bool, ...]) -> None:
    snaps = [registry().snapshot(name) for name in pair]
    if None in snaps:
        st.info("One of this experiment's runs was deleted: run it again.")
        return
    if tuple(is_active(s) for s in snaps) != drawn:
        st.rerun()  # started or ended: the Run and Stop buttons outside this fragment change
    measured = [lessons.lesson_run(side, s, snapshot_stats) for side, s in zip(lesson.sides, snaps)]
    findings = lesson.findings(*measured)
    (st.success if findings.shown else st.info)(findings.text)
    st.caption(lesson.look_at)
    for column, run, snap in zip(st.columns(2), measured, snaps):
        with column:
            st.markdown(f"**{plain(run.side.label)}** · {plain(snap.name)}")
            progress_ui(snap)
            run_notes(snap, run, pair)
            picture_ui(snap, run.side.label)
    charts_ui(lesson, measured)


st.title("Learn")
objective_ui()
st.subheader("Experiments")
name = st.radio("Experiment", LESSONS.names(), format_func=lambda n: LESSONS.get(n).title, key="learn_lesson")
lesson = LESSONS.get(name)
st.markdown(lesson.question)
pair = lessons.latest_pair(lesson, [s.name for s in registry().list_runs()])
states = tuple(s is not None and is_active(s) for s in map(registry().snapshot, pair)) if pair else ()
start_ui(lesson, pair, any(states))
if pair and any(states) and st.button("Stop both", key=f"learn_stop:{lesson.name}"):
    for run in filter(None, map(registry().get, pair)):
        run.stop()
    st.rerun()
if pair is None:
    st.caption("Press Run both: two small runs start side by side, and their curves and pictures appear here.")
else:
    st.fragment(run_every=REFRESH_SECONDS if any(states) else None)(experiment_ui)(lesson, pair, states)
