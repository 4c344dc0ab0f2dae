"""Does watching slow training? Images/s of one DCGAN run with the Train page open in Chromium, and with no page.

    .venv/bin/python scripts/live_overhead.py [--preset mnist-quick] [--window 30] [--rounds 2] [--refresh 1 2]

Serves the app, starts a run by clicking Start (so it lives in the server process, as for a user), then
alternates windows with the browser on about:blank and on the Train page at each refresh period (?refresh=N).
Each window's images/s comes from the run's metrics.jsonl rows written during it (median).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser_kit import CHROMIUM, CHROMIUM_ARGS, free_port, wait_healthy


def window_rate(metrics: Path, start: float, end: float) -> float:
    rows = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    rates = [r["images_per_sec"] for r in rows if start <= r["time"] <= end]
    return statistics.median(rates) if rates else float("nan")


def cpu_seconds(pattern: str) -> float:
    """User + system CPU seconds of every process whose command line contains `pattern` (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if pattern not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            continue
    return total


def thread_seconds(pid: int) -> tuple[float, dict[int, float]]:
    """The process's CPU seconds (its exited threads included) and each living thread's."""
    tick = os.sysconf("SC_CLK_TCK")

    def seconds(stat: Path) -> float:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    threads = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            threads[int(task.name)] = seconds(task / "stat")
        except OSError:
            continue  # a thread that just ended
    return seconds(Path(f"/proc/{pid}/stat")), threads


def page_server_cores(
    samples: list[tuple[float, float, dict[int, float], dict[int, float], float]], trainers: set[int]
) -> float:
    """Median cores the server spent on anything but training: its CPU over a window less its training threads'."""
    spent = []
    for before, after, threads_before, threads_after, elapsed in samples:
        training = sum(threads_after.get(t, 0.0) - threads_before.get(t, 0.0) for t in trainers)
        spent.append((after - before - training) / elapsed)
    return statistics.median(spent)


def main() -> None:
    import signal
    import subprocess

    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="mnist-quick")
    parser.add_argument("--window", type=float, default=30.0, help="seconds per window")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--page", default="train", help="the page kept open: train (polls), toy_lab, runs, ...")
    parser.add_argument("--refresh", type=int, nargs="+", default=[1, 2], help="refresh periods to try, seconds")
    args = parser.parse_args()
    runs = Path(tempfile.mkdtemp(prefix="ganplay-overhead-"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=ROOT,
        env={**os.environ, "GANPLAY_RUNS": str(runs)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            page.get_by_role("link", name="Train", exact=True).first.click()
            page.get_by_role("combobox", name="Preset").click()
            page.get_by_role("option", name=args.preset, exact=True).click()
            page.wait_for_timeout(2000)  # the form is redrawn with the preset's values
            steps = page.get_by_label("Training steps", exact=True).last
            steps.wait_for()
            steps.fill("1000000")
            steps.press("Tab")
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("running ·").wait_for(timeout=120_000)
            metrics = next(runs.iterdir()) / "metrics.jsonl"
            time.sleep(args.window / 2)  # warm-up
            closed_label = "no page open"
            results: dict[str, list[float]] = {closed_label: []}
            results.update({f"{args.page} page, {r} s": [] for r in args.refresh})
            periods = dict(zip(list(results)[1:], args.refresh))
            cpu: dict[str, list[tuple[float, float]]] = {label: [] for label in results}
            server: dict[str, list] = {label: [] for label in results}
            for _ in range(args.rounds):
                for label, rates in results.items():
                    if label == closed_label:
                        page.goto("about:blank")
                    else:
                        page.goto(f"{url}/{args.page}?refresh={periods[label]}")
                        page.wait_for_load_state("networkidle")
                    start, browser_cpu = time.time(), cpu_seconds("chromium")
                    process_before, threads_before = thread_seconds(proc.pid)
                    time.sleep(args.window)
                    elapsed = time.time() - start
                    process_after, threads_after = thread_seconds(proc.pid)
                    server[label].append((process_before, process_after, threads_before, threads_after, elapsed))
                    rates.append(window_rate(metrics, start, time.time()))
                    cpu[label].append(
                        (
                            (cpu_seconds("chromium") - browser_cpu) / elapsed,
                            (process_after - process_before) / elapsed,  # the server process, training included
                        )
                    )
            page.goto(f"{url}/train")
            page.get_by_role("button", name="Stop").click()
            browser.close()
        # Training's threads: those busy (over a tenth of a core) while no page was open.
        trainers = {
            tid
            for _, _, before, after, elapsed in server[closed_label]
            for tid in after
            if (after[tid] - before.get(tid, 0.0)) / elapsed > 0.1
        }
        closed = statistics.median(results[closed_label])
        print(f"preset {args.preset}, {args.rounds} rounds of {args.window:.0f} s windows, median images/s")
        for label, values in results.items():
            ratio = "" if label == closed_label else f" ({statistics.median(values) / closed:.1%} of no page)"
            print(
                f"  {label:18} {statistics.median(values):9.1f}{ratio}   "
                f"windows: {', '.join(f'{v:.1f}' for v in values)}   "
                f"CPU cores used: browser {statistics.median(c[0] for c in cpu[label]):.2f}, "
                f"server+training {statistics.median(c[1] for c in cpu[label]):.2f}, "
                f"server apart from training {page_server_cores(server[label], trainers):.2f}"
            )
        print(
            "  The CPU a page takes from training on this machine: the browser's cores plus the server's apart from "
            f"training, out of {os.cpu_count()} cores. The images/s ratios are noisier than that."
        )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


if __name__ == "__main__":
    main()
