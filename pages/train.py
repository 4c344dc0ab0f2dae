"""Train: a form that starts runs, and a live view of the run being watched."""

from __future__ import annotations

import streamlit as st

from ganplay.config import PRESETS, ConfigError, make_config
from ganplay.data import DATASETS, DatasetError, default_data_dir
from ganplay.runs import RunState
from ganplay.uploads import unpack_image_zip
from pages import live
from pages.common import pick_run, registry, use_the_router
from pages.train_form import config_form_ui

use_the_router()

FOLDER, UPLOAD = "an image folder on this machine", "a zip of images (upload)"


def data_source_ui() -> str | None:
    """The dataset name (a registry name or folder:PATH); None while an upload is missing or broken."""
    names = [*DATASETS.names(), FOLDER, UPLOAD]
    choice = st.selectbox("Dataset", names, key="dataset_choice",
                          format_func=lambda n: f"{n}: {DATASETS.info(n)['title']}" if n in DATASETS else n)
    if choice == FOLDER:
        path = st.text_input("Folder path (png, jpg or webp; one subfolder per class gives labels)", key="folder_path")
        return f"folder:{path.strip()}"
    if choice == UPLOAD:
        return uploaded_folder_ui()
    return choice


def uploaded_folder_ui() -> str | None:
    upload = st.file_uploader("Zip of images (flat, or one folder per class)", type=["zip"], key="zip_upload")
    if upload is None:
        return None
    cache = st.session_state.setdefault("unpacked", {})
    if upload.file_id not in cache:
        try:
            cache[upload.file_id] = unpack_image_zip(upload.getvalue(), default_data_dir() / "uploads", upload.name)
        except DatasetError as err:
            st.error(str(err))
            return None
    unpacked = cache[upload.file_id]
    st.success(f"Unpacked {unpacked.summary()}")
    return f"folder:{unpacked.folder}"


def start_run(config_values: dict, preset: str | None, name: str) -> None:
    try:
        cfg = make_config(preset, **config_values)
        errors = cfg.errors()
    except ConfigError as err:
        errors = err.errors
    if errors:
        st.session_state["form_errors"] = errors
        return
    try:
        run = registry().start(cfg, name=name.strip() or None)
    except ValueError as err:
        st.session_state["form_errors"] = {"name": str(err)}
        return
    st.session_state["form_errors"] = {}
    st.session_state["watch"] = run.name


st.title("Train")
left, right = st.columns([2, 3], gap="large")
with left:
    st.subheader("New run")
    preset = st.selectbox("Preset", [None, *PRESETS], index=1, key="preset",
                          format_func=lambda p: "none (defaults for the dataset)" if p is None else p)
    if preset and st.session_state.get("preset_applied") != preset:
        st.session_state["dataset_choice"] = PRESETS[preset].get("dataset", "mnist-bundled")
        st.session_state["preset_applied"] = preset
    dataset = data_source_ui()
    errors = st.session_state.get("form_errors", {})
    for field in ("dataset", "config"):
        if field in errors:
            st.error(errors[field])
    if dataset is not None:
        submitted = config_form_ui(preset, dataset, errors)
        if submitted is not None:
            values, name = submitted
            start_run(values, preset, name)
            st.rerun()

with right:
    st.subheader("Watch")
    snaps = registry().list_runs()
    snap = pick_run("Run", snaps, key="watch_pick", prefer=st.session_state.pop("watch", None))
    if snap is None:
        st.info("No runs yet: pick a preset and press Start.")
    else:
        live.controls_ui(snap)
        live.live_view(snap.name)
        if snap.state == RunState.FAILED:
            st.error(snap.error)
