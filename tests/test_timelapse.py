"""The time-lapse GIF: real runs' snapshots (image grids and 2-D scatters) become labelled frames, thinned evenly
with both ends kept, memory capped; `python -m ganplay timelapse` says what is wrong in one line."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from conftest import tiny_image_config, tiny_toy_config
from pagetest import open_page
from PIL import Image, ImageSequence

from ganplay import timelapse
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.runs import Run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny image run and a tiny 2-D run, a snapshot every step (7 each)."""
    root = tmp_path_factory.mktemp("runs")
    runs = [
        Run(root / "digits", tiny_image_config(steps=6, sample_every=1, eval_every=0)).start(),
        Run(root / "toy", tiny_toy_config(steps=6, sample_every=1, eval_every=0)).start(),
    ]
    assert all(run.wait(60) for run in runs)
    return root


def frames_of(gif: bytes) -> list[tuple[np.ndarray, int]]:
    """(RGB pixels, duration in ms) of each frame of a GIF."""
    image = Image.open(io.BytesIO(gif))
    return [(np.asarray(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(image)]


def fake_run(folder, steps: list[int], size=(40, 30)) -> None:
    """A run folder holding only snapshots: a grey picture per step, its shade the step's."""
    (folder / "samples").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"dataset": "mnist-bundled"}))
    for step in steps:
        Image.new("L", size, step % 256).save(folder / "samples" / f"step_{step:08d}.png")


@pytest.mark.parametrize("n, count", [(1, 5), (5, 5), (7, 4), (100, 10), (501, 2), (61, 60)])
def test_frames_are_thinned_evenly_keeping_first_and_last(n, count):
    picked = timelapse.pick_evenly(list(range(n)), count)
    assert len(picked) == min(n, count) and picked[0] == 0 and picked[-1] == n - 1
    assert picked == sorted(set(picked))  # no frame twice
    gaps = np.diff(picked)
    assert len(gaps) == 0 or gaps.max() - gaps.min() <= 1


def test_an_image_run_becomes_labelled_frames_of_its_own_snapshots(trained):
    folder = trained / "digits"
    lapse = timelapse.build(folder, fps=4, max_frames=4)
    assert lapse.steps == (0, 2, 4, 6) and lapse.snapshots == 7 and not lapse.skipped
    frames = frames_of(lapse.gif)
    assert len(frames) == 4
    assert [ms for _, ms in frames] == [250, 250, 250, 1500]  # the last held 1.5 s: 6 repeats, merged into one
    for (pixels, _), step in zip(frames, lapse.steps):
        snapshot = np.asarray(Image.open(folder / "samples" / f"step_{step:08d}.png").convert("RGB"))
        h, w, _ = snapshot.shape
        assert pixels.shape[1] == w and pixels.shape[0] > h  # the label's band below
        assert np.abs(pixels[:h].astype(int) - snapshot).max() <= 2  # the snapshot itself, grey levels kept
        assert (pixels[h:] < 128).any()  # dark text in the band
    bands = [pixels[h:] for pixels, _ in frames]
    assert not np.array_equal(bands[0], bands[1])  # "step 0" is not "step 2"


def test_a_toy_run_works_the_same_in_colour(trained):
    lapse = timelapse.build(trained / "toy", size=128)
    assert lapse.steps == tuple(range(7)) and lapse.size[0] == 128
    pixels = frames_of(lapse.gif)[-1][0]
    orange = (pixels[..., 0] > 180) & (pixels[..., 1] < 140) & (pixels[..., 2] < 60)  # generated points
    assert orange.sum() > 20


def test_size_sets_the_longest_side_and_big_snapshots_are_shrunk(tmp_path):
    fake_run(tmp_path / "wide", [0, 10], size=(900, 300))
    assert timelapse.build(tmp_path / "wide").size[0] == timelapse.DEFAULT_MAX_SIDE
    assert timelapse.build(tmp_path / "wide", size=90).size[0] == 90
    pixels = frames_of(timelapse.build(tmp_path / "wide", size=90).gif)[1][0]
    assert np.abs(pixels[:30].astype(int) - 10).max() <= 1  # the shade of step 10, shrunk to 90x30


