"""Restore: find z for a real digit or picture, fill in what a mask hides or remove noise, with live progress."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st
from PIL import Image
from streamlit_drawable_canvas import st_canvas
from torch import Tensor

from ganplay import imaging, pictures, restoration
from ganplay.errors import UsageError
from ganplay.image_files import DatasetError
from ganplay.inversion import DEFAULT_RESTARTS, DEFAULT_STEPS
from ganplay.restoration import damage
from ganplay.restore_jobs import MAX_RUNNING, JobState, RestoreJob, named_bytes
from pages import common

common.use_the_router()

TARGETS = ("a bundled digit", "an uploaded image", "a drawing")
DAMAGES = ("none", "mask preset", "painted mask", "uploaded mask")
CANVAS_PX = 280  # the drawing and painting canvases: 10x a 28 px digit
PAINT = "#ff4b4b"  # the brush that erases: a colour no digit has, so the user sees what is gone
IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp"]
SHOWN_PX = 168  # pictures drawn about this wide, nearest-neighbour: a 28 px digit 6x, its pixels sharp
REFRESH_S = 0.5
JOB_KEY = "restore_job"


def enlarged(image, size: int) -> np.ndarray:
    return imaging.upscale(imaging.image_grid(image[None], padding=0), max(1, SHOWN_PX // size))


def target_ui(ckpt) -> tuple[restoration.Target | None, str]:
    """The undamaged image and a name for downloads; None until an image is uploaded."""
    how = st.radio("Target", TARGETS, horizontal=True, key="restore_target")
    if how == TARGETS[0]:
        index = int(st.number_input("Digit of the bundled MNIST (0-9,999)", 0, 9_999, 0, key="restore_digit"))
        return restoration.digit_target(index, ckpt), f"digit{index}"
    if how == TARGETS[2]:
        return drawn_target(ckpt), "drawing"
    upload = st.file_uploader("Image (any size and colour)", type=IMAGE_TYPES, key="restore_upload")
    if upload is None:
        return None, ""
    target = restoration.image_target(named_bytes(upload.getvalue(), upload.name), ckpt)
    if target.note:
        st.info(common.plain(target.note))
    return target, Path(upload.name).stem


def has_strokes(canvas) -> bool:
    """Whether a canvas has anything drawn on it yet (before the first stroke it returns no image)."""
    return canvas.image_bytes is not None and bool((canvas.json_data or {}).get("objects"))


def drawn_target(ckpt) -> restoration.Target | None:
    """A digit drawn with the mouse, white on black as MNIST's are; None until something is drawn."""
    width = st.slider("Brush width", 8, 40, 22, key="restore_brush", help="MNIST strokes are about 2-3 of 28 px")
    drawing = st_canvas(
        stroke_width=width,
        stroke_color="#ffffff",
        background_color="#000000",
        width=CANVAS_PX,
        height=CANVAS_PX,
        return_image_data=True,
        key="restore_canvas",
    )
    if not has_strokes(drawing):
        return None
    return restoration.image_target(named_bytes(drawing.image_bytes, "drawing.png"), ckpt)


