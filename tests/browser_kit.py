"""What the browser tests share: the app served on a free port, Chromium driven by Playwright, and helpers.

Needs Debian's Chromium at /usr/bin/chromium (`.ci/run` installs it). Without it the test is skipped,
unless GANPLAY_REQUIRE_BROWSER=1 (set by CI), which turns a missing browser into a failure.
Screenshots go to $GANPLAY_SCREENSHOTS when set (the README's come from there), else to a temp folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def browser_or_skip() -> None:
    missing = [
        what
        for what, ok in (
            ("chromium", Path(CHROMIUM).exists()),
            ("playwright", shutil.which("playwright") or has_playwright()),
        )
        if not ok
    ]
    if missing:
        message = f"missing {', '.join(missing)} (apt-get install chromium; pip install playwright)"
        if os.environ.get("GANPLAY_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)


def has_playwright() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """(url, the server's process) of `streamlit run app.py` on a free port, runs in tmp_path/runs."""
    browser_or_skip()
    port = free_port()
    env = {**os.environ, "GANPLAY_RUNS": str(tmp_path / "runs")}
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - the server writes it until the fixture ends
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server's own process group, nothing else
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture
def server(served):
    return served[0]


@pytest.fixture
def browser(server):
    """Chromium driven by Playwright, closed after the test."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("streamlit did not become healthy in time")


def shots_folder() -> Path:
    folder = Path(os.environ.get("GANPLAY_SCREENSHOTS") or ROOT / ".pytest_cache" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chart_step(page, title: str = "losses") -> int:
    """The last step a live chart picture shows, from its alt text ("losses up to step 1,234"); 0 before one
    has loaded. The live panel's pictures lie in its shadow root, which querySelectorAll does not enter."""
    return page.evaluate(
        """t => { const main = document.querySelector('[data-testid="stMain"]');
                 const roots = [main, ...[...main.querySelectorAll('*')].map(e => e.shadowRoot).filter(r => r)];
                 const i = roots.flatMap(r => [...r.querySelectorAll('img')])
                   .find(i => (i.alt || '').startsWith(t + ' up to step') && i.complete && i.naturalWidth > 0);
                 return i ? parseInt(i.alt.split(' up to step ')[1].replace(/,/g, '')) : 0; }""",
        title,
    )


def lab_picture(page) -> str:
    """The address of the Toy lab's picture once the browser has drawn it ("" before)."""
    return page.evaluate(
        """() => { const i = [...document.querySelectorAll('[data-testid="stMain"] img')]
                     .find(i => (i.alt || '').includes('step') && i.complete && i.naturalWidth > 0);
                   return i ? i.src : ''; }"""
    )


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} not reached in {timeout:.0f} s")


def open_nav(page, url: str, nav_label: str) -> None:
    page.get_by_role("link", name=nav_label, exact=True).first.click()
    page.wait_for_load_state("networkidle")


def no_exception(page) -> None:
    shown = page.locator('[data-testid="stException"]').all_inner_texts()
    assert not shown, shown[:2]


def whole_page(page, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main section, so grow the viewport to it."""
    size = page.viewport_size
    tall = page.evaluate("Math.max(...[...document.querySelectorAll('[data-testid=stMain]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(int(tall) + 40, 6000)})
    page.wait_for_timeout(800)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def cut_texts(page, selector: str) -> list[str]:
    """Texts of the elements that do not fit their box (a label cut to 'bet a1', a value to '0.5')."""
    return page.evaluate(
        """s => [...document.querySelectorAll(s)].filter(e => e.scrollWidth > e.clientWidth + 1)
                                 .map(e => e.innerText || e.value)""",
        selector,
    )


def picker_label(page, label: str) -> str:
    return page.get_by_role("combobox", name=label).input_value()
