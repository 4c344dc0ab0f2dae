"""Time each page's first render with Streamlit's AppTest, after torch and the core are imported.

    GANPLAY_RUNS=checkpoints/runs .venv/bin/python scripts/page_timings.py

Prints one line per page: seconds for its first full run (median of --repeat fresh sessions).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout, no install needed

import torch  # noqa: F401  (imported first on purpose: the figure excludes torch's own import)
from streamlit.testing.v1 import AppTest

import ganplay.runs  # noqa: F401

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = [None, "pages/train.py", "pages/toy_lab.py", "pages/samples.py", "pages/interpolate.py", "pages/runs.py"]


def first_render(page: str | None) -> float:
    at = AppTest.from_file(APP, default_timeout=120)
    if page is None:
        start = time.perf_counter()
        at.run()
    else:
        at.run()
        start = time.perf_counter()
        at.switch_page(page).run()
    elapsed = time.perf_counter() - start
    if at.exception:
        raise SystemExit(f"{page}: {at.exception[0].message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    first_render(None)  # warm Streamlit's own imports once
    for page in PAGES:
        times = [first_render(page) for _ in range(args.repeat)]
        print(f"{page or 'app.py (home)':24} {statistics.median(times):6.2f} s  (max {max(times):.2f} s)")


if __name__ == "__main__":
    main()
