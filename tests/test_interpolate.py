"""Interpolation: a conditional walk holds one class, lerp against slerp measured and shown in step, file names."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_image_config
from pagetest import open_page, picker, texts
from PIL import Image, ImageSequence
from torch import nn

from ganplay import path_plots, pictures, sampling
from ganplay.building import build_models_seeded
from ganplay.checkpoints import Checkpoint, load_generator
from ganplay.cli import main
from ganplay.evaluators import load_evaluator
from ganplay.latent import path_norms

SHIPPED = Path(__file__).resolve().parent.parent / "checkpoints"
DIGITS = [str(i) for i in range(10)]


class LabelRecorder(nn.Module):
    """A generator that remembers the labels it is asked for."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator, self.labels = generator, []

    def forward(self, z, y=None):
        self.labels.append(y)
        return self.generator(z, y)


def tiny_model(**overrides) -> tuple[LabelRecorder, Checkpoint]:
    """An untrained 28 px DCGAN and a checkpoint-like dict: enough to see which labels a path asks for."""
    cfg = tiny_image_config(**overrides)
    generator, _ = build_models_seeded(cfg, (1, 28, 28), 10, 0)
    meta = {
        "name": "mnist-bundled",
        "title": "tiny",
        "kind": "image",
        "shape": [1, 28, 28],
        "num_classes": 10,
        "class_names": DIGITS,
        "scale": 1.0,
    }
    return LabelRecorder(generator.eval()), Checkpoint(cfg, meta, path="/tmp/runs/tiny/checkpoint.pt")


def test_a_conditional_walk_its_candidates_and_plane_hold_one_class():
    generator, ckpt = tiny_model(conditional=True)
    sampling.interpolation(generator, ckpt, 7, "slerp", [0, 1, 2])
    sampling.candidates(generator, ckpt, list(range(5)))
    sampling.plane(generator, ckpt, [0, 1, 2, 3], 3, 3)
    assert [y.tolist() for y in generator.labels] == [[0] * 7, [0] * 5, [0] * 9]  # class 0, not 0, 1, 2, ...
    generator.labels.clear()
    sampling.interpolation(generator, ckpt, 4, seeds=[0, 1], class_id=3)
    assert generator.labels[0].tolist() == [3] * 4
    path = sampling.interpolation(generator, ckpt, 4, class_from=1, class_to=8)  # the class moving, on purpose
    assert path.shape == (4, 1, 28, 28) and generator.labels[-1][:, [1, 8]].tolist()[1] == pytest.approx([2 / 3, 1 / 3])
    with pytest.raises(ValueError, match="a class-to-class path moves the class itself; it holds no class"):
        sampling.interpolation(generator, ckpt, 4, class_id=2, class_from=1, class_to=8)
    assert sampling.walk_class(Checkpoint(tiny_image_config(clusters=12), {}), None) is None  # each keyframe's own


def test_the_readme_walk_on_the_shipped_model_is_one_digit(tmp_path, capsys):
    """python -m ganplay interpolate --checkpoint checkpoints/mnist-cdcgan.pt --frames 24 --mode slerp --out walk.gif"""
    out = tmp_path / "walk.gif"
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                str(SHIPPED / "mnist-cdcgan.pt"),
                "--frames",
                "24",
                "--mode",
                "slerp",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    with Image.open(out) as gif:
        frames = np.stack([np.asarray(f.convert("L")) for f in ImageSequence.Iterator(gif)])  # (24, 112, 112)
    assert frames.shape == (24, 112, 112)
    evaluator = load_evaluator(SHIPPED / "evaluators" / "mnist.pt")
    probs, _ = evaluator.predict(torch.from_numpy(frames).float()[:, None] / 127.5 - 1)
    assert probs.argmax(1).tolist() == [0] * 24  # the old walk showed 0, 1, 7, 3, 4, ..., 9, 0, 1, ...: a class a frame
    printed = capsys.readouterr().out
    assert "held class 0 on every frame" in printed and "--class K holds another" in printed


def test_cli_scale_and_class_messages(tmp_path, capsys):
    ckpt = str(SHIPPED / "mnist-cdcgan.pt")
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                ckpt,
                "--frames",
                "3",
                "--class",
                "7",
                "--scale",
                "8",
                "--out",
                str(tmp_path / "big.gif"),
            ]
        )
        == 0
    )
    assert "held class" not in capsys.readouterr().out  # asked for: nothing to explain
    with Image.open(tmp_path / "big.gif") as gif:
        assert gif.size == (224, 224) and gif.n_frames == 3
    assert (
        main(
            ["interpolate", "--checkpoint", ckpt, "--frames", "3", "--scale", "2", "--out", str(tmp_path / "strip.png")]
        )
        == 0
    )
    assert Image.open(tmp_path / "strip.png").size == (2 * (3 * 30 + 2), 2 * 32)
    with pytest.raises(SystemExit):
        main(["interpolate", "--checkpoint", ckpt, "--scale", "0", "--out", str(tmp_path / "x.gif")])
    assert "argument --scale: a whole number of at least 1, got '0'" in capsys.readouterr().err
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                str(SHIPPED / "ring8-mlp.pt"),
                "--scale",
                "3",
                "--out",
                str(tmp_path / "toy.gif"),
            ]
        )
        == 2
    )
    assert "a 2-D toy's path is drawn as a plot and takes none (got 3)" in capsys.readouterr().err
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                ckpt,
                "--class",
                "3",
                "--class-from",
                "1",
                "--class-to",
                "2",
                "--out",
                str(tmp_path / "x.gif"),
            ]
        )
        == 2
    )
    assert "it holds no class (got class 3)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="scale must be a whole number of at least 1, got 0"):
        pictures.write_interpolation(torch.zeros(2, 1, 4, 4), {"kind": "image"}, tmp_path / "x.gif", scale=0)


