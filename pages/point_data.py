"""Your own 2-D points as a dataset (the Train form's "2-D points" choice): draw them, upload a CSV, name a CSV on
this machine or pick saved ones; and the grid KL/JS display of the Toy 2-D lab. Not a page: train.py and
toy_lab.py call it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import streamlit as st

from ganplay.data import load_dataset
from ganplay.grid_divergence import GridReference
from ganplay.image_files import DatasetError
from ganplay.point_files import MIN_POINTS, POINT_SUFFIXES, POINTS_PREFIX, PointTable, make_table, parse_points_bytes
from ganplay.point_store import points_folder, save_points, saved_points_files
from pages.common import plain
from pages.train_form import keep, remember

SOURCES = ("draw them", "upload a CSV", "a CSV file on this machine", "saved points")
CLICK, BRUSH = "click: a point", "brush: drag to spray"
CANVAS_PX = 360  # the drawing is the plane [-1, 1]^2, this many pixels a side
BRUSH_PX = 16  # the brush's width: sprayed points scatter across it
SPRAY_SPACING_PX = 5.0  # one sprayed point per this much stroke
PALETTE = (("blue", "#1f77b4"), ("orange", "#ff7f0e"), ("green", "#2ca02c"), ("red", "#d62728"), ("purple", "#9467bd"))
ORIGIN = {"left": 0.0, "top": 0.0, "center": 0.5, "right": 1.0, "bottom": 1.0}  # Fabric's originX/originY
SAVED = "points_saved"  # session: fingerprint -> the file those points were saved as


def points_source_ui() -> str | None:
    """A points:FILE dataset name; None until there are points to train on (each way says what is missing)."""
    how = st.radio("Points", SOURCES, horizontal=True, key=keep("points_how", SOURCES[0]))
    remember("points_how")
    if how == SOURCES[0]:
        return drawn_points_ui()
    if how == SOURCES[1]:
        return uploaded_points_ui()
    if how == SOURCES[2]:
        path = st.text_input(
            "CSV file (x,y per line, optional third column: label)",
            key=keep("points_path", ""),
            help=f"{', '.join(POINT_SUFFIXES)}; a header line is optional. On the command line: "
            f"--dataset points:FILE.csv",
        )
        remember("points_path")
        return f"{POINTS_PREFIX}{path.strip()}"  # the form's check says what is wrong with it
    return saved_points_ui()


def drawn_points_ui() -> str | None:
    tool_col, colour_col = st.columns(2)
    tool = tool_col.radio("Tool", (CLICK, BRUSH), horizontal=True, key="points_tool")
    label = colour_col.selectbox(
        "Colour (label)",
        range(len(PALETTE)),
        format_func=lambda i: f"{PALETTE[i][0]} (label {i})",
        key="points_colour",
        help="Points of two or more colours are labelled by colour, so a class-conditional model can be asked "
        "for each; one colour means no labels.",
    )
    colour = PALETTE[label][1]
    canvas = draw_canvas(
        fill_color=colour,
        stroke_width=2 if tool == CLICK else BRUSH_PX,
        stroke_color=colour,
        background_color="#ffffff",
        width=CANVAS_PX,
        height=CANVAS_PX,
        drawing_mode="point" if tool == CLICK else "freedraw",
        point_display_radius=3,
        key="points_canvas",
    )
    xy, labels = canvas_points(canvas.json_data, CANVAS_PX)
    if len(xy) < MIN_POINTS:
        say = st.info if len(xy) == 0 else st.warning
        say(
            f"{len(xy)} point{'s' * (len(xy) != 1)} drawn: at least {MIN_POINTS} are needed. Click to place points, "
            f"or pick the brush and drag to spray them."
        )
        return None
    try:
        table = make_table(xy, [str(i) for i in labels] if len(set(labels)) > 1 else None, "the drawing")
    except DatasetError as err:
        st.error(plain(err))
        return None
    return saved_dataset_ui(table, f"drawn-{table.fingerprint[:8]}", "drawn")


def draw_canvas(**options):
    """The drawing canvas, imported when first drawn: importing it registers a component, which needs a running app."""
    from streamlit_drawable_canvas import st_canvas

    return st_canvas(**options)


def uploaded_points_ui() -> str | None:
    upload = st.file_uploader(
        "CSV of x,y (optional third column: label)", type=[s.lstrip(".") for s in POINT_SUFFIXES], key="points_upload"
    )
    if upload is None:
        return None
    try:
        table = parse_points_bytes(upload.getvalue(), upload.name)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(upload.name).stem).strip("-._")[:40] or "uploaded"
        path = remember_saved(table, save_points(table, f"{stem}-{table.fingerprint[:8]}"))  # unique per content
    except DatasetError as err:
        st.error(plain(err))  # the upload's name and lines come from the user: text, never markdown
        return None
    st.success(plain(f"{table.summary()}, saved as {path}"))
    return f"{POINTS_PREFIX}{path}"


def saved_points_ui() -> str | None:
    files = saved_points_files()
    if not files:
        st.info(plain(f"No saved points yet in {points_folder()}: draw some or upload a CSV."))
        return None
    chosen = st.selectbox("Saved points", files, format_func=lambda p: p.name, key="points_saved_pick")
    return f"{POINTS_PREFIX}{chosen}"


def saved_dataset_ui(table: PointTable, default_name: str, key: str) -> str | None:
    """The dataset once these points are saved: the saved file, or a name field and a button to save them."""
    saved = st.session_state.setdefault(SAVED, {})
    kept = saved.get(table.fingerprint)
    if kept and Path(kept).is_file():
        st.success(plain(f"{table.summary()}, saved as {kept}"))
        return f"{POINTS_PREFIX}{kept}"
    st.caption(f"{table.summary()} ({describe_labels(table)})")
    name = st.text_input(
        "Save as",
        key=f"points_name:{key}",
        placeholder=default_name,
        help=f"Saved as NAME.csv in {points_folder()}: letters, digits, '.', '_' or '-'. A name that holds other "
        f"points is refused, never overwritten.",
    )
    if not st.button("Use these points", key=f"points_use:{key}", type="primary"):
        return None
    try:
        remember_saved(table, save_points(table, name.strip() or default_name))
    except DatasetError as err:
        st.error(plain(err))
        return None
    st.rerun()  # drawn again with the saved file as the dataset, and the form below it


def remember_saved(table: PointTable, path: Path) -> Path:
    st.session_state.setdefault(SAVED, {})[table.fingerprint] = str(path)
    return path


def describe_labels(table: PointTable) -> str:
    return f"labels {', '.join(table.class_names)}" if table.class_names else "one colour: no labels"


# -- the canvas's drawing as points ----------------------------------------------------------------


def canvas_points(drawing: dict | None, side: int, spacing: float = SPRAY_SPACING_PX) -> tuple[np.ndarray, list[int]]:
    """(N, 2) points in [-1, 1]^2 (y up) and each one's colour label, from the canvas's Fabric JSON: a point per
    click, and for a brush stroke points every `spacing` pixels along it, scattered across the brush."""
    pixels: list[tuple[float, float]] = []
    labels: list[int] = []
    for index, obj in enumerate((drawing or {}).get("objects", [])):
        kind = str(obj.get("type", "")).lower()
        if kind == "circle":
            found = [circle_centre(obj)]
        elif kind == "path":
            found = sprayed(obj, spacing, seed=index)
        else:
            continue
        pixels += found
        labels += [colour_label(obj.get("stroke") or obj.get("fill"))] * len(found)
    if not pixels:
        return np.zeros((0, 2)), []
    px = np.asarray(pixels, dtype=np.float64)
    return np.stack([px[:, 0] / side * 2 - 1, 1 - px[:, 1] / side * 2], 1), labels


def circle_centre(obj: dict) -> tuple[float, float]:
    """A point's centre: Fabric places a circle by a corner or side of its box (2 r + stroke) set by its origin."""
    box = 2 * float(obj.get("radius", 0)) + float(obj.get("strokeWidth", 0))
    x = float(obj.get("left", 0)) + (0.5 - ORIGIN.get(obj.get("originX", "left"), 0.0)) * box * obj.get("scaleX", 1)
    y = float(obj.get("top", 0)) + (0.5 - ORIGIN.get(obj.get("originY", "top"), 0.0)) * box * obj.get("scaleY", 1)
    return x, y