def test_many_snapshots_are_thinned_and_memory_is_capped(tmp_path):
    folder = tmp_path / "long"
    fake_run(folder, list(range(0, 5000, 10)), size=(64, 64))
    lapse = timelapse.build(folder, max_frames=12)
    assert len(lapse.steps) == 12 and lapse.steps[0] == 0 and lapse.steps[-1] == 4990 and lapse.snapshots == 500
    with pytest.raises(UsageError, match=r"500 frames of 1024x10\d\d px would hold 5\d\d M pixels in memory"):
        timelapse.build(folder, max_frames=500, size=1024)


def test_unreadable_snapshots_are_skipped_and_named(tmp_path):
    folder = tmp_path / "cut"
    fake_run(folder, [0, 10, 20, 30])
    (folder / "samples" / "step_00000000.png").write_bytes(b"not a png")
    whole = (folder / "samples" / "step_00000020.png").read_bytes()
    (folder / "samples" / "step_00000020.png").write_bytes(whole[: len(whole) // 2])  # cut short by a crash
    lapse = timelapse.build(folder)
    assert lapse.steps == (10, 30)
    assert [s.split(":")[0] for s in lapse.skipped] == ["step_00000000.png", "step_00000020.png"]
    for path in (folder / "samples").iterdir():
        path.write_bytes(b"")
    with pytest.raises(UsageError, match="none of the 4 snapshots picked could be read"):
        timelapse.build(folder)


@pytest.mark.parametrize(
    "fps, frames, size, message",
    [
        (0, 10, None, "fps must be between 0.1 and 50 frames per second, got 0"),
        (60, 10, None, "fps must be between"),
        (5, 1, None, "max-frames must be between 2 and 500, got 1"),
        (5, 10, 20, "size must be between 64 and 1024 pixels, got 20"),
    ],
)
def test_options_out_of_range_are_refused(trained, fps, frames, size, message):
    with pytest.raises(UsageError, match=message):
        timelapse.build(trained / "digits", fps, frames, size)


def test_the_cli_finds_runs_by_name_and_replaces_an_earlier_gif(trained, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GANPLAY_RUNS", str(trained))
    out = tmp_path / "progress.gif"
    assert main(["timelapse", "digits", "--out", str(out), "--max-frames", "3"]) == 0
    assert "7 snapshots" in capsys.readouterr().out and len(frames_of(out.read_bytes())) == 3
    assert main(["timelapse", str(trained / "toy"), "--out", str(out), "--fps", "2"]) == 0
    printed = capsys.readouterr().out
    assert "(replacing the earlier file)" in printed and "7 frames, steps 0 to 6" in printed
    assert frames_of(out.read_bytes())[0][1] == 500


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["nowhere", "--out", "x.gif"], "no run named 'nowhere' in "),
        (["plain", "--out", "x.gif"], "no run named 'plain' in "),  # a bare name never means ./plain
        (["./nowhere", "--out", "x.gif"], "no run folder ./nowhere (python -m ganplay runs lists"),
        (["digits", "--out", "x.png"], "--out must end in .gif, got x.png"),
        (["digits", "--out", "x.gif", "--fps", "0"], "fps must be between"),
        (["empty", "--out", "x.gif"], "has no snapshots yet"),
        (["./plain", "--out", "x.gif"], "is not a run folder: it has no config.json or status.json"),
        (["digits", "--out", "folder.gif"], "folder.gif is a folder, not a regular file"),
    ],
)
def test_the_cli_says_what_is_wrong_in_one_line_and_writes_nothing(
    trained, tmp_path, capsys, monkeypatch, arguments, message
):
    monkeypatch.setenv("GANPLAY_RUNS", str(trained))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.gif").mkdir()
    (tmp_path / "plain").mkdir()
    (trained / "empty").mkdir(exist_ok=True)
    (trained / "empty" / "config.json").write_text("{}")
    assert main(["timelapse", *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "x.png").exists()


def test_the_train_pages_live_view_offers_the_gif_of_the_run_it_shows(app_registry, downloads):
    assert app_registry.start(tiny_image_config(steps=6, sample_every=2, eval_every=0), name="watched").wait(60)
    at = open_page("pages/train.py")
    assert "Time-lapse (4 snapshots)" in [e.label for e in at.expander]
    next(b for b in at.button if b.label == "Make a time-lapse GIF").click().run()
    assert not at.exception
    assert len(frames_of(downloads["watched-timelapse.gif"])) == 4  # steps 0, 2, 4 and 6
