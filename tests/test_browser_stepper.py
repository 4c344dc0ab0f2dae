"""In Chromium, as a learner: start a toy run paused, press G step five times in the Toy 2-D lab and see the counter
move by five and the picture change, then play it in slow motion at 2 steps a second and see it go on, slowly.
(That a game played by hand resumes exactly is test_game_steps.py's.) Fixtures and helpers: browser_kit.py."""

from __future__ import annotations

import re

import pytest
from browser_kit import lab_picture, no_exception, open_nav, shots_folder, wait_for, whole_page

pytestmark = pytest.mark.slow

COUNTER = re.compile(r"(paused|running) · step (\d+) / 2,000")


def counter(page) -> tuple[str, int] | None:
    found = COUNTER.search(page.locator('[data-testid="stMain"]').inner_text())
    return (found.group(1), int(found.group(2))) if found else None


def test_step_g_five_times_then_play_in_slow_motion(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(server)
    open_nav(page, server, "Train")
    page.get_by_text("Start paused (step through the game by hand)").click()
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"paused · step 0 / 2,000")).wait_for(timeout=60_000)
    open_nav(page, server, "Toy 2-D lab")
    page.get_by_role("heading", name="Toy 2-D lab").wait_for(timeout=30_000)
    g_step = page.get_by_role("button", name="G step")
    wait_for(lambda: g_step.count() == 1, what="the lab's step buttons alone (the Train page's had gone)")
    wait_for(lambda: lab_picture(page), what="the lab's picture")
    first = lab_picture(page)
    for step in range(1, 6):
        g_step.click()
        page.get_by_text(f"1 G update (step {step - 1} → {step})").wait_for(timeout=30_000)
    wait_for(lambda: counter(page) == ("paused", 5), what="the counter at step 5, paused")  # its line follows
    wait_for(lambda: lab_picture(page) not in ("", first), what="a new picture: the points moved")
    no_exception(page)
    whole_page(page, shots_folder() / "toy-lab-stepped.png")

    page.get_by_role("button", name="Play slowly").click()  # the slider starts at 2 steps a second
    page.get_by_text("Slow motion: 2 full steps a second").wait_for(timeout=30_000)
    wait_for(lambda: (counter(page) or ("", 0))[1] >= 8, timeout=60, what="slow motion to take three steps")
    state, step = counter(page)
    # still going, not raced to the end (at full speed a toy run finishes its 2,000 steps in seconds); the pace
    # kept and the redraw after every step are test_game_steps.py's
    assert state == "running" and step < 2_000, step
    page.get_by_role("button", name="Pause", exact=True).click()
    g_step.wait_for(timeout=30_000)
    wait_for(lambda: counter(page)[0] == "paused", what="the counter saying paused")
    no_exception(page)
