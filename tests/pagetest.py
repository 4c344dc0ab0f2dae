"""Helpers for AppTest page tests: open a page through the router, find widgets and texts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = [
    "pages/train.py",
    "pages/toy_lab.py",
    "pages/samples.py",
    "pages/interpolate.py",
    "pages/restore.py",
    "pages/directions.py",
    "pages/runs.py",
    "pages/learn.py",
]  # every page of app.py, in its order


def open_page(page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, [e.message for e in at.exception]
    return at


def picker(at: AppTest, label: str):
    """The one select box with this label (class, cluster and code pickers key themselves per model)."""
    [box] = [s for s in at.selectbox if s.label == label]
    return box


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [c.value for c in at.caption]
    parts += [i.value for i in at.info] + [w.value for w in at.warning] + [s.value for s in at.success]
    parts += panel_texts(at)
    return "\n".join(str(p) for p in parts)


def live_panel(at: AppTest) -> dict[str, Any] | None:
    """The data the live view's panel (pages/live_panel.py) was given, by slot; None where there is none."""
    panels = [e for e in at.get("bidi_component") if e.proto.component_name == "ganplay_live_panel"]
    return json.loads(panels[0].proto.json) if panels else None


def panel_texts(at: AppTest) -> list[str]:
    """The panel's texts as the markdown the elements it replaced showed ("**running** · step 5 / 10", ...)."""
    data = live_panel(at)
    if data is None:
        return []
    lines = [f"**{data['state']}**{data['status']}"]
    if "verdict" in data:
        lines.append(f"**{data['verdict']}** {data['verdict_step']}")
    slots = ("waiting", "progress_text", "samples_caption", "samples_note", "loss_note", "summary", "quality_note")
    return lines + [data[slot] for slot in slots if slot in data]
