"""What every page shares: the run registry, run and checkpoint pickers, cached generators, small formats."""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import Any

import streamlit as st

from ganplay import sampling
from ganplay.checkpoints import CHECKPOINT_NAME, CheckpointError, load_generator
from ganplay.runs import ACTIVE_STATES, RunRegistry, RunSnapshot, get_registry
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


def registry() -> RunRegistry:
    return get_registry()  # process-wide: every tab and every rerun sees the same runs


def device_text() -> str:
    return describe_device(resolve_device("auto"))


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
    return f"**{snap.name}**: {snap.state.value}, step {snap.step:,}/{snap.total_steps:,}{losses}"


def pick_run(label: str, snaps: list[RunSnapshot], key: str, prefer: str | None = None) -> RunSnapshot | None:
    """A select box of runs (newest first); remembers the choice across reruns and pages."""
    if not snaps:
        return None
    names = [s.name for s in snaps]
    chosen = st.session_state.get(key)
    if prefer in names:
        st.session_state[key] = prefer
    elif chosen not in names:
        st.session_state[key] = names[0]
    name = st.selectbox(label, names, key=key, format_func=lambda n: f"{n} ({_state_of(snaps, n)})")
    return next(s for s in snaps if s.name == name)


def _state_of(snaps: list[RunSnapshot], name: str) -> str:
    return next(s.state.value for s in snaps if s.name == name)


def checkpoint_choices() -> dict[str, Path]:
    """Shipped models first (checkpoints/*.pt), then every run that has saved a checkpoint."""
    choices: dict[str, Path] = {}
    for path in sorted(SHIPPED_MODELS.glob("*.pt")):
        choices[f"pretrained: {path.stem}"] = path
    for snap in registry().list_runs():
        path = Path(snap.folder) / CHECKPOINT_NAME
        if path.exists():
            choices[f"run: {snap.name} ({snap.state.value})"] = path
    return choices


def pick_checkpoint(key: str) -> Path | None:
    choices = checkpoint_choices()
    if not choices:
        st.info("No checkpoint yet: train a model on the Train page (a toy run saves one within seconds).")
        return None
    label = st.selectbox("Model", list(choices), key=key)
    return choices[label]


@st.cache_resource(max_entries=8, show_spinner="Loading the generator...")
def _cached_generator(path: str, mtime: float, use_ema: bool) -> tuple[Any, dict[str, Any]]:
    return load_generator(path, device="cpu", use_ema=use_ema)


def load_model(path: Path, use_ema: bool = True) -> tuple[Any, dict[str, Any]] | None:
    """(G, checkpoint) cached by path and modification time; a bad file shows its error instead."""
    try:
        return _cached_generator(str(path), path.stat().st_mtime, use_ema)
    except (CheckpointError, OSError) as err:
        st.error(f"Cannot open this checkpoint: {err}")
        return None


def model_caption(ckpt: dict[str, Any]) -> str:
    """Dataset, architecture, loss, what G is told (class, clusters, codes) and the step."""
    cfg, meta = ckpt["config"], ckpt["data"]
    told = ("conditional" if cfg.conditional else f"self-conditioned on {cfg.clusters} clusters" if cfg.clusters
            else f"InfoGAN, {cfg.info_codes} codes" if cfg.info_codes else "unconditional")
    return f"{meta['title']} · {cfg.arch} · {cfg.loss} · {told} · step {ckpt['step']:,}"


def class_choice(ckpt: dict[str, Any], key: str, label: str = "Class") -> int | None:
    """A class (conditional) or cluster (self-conditioned) select box; None: all in turn, or clusters drawn."""
    names = ckpt["data"].get("class_names") or []
    clusters = bool(ckpt["config"].clusters)
    if not ckpt["config"].takes_labels or not names:
        return None
    every = "drawn at their real shares" if clusters else "all, in turn"

    def shown(i: int | None) -> str:
        return every if i is None else names[i] if clusters else f"{i}: {names[i]}"

    # Classes keep their pick across models with the same class names; a cluster means something only in
    # its own model (digit 7 of one model is not cluster 7 of another), so its pick starts afresh.
    widget_key = _meaning_key(key, ckpt["path"] if clusters else "|".join(names))
    return st.selectbox("Cluster" if clusters else label, [None, *range(len(names))], key=widget_key, format_func=shown,
                        help="self-conditioned: k-means clusters of the training images stand in for labels"
                             if clusters else None)


def _meaning_key(key: str, meaning: str) -> str:
    """A widget key that changes with what its values mean, so a pick never carries over to a new meaning."""
    return f"{key}:{zlib.crc32(meaning.encode()):08x}"


def code_choice(ckpt: dict[str, Any], key: str, each: bool = True) -> sampling.Code:
    """An InfoGAN code select box (as drawn, each in turn, or one code); None for models without codes."""
    codes = ckpt["config"].info_codes
    if not codes:
        return None
    options = [None, *([sampling.EACH_CODE] if each else []), *range(codes)]
    labels = {None: "as drawn", sampling.EACH_CODE: "each in turn (a column per code)"}
    return st.selectbox("InfoGAN code", options, key=_meaning_key(key, ckpt["path"]),  # codes: their model's own
                        format_func=lambda c: labels.get(c, f"code {c}"),
                        help="the discrete code this model learned to make distinct, unsupervised; "
                             "a code often stands for one kind of sample (a digit, a toy's mode)")
