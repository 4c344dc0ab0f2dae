"""Classification Accuracy Score: the classifier learns real labels (and not shuffled ones), the three trainings
see the counts the protocol states, and eval --cas prints JSON with the protocol beside the numbers."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from conftest import tiny_image_checkpoint

from ganplay import cas
from ganplay.cli import main
from ganplay.errors import UsageError
from ganplay.evaluators import DEFAULT_HOLDOUT, holdout_split, load_evaluator


@pytest.fixture(scope="module")
def real():
    return cas.real_split(load_evaluator("checkpoints/evaluators/mnist.pt"), real_limit=384, test_limit=300)


def test_the_real_split_is_the_shipped_evaluators_own(real):
    train, held = holdout_split(10_000, DEFAULT_HOLDOUT, 0)
    full = cas.real_split(load_evaluator("checkpoints/evaluators/mnist.pt"))
    assert len(full.test_labels) == DEFAULT_HOLDOUT and len(full.train_labels) == 10_000 - DEFAULT_HOLDOUT
    assert torch.equal(real.test_images, full.test_images[:300]) and torch.equal(
        real.train_labels, full.train_labels[:384]
    )
    assert not set(train.tolist()) & set(held.tolist())


@pytest.mark.slow  # two real trainings (18 steps each): about 10 s on 2 idle CPU cores
def test_real_labels_train_a_classifier_and_shuffled_ones_give_chance(real):
    test = (real.test_images, real.test_labels)
    shuffled = real.train_labels[torch.randperm(len(real.train_labels), generator=torch.Generator().manual_seed(1))]
    right = cas.train_and_test(real.train_images, real.train_labels, 10, test, epochs=3, batch_size=64)
    chance = cas.train_and_test(real.train_images, shuffled, 10, test, epochs=3, batch_size=64)
    assert right["accuracy"] > 0.3, right  # 0.41 here: 18 steps of a one-cycle schedule learn a little
    assert chance["accuracy"] < 0.2, chance  # 0.05 here; chance is 0.1
    assert right["train_images"] == 384 and len(right["per_class"]) == 10


def tiny_request(path, **overrides):
    return cas.CasRequest(path, per_class=4, epochs=1, device="cpu", test_limit=100, **overrides)


def test_cas_trains_on_synthetic_real_and_both_and_states_its_protocol(tmp_path):
    path = tiny_image_checkpoint(tmp_path / "cond.pt", conditional=True)
    lines = []
    report = cas.classification_accuracy_score(tiny_request(path), lines.append)
    assert report["train images"] == {
        "synthetic only (CAS)": 40,
        "real only": 40,
        "naive augmentation (real + synthetic)": 80,
    }
    assert report["held-out real test images"] == 100
    for name in report["train images"]:
        assert 0.0 <= report[f"accuracy, trained on {name}"] <= 1.0
    protocol = " ".join(report["protocol"])
    assert "Ravuri & Vinyals" in protocol and "training split (capped at the synthetic count)" in protocol
    assert "the GAN was trained on all of them, the held-out test digits included" in protocol
    assert any(line.startswith("training on synthetic only") for line in lines)


def test_eval_cas_prints_json_and_progress_on_stderr(tmp_path, capsys, monkeypatch):
    path = "checkpoints/mnist-dcgan.pt"  # clusters, no labels: the evaluator labels its samples
    quick = tiny_request(path)
    monkeypatch.setattr(cas, "CasRequest", lambda *a, **k: dataclasses.replace(quick, checkpoint=a[0]))
    assert main(["eval", "--checkpoint", path, "--cas", "--cas-per-class", "4"]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["train images"]["synthetic only (CAS)"] == 40
    assert "labels are the evaluator's" in " ".join(report["protocol"])
    assert "cas: training on real only" in err


def test_an_untrained_unconditional_model_cannot_fill_its_classes(tmp_path):
    path = tiny_image_checkpoint(tmp_path / "plain.pt")  # its noise reads as one digit: the other nine stay empty
    with pytest.raises(UsageError, match="classes have fewer than 4 images.*a collapsed mode"):
        cas.classification_accuracy_score(tiny_request(path))


def test_a_2d_model_has_no_cas():
    with pytest.raises(UsageError, match="need an image model"):
        cas.classification_accuracy_score(tiny_request("checkpoints/ring8-mlp.pt"))
