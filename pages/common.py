"""What every page shares: the run registry, run and checkpoint pickers, cached generators, small formats."""

from __future__ import annotations

import re
import zlib
from pathlib import Path
from typing import Any

import streamlit as st

from ganplay import sampling
from ganplay.checkpoints import CHECKPOINT_NAME, Checkpoint, CheckpointError, load_generator
from ganplay.run_registry import RunRegistry, get_registry
from ganplay.run_state import ACTIVE_STATES, RunSnapshot
from ganplay.trainer import describe_device, resolve_device

SHIPPED_MODELS = Path(__file__).resolve().parent.parent / "checkpoints"


def use_the_router() -> None:
    """Run every page through app.py's st.navigation, even when a fresh server's first visitor deep-links.

    Streamlit decides once per server whether the app uses the legacy pages/ folder. If the first
    request is /train, it runs pages/train.py on its own and lists every file of pages/ (helpers
    included) in the sidebar, for every later visitor too. Clearing that flag and rerunning sends
    the request through app.py, which picks the same page by its URL. Only a session's first run
    reruns: a later run may carry a button click, which a rerun would drop (AppTest, which sets the
    flag again before every run, relies on that).
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        if not st.session_state.get(ROUTED_KEY):
            st.session_state[ROUTED_KEY] = True
            st.rerun()


ROUTED_KEY = "_ganplay_routed"


def narrow_layout_css(key: str, below_px: int = 1100) -> None:
    """Stack the side-by-side columns of the container `key` in windows narrower than `below_px`.

    Streamlit stacks columns only below 640 px; at 700-1100 px a form in two-fifths of the page cuts its labels
    and numbers ("bet a1", "0.5") and hides the +/- buttons.
    """
    st.html(f"""<style>
    @media (max-width: {below_px}px) {{
      .st-key-{key} > div > [data-testid="stHorizontalBlock"],
      .st-key-{key} > [data-testid="stHorizontalBlock"] {{ flex-direction: column; }}
      .st-key-{key} > div > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"],
      .st-key-{key} > [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {{
        width: 100% !important; flex: 1 1 auto !important; min-width: 100% !important; }}
    }}</style>""")


def wrap_columns_css(key: str, min_px: int = 160) -> None:
    """Let the columns of the container `key` wrap onto more rows rather than shrink below `min_px` each.

    At 700 px the Samples page's five controls shrank to "EMA ge..." and "all, in tu".
    """
    st.html(f"""<style>
    .st-key-{key} [data-testid="stHorizontalBlock"] {{ flex-wrap: wrap; }}
    .st-key-{key} [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {{ min-width: {min_px}px; }}
    </style>""")


def registry() -> RunRegistry:
    return get_registry()  # process-wide: every tab and every rerun sees the same runs


MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """Text from files or users, escaped so that Streamlit's markdown shows it as it is.

    A checkpoint's title like ![t](http://host/x.png) would otherwise make the page fetch that image, and a
    run folder named [clickme](javascript:...) would become a link.
    """
    return MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def device_text() -> str:
    return describe_device(resolve_device("auto"))


def data_kind(dataset: object, unknown: str = "?") -> str:
    """toy or image for a dataset name; `unknown` for a name that is wrong or gone (the form says why)."""
    from ganplay.data import dataset_info

    try:
        return dataset_info(dataset)["kind"] if isinstance(dataset, str) else unknown
    except ValueError:
        return unknown


def is_active(snap: RunSnapshot) -> bool:
    return snap.state in ACTIVE_STATES


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h {rest // 60:02d}m" if hours else f"{rest // 60}m {rest % 60:02d}s"


def run_status_line(snap: RunSnapshot) -> str:
    latest = snap.latest or {}
    losses = f" · loss D {latest['loss_d']:.3f}, G {latest['loss_g']:.3f}" if "loss_d" in latest else ""
    return f"**{plain(snap.name)}**: {snap.state.value}, step {snap.step:,}/{snap.total_steps:,}{losses}"


def pick_run(label: str, snaps: list[RunSnapshot], key: str, prefer: str | None = None) -> RunSnapshot | None:
    """A select box of runs (newest first), each with its state; remembers the choice across reruns and pages."""
    if not snaps:
        return None
    name = pick_labelled(label, {s.name: f"{s.name} ({s.state.value})" for s in snaps}, key, prefer)
    return next(s for s in snaps if s.name == name)


def pick_labelled(label: str, labels: dict[str, str], key: str, prefer: str | None = None) -> str:
    """A select box of names shown by their labels; remembers the choice (in `key`) across reruns and pages.

    The widget's key changes with the labels: a keyed select box whose option labels change while its value
    stays keeps showing the old label (the run picker read "queued" while the run trained), so new labels
    make a new widget, set to the remembered name.
    """
    chosen = prefer if prefer in labels else st.session_state.get(key)
    if chosen not in labels:
        chosen = next(iter(labels))
    widget_key = _meaning_key(key, "|".join(labels.values()))
    if prefer in labels or st.session_state.get(widget_key) not in labels:
        st.session_state[widget_key] = chosen
    name = st.selectbox(label, list(labels), key=widget_key, format_func=labels.get)
    st.session_state[key] = name
    return name


def checkpoint_choices() -> dict[str, tuple[Path, str]]:
    """{name: (file, label)}: shipped models first (checkpoints/*.pt), then every run that has saved a checkpoint.

    A run's name stays while its label shows its state, so a pick survives the run finishing.
    """
    choices: dict[str, tuple[Path, str]] = {}
    for path in sorted(SHIPPED_MODELS.glob("*.pt")):
        choices[f"pretrained: {path.stem}"] = path, f"pretrained: {path.stem}"
    for snap in registry().list_runs():
        path = Path(snap.folder) / CHECKPOINT_NAME
        if path.exists():
            choices[f"run: {snap.name}"] = path, f"run: {snap.name} ({snap.state.value})"
    return choices


def pick_checkpoint(key: str) -> Path | None:
    choices = checkpoint_choices()
    if not choices:
        st.info("No checkpoint yet: train a model on the Train page (a toy run saves one within seconds).")
        return None
    name = pick_labelled("Model", {name: label for name, (_, label) in choices.items()}, key)
    return choices[name][0]


@st.cache_resource(max_entries=8, show_spinner="Loading the generator...")
def _cached_generator(path: str, mtime: float, use_ema: bool) -> tuple[Any, Checkpoint]:
    return load_generator(path, device="cpu", use_ema=use_ema)


def load_model(path: Path, use_ema: bool = True) -> tuple[Any, Checkpoint] | None:
    """(G, checkpoint) cached by path and modification time; a bad file shows its error instead."""
    try:
        return _cached_generator(str(path), path.stat().st_mtime, use_ema)
    except (CheckpointError, OSError) as err:
        st.error(f"Cannot open this checkpoint: {err}")
        return None


def model_caption(ckpt: Checkpoint) -> str:
    """Dataset, architecture, loss, what G is told (class, clusters, codes) and the step, as markdown-safe text."""
    cfg, meta = ckpt.config, ckpt.data
    told = (
        "conditional"
        if cfg.conditional
        else f"self-conditioned on {cfg.clusters} clusters"
        if cfg.clusters
        else f"InfoGAN, {cfg.info_codes} codes"
        if cfg.info_codes
        else "unconditional"
    )
    return plain(f"{meta['title']} · {cfg.arch} · {cfg.loss} · {told} · step {ckpt.step:,}")


def class_choice(ckpt: Checkpoint, key: str, label: str = "Class", walk: bool = False) -> int | None:
    """A class (conditional) or cluster (self-conditioned) select box; None: all in turn, or clusters drawn.

    With `walk` (a path through latents), a conditional model holds one class fixed (no "all, in turn",
    which would change the digit at every frame), and None for clusters means each keyframe's own
    cluster, blended along the path as z is.
    """
    names = ckpt.data.get("class_names") or []
    clusters = bool(ckpt.config.clusters)
    if not ckpt.config.takes_labels or not names:
        return None
    every = ("each keyframe's own, blended" if walk else "drawn at their real shares") if clusters else "all, in turn"
    options = [*([None] if clusters or not walk else []), *range(len(names))]

    hints = cluster_hints(ckpt) if clusters else None

    def shown(i: int | None) -> str:
        return every if i is None else f"{names[i]}: {hints[i]}" if hints else class_name(names, i)

    # Classes keep their pick across models with the same class names; a cluster means something only in
    # its own model (digit 7 of one model is not cluster 7 of another), so its pick starts afresh.
    widget_key = _meaning_key(f"{key}:walk" if walk else key, ckpt.path if clusters else "|".join(names))
    if clusters:
        helps = "self-conditioned: k-means clusters of the training images stand in for labels" + (
            "; each is labelled with what the shipped digit classifier reads in 40 of its samples" if hints else ""
        )
    elif walk:
        helps = "a walk holds one class fixed, so only the style moves; the class-to-class path moves the class"
    else:
        helps = "the class G is asked for; all, in turn: class i for sample i"
    return st.selectbox("Cluster" if clusters else label, options, key=widget_key, format_func=shown, help=helps)


def cluster_hints(ckpt: Checkpoint) -> list[str] | None:
    """'mostly 3 (92%)' per cluster, by the dataset's shipped evaluator; None without one."""
    path = Path(ckpt.path)
    return _cluster_hints(str(path), path.stat().st_mtime) if path.exists() else None


@st.cache_resource(max_entries=8, show_spinner="Reading what each cluster makes...")
def _cluster_hints(path: str, mtime: float) -> list[str] | None:
    from ganplay.evaluators import load_evaluator
    from ganplay.live_eval import evaluator_path_for
    from ganplay.metrics import label_contents

    generator, ckpt = _cached_generator(path, mtime, True)
    where = evaluator_path_for(ckpt.data["name"])
    if not where.exists():
        return None
    evaluator = load_evaluator(where)
    return [
        f"{'mostly' if share >= 0.5 else 'mixed, most often'} {evaluator.class_names[majority]} ({share:.0%})"
        for majority, share in label_contents(generator, ckpt, evaluator)
    ]


def class_name(names: list[str], i: int) -> str:
    """'7' for a digit named 7 (not '7: 7'), '3: cat' when the name says more than the index."""
    return names[i] if names[i] == str(i) or names[i].startswith("cluster") else f"{i}: {names[i]}"


def _meaning_key(key: str, meaning: str) -> str:
    """A widget key that changes with what its values mean, so a pick never carries over to a new meaning."""
    return f"{key}:{zlib.crc32(meaning.encode()):08x}"


def code_choice(ckpt: Checkpoint, key: str, each: bool = True) -> sampling.Code:
    """An InfoGAN code select box (as drawn, each in turn, or one code); None for models without codes."""
    codes = ckpt.config.info_codes
    if not codes:
        return None
    options = [None, *([sampling.EACH_CODE] if each else []), *range(codes)]
    labels = {None: "as drawn", sampling.EACH_CODE: "each in turn (a column per code)"}
    return st.selectbox(
        "InfoGAN code",
        options,
        key=_meaning_key(key, ckpt.path),  # codes: their model's own
        format_func=lambda c: labels.get(c, f"code {c}"),
        help="the discrete code this model learned to make distinct, unsupervised; "
        "a code often stands for one kind of sample (a digit, a toy's mode)",
    )
