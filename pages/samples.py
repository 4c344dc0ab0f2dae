"""Samples: draw from a checkpoint with a seed, truncation, class or InfoGAN code; zoom in; download the grid,
or a labelled synthetic dataset (a zip of one folder of PNGs per class, as export-dataset writes)."""

from __future__ import annotations

import streamlit as st
import torch

from ganplay import imaging, pictures, plots, sampling, synthetic, synthetic_files
from ganplay.data import dataset_family, load_dataset
from ganplay.errors import UsageError
from ganplay.image_files import DatasetError
from ganplay.sources import to_float
from pages.common import (
    class_choice,
    code_choice,
    load_model,
    model_caption,
    pick_checkpoint,
    plain,
    use_the_router,
    wrap_columns_css,
)

use_the_router()

NEIGHBOURS = 5
DATASET_MAX_PER_CLASS = 2000  # about a minute on 2 CPU cores for an evaluator-labelled model; the CLI has no cap


@st.cache_resource(max_entries=4, show_spinner="Loading the training images...")
def training_images(dataset: str, size: int, channels: int, data_dir: str) -> torch.Tensor:
    data = load_dataset(dataset, image_size=size, channels=channels, data_dir=data_dir or None, download=False)
    return to_float(data.images.cpu())


def memorization_ui(samples: torch.Tensor, cfg) -> None:
    """Each chosen sample beside its nearest training images: distance ~0 means a copy."""
    with st.expander("Memorization check: nearest training images"):
        chosen = st.multiselect(
            "Samples (numbered left to right, top to bottom)",
            list(range(len(samples))),
            default=list(range(min(4, len(samples)))),
            key="memo_pick",
        )
        if not chosen:
            return
        try:
            real = training_images(cfg.dataset, cfg.image_size, cfg.channels, cfg.data_dir)
        except DatasetError as err:
            st.warning(f"The training images are not available here: {err}")
            return
        dist, index = sampling.nearest_real(samples[chosen], real, k=NEIGHBOURS)
        scale = (
            "; for scale, a bundled MNIST digit's nearest other digit is 9.5 away (median; 10% are within 4.6)"
            if dataset_family(cfg.dataset) == "mnist" and cfg.image_size == 28
            else ""
        )
        st.caption(f"pixel distance (L2) to the {NEIGHBOURS} nearest of {len(real):,} training images{scale}")
        for row, i in enumerate(chosen):
            strip = imaging.upscale(imaging.image_strip(torch.cat([samples[i : i + 1], real[index[row]]])), 2)
            st.image(strip, caption=f"sample {i} | nearest: " + ", ".join(f"{d:.2f}" for d in dist[row].tolist()))


def dataset_ui(generator, ckpt, path) -> None:
    """A labelled synthetic dataset, made with a progress bar and offered as a zip of per-class folders."""
    with st.expander("Synthetic dataset: labelled images for augmentation, a folder per class in a zip"):
        cols = st.columns(3)
        per_class = int(cols[0].number_input("Images per class", 1, DATASET_MAX_PER_CLASS, 100, key="dataset_n"))
        seed = int(cols[1].number_input("Dataset seed", 0, 2**31 - 1, 0, key="dataset_seed"))
        labelling = synthetic.labelling_of(ckpt)
        confidence = synthetic.DEFAULT_MIN_CONFIDENCE
        if labelling != synthetic.CONDITIONAL:
            confidence = cols[2].slider(
                "Minimum confidence",
                0.0,
                0.99,
                confidence,
                0.01,
                key="dataset_conf",
                help="the shipped classifier labels each sample; samples it reads with a lower probability are dropped",
            )
        flags = f"--per-class {per_class} --seed {seed}" + (
            "" if labelling == synthetic.CONDITIONAL else f" --min-confidence {confidence:g}"
        )
        command = f"python -m ganplay export-dataset --checkpoint {path} {flags} --out DIR"
        st.caption(plain(f"labels: {synthetic.LABELLED_BY[labelling]}; the same from the command line: {command}"))
        name = pictures.file_stem(ckpt, f"dataset-{per_class}-per-class", f"seed{seed}")
        wanted = (str(path), ckpt.step, st.session_state.get("samples_ema", True), per_class, seed, confidence)
        if st.button("Make the dataset", key="dataset_make"):
            made = make_dataset(
                generator, ckpt, (per_class, seed, confidence), name, command.replace("DIR", f"{name}.zip")
            )
            if made:
                st.session_state["dataset_made"] = (wanted, *made)
        made = st.session_state.get("dataset_made")
        if made and made[0] == wanted:  # a dataset made with other settings is not offered for these
            st.caption(plain(made[2]))
            st.download_button(
                "Download dataset (zip)",
                made[1],
                file_name=f"{name}.zip",
                mime="application/zip",
                key="dataset_download",
                on_click="ignore",
            )


