"""Helpers for AppTest page tests: open a page through the router, find widgets and texts."""

from __future__ import annotations

from pathlib import Path

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
    return "\n".join(str(p) for p in parts)