def painted_mask_ui(target: restoration.Target, ckpt, key: str) -> Tensor | None:
    """Paint over the part to erase, on the target shown 10x; None until something is painted."""
    size = ckpt.data["shape"][-1]
    picture = imaging.upscale(imaging.image_grid(target.image[None], padding=0), max(1, CANVAS_PX // size))
    width = st.slider("Eraser width", 8, 80, 40, key="restore_eraser")
    paint = st_canvas(
        stroke_width=width,
        stroke_color=PAINT,
        background_image=Image.fromarray(picture[..., 0] if picture.shape[-1] == 1 else picture),
        width=CANVAS_PX,
        height=CANVAS_PX,
        return_image_data=True,
        key=key,  # one per target: a new image starts unpainted
    )
    if not has_strokes(paint):
        return None
    return restoration.check_known(
        restoration.known_from_paint(paint.image_data[..., 3] / 255, tuple(target.image.shape[1:]))
    )


def damage_ui(
    ckpt, seed: int, target: restoration.Target | None, stem: str
) -> tuple[bool, Tensor | None, float | None, str]:
    """(ready, which pixels are known or None, noise sigma or None, a tag for file names)."""
    hw = tuple(ckpt.data["shape"][1:])
    left, right = st.columns(2)
    how = left.radio("Damage", DAMAGES, horizontal=True, key="restore_damage", help="none: a pure inversion")
    known, tag = None, ""
    if how == "mask preset":
        tag = left.selectbox(
            "Missing part",
            restoration.MASK_PRESETS,
            key="restore_preset",
            help="centre: the middle quarter; left: the left half; random50: half the pixels, drawn by the seed",
        )
        known = restoration.preset_known(tag, hw, seed)
    elif how == "painted mask":
        with left:
            known = painted_mask_ui(target, ckpt, f"restore_paint:{stem}") if target is not None else None
        if known is None:
            return False, None, None, ""
        tag = "painted"
    elif how == "uploaded mask":
        upload = left.file_uploader("Mask image (bright = missing)", type=IMAGE_TYPES, key="restore_mask")
        if upload is None:
            return False, None, None, ""
        known, tag = restoration.painted_known(named_bytes(upload.getvalue(), upload.name), hw), "mask"
    noisy = right.checkbox("Add Gaussian noise (a denoising test)", key="restore_noisy")
    sigma = right.slider(
        "Noise sigma (pixels in [-1, 1])", 0.05, 1.0, 0.5, 0.05, key="restore_sigma", disabled=not noisy
    )
    return True, known, sigma if noisy else None, "-".join(filter(None, [tag, f"noise{sigma:g}" if noisy else ""]))


def options_ui(ckpt) -> dict:
    """RestoreJob's steps, restarts, seed and class_id (the class to hold; None: try every one)."""
    cols = st.columns(4)
    steps = int(cols[0].number_input("Steps", 1, 2_000, DEFAULT_STEPS, key="restore_steps"))
    restarts = int(cols[1].number_input("Restarts", 1, 16, DEFAULT_RESTARTS, key="restore_restarts"))
    seed = int(
        cols[2].number_input(
            "Seed", 0, 2**31 - 1, 0, key="restore_seed", help="seeds the starting points, the random mask and the noise"
        )
    )
    names = ckpt.data.get("class_names") or []
    class_id = None
    if ckpt.config.takes_labels and names:
        class_id = cols[3].selectbox(
            "Cluster" if ckpt.config.clusters else "Class",
            [None, *range(len(names))],
            format_func=lambda i: "try every one" if i is None else common.class_name(names, i),
            key=f"restore_class:{ckpt.path}",  # a class means something in its own model only
        )
    return {"steps": steps, "restarts": restarts, "seed": seed, "class_id": class_id}


def live(job: RestoreJob) -> None:
    """Progress, loss and the current reconstruction; one full rerun draws the result when the job ends."""
    snap = job.snapshot()
    if not snap.active:
        st.rerun()
    if snap.state == JobState.QUEUED:
        st.info(f"Queued: {MAX_RUNNING} restorations are running in this app; this one starts when one ends.")
    else:
        loss = "" if snap.loss is None else f" · loss {snap.loss:.4f}"
        st.progress(snap.step / snap.steps, text=f"step {snap.step:,} of {snap.steps:,}{loss}")
        if snap.image is not None:
            st.image(enlarged(snap.image, snap.image.shape[-1]), caption="current reconstruction")
    st.button("Stop", on_click=job.cancel, key="restore_stop")


def results_ui(job: RestoreJob, about: dict) -> None:
    snap, ckpt = job.snapshot(), job.ckpt
    if snap.state == JobState.FAILED:
        st.error(common.plain(f"The restoration failed: {snap.error}"))
        return
    if snap.state == JobState.CANCELLED:
        st.info(f"Stopped at step {snap.step:,} of {snap.steps:,}.")
        return
    r, size = snap.result, ckpt.data["shape"][-1]
    shown = (
        (r.damaged, "damaged input"),
        (r.reconstruction, "raw reconstruction G(z)"),
        (r.restored, "restored: known pixels, G's fill" if r.known is not None else "restored: G's image"),
    )
    for col, (image, caption) in zip(st.columns(3), shown):
        col.image(enlarged(image, size), caption=caption)
    found = "" if r.label is None else f"{'cluster' if ckpt.config.clusters else 'class'} {r.label}, "
    truth = "" if about["label"] is None else f" (the digit is a {about['label']})"
    st.markdown(f"Found {found}MSE {r.loss:.4f} on the known pixels{truth}, in {snap.elapsed_s:.1f} s.")
    if note := restoration.fit_note(r.loss, job.noise):
        st.warning(note)
    if about["damaged"]:
        part = "missing pixels" if r.known is not None else "pixels"
        st.caption(f"Restored {part} against the undamaged image: MSE {r.restored_mse(job.target):.4f}")
    stem = pictures.file_stem(ckpt, about["stem"], about["tag"], class_id=r.label)
    left, right = st.columns(2)
    left.download_button("Restored PNG", r.png(), f"{stem}_restored.png", "image/png", key="restore_png")
    z_file = r.latent_file(pictures.model_name(ckpt))
    right.download_button("Found z (.npz)", z_file, f"{stem}_z.npz", "application/octet-stream", key="restore_z")
    st.caption(
        f"The z file holds the {r.z.numel()} numbers of the found latent"
        + ("" if r.label is None else " and its class")
        + ": give two or more to Interpolate (keyframes from found z files) to morph between real images."
    )


def restore_page(generator, ckpt) -> None:
    target_box, damage_box, options_box = st.container(), st.container(), st.container()
    with options_box:
        options = options_ui(ckpt)
        seed = options["seed"]
    try:
        with target_box:
            target, stem = target_ui(ckpt)
        with damage_box:
            ready, known, noise, tag = damage_ui(ckpt, seed, target, stem)
        if target is None or not ready:
            st.info(
                "Pick, upload or draw an image, and paint or upload the mask when the damage is one, to restore it."
            )
            return
        st.image(enlarged(damage(target.image, known, noise, seed), ckpt.data["shape"][-1]), caption="what G sees")
    except (UsageError, DatasetError) as err:
        st.error(common.plain(err))  # file names come from the user: text, never markdown
        return
    if st.button("Restore", type="primary"):
        if old := st.session_state.get(JOB_KEY):
            old[0].cancel()  # one restoration per tab: a new one replaces it
        job = RestoreJob(generator, ckpt, target.image, known, noise=noise, **options)
        about = {"stem": stem, "tag": tag, "label": target.label, "damaged": known is not None or noise is not None}
        st.session_state[JOB_KEY] = job.start(), about


st.title("Restore")
path = common.pick_checkpoint("restore_ckpt")
model = common.load_model(path) if path else None
if model is not None:
    generator, ckpt = model
    st.caption(common.model_caption(ckpt))
    if ckpt.data["kind"] != "image":
        name = common.plain(pictures.model_name(ckpt))  # a run's name comes from its folder
        st.error(f"{name} makes 2-D points: restoration needs an image model, such as mnist-cdcgan.")
    else:
        restore_page(generator, ckpt)
if saved := st.session_state.get(JOB_KEY):
    job, about = saved
    if job.snapshot().active:
        st.fragment(run_every=REFRESH_S)(live)(job)
    else:
        results_ui(job, about)
