"""Interpolate: walk the latent space between seeds, pick keyframes by eye, lerp against slerp, planes, classes."""

from __future__ import annotations

import streamlit as st

from ganplay import imaging, plots, sampling
from pages.common import class_choice, code_choice, load_model, model_caption, pick_checkpoint, use_the_router

use_the_router()

CANDIDATES = 16
PATHS = ("between keyframes", "four-corner plane", "class to class")


def keyframes_ui(generator, ckpt, truncation, class_id, code) -> list[int]:
    """Keyframe seeds typed in, or picked from a grid of candidate samples."""
    how = st.radio("Choose keyframes", ("by seed", "from candidates"), horizontal=True, key="interp_how")
    if how == "by seed":
        text = st.text_input("Keyframe seeds (two or more, comma separated)", "0, 1", key="interp_seeds")
        try:
            return [int(s) for s in text.replace(" ", "").split(",") if s]
        except ValueError:
            st.error(f"seeds must be whole numbers separated by commas, got {text!r}")
            return []
    base = int(st.number_input("Candidate seeds start at", 0, 2**31 - 1 - CANDIDATES, 0, key="interp_base"))
    seeds = list(range(base, base + CANDIDATES))
    samples = sampling.candidates(generator, ckpt, seeds, truncation, class_id, code)
    st.image(imaging.upscale(sampling.picture(samples, ckpt["data"], nrow=8), 2),
             caption=f"candidates: seeds {base} to {base + CANDIDATES - 1}, left to right, top to bottom")
    return st.multiselect("Keyframes, in order", seeds, default=seeds[:2], key=f"interp_pick:{base}")


def show_path(frames_by_mode: dict[str, object], meta: dict, fps: float) -> None:
    """One animation per mode side by side, each downloadable as a GIF and a PNG strip."""
    columns = st.columns(len(frames_by_mode))
    for column, (mode, frames) in zip(columns, frames_by_mode.items()):
        pictures = sampling.frame_pictures(frames, meta, scale=4 if meta["kind"] == "image" else 1)
        with column:
            st.plotly_chart(plots.animation_figure(pictures, mode, fps), width="stretch",
                            key=f"anim:{mode}")
            strip = imaging.image_strip(frames) if meta["kind"] == "image" else pictures[-1]
            a, b = st.columns(2)
            a.download_button(f"{mode} GIF", imaging.gif_bytes(pictures, fps), f"{mode}.gif", "image/gif",
                              key=f"gif:{mode}")
            b.download_button(f"{mode} PNG strip", imaging.png_bytes(strip), f"{mode}.png", "image/png",
                              key=f"png:{mode}")


st.title("Interpolate")
path = pick_checkpoint("interp_ckpt")
model = load_model(path) if path else None
if model is not None:
    generator, ckpt = model
    cfg, meta = ckpt["config"], ckpt["data"]
    st.caption(model_caption(ckpt))
    paths = PATHS if cfg.takes_labels else PATHS[:2]
    kind = st.radio("Path", paths, horizontal=True, key="interp_kind")
    cols = st.columns(4)
    frames = int(cols[0].number_input("Frames", 2, 120, 16, key="interp_frames"))
    fps = float(cols[1].number_input("Frames per second", 1, 30, 8, key="interp_fps"))
    truncation = cols[2].slider("Truncation (0: off)", 0.0, 3.0, 0.0, 0.1, key="interp_trunc") or None
    with cols[3]:
        class_id = class_choice(ckpt, key="interp_class") if kind != "class to class" else None
        code = code_choice(ckpt, key="interp_code", each=False)  # a walk keeps one code, or switches as z does

    if kind == "between keyframes":
        seeds = keyframes_ui(generator, ckpt, truncation, class_id, code)
        loop = st.checkbox("Loop back to the first keyframe", key="interp_loop")
        if len(seeds) < 2:
            st.warning("Pick at least two keyframes.")
        else:
            show_path({mode: sampling.interpolation(generator, ckpt, frames, mode, seeds, truncation, class_id,
                                                    loop=loop, code=code) for mode in ("lerp", "slerp")}, meta, fps)
    elif kind == "four-corner plane":
        text = st.text_input("Corner seeds: top-left, top-right, bottom-left, bottom-right", "0, 1, 2, 3",
                             key="interp_corners")
        size = int(st.slider("Grid size", 3, 12, 8, key="interp_grid"))
        mode = st.radio("Mode", ("slerp", "lerp"), horizontal=True, key="interp_plane_mode")
        try:
            corners = [int(s) for s in text.replace(" ", "").split(",") if s]
            samples = sampling.plane(generator, ckpt, corners, size, size, mode, truncation, class_id, code)
        except ValueError as err:
            st.error(f"{err} (as in: 0, 1, 2, 3)")
        else:
            picture = sampling.picture(samples, meta, nrow=size)
            st.plotly_chart(plots.image_figure(picture, f"{size}x{size} plane, {mode}"), width="stretch",
                            key="plane")
            st.download_button("Download PNG", imaging.png_bytes(picture), "plane.png", "image/png")
    else:
        names = meta["class_names"]
        a, b, c = st.columns(3)
        start = a.selectbox("From class", range(len(names)), format_func=lambda i: f"{i}: {names[i]}", key="cls_a")
        end = b.selectbox("To class", range(len(names)), index=min(1, len(names) - 1),
                          format_func=lambda i: f"{i}: {names[i]}", key="cls_b")
        seed = int(c.number_input("Seed (the style kept along the path)", 0, 2**31 - 1, 0, key="cls_seed"))
        frames_t = sampling.interpolation(generator, ckpt, frames, "lerp", [seed], truncation,
                                          class_from=start, class_to=end)
        show_path({"class path": frames_t}, meta, fps)
