"""End to end in a real browser: serve the app, drive Chromium with Playwright, train, sample, interpolate.

Fixtures and helpers are in browser_kit.py (Chromium at /usr/bin/chromium; skipped without it unless
GANPLAY_REQUIRE_BROWSER=1).
"""

from __future__ import annotations

import signal
import socket

import pytest
from browser_kit import (
    chart_step,
    cut_texts,
    lab_picture,
    no_exception,
    open_nav,
    picker_label,
    shots_folder,
    wait_for,
    whole_page,
)

pytestmark = pytest.mark.slow


def test_train_watch_sample_interpolate_in_chromium(server, browser, tmp_path):
    """Train from the form, watch it live in two tabs, pause, stop; then Toy lab, Samples, Interpolate, Runs."""
    shots = shots_folder()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server)
    page.get_by_text("Runs in progress").wait_for(timeout=60_000)
    page.screenshot(path=str(shots / "home.png"))

    open_nav(page, server, "Train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=60_000)
    steps = page.get_by_label("Training steps", exact=True)
    steps.fill("200000")  # long enough to watch; stopped below
    steps.press("Tab")
    page.get_by_text("custom").first.wait_for(timeout=30_000)  # the preset is now customised
    start.click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)
    page.get_by_text("running ·").wait_for(timeout=60_000)
    wait_for(lambda: picker_label(page, "Run").endswith("(running)"), what="the picker saying running")
    wait_for(lambda: chart_step(page) > 0, what="the first loss chart")
    first = chart_step(page)
    wait_for(lambda: chart_step(page) > first, what="a second refresh, later steps")
    second = chart_step(page)
    wait_for(lambda: chart_step(page) > second, what="a third refresh, later steps")
    page.evaluate("document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")
    page.screenshot(path=str(shots / "train.png"))
    picture = page.locator("img[alt^='fixed-noise samples at step']").bounding_box()  # in the live panel
    assert picture and picture["y"] + picture["height"] < 1000  # what G makes is in view, not below it

    # A second tab shows the same run live; closing the first one does not stop it.
    other = browser.new_page(viewport={"width": 1400, "height": 1000})
    other.goto(f"{server}/train")
    other.get_by_text("running ·").wait_for(timeout=60_000)
    # Pausing in one tab enables Resume in the other, with no reload: a state change reruns the page.
    other.get_by_role("button", name="Pause", exact=True).click()
    wait_for(lambda: page.get_by_role("button", name="Resume", exact=True).is_enabled(), what="Resume in the first tab")
    wait_for(lambda: picker_label(page, "Run").endswith("(paused)"), what="the picker saying paused")
    assert "images/s" not in page.get_by_text("paused ·").first.inner_text()  # no speed while paused
    page.get_by_role("button", name="Resume", exact=True).click()
    wait_for(lambda: other.get_by_role("button", name="Pause", exact=True).is_enabled(), what="Pause in the second tab")
    page.close()
    wait_for(lambda: chart_step(other) > 0, what="the chart in the second tab")
    seen = chart_step(other)
    wait_for(lambda: chart_step(other) > seen, what="the run still learning after the first tab closed")
    page = other

    open_nav(page, server, "Toy 2-D lab")
    page.get_by_text("Modes covered").wait_for(timeout=60_000)
    wait_for(lambda: lab_picture(page), what="the 2-D lab's picture")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(shots / "toy_lab.png"))

    open_nav(page, server, "Train")
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("stopped", exact=False).first.wait_for(timeout=60_000)
    wait_for(lambda: picker_label(page, "Run").endswith("(stopped)"), what="the picker saying stopped")
    assert len(list((tmp_path / "runs").iterdir())) == 1  # one click, one run

    open_nav(page, server, "Samples")
    wait_for(
        lambda: page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].some(c => c.data && c.data[0].type === 'image')"
        ),
        what="a sample grid",
    )
    for seed in (1, 2):  # Resample twice: each click moves to the next seed, no error
        page.get_by_role("button", name="Resample (next seed)").click()
        page.get_by_text(f"64 samples, seed {seed}").wait_for(timeout=30_000)
        no_exception(page)
    page.screenshot(path=str(shots / "samples.png"))

    open_nav(page, server, "Interpolate")
    wait_for(
        lambda: page.evaluate(
            "[...document.querySelectorAll('.js-plotly-plot')].some(c => c.data && c.data.length === 2)"
        ),
        what="lerp and slerp in one animation",
    )
    page.get_by_text("lerp and slerp look alike").wait_for(timeout=30_000)
    page.get_by_text("Play", exact=True).first.click()  # one control plays both
    page.wait_for_timeout(1200)
    no_exception(page)
    page.screenshot(path=str(shots / "interpolate.png"))

    open_nav(page, server, "Runs")
    page.get_by_text("Run to manage").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # the table draws on a canvas after the page settles
    whole_page(page, shots / "runs.png")
    no_exception(page)


