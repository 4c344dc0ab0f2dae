"""Train: a form that starts runs, and a live view of the run being watched."""

from __future__ import annotations

import streamlit as st

from ganplay.data import DATASETS
from ganplay.image_files import DatasetError, default_data_dir
from ganplay.presets import DATASET_PRESETS, PRESET_NOTES, PRESETS, make_config
from ganplay.run_state import RunState
from ganplay.uploads import unpack_image_zip
from pages import live
from pages.common import data_kind, narrow_layout_css, pick_run, plain, registry, use_the_router
from pages.point_data import points_source_ui
from pages.train_form import LABELS, FormState, config_form_ui, keep, remember

use_the_router()

FOLDER, UPLOAD = "an image folder on this machine", "a zip of images (upload)"
POINTS = "your own 2-D points (draw, or a CSV)"


def preset_ui() -> str | None:
    """The preset picker; its line of description and expected time below it, every preset's in its help."""
    every = "\n".join(f"- **{name}**: {note}" for name, note in PRESET_NOTES.items())
    preset = st.selectbox(
        "Preset",
        [None, *PRESETS],
        key=keep("preset", next(iter(PRESETS))),
        format_func=lambda p: "none (defaults for the dataset)" if p is None else p,
        help=f"A starting point; every field below can still be changed.\n\n{every}",
    )
    remember("preset")
    if preset and st.session_state.get("preset_applied") != preset:
        st.session_state["dataset_choice"] = PRESETS[preset].get("dataset", "mnist-bundled")
        st.session_state["preset_applied"] = preset
    if preset:
        st.caption(PRESET_NOTES[preset])
    return preset


def data_source_ui() -> str | None:
    """The dataset name (a registry name, folder:PATH or points:FILE); None while an upload or a drawing is missing
    or broken."""
    names = [*DATASETS.names(), FOLDER, UPLOAD, POINTS]
    choice = st.selectbox(
        "Dataset",
        names,
        key=keep("dataset_choice", "mnist-bundled"),
        format_func=lambda n: f"{n}: {DATASETS.info(n)['title']}" if n in DATASETS else n,
        on_change=_follow_dataset,
    )
    remember("dataset_choice")
    if choice == FOLDER:
        path = st.text_input(
            "Folder path (png, jpg or webp; one subfolder per class gives labels)", key=keep("folder_path", "")
        )
        remember("folder_path")
        return f"folder:{path.strip()}"
    if choice == UPLOAD:
        return uploaded_folder_ui()
    if choice == POINTS:
        return points_source_ui()
    return choice


def _follow_dataset() -> None:
    """Moving to the digits from a preset made for other data (the toy demo) brings their best recipe; a chosen
    "none" or a preset for these data stays."""
    dataset, preset = st.session_state["dataset_choice"], st.session_state.get("preset")
    suggested = DATASET_PRESETS.get(dataset)
    if suggested and preset is not None and PRESETS[preset].get("dataset") != dataset:
        st.session_state["preset"] = st.session_state["preset_applied"] = suggested
        remember("preset")


def uploaded_folder_ui() -> str | None:
    upload = st.file_uploader("Zip of images (flat, or one folder per class)", type=["zip"], key="zip_upload")
    if upload is None:
        return None
    cache = st.session_state.setdefault("unpacked", {})
    if upload.file_id not in cache:
        try:
            cache[upload.file_id] = unpack_image_zip(upload.getvalue(), default_data_dir() / "uploads", upload.name)
        except DatasetError as err:
            st.error(plain(err))  # archive and entry names come from the upload: text, never markdown
            return None
    unpacked = cache[upload.file_id]
    st.success(plain(f"Unpacked {unpacked.summary()}"))
    return f"folder:{unpacked.folder}"


def start_ui(form: FormState, preset: str | None) -> None:
    """The run name, Start, and beside it what stops a start: the fields to fix, or the registry's refusal."""
    name = st.text_input("Run name (optional)", key=keep("run_name", ""), help="letters, digits, '.', '_' or '-'")
    remember("run_name")
    paused = st.checkbox(
        "Start paused (step through the game by hand)",
        key=keep("start_paused", False),
        help="the run builds its networks, shows step 0 and waits: press D step, G step or Full step, play it in "
        "slow motion, or Resume for full speed",
    )
    remember("start_paused")
    refused = st.session_state.get("start_refused")
    if refused and refused["name"] != name:
        refused = st.session_state["start_refused"] = None  # a new name: the old refusal no longer applies
    button, summary = st.columns([1, 2], vertical_alignment="center")
    if button.button(
        "Start training",
        type="primary",
        width="stretch",
        disabled=bool(form.errors),
        help="fix the settings marked in red first" if form.errors else None,
    ):
        try:
            config = make_config(preset, **form.values).validated()
            run = registry().start(config, name=name.strip() or None, paused=paused)
        except ValueError as err:
            st.session_state["start_refused"] = {"name": name, "message": plain(err)}
        else:
            st.session_state["start_refused"] = None
            st.session_state["watch"] = run.name
        st.rerun()
    if form.errors:
        fields = ", ".join(LABELS.get(k, k) for k in form.errors)
        summary.error(
            f"Not ready to start: {len(form.errors)} setting{'s' * (len(form.errors) > 1)} "
            f"to fix ({fields}); each says why in red.",
            icon=":material/error:",
        )
    elif refused:
        summary.error(f"Not started: {refused['message']}", icon=":material/error:")


def new_run_ui() -> None:
    st.subheader("New run")
    preset = preset_ui()
    changed = st.empty()
    dataset = data_source_ui()
    if dataset is None:
        return
    data_error = st.empty()
    form = config_form_ui(preset, dataset, data_kind(dataset, unknown="image"))  # a folder while its path is wrong
    if "dataset" in form.errors:
        data_error.error(form.errors["dataset"])
    if preset and form.changed:
        changed.caption(f"**custom**: {preset} with {', '.join(LABELS.get(k, k) for k in form.changed)} changed")
    start_ui(form, preset)


def watch_ui() -> None:
    st.subheader("Watch")
    snaps = registry().list_runs()
    snap = pick_run("Run", snaps, key="watch_pick", prefer=st.session_state.pop("watch", None))
    if snap is None:
        st.info("No runs yet: pick a preset and press Start.")
        return
    live.controls_ui(snap)
    live.live_view(snap)
    if snap.state in (RunState.FAILED, RunState.DAMAGED):
        st.error(plain(snap.error))


st.title("Train")
narrow_layout_css("train_layout")
with st.container(key="train_layout"):
    left, right = st.columns([2, 3], gap="large")
    with left:
        new_run_ui()
    with right:
        watch_ui()
