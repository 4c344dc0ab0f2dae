"""Samples: draw from a checkpoint with a seed, truncation and class; zoom in; download the grid."""

from __future__ import annotations

import streamlit as st

from ganplay import imaging, plots, sampling
from pages.common import class_choice, load_model, pick_checkpoint

st.title("Samples")
path = pick_checkpoint("samples_ckpt")
model = load_model(path, use_ema=st.session_state.get("samples_ema", True)) if path else None
if model is not None:
    generator, ckpt = model
    meta = ckpt["data"]
    st.caption(f"{meta['title']} · {ckpt['config'].arch} · {ckpt['config'].loss} · step {ckpt['step']:,} · {path}")
    cols = st.columns(5)
    n = cols[0].number_input("Samples", 1, 1024, 64 if meta["kind"] == "image" else 1000, key="samples_n")
    if "samples_seed" not in st.session_state:
        st.session_state["samples_seed"] = 0
    seed = cols[1].number_input("Seed", 0, 2**31 - 1, key="samples_seed")
    truncation = cols[2].slider("Truncation (0: off)", 0.0, 3.0, 0.0, 0.1, key="samples_trunc",
                                help="resample latent entries with |z| above this: sharper, less varied samples")
    with cols[3]:
        class_id = class_choice(ckpt, key="samples_class")
    has_ema = ckpt.get("G_ema") is not None
    cols[4].toggle("EMA generator", value=has_ema, key="samples_ema", disabled=not has_ema,
                   help="the exponential moving average of G's weights (smoother); off: the raw G")

    if st.button("Resample (next seed)"):
        st.session_state["samples_seed"] = int(seed) + 1
        st.rerun()
    samples = sampling.sample(generator, ckpt, int(n), int(seed), truncation or None, class_id)
    picture = sampling.picture(samples, meta)
    st.plotly_chart(plots.image_figure(picture, f"{int(n)} samples, seed {int(seed)}"), width="stretch",
                    key="samples_grid")
    st.download_button("Download PNG", imaging.png_bytes(picture), file_name=f"samples-seed{int(seed)}.png",
                       mime="image/png")