def make_dataset(generator, ckpt, settings: tuple[int, int, float], name: str, command: str) -> tuple | None:
    """(zip bytes, summary), drawing a progress bar; None, with the reason shown, when it cannot be made."""
    per_class, seed, confidence = settings
    bar = st.progress(0.0, text="Generating...")

    def show(p: synthetic.Progress) -> None:
        kept = sum(min(k, p.per_class) for k in p.kept)
        bar.progress(p.fraction, text=f"{kept:,} of {p.per_class * len(p.kept):,} images ({p.drawn:,} drawn)")

    try:
        evaluator = None if ckpt.config.conditional else synthetic.evaluator_for(ckpt, None)
        steps = synthetic.synthesize(
            generator, ckpt, per_class, evaluator=evaluator, seed=seed, min_confidence=confidence
        )
        data = synthetic.run_to_end(steps, show)
    except UsageError as err:
        bar.empty()
        st.error(plain(err))  # it may name a file: text, never markdown
        return None
    data.command = command  # what the Samples page did, as the command that does the same
    return synthetic_files.zip_bytes(data, root=name), data.summary()


def next_seed() -> None:
    # A callback runs before the seed box is drawn again, the one moment its value may be set.
    st.session_state["samples_seed"] = int(st.session_state.get("samples_seed", 0)) + 1


st.title("Samples")
path = pick_checkpoint("samples_ckpt")
model = load_model(path, use_ema=st.session_state.get("samples_ema", True)) if path else None
if model is not None:
    generator, ckpt = model
    meta = ckpt.data
    st.caption(f"{model_caption(ckpt)} · {plain(path)}")
    wrap_columns_css("samples_controls")
    cols = st.container(key="samples_controls").columns(5)
    images = meta["kind"] == "image"  # 2-D models get many points: 64 would hide under the mode markers
    n = cols[0].number_input(
        "Samples",
        1,
        4096 if not images else 1024,
        64 if images else 1000,
        key=f"samples_n:{meta['kind']}",
        help="images in the grid, or points in the plot",
    )
    if "samples_seed" not in st.session_state:
        st.session_state["samples_seed"] = 0
    seed = cols[1].number_input(
        "Seed", 0, 2**31 - 1, key="samples_seed", help="the same seed always gives the same samples"
    )
    truncation = cols[2].slider(
        "Truncation (0: off)",
        0.0,
        3.0,
        0.0,
        0.1,
        key="samples_trunc",
        help="resample latent entries with |z| above this: sharper, less varied samples",
    )
    with cols[3]:
        class_id = class_choice(ckpt, key="samples_class")
        code = code_choice(ckpt, key="samples_code")
    has_ema, has_raw = ckpt.G_ema is not None, ckpt.G is not None
    cols[4].toggle(
        "EMA generator",
        value=has_ema,
        key="samples_ema",
        disabled=not (has_ema and has_raw),
        help="the exponential moving average of G's weights (smoother); off: the raw G. "
        "Generator-only exports keep just one of them.",
    )

    st.button("Resample (next seed)", on_click=next_seed)
    samples = sampling.sample(generator, ckpt, int(n), int(seed), truncation or None, class_id, code)
    picture = pictures.picture(samples, meta, nrow=ckpt.config.info_codes if code == sampling.EACH_CODE else None)
    st.plotly_chart(
        plots.image_figure(picture, f"{int(n)} samples, seed {int(seed)}"), width="stretch", key="samples_grid"
    )
    name = pictures.file_stem(
        ckpt, f"{int(n)}-samples", f"seed{int(seed)}", class_id=class_id, code=code, truncation=truncation or None
    )
    st.download_button("Download PNG", imaging.png_bytes(picture), file_name=f"{name}.png", mime="image/png")
    if images:
        memorization_ui(samples, ckpt.config)
        dataset_ui(generator, ckpt, path)