def sprayed(obj: dict, spacing: float, seed: int) -> list[tuple[float, float]]:
    """Points along a brush stroke's path (canvas pixels, as the brush drew it), scattered with a standard
    deviation of a quarter of its width, the same for the same stroke."""
    vertices = np.asarray(
        [command[-2:] for command in obj.get("path", []) if len(command) >= 3], dtype=np.float64
    ).reshape(-1, 2)
    if not len(vertices):
        return []
    lengths = np.linalg.norm(np.diff(vertices, axis=0), axis=1)
    along = np.concatenate([[0.0], np.cumsum(lengths)])
    ticks = np.arange(0.0, along[-1] + 1e-9, spacing)
    line = np.stack([np.interp(ticks, along, vertices[:, 0]), np.interp(ticks, along, vertices[:, 1])], 1)
    spread = float(obj.get("strokeWidth", BRUSH_PX)) / 4
    return [tuple(p) for p in line + np.random.default_rng(seed).normal(0, spread, line.shape)]


def colour_label(colour: object) -> int:
    return next((i for i, (_, hex_) in enumerate(PALETTE) if str(colour).lower() == hex_), 0)


# -- the lab's grid divergences ------------------------------------------------------------------------


@st.cache_resource(max_entries=8, show_spinner=False)
def grid_reference(dataset: str, version: tuple[int, int]) -> GridReference:
    return GridReference(load_dataset(dataset, seed=0))  # version: a points file is read again once it changes


def grid_divergence_ui(points: np.ndarray, dataset: str) -> None:
    """GAN Lab's grid KL and JS of the shown points against the dataset's real points, with their floor."""
    try:
        reference = grid_reference(dataset, file_version(dataset))
    except (DatasetError, ValueError) as err:
        st.caption(plain(f"No grid KL/JS: {err}"))
        return
    score = reference.score(points)
    how = (
        f"Real against generated points, each counted on a {score.bins}x{score.bins} grid over the plane shown, "
        f"in bits. Real points against themselves (another {score.num_generated:,}) score "
    )
    st.metric(
        "Grid KL (bits)",
        f"{score.kl:.3f}",
        help=how + f"{score.kl_floor:.3f}: the best this many points can show. KL grows when G misses places "
        f"where real points are (GAN Lab's KL(real || generated)).",
    )
    st.metric(
        "Grid JS (bits)",
        f"{score.js:.3f}",
        help=how + f"{score.js_floor:.3f}. JS (0 to 1) also grows when G puts points where real ones are not.",
    )
    st.caption(f"real vs real: KL {score.kl_floor:.3f}, JS {score.js_floor:.3f}")


def file_version(dataset: str) -> tuple[int, int]:
    """(size, modification time) of a points file, (0, 0) for other datasets: the cache key of its reference."""
    if not dataset.startswith(POINTS_PREFIX):
        return 0, 0
    try:
        info = Path(dataset[len(POINTS_PREFIX) :].strip()).expanduser().stat()
    except (OSError, RuntimeError):
        return 0, 0  # the loader says what is wrong
    return info.st_size, info.st_mtime_ns
