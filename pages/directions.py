"""Directions: latent directions found without labels (SeFa, PCA) as a grid, combined by sliders, and described."""

from __future__ import annotations

import pandas as pd
import streamlit as st
import torch

from ganplay import direction_stats, directions, imaging, pictures, plots, sampling
from ganplay.errors import UsageError
from pages import common

common.use_the_router()

METHODS = {
    "sefa": "SeFa: eigenvectors of G's first layer (closed form, instant)",
    "pca": "PCA of G's first activations, mapped back to z (GANSpace; a few seconds)",
}
SOURCES = ("a seed", "an uploaded z (.npz or .npy)")
SHOWN_SCALE = 6  # the combined image's enlargement, nearest-neighbour


# Keyed on the file's path and modification time (the core's cache file beside it goes by its content); the
# generator and checkpoint are load_model's, which that key already names, so Streamlit need not hash them.
@st.cache_resource(max_entries=16, show_spinner="Finding the directions...")
def _directions(path: str, mtime: float, method: str, _generator, _ckpt) -> directions.Directions:
    return directions.compute_directions(_ckpt, method, directions.max_k(_ckpt), generator=_generator)


@st.cache_resource(max_entries=16, show_spinner="Moving 200 samples along the top 5 directions...")
def _effects(
    path: str, mtime: float, method: str, class_id: int | None, strength: float, _generator, _ckpt, _found
) -> list[dict[str, str]]:
    evaluator = direction_stats.evaluator_for(_ckpt)
    effects = direction_stats.describe(_generator, _ckpt, _found, evaluator, strength=strength, class_id=class_id)
    return direction_stats.effects_table(effects, strength)


def label_choice(ckpt) -> int | None:
    """The class (or cluster) held; None: the seed's own, as the Samples page draws that seed alone."""
    names = ckpt.data.get("class_names") or []
    if not ckpt.config.takes_labels or not names:
        return None
    clusters = bool(ckpt.config.clusters)
    own = (
        "the seed's own (as Samples draws it), or the z file's"
        if clusters
        else "class 0 (as Samples draws a seed alone), or the z file's"
    )
    return st.selectbox(
        "Cluster" if clusters else "Class",
        [None, *range(len(names))],
        format_func=lambda i: own if i is None else common.class_name(names, i),
        key=f"dirs_class:{ckpt.path}",  # a cluster means something in its own model only
        help="held for the grid and the combination; the table uses it for every sample, or by default each "
        "seed's own (classes in turn for a conditional model)",
    )


def centre_ui(ckpt, class_id: int | None):
    """(z, its label, a tag for file names), or None when the upload is missing or wrong (said on the page)."""
    how = st.radio("Start from", SOURCES, horizontal=True, key="dirs_source")
    if how == SOURCES[0]:
        seed = int(st.number_input("Seed", 0, 2**31 - 1, 0, key="dirs_seed"))
        z, label = directions.seed_z(ckpt, seed, class_id)
        return z, label, f"seed{seed}"
    upload = st.file_uploader(
        "A z found by the Restore page (its z download) or `python -m ganplay invert ... --z-out z.npz`",
        type=["npz", "npy"],
        key="dirs_upload",
    )
    if upload is None:
        return None
    try:
        z, label = directions.file_z(upload.getvalue(), ckpt, class_id, name=upload.name)
    except UsageError as err:
        st.error(common.plain(err))
        return None
    return z, label, "z"


def combine_ui(generator, found, z, label) -> None:
    """A slider per direction; the image they make together beside z's own."""
    st.subheader("Combine directions")
    cols = st.columns(4)
    strengths = [
        cols[i % 4].slider(f"Direction {i + 1}", -5.0, 5.0, 0.0, 0.25, key=f"dirs_mix:{i}") for i in range(found.k)
    ]
    both = torch.stack([z, directions.apply(z, found, strengths)])
    images = sampling.generate(generator, both, None if label is None else label.expand(2))
    left, right = st.columns(2)
    left.image(imaging.upscale(imaging.image_grid(images[:1], padding=0), SHOWN_SCALE), caption="z")
    moved = ", ".join(f"{s:+g} x direction {i + 1}" for i, s in enumerate(strengths) if s) or "nothing yet"
    right.image(imaging.upscale(imaging.image_grid(images[1:], padding=0), SHOWN_SCALE), caption=f"z moved: {moved}")


st.title("Directions")
st.caption(
    "Directions in z found without any labels. SeFa: the directions G's first layer stretches most (Shen & Zhou "
    "2021). PCA: the main ways G's first activations vary over many random z, mapped back to z (Härkönen et al. "
    "2020). Along a direction, z's own spread is 1: a strength of 3 is three standard deviations."
)
path = common.pick_checkpoint("dirs_ckpt")
model = common.load_model(path) if path else None
if model is not None:
    generator, ckpt = model
    st.caption(f"{common.model_caption(ckpt)} · {common.plain(path)}")
    try:
        directions.require_supported(generator, ckpt)
    except UsageError as err:
        st.error(common.plain(str(err).replace(str(path), pictures.model_name(ckpt))))
        st.stop()
    cols = st.columns(4)
    method = cols[0].selectbox("Method", list(METHODS), format_func=METHODS.get, key="dirs_method")
    most = directions.max_k(ckpt)
    k = int(cols[1].number_input("Directions (rows)", 1, most, min(8, most), key=f"dirs_k:{most}"))
    strength = float(cols[2].slider("Strength at the ends", 0.5, 8.0, 3.0, 0.5, key="dirs_strength"))
    columns = int(cols[3].slider("Columns", 3, 15, 7, 2, key="dirs_columns"))
    class_id = label_choice(ckpt)
    centre = centre_ui(ckpt, class_id)
    if centre is not None:
        z, label, tag = centre
        mtime = path.stat().st_mtime
        every = _directions(str(path), mtime, method, generator, ckpt)
        found = every.top(k)
        kept = "read from the cache beside the checkpoint" if found.source == "cache" else "computed"
        held = "" if label is None else f"; {'cluster' if ckpt.config.clusters else 'class'} {int(label[0])} held"
        st.caption(
            f"{k} directions {kept} · rows: directions 1-{k}, strongest first · columns: strength -{strength:g} "
            f"to +{strength:g}, z itself in the middle{held}"
        )
        images = directions.grid(generator, found, z, label, strength, columns)
        picture = imaging.image_grid(images, nrow=columns)
        st.plotly_chart(plots.image_figure(picture, f"{method}: {k} directions"), width="stretch", key="dirs_grid")
        stem = pictures.file_stem(ckpt, method, f"{k}dirs", tag, f"s{strength:g}", class_id=class_id)
        st.download_button("Download PNG", imaging.png_bytes(picture), f"{stem}.png", "image/png")
        combine_ui(generator, found, z, label)
        st.subheader("What each direction does")
        if st.toggle("Describe the top 5 (200 samples moved each way; a few seconds)", key="dirs_describe"):
            rows = _effects(str(path), mtime, method, class_id, strength, generator, ckpt, every)
            st.dataframe(pd.DataFrame(rows), hide_index=True)
            st.caption(direction_stats.units_note())