def walk_both_ways(name: str, seeds: list[int], **kwargs) -> pictures.ModeGap:
    generator, ckpt = load_generator(SHIPPED / f"{name}.pt")
    lerp, slerp = (sampling.interpolation(generator, ckpt, 16, mode, seeds, **kwargs) for mode in ("lerp", "slerp"))
    norms = path_norms(sampling.seed_latents(seeds, ckpt.config.z_dim), 16)
    return pictures.mode_gap(lerp, slerp, norms, ckpt.data)


def test_mode_gap_says_when_lerp_and_slerp_look_alike_and_why():
    digits = walk_both_ways("mnist-cdcgan", [0, 1])  # this generator barely minds the norm of z
    assert digits.look_alike and digits.pixels == pytest.approx(0.027, abs=0.005)
    assert digits.norm_dip == pytest.approx(0.30, abs=0.02)  # 1 - 1/sqrt(2), give or take the draws
    assert "changes little with the norm of z" in digits.explanation() and "2.7%" in digits.explanation()
    toy = walk_both_ways("ring8-mlp", [0, 1])  # 2-D latents: the two paths reach other modes at other frames
    assert not toy.look_alike and toy.unit == "the plot's width" and "compare the middle frames" in toy.explanation()

    meta = {"kind": "image"}
    same = torch.zeros(5, 1, 4, 4)
    flat = {"lerp": torch.full((5,), 9.5), "slerp": torch.full((5,), 10.0)}
    close = pictures.mode_gap(same, same, flat, meta)
    assert close.pixels == 0 and close.norm_dip == pytest.approx(0.05)
    assert "close or nearly parallel" in close.explanation()
    apart = same.clone()
    apart[2] += 0.2  # one frame 10% of the range [-1, 1] off
    assert pictures.mode_gap(same, apart, flat, meta).pixels == pytest.approx(0.1)
    assert not pictures.mode_gap(same, apart, flat, meta).look_alike
    with pytest.raises(ValueError, match=r"lerp and slerp frames must match, got \(5, 1, 4, 4\) and \(4, 1, 4, 4\)"):
        pictures.mode_gap(same, same[:4], flat, meta)


def test_file_stems_name_the_model_and_the_settings():
    _, ckpt = tiny_model(conditional=True)
    shipped = replace(ckpt, path=str(SHIPPED / "mnist-cdcgan.pt"))
    stem = pictures.file_stem(shipped, "seeds0-1", "slerp", "16f", class_id=3)
    assert stem == "mnist-cdcgan_class3_seeds0-1_slerp_16f"
    assert pictures.file_stem(ckpt, "x", code=2, truncation=0.7) == "tiny_x_code2_trunc0.7"  # a run: its name
    best = replace(ckpt, path="/runs/my run/best.pt")
    assert pictures.file_stem(best, "a/b") == "my-run-best_a-b"  # nothing a file system could misread
    _, clustered = tiny_model(clusters=12)
    assert pictures.file_stem(clustered, class_id=4) == "tiny_cluster4"


def test_typed_seeds_are_parsed_or_refused_by_name():
    assert sampling.parse_seeds(" 0, 1,5 ,") == [0, 1, 5]
    with pytest.raises(ValueError, match="seeds are whole numbers from 0, separated by commas, got '-1'"):
        sampling.parse_seeds("0, -1")


def test_the_two_modes_play_in_step_under_one_control():
    lerp = [np.full((8, 8, 1), i, np.uint8) for i in range(4)]
    slerp = [np.full((8, 8, 1), 100 + i, np.uint8) for i in range(4)]
    fig = path_plots.synced_animation_figure({"lerp": lerp, "slerp": slerp}, fps=4)
    assert [t.type for t in fig.data] == ["image", "image"] and len(fig.frames) == 4
    assert [a.text for a in fig.layout.annotations] == ["lerp", "slerp"]
    assert [int(d.z[0, 0, 0]) for d in fig.frames[2].data] == [2, 102]  # one frame moves both panels
    [menu], [slider] = fig.layout.updatemenus, fig.layout.sliders
    assert [b.label for b in menu.buttons] == ["Play", "Pause"] and len(slider.steps) == 4
    # The slider has a row of its own below the buttons, its frame number at the far end: beside them it sat on Pause
    assert (slider.x, slider.len, slider.currentvalue.xanchor) == (0, 1, "right") and slider.pad.t >= 36
    with pytest.raises(ValueError, match=r"panels played in step need as many frames each, got \[3, 4\]"):
        path_plots.synced_animation_figure({"lerp": lerp, "slerp": slerp[:3]})
    norms = path_plots.norm_figure({"lerp": [10, 7, 10], "slerp": [10, 10, 10]}, typical=10.0)
    assert [t.name for t in norms.data] == ["lerp", "slerp", "typical |z|: 10.0"]
    assert list(norms.data[2].y) == [10.0, 10.0] and norms.layout.xaxis.title.text == "frame"


