"""Inversion and restoration: real digits into the latent space, masks, noise, and the invert command."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

from ganplay.checkpoints import load_generator
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.inversion import PIXEL_VARIANCE, _prior_terms, candidate_labels, compose, invert
from ganplay.restoration import (
    add_noise,
    check_known,
    damage,
    digit_target,
    image_target,
    known_from_paint,
    painted_known,
    preset_known,
)

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = str(ROOT / "checkpoints" / "mnist-cdcgan.pt")
TOY = str(ROOT / "checkpoints" / "ring8-mlp.pt")
EVALUATOR = str(ROOT / "checkpoints" / "evaluators" / "mnist.pt")


@pytest.fixture(scope="module")
def cdcgan():
    return load_generator(SHIPPED)


def test_the_same_call_finds_the_same_z_and_a_lower_loss_than_its_start(cdcgan):
    generator, ckpt = cdcgan
    target = digit_target(0, ckpt)
    seen = []
    first = invert(generator, ckpt, target.image, steps=40, restarts=2, progress=seen.append)
    again = invert(generator, ckpt, target.image, steps=40, restarts=2)
    assert torch.equal(first.z, again.z) and first.label == again.label and first.loss == again.loss
    assert [s.step for s in seen] == [10, 20, 30, 40]  # live progress, then the result
    assert first.losses[-1] < first.losses[0] and first.loss == seen[-1].loss
    assert first.image.shape == (1, 28, 28) and float(first.image.abs().max()) <= 1


def test_a_conditional_model_finds_the_digits_own_class(cdcgan):
    generator, ckpt = cdcgan
    for index in (0, 40, 100):  # a 7, a 1 and a 6
        target = digit_target(index, ckpt)
        found = invert(generator, ckpt, target.image, seed=index)
        assert found.label == target.label, (index, found.label, target.label)


def test_with_the_centre_gone_the_prior_picks_the_class_the_pixel_loss_alone_got_wrong(cdcgan):
    generator, ckpt = cdcgan
    known = preset_known("centre", (28, 28))
    for index in (205, 485, 565, 605):  # a 3, a 0, a 4 and a 7, read by the pixel loss alone as 7, 8, 7 and 9
        target = digit_target(index, ckpt)
        found = invert(generator, ckpt, damage(target.image, known, None), known, seed=index)
        assert found.label == target.label, (index, found.label, target.label)


def test_restoring_half_the_pixels_recovers_the_digit_and_keeps_the_known_ones(cdcgan):
    from ganplay.evaluators import load_evaluator

    generator, ckpt = cdcgan
    evaluator = load_evaluator(ROOT / "checkpoints" / "evaluators" / "mnist.pt")
    right = 0
    for index in (0, 20, 40, 60):
        target = digit_target(index, ckpt)
        known = preset_known("random50", (28, 28), seed=index)
        damaged = target.image.where(known[None], torch.tensor(-1.0))
        state = invert(generator, ckpt, damaged, known, steps=100, restarts=2, seed=index)
        restored = compose(damaged, known, state.image)
        assert torch.equal(restored[:, known], target.image[:, known])  # what was known is kept exactly
        missing = ~known
        assert float(((restored - target.image) ** 2)[:, missing].mean()) < float(
            ((damaged - target.image) ** 2)[:, missing].mean()
        )
        right += int(evaluator.predict(restored[None])[0].argmax()) == target.label
    assert right >= 3


def test_masks_say_what_is_wrong_with_them(tmp_path):
    known = preset_known("centre", (28, 28))
    assert int((~known).sum()) == 14 * 14 and not known[14, 14] and known[0, 0]
    assert int((~preset_known("random50", (28, 28), seed=3)).sum()) == 392
    assert torch.equal(preset_known("random50", (28, 28), seed=3), preset_known("random50", (28, 28), seed=3))
    with pytest.raises(UsageError, match="marks no pixel as missing"):
        check_known(torch.ones(28, 28, dtype=torch.bool))
    with pytest.raises(UsageError, match="covers every pixel"):
        check_known(torch.zeros(28, 28, dtype=torch.bool))
    painted = np.zeros((56, 56), dtype=np.uint8)
    painted[:, 28:] = 255  # the right half painted over: missing
    Image.fromarray(painted).save(tmp_path / "mask.png")
    known = painted_known(tmp_path / "mask.png", (28, 28))
    assert bool(known[:, :14].all()) and not bool(known[:, 14:].any())
    Image.fromarray(np.zeros((28, 28), dtype=np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(UsageError, match="marks no pixel as missing"):
        painted_known(tmp_path / "blank.png", (28, 28))
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(UsageError, match="notes.png: not a mask image"):
        painted_known(tmp_path / "notes.png", (28, 28))


def test_a_brush_stroke_on_the_10x_picture_erases_the_pixels_it_visibly_covers():
    paint = np.zeros((280, 280), np.float32)
    paint[135:150, :] = 1.0  # a 15 px stroke across rows 13.5 to 15 of the 28 px digit
    known = known_from_paint(paint, (28, 28))
    assert (~known).sum(1).nonzero().flatten().tolist() == [13, 14]  # row 13 half covered, row 14 wholly
    paint[:, :] = 0
    paint[100:102, :] = 1.0  # a hairline: a fifth of row 10, under the quarter that counts as painted
    assert bool(known_from_paint(paint, (28, 28)).all())


def test_any_image_is_converted_as_the_training_data_was_and_says_so(cdcgan, tmp_path):
    _, ckpt = cdcgan
    photo = (np.random.default_rng(0).random((480, 640, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg")
    target = image_target(tmp_path / "photo.jpg", ckpt)
    assert target.image.shape == (1, 28, 28) and -1 <= float(target.image.min()) <= float(target.image.max()) <= 1
    assert "colour picture made grey" in target.note and "640x480 cropped" in target.note
    (tmp_path / "x.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(UsageError, match="x.png: not an image this tool can read"):
        image_target(tmp_path / "x.png", ckpt)


def test_noise_and_classes_are_checked(cdcgan):
    _, ckpt = cdcgan
    image = digit_target(0, ckpt).image
    noisy = add_noise(image, 0.5, seed=1)
    assert torch.equal(noisy, add_noise(image, 0.5, seed=1)) and float(noisy.abs().max()) <= 1
    with pytest.raises(UsageError, match="noise sigma"):
        add_noise(image, 0.0)
    assert candidate_labels(ckpt, None) == list(range(10)) and candidate_labels(ckpt, 3) == [3]
    with pytest.raises(UsageError, match="class must be between 0 and 9"):
        candidate_labels(ckpt, 10)
    with pytest.raises(UsageError, match="digit index must be between 0 and 9,999"):
        digit_target(10_000, ckpt)


def test_with_pixels_missing_the_prior_weighs_more_the_fewer_are_known_and_favours_common_clusters(cdcgan):
    _, ckpt = cdcgan
    cpu, z = torch.device("cpu"), torch.stack([torch.zeros(100), torch.full((100,), 1.5)])
    centre, half = preset_known("centre", (28, 28)), torch.arange(784).reshape(28, 28) % 2 == 0
    fit, ranked = _prior_terms(ckpt, PIXEL_VARIANCE, centre, 1, cpu)
    assert fit is ranked  # optimised and ranked by the same posterior
    assert float(fit(z, None)[0]) == 0
    assert float(fit(z, None)[1]) == pytest.approx(2 * 0.6 / 588 * 0.5 * 100 * 1.5**2)
    halved = _prior_terms(ckpt, PIXEL_VARIANCE, half, 1, cpu)[0](z, None)
    assert torch.allclose(halved, fit(z, None) * 588 / 392)  # as a Gaussian likelihood's weight against a prior
    clustered = SimpleNamespace(data={**ckpt.data, "label_prior": [0.7, 0.2, 0.1]}, config=ckpt.config)
    costs = _prior_terms(clustered, PIXEL_VARIANCE, centre, 1, cpu)[0](torch.zeros(3, 100), torch.tensor([0, 1, 2]))
    assert float(costs[0]) < float(costs[1]) < float(costs[2])  # -log share, the same z
    fit, ranked = _prior_terms(ckpt, PIXEL_VARIANCE, torch.ones(28, 28, dtype=torch.bool), 1, cpu)
    assert ranked(z, None) == 0 and float(fit(z, None)[0]) == pytest.approx(0.05)  # whole: |z| pulled to 10
    with pytest.raises(UsageError, match="pixel variance"):
        _prior_terms(ckpt, 0.0, centre, 1, cpu)


def test_the_invert_command_writes_the_restored_digit_its_picture_and_its_z(tmp_path, capsys):
    out, side, z = tmp_path / "restored.png", tmp_path / "side.png", tmp_path / "z.npy"
    code = main(
        [
            "invert",
            "--checkpoint",
            SHIPPED,
            "--digit",
            "0",
            "--mask-preset",
            "centre",
            "--steps",
            "30",
            "--restarts",
            "1",
            "--out",
            str(out),
            "--side-by-side",
            str(side),
            "--z-out",
            str(z),
            "--quiet",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0 and ", class " in printed and "restored 196 missing pixels" in printed
    assert Image.open(out).size == (28, 28)  # the model's own size
    assert Image.open(side).size[0] > 3 * 28  # damaged, reconstruction, restored
    assert np.load(z).shape == (100,)  # --z-out .npy: the bare z
    raw = tmp_path / "restored.npy"
    assert (
        main(
            [
                "invert",
                "--checkpoint",
                SHIPPED,
                "--digit",
                "0",
                "--noise",
                "0.5",
                "--steps",
                "10",
                "--restarts",
                "1",
                "--out",
                str(raw),
                "--quiet",
            ]
        )
        == 0
    )
    array = np.load(raw)
    assert array.shape == (1, 28, 28) and array.dtype == np.float32 and np.abs(array).max() <= 1


@pytest.mark.parametrize(
    "args, says",
    [
        (["--checkpoint", TOY, "--digit", "0"], "needs an image model"),
        (["--checkpoint", EVALUATOR, "--digit", "0"], "mnist.pt: not a ganplay checkpoint"),
        (["--checkpoint", SHIPPED, "--digit", "0", "--class", "12"], "class must be between 0 and 9"),
        (["--checkpoint", SHIPPED, "--digit", "0", "--out", "x.txt"], "--out must end in .png or .npy"),
        (["--checkpoint", SHIPPED, "--digit", "0", "--steps", "0"], "steps must be between 1"),
    ],
)
def test_the_invert_command_refuses_bad_requests_in_one_line(tmp_path, capsys, monkeypatch, args, says):
    monkeypatch.chdir(tmp_path.parent)  # relative outputs land in tmp, never in the repo
    full = ["invert", *args]
    if "--out" not in args:
        full += ["--out", str(tmp_path / "r.png")]
    assert main([*full, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "r.png").exists()


def test_a_checkpoint_without_a_generator_is_refused(tmp_path, capsys):
    payload = torch.load(SHIPPED, weights_only=True)
    del payload["G_ema"]
    torch.save(payload, tmp_path / "no-g.pt")
    out = tmp_path / "r.png"
    assert main(["invert", "--checkpoint", str(tmp_path / "no-g.pt"), "--digit", "0", "--out", str(out)]) == 2
    assert "no-g.pt: incomplete ganplay checkpoint, missing generator weights" in capsys.readouterr().err
    assert not out.exists()


def test_a_noisy_targets_own_noise_is_not_called_a_poor_fit():
    from ganplay.restoration import fit_note

    assert fit_note(0.05) == "" and "could not reproduce this image well" in fit_note(0.14)
    assert fit_note(0.14, noise=0.5) == ""  # sigma 0.5 alone leaves up to 0.25 against the noisy pixels
    assert "above 0.37" in fit_note(0.40, noise=0.5)


def test_the_feature_term_pulls_toward_the_target_in_the_evaluators_feature_space(cdcgan, tmp_path, capsys):
    from ganplay.evaluators import load_evaluator

    generator, ckpt = cdcgan
    net = load_evaluator(EVALUATOR).net.eval().requires_grad_(False)
    target = digit_target(0, ckpt).image
    runs = {
        w: invert(generator, ckpt, target, steps=30, restarts=1, class_id=7, features=net.features, feature_weight=w)
        for w in (0.0, 5.0)
    }
    distance = {
        w: float((net.features(s.image[None]) - net.features(target[None])).pow(2).sum()) for w, s in runs.items()
    }
    assert distance[5.0] < distance[0.0]  # the term does what it says
    with pytest.raises(UsageError, match="compares whole images: use it without a mask"):
        invert(generator, ckpt, target, preset_known("centre", (28, 28)), features=net.features, feature_weight=1.0)
    out = tmp_path / "r.png"
    args = ["invert", "--checkpoint", SHIPPED, "--digit", "0", "--steps", "10", "--restarts", "1", "--quiet"]
    assert main([*args, "--feature-weight", "1", "--out", str(out)]) == 0 and out.exists()
    assert main([*args, "--feature-weight", "1", "--mask-preset", "centre", "--out", str(out)]) == 2
    assert "the feature term compares whole images" in capsys.readouterr().err
