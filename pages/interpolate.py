"""Interpolate: walk the latent space between seeds, lerp against slerp in step, four-corner planes, class paths."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ganplay import imaging, latent, latent_files, path_plots, pictures, plots, sampling
from ganplay.errors import UsageError
from pages import common
from pages.common import plain

common.use_the_router()

CANDIDATES = 16
KEYFRAME_SOURCES = ("by seed", "from candidates", "from found z files")
PATHS = ("between keyframes", "four-corner plane", "class to class")
SHOWN_SCALE = 4  # digits drawn 4x before plotly stretches them, so their pixels stay sharp on the page
GIF_SCALES = (4, 8, 12)
LERP_SLERP = (
    "**lerp** walks the straight line between keyframes, **slerp** the great circle. A Gaussian z of "
    "{z_dim} numbers{cut} has a typical norm |z| of {typical:.1f}, the more numbers the closer every draw "
    "stays to it. Halfway between two independent draws the straight line has only about 1/sqrt(2) of "
    "it ({middle:.1f}), where G saw few training latents, so lerp's middle frames often look fainter or "
    "blurrier; slerp keeps the norm. Compare the middle frames, and |z| below."
)


def keyframes_ui(generator, ckpt, truncation, class_id, code, how: str) -> list[int]:
    """Keyframe seeds typed in, or picked from a grid of candidate samples."""
    if how == "by seed":
        text = st.text_input("Keyframe seeds (two or more, comma separated)", "0, 1", key="interp_seeds")
        try:
            return sampling.parse_seeds(text)
        except ValueError as err:
            st.error(f"{err} (as in: 0, 1)")
            return []
    base = int(st.number_input("Candidate seeds start at", 0, 2**31 - 1 - CANDIDATES, 0, key="interp_base"))
    seeds = list(range(base, base + CANDIDATES))
    samples = sampling.candidates(generator, ckpt, seeds, truncation, class_id, code)
    st.image(
        imaging.upscale(pictures.picture(samples, ckpt.data, nrow=8), 2),
        caption=f"candidates: seeds {base} to {base + CANDIDATES - 1}, left to right, top to bottom",
    )
    return st.multiselect("Keyframes, in order", seeds, default=seeds[:2], key=f"interp_pick:{base}")


def animation_ui(meta: dict) -> tuple[int, float, int]:
    """Frames, frames per second, and how much a GIF enlarges image frames (toys are drawn as plots)."""
    cols = st.columns(3)
    frames = int(cols[0].number_input("Frames", 2, 120, 16, key="interp_frames"))
    fps = float(cols[1].number_input("Frames per second", 1, 30, 8, key="interp_fps"))
    if meta["kind"] != "image":
        return frames, fps, 1
    size = meta["shape"][-1]
    scale = cols[2].selectbox(
        "GIF scale", GIF_SCALES, format_func=lambda s: f"{s}x ({s * size} px)", key="interp_gif_scale"
    )
    return frames, fps, scale


def show_animation(frames_by_panel: dict, meta: dict, fps: float, scale: int, stems: dict[str, str]) -> None:
    """The panels played in step by one control, then a GIF and a PNG strip of each to download."""
    image = meta["kind"] == "image"
    shown = {
        panel: pictures.frame_pictures(frames, meta, SHOWN_SCALE if image else 1)
        for panel, frames in frames_by_panel.items()
    }
    st.plotly_chart(path_plots.synced_animation_figure(shown, fps), width="stretch", key="animation")
    columns = iter(st.columns(2 * len(frames_by_panel)))
    for panel, frames in frames_by_panel.items():
        gif = shown[panel] if scale == SHOWN_SCALE or not image else pictures.frame_pictures(frames, meta, scale)
        strip = imaging.image_strip(frames) if image else shown[panel][-1]
        next(columns).download_button(
            f"{panel} GIF", imaging.gif_bytes(gif, fps), f"{stems[panel]}.gif", "image/gif", key=f"gif:{panel}"
        )
        next(columns).download_button(
            f"{panel} PNG strip", imaging.png_bytes(strip), f"{stems[panel]}.png", "image/png", key=f"png:{panel}"
        )


def walk(generator, ckpt, truncation, class_id, code) -> None:
    """Both modes on the same keyframes, in step, with |z| along the path and how far apart they are."""
    cfg, meta = ckpt.config, ckpt.data
    how = st.radio("Choose keyframes", KEYFRAME_SOURCES, horizontal=True, key="interp_how")
    if how == KEYFRAME_SOURCES[2]:
        found_walk(generator, ckpt)
        return
    seeds = keyframes_ui(generator, ckpt, truncation, class_id, code, how)
    loop = st.checkbox("Loop back to the first keyframe", key="interp_loop")
    frames, fps, scale = animation_ui(meta)
    if len(seeds) < 2:
        st.warning("Pick at least two keyframes.")
        return
    walks = {
        mode: sampling.interpolation(generator, ckpt, frames, mode, seeds, truncation, class_id, loop=loop, code=code)
        for mode in latent.MODES
    }
    norms = latent.path_norms(sampling.seed_latents(seeds, cfg.z_dim, truncation), frames, loop)
    stems = {
        mode: pictures.file_stem(
            ckpt,
            "seeds" + "-".join(map(str, seeds)),
            mode,
            f"{frames}f",
            "loop" if loop else "",
            class_id=class_id,
            code=code,
            truncation=truncation,
        )
        for mode in latent.MODES
    }
    show_animation(walks, meta, fps, scale, stems)
    typical = latent.typical_norm(cfg.z_dim, truncation)
    cut = f" cut to ±{truncation:g}" if truncation else ""
    st.caption(LERP_SLERP.format(z_dim=cfg.z_dim, cut=cut, typical=typical, middle=typical / 2**0.5))
    gap = pictures.mode_gap(walks["lerp"], walks["slerp"], norms, meta)
    (st.info if gap.look_alike else st.caption)(gap.explanation())
    st.plotly_chart(path_plots.norm_figure(norms, typical), width="stretch", key="norms")


def found_latents(ckpt) -> list[latent_files.Latent]:
    """Latent files uploaded in order (saved by Restore or invert --z-out), each checked against this model."""
    uploads = st.file_uploader(
        "Latent files, in order (the Restore page's 'Found z' downloads, or invert --z-out)",
        type=["npz", "npy"],
        accept_multiple_files=True,
        key="interp_z_files",
    )
    latents = [latent_files.read_latent(upload, name=upload.name) for upload in uploads or []]
    latent_files.check_latents(latents, ckpt)
    for key in latents:
        if note := latent_files.other_model_note(key, pictures.model_name(ckpt)):
            st.warning(plain(note))
    return latents


def found_walk(generator, ckpt) -> None:
    """A morph between real images: the path through the latents their inversions found."""
    try:
        latents = found_latents(ckpt)
    except UsageError as err:
        st.error(plain(err))  # file names come from the user: text, never markdown
        return
    loop = st.checkbox("Loop back to the first keyframe", key="interp_loop")
    frames, fps, scale = animation_ui(ckpt.data)
    if len(latents) < 2:
        st.info("Upload two or more latent files: find them for real images on the Restore page.")
        return
    walks = {mode: sampling.latent_walk(generator, ckpt, latents, frames, mode, loop=loop) for mode in latent.MODES}
    names = "-".join(Path(x.name).stem.removesuffix("_z")[-24:] for x in latents[:3])
    stems = {mode: pictures.file_stem(ckpt, names, mode, f"{frames}f") for mode in latent.MODES}
    show_animation(walks, ckpt.data, fps, scale, stems)
    if ckpt.config.takes_labels:
        st.caption("Each keyframe keeps the class its inversion found; the path blends them as it does the latents.")


def plane(generator, ckpt, truncation, class_id, code) -> None:
    """A grid between four corner latents: one picture, no animation."""
    text = st.text_input(
        "Corner seeds: top-left, top-right, bottom-left, bottom-right", "0, 1, 2, 3", key="interp_corners"
    )
    size = int(st.slider("Grid size", 3, 12, 8, key="interp_grid"))
    mode = st.radio("Mode", ("slerp", "lerp"), horizontal=True, key="interp_plane_mode")
    try:
        corners = sampling.parse_seeds(text)
        samples = sampling.plane(generator, ckpt, corners, size, size, mode, truncation, class_id, code)
    except ValueError as err:
        st.error(f"{err} (as in: 0, 1, 2, 3)")
        return
    picture = pictures.picture(samples, ckpt.data, nrow=size)
    st.plotly_chart(plots.image_figure(picture, f"{size}x{size} plane, {mode}"), width="stretch", key="plane")
    stem = pictures.file_stem(
        ckpt,
        "corners" + "-".join(map(str, corners)),
        mode,
        f"{size}x{size}",
        class_id=class_id,
        code=code,
        truncation=truncation,
    )
    st.download_button("Download PNG", imaging.png_bytes(picture), f"{stem}.png", "image/png")


def class_to_class(generator, ckpt, truncation, code) -> None:
    """One z kept, the label moved from one class to another."""
    names = ckpt.data["class_names"]
    a, b, c = st.columns(3)
    shown = lambda i: common.class_name(names, i)  # "7", not "7: 7"
    start = a.selectbox("From class", range(len(names)), format_func=shown, key="cls_a")
    end = b.selectbox("To class", range(len(names)), index=min(1, len(names) - 1), format_func=shown, key="cls_b")
    seed = int(c.number_input("Seed (the style kept along the path)", 0, 2**31 - 1, 0, key="cls_seed"))
    frames, fps, scale = animation_ui(ckpt.data)
    path = sampling.interpolation(
        generator, ckpt, frames, "lerp", [seed], truncation, class_from=start, class_to=end, code=code
    )
    stem = pictures.file_stem(
        ckpt, f"class{start}-to-{end}", f"seed{seed}", f"{frames}f", code=code, truncation=truncation
    )
    show_animation({"class path": path}, ckpt.data, fps, scale, {"class path": stem})


st.title("Interpolate")
path = common.pick_checkpoint("interp_ckpt")
model = common.load_model(path) if path else None
if model is not None:
    generator, ckpt = model
    st.caption(common.model_caption(ckpt))
    kind = st.radio("Path", PATHS if ckpt.config.takes_labels else PATHS[:2], horizontal=True, key="interp_kind")
    common.wrap_columns_css("interp_controls")
    cols = st.container(key="interp_controls").columns(3)
    found = kind == PATHS[0] and st.session_state.get("interp_how") == KEYFRAME_SOURCES[2]  # z from files, as is
    truncation = cols[0].slider("Truncation (0: off)", 0.0, 3.0, 0.0, 0.1, key="interp_trunc", disabled=found) or None
    class_id = None
    with cols[1]:
        if found and ckpt.config.takes_labels:
            st.caption("Class: each keyframe's own, the one its inversion found")
        elif kind != "class to class":
            class_id = common.class_choice(ckpt, key="interp_class", walk=True)
    with cols[2]:
        code = None if found else common.code_choice(ckpt, key="interp_code", each=False)  # a found z has its code
    if kind == "between keyframes":
        walk(generator, ckpt, truncation, class_id, code)
    elif kind == "four-corner plane":
        plane(generator, ckpt, truncation, class_id, code)
    else:
        class_to_class(generator, ckpt, truncation, code)