# -- the page ------------------------------------------------------------------------------------------------------


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def test_the_default_walk_shows_both_modes_in_one_figure_with_the_norms(app_registry, downloads):
    at = open_page("pages/interpolate.py")  # the shipped conditional model, seeds 0 and 1
    assert picker(at, "Class").value == 0 and "all, in turn" not in picker(at, "Class").options
    animation, norms = figures(at)
    assert [d["type"] for d in animation["data"]] == ["image", "image"]
    assert [a["text"] for a in animation["layout"]["annotations"]] == ["lerp", "slerp"]
    assert len(animation["frames"]) == 16 and all(len(f["data"]) == 2 for f in animation["frames"])
    assert len(animation["layout"]["updatemenus"]) == 1 and len(animation["layout"]["sliders"]) == 1
    assert [d["name"] for d in norms["data"]] == ["lerp", "slerp", "typical |z|: 10.0"]
    assert min(norms["data"][0]["y"]) < 0.75 * 10 < 0.98 * min(norms["data"][1]["y"])  # lerp dips, slerp keeps
    shown = texts(at)
    assert "1/sqrt(2)" in shown and "typical norm |z| of 10.0" in shown
    assert "lerp and slerp look alike: they differ by at most 2.7% of the pixel range" in shown
    assert "changes little with the norm of z" in shown
    stem = "mnist-cdcgan_class0_seeds0-1"
    assert sorted(downloads) == [
        f"{stem}_lerp_16f.gif",
        f"{stem}_lerp_16f.png",
        f"{stem}_slerp_16f.gif",
        f"{stem}_slerp_16f.png",
    ]


def test_downloads_follow_the_settings_and_the_gif_scale(app_registry, downloads):
    at = open_page("pages/interpolate.py")
    picker(at, "Class").set_value(3)
    at.number_input(key="interp_frames").set_value(5)
    at.selectbox(key="interp_gif_scale").set_value(8).run()
    gif = downloads["mnist-cdcgan_class3_seeds0-1_slerp_5f.gif"]
    with Image.open(io.BytesIO(gif)) as image:
        assert image.size == (224, 224) and image.n_frames == 5
    at.radio(key="interp_kind").set_value("class to class").run()
    assert [s.options for s in at.selectbox if s.label in ("From class", "To class")] == [DIGITS, DIGITS]  # not "7: 7"
    assert "mnist-cdcgan_class0-to-1_seed0_5f.gif" in downloads


def test_the_plane_has_no_animation_settings(app_registry, downloads):
    at = open_page("pages/interpolate.py")
    downloads.clear()  # the walk's, from the first run
    at.radio(key="interp_kind").set_value("four-corner plane").run()
    assert not at.exception and at.number_input.len == 0  # no Frames, no frames per second: nothing moves
    assert [s.label for s in at.selectbox] == ["Model", "Class"]  # no GIF scale either
    assert figures(at)[0]["data"][0]["type"] == "image"
    assert list(downloads) == ["mnist-cdcgan_class0_corners0-1-2-3_slerp_8x8.png"]
    at.text_input(key="interp_corners").set_value("0, 1, x").run()
    assert "seeds are whole numbers from 0, separated by commas, got 'x' (as in: 0, 1, 2, 3)" in texts(at)


@pytest.fixture
def digits_run(app_registry):
    """A finished tiny conditional run, made through the core (conftest's app_registry stops runs at teardown)."""
    run = app_registry.start(tiny_image_config(steps=4, conditional=True), name="digits")
    assert run.wait(60)
    return run


def test_interpolate_page_paths(digits_run):
    at = open_page("pages/interpolate.py")
    picker(at, "Model").set_value("run: digits").run()
    assert not at.exception
    animation = figures(at)[0]  # lerp and slerp in one figure, one control
    assert [a["text"] for a in animation["layout"]["annotations"]] == ["lerp", "slerp"]
    assert len(animation["frames"]) == 16
    at.radio(key="interp_how").set_value("from candidates").run()
    assert not at.exception
    at.radio(key="interp_kind").set_value("four-corner plane").run()
    assert not at.exception and at.get("plotly_chart")
    at.radio(key="interp_kind").set_value("class to class").run()
    assert not at.exception
    assert [a["text"] for a in figures(at)[0]["layout"]["annotations"]] == ["class path"]
    assert len(at.get("download_button")) == 2  # GIF and PNG strip
