"""A soak: the app serving 3 runs (2 training, 1 queued) to 5 open Chromium tabs, its memory sampled as it goes.

    .venv/bin/python scripts/soak.py [--minutes 10] [--every 15]

Starts `streamlit run app.py` on a free port (runs in a temporary folder), starts three long runs of a preset (mnist-quick unless
--preset says otherwise) from the Train page in the browser (the registry trains two at once, so the third waits as queued), opens five tabs (the live
view of each training run, Runs, Samples, Toy 2-D lab), and samples the server's resident memory every
`--every` seconds. It prints one line per sample and then the start, peak and end, and the growth over the
second half, which must level off. Needs /usr/bin/chromium and Playwright (as the browser tests do).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = ("soak-a", "soak-b", "soak-c")
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
from browser_kit import CHROMIUM, CHROMIUM_ARGS, free_port, wait_healthy

from ganplay.presets import PRESET_NOTES


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def serve(runs: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env={**os.environ, "GANPLAY_RUNS": str(runs)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    return proc, url


def start_run(page, url: str, name: str, preset: str) -> None:
    """Start a long run from the Train page, as a user does: a preset, a name, many steps, Start."""
    page.goto(f"{url}/train")
    start = page.get_by_role("button", name="Start training")
    start.wait_for(timeout=60_000)
    page.get_by_role("combobox", name="Preset").click()
    page.get_by_role("option", name=preset, exact=True).click()
    page.get_by_text(PRESET_NOTES[preset]).wait_for(timeout=30_000)
    steps = page.get_by_role("spinbutton", name="Training steps", exact=True)
    steps.fill("1000000")
    steps.press("Tab")
    name_box = page.get_by_role("textbox", name="Run name (optional)")
    name_box.fill(name)
    name_box.press("Tab")
    page.wait_for_timeout(1500)
    start.click()
    page.get_by_role("button", name="Stop").wait_for(timeout=60_000)


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every", type=float, default=15)
    parser.add_argument("--preset", default="mnist-quick", help="the runs' preset (mnist-quick: image grids)")
    args = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="ganplay-soak-"))
    proc, url = serve(runs)
    samples: list[tuple[float, float]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            first = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in RUNS:
                start_run(first, url, name, args.preset)
            tabs = [first]
            for path in ("train", "runs", "samples", "toy_lab"):
                tab = browser.new_page(viewport={"width": 1400, "height": 1000})
                tab.goto(f"{url}/{path}")
                tabs.append(tab)
            states = sorted(
                f.name + ":" + (f / "status.json").read_text().split('"state": "')[1].split('"')[0]
                for f in runs.iterdir()
                if (f / "status.json").exists()
            )
            print(f"server pid {proc.pid}, {len(tabs)} tabs open, runs {', '.join(states)}", flush=True)
            began = time.monotonic()
            while time.monotonic() - began < args.minutes * 60:
                samples.append((time.monotonic() - began, rss_mib(proc.pid)))
                print(f"{samples[-1][0]:6.0f} s  {samples[-1][1]:8.1f} MiB", flush=True)
                time.sleep(args.every)
            samples.append((time.monotonic() - began, rss_mib(proc.pid)))
            for tab in tabs:
                tab.close()
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(120)
    values = [v for _, v in samples]
    half = len(values) // 2
    print(
        f"start {values[0]:.0f} MiB, peak {max(values):.0f} MiB, end {values[-1]:.0f} MiB; second half grew "
        f"{values[-1] - values[half]:+.0f} MiB over {samples[-1][0] - samples[half][0]:.0f} s; runs in {runs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