def test_a_narrow_window_stacks_the_train_page(server, browser):
    """At 700 px the form takes the whole width: no label is cut, every number box keeps its +/- buttons."""
    page = browser.new_page(viewport={"width": 700, "height": 900})
    page.goto(f"{server}/train")
    page.get_by_role("button", name="Start training").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)
    start, watch = (
        page.get_by_role("button", name="Start training").bounding_box(),
        page.get_by_role("heading", name="Watch").bounding_box(),
    )
    assert watch["y"] > start["y"]  # the watch panel sits below the form, not beside it
    # labels and values whole (at 700 px the old layout cut "bet a1" and "0.5"); waited for, as fonts settle
    wait_for(
        lambda: cut_texts(page, "[data-testid=stWidgetLabel] p, input") == [],
        timeout=20,
        what=f"no cut labels (cut: {cut_texts(page, '[data-testid=stWidgetLabel] p, input')})",
    )
    # the old layout lost the +/- buttons beside the Adam betas; Streamlit drops them from a box it measures
    # under 7.5rem, and a box inside the closed "Advanced" expander may measure 0, so open it before counting
    page.get_by_text("Advanced", exact=True).click()
    boxes, plus = '[data-testid="stNumberInput"]', '[data-testid="stNumberInputStepUp"]'
    wait_for(
        lambda: page.locator(boxes).count() >= 8 and page.locator(plus).count() == page.locator(boxes).count(),
        timeout=20,
        what="+/- buttons on every number box, the Advanced ones too",
    )
    whole_page(page, shots_folder() / "train_narrow.png")
    no_exception(page)
    page.goto(f"{server}/samples")  # five controls in a row wrap onto two rather than cut their labels
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    rows = """new Set([...document.querySelectorAll('.st-key-samples_controls [data-testid=stColumn]')]
        .map(e => Math.round(e.getBoundingClientRect().top))).size"""
    wait_for(lambda: page.evaluate(rows) == 2, timeout=20, what="the Samples controls on two rows")
    wait_for(
        lambda: cut_texts(page, "[data-testid=stWidgetLabel] p") == [], timeout=20, what="no cut labels on Samples"
    )


def test_a_deep_link_as_the_first_request_still_goes_through_the_router(server, browser):
    """A fresh server whose first visitor opens /samples must show ganplay's navigation, not the pages/ files."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{server}/samples")
    page.get_by_role("heading", name="Samples").wait_for(timeout=60_000)
    nav = page.get_by_test_id("stSidebarNav")
    nav.get_by_text("Toy 2-D lab").wait_for(timeout=30_000)
    assert "common" not in nav.inner_text() and "train form" not in nav.inner_text()
    # what a new user sees first on Samples: the shipped conditional model's digits
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_text("checkpoints/mnist-cdcgan.pt").first.wait_for(timeout=30_000)  # the model's caption
    page.wait_for_timeout(1000)  # let plotly paint the image
    page.screenshot(path=str(shots_folder() / "samples_pretrained.png"), full_page=True)
    # every page's own address works as a first request too, with no "Page not found" on the way
    for path, heading in (("toy_lab", "Toy 2-D lab"), ("interpolate", "Interpolate"), ("runs", "Runs")):
        fresh = browser.new_page(viewport={"width": 1400, "height": 900})
        fresh.goto(f"{server}/{path}")
        fresh.get_by_role("heading", name=heading).wait_for(timeout=60_000)
        assert "Page not found" not in fresh.inner_text("body")
        fresh.close()


def test_stopping_the_server_saves_its_runs_checkpoints(served, browser, tmp_path):
    """SIGTERM to the app's server: its runs stop and save before it exits (it used to exit in 2 s, losing them)."""
    import json

    from ganplay.checkpoints import load_checkpoint

    url, proc = served
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/train")
    steps = page.get_by_label("Training steps", exact=True)
    steps.fill("1000000")
    steps.press("Tab")
    page.get_by_text("custom").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="Start training").click()
    page.get_by_text("running ·").wait_for(timeout=60_000)
    [folder] = list((tmp_path / "runs").iterdir())
    wait_for(lambda: len((folder / "metrics.jsonl").read_text().splitlines()) >= 5, what="some training")
    proc.send_signal(signal.SIGTERM)
    proc.wait(90)
    assert "terminate called" not in (tmp_path / "server.log").read_text()
    assert load_checkpoint(folder).step >= 50  # the 1,000-step checkpoint was not due: this is the stop's
    assert json.loads((folder / "status.json").read_text())["state"] == "stopped"


def _websocket_handshake(url: str, host: str) -> str:
    """The status line the server answers to a WebSocket upgrade of /_stcore/stream with this Host and Origin."""
    port = int(url.rsplit(":", 1)[1])
    request = (
        f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}:{port}\r\nOrigin: http://{host}:{port}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request.encode())
        return conn.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_a_foreign_host_name_cannot_open_the_apps_websocket(server):
    """DNS rebinding: evil.example resolved to 127.0.0.1 sends its own name as Host, with a matching Origin."""
    assert " 101 " in _websocket_handshake(server, "127.0.0.1")
    assert " 101 " in _websocket_handshake(server, "localhost")
    refused = _websocket_handshake(server, "evil.example")
    assert " 101 " not in refused and refused.startswith("HTTP/1.1 4"), refused
