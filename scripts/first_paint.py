"""How long until a page shows its first chart in Chromium: from navigation to a drawn plotly plot or a loaded
chart picture (the Toy lab's default, an image whose alt text names the step).

    .venv/bin/python scripts/first_paint.py [--page toy_lab] [--repeat 5]

Serves the app on an empty runs folder (so the Toy lab shows the shipped ring8-mlp), then opens the page in a
new tab --repeat times (--fresh: a new browser profile each time, as a first-time user). The first visit also
pays the server's cold caches (models read, views computed) and the browser's download of Streamlit's scripts;
the later ones are what a returning user sees. Prints each time and the median of the warm ones.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_kit import CHROMIUM, CHROMIUM_ARGS, free_port, wait_healthy

DRAWN = """() => [...document.querySelectorAll('.js-plotly-plot')].some(p => p._fullData && p._fullData.length)
    || [...document.querySelectorAll('[data-testid="stMain"] img')].some(
        i => (i.alt || '').includes('step') && i.complete && i.naturalWidth > 0)"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--page", default="toy_lab", help="the page's URL path (default: toy_lab)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--fresh", action="store_true", help="a new browser profile for every visit (Streamlit's scripts not cached)"
    )
    args = parser.parse_args()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env={**os.environ, "GANPLAY_RUNS": tempfile.mkdtemp(prefix="ganplay-paint-")},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    times = []
    try:
        wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            for _ in range(args.repeat):
                if args.fresh:
                    context.close()
                    context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/{args.page}")
                page.wait_for_function(DRAWN, timeout=120_000, polling=20)
                times.append(time.perf_counter() - start)
                page.close()
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    print(f"{args.page}: first chart drawn after " + ", ".join(f"{t:.2f}" for t in times) + " s")
    if len(times) > 1:
        print(f"  cold (first visit) {times[0]:.2f} s; warm median {statistics.median(times[1:]):.2f} s")


if __name__ == "__main__":
    main()
