"""Does watching slow training? Images/s of one DCGAN run with the Train page open in Chromium, and with no page.

    .venv/bin/python scripts/live_overhead.py [--preset mnist-quick] [--window 30] [--rounds 2]

Serves the app, starts a run by clicking Start (so it lives in the server process, as for a user), then
alternates windows with the browser on about:blank and on the Train page (refreshing once a second).
Each window's images/s comes from the run's metrics.jsonl rows written during it (median).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_browser import CHROMIUM, CHROMIUM_ARGS, _free_port, _wait_healthy  # noqa: E402


def window_rate(metrics: Path, start: float, end: float) -> float:
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    rates = [r["images_per_sec"] for r in rows if start <= r["time"] <= end]
    return statistics.median(rates) if rates else float("nan")


def main() -> None:
    import os
    import signal
    import subprocess

    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mnist-quick")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per window")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="ganplay-overhead-"))
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                            cwd=ROOT, env={**os.environ, "GANPLAY_RUNS": str(runs)}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("link", name="Train", exact=True).first.click()
            page.get_by_label("Preset").click()
            page.get_by_role("option", name=args.preset, exact=True).click()
            steps = page.get_by_label("steps", exact=True)
            steps.wait_for()
            steps.fill("1000000")
            steps.press("Tab")
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("running ·").wait_for(timeout=120_000)
            metrics = next(runs.iterdir()) / "metrics.jsonl"
            time.sleep(args.window / 2)  # warm-up
            results: dict[str, list[float]] = {"no page open": [], "Train page open": []}
            for _ in range(args.rounds):
                for label in results:
                    if label == "no page open":
                        page.goto("about:blank")
                    else:
                        page.goto(f"{url}/train")
                        page.get_by_text("running ·").wait_for(timeout=60_000)
                    start = time.time()
                    time.sleep(args.window)
                    results[label].append(window_rate(metrics, start, time.time()))
            page.goto(f"{url}/train")
            page.get_by_role("button", name="Stop").click()
            browser.close()
        closed, open_ = (statistics.median(v) for v in results.values())
        print(f"preset {args.preset}, {args.rounds} rounds of {args.window:.0f} s windows, median images/s")
        for label, values in results.items():
            print(f"  {label:16} {statistics.median(values):9.1f}   windows: {', '.join(f'{v:.1f}' for v in values)}")
        print(f"  open / closed = {open_ / closed:.1%}")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
