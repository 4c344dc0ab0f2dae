"""export-dataset: labelled synthetic images as class folders (read back by folder:DIR), .npz or .zip; the
evaluator's threshold for unconditional models; refusals that change nothing."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import torch
from conftest import tiny_image_checkpoint

from ganplay import synthetic, synthetic_files
from ganplay.checkpoints import load_generator
from ganplay.cli import main
from ganplay.data import load_dataset
from ganplay.errors import UsageError

SHIPPED = "checkpoints"


class FakeEvaluator:
    """Labels by a pixel statistic, with a confidence that alternates: the tests know what must be dropped."""

    def __init__(self, names=("a", "b"), confidences=(0.95, 0.5), never=None):
        self.class_names, self.confidences, self.never = names, confidences, never

    def predict(self, images):
        n, k = len(images), len(self.class_names)
        label = (images.flatten(1).mean(1) * 1e4).long().abs() % k  # (n,)
        if self.never is not None:
            label[label == self.never] = (self.never + 1) % k
        conf = torch.tensor(self.confidences).repeat(n)[:n]
        probs = torch.full((n, k), 0.0)
        probs[torch.arange(n), label] = conf
        return probs, torch.zeros(n, 4)


@pytest.fixture
def conditional(tmp_path):
    return tiny_image_checkpoint(tmp_path / "cond.pt", conditional=True)


def export(*args):
    return main(["export-dataset", "--quiet", *map(str, args)])


def test_class_folders_read_back_as_the_same_labelled_images(conditional, tmp_path):
    assert export("--checkpoint", conditional, "--per-class", 3, "--out", tmp_path / "set", "--seed", 4) == 0
    assert export("--checkpoint", conditional, "--per-class", 3, "--out", tmp_path / "set.npz", "--seed", 4) == 0
    data = load_dataset(f"folder:{tmp_path / 'set'}")
    arrays = np.load(tmp_path / "set.npz")
    assert data.class_names == tuple(str(d) for d in range(10)) and data.num_classes == 10
    assert data.labels.tolist() == [d for d in range(10) for _ in range(3)]
    assert np.array_equal(data.images.numpy(), arrays["images"])  # PNG is lossless: the very same pixels
    manifest = json.loads((tmp_path / "set" / synthetic_files.MANIFEST).read_text())
    assert manifest["images_per_class"] == [3] * 10 and manifest["seed"] == 4 and "--per-class 3" in manifest["command"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_npz_holds_uint8_images_labels_class_names_and_the_command(conditional, tmp_path):
    out = tmp_path / "set.npz"
    assert export("--checkpoint", conditional, "--per-class", 2, "--out", out) == 0
    arrays = np.load(out)
    assert arrays["images"].dtype == np.uint8 and arrays["images"].shape == (20, 1, 28, 28)
    assert arrays["labels"].tolist() == [d for d in range(10) for _ in range(2)]
    assert arrays["class_names"].tolist() == [str(d) for d in range(10)]
    assert str(arrays["command"]).startswith("python -m ganplay export-dataset --quiet --checkpoint")
    assert json.loads(str(arrays["manifest"]))["labelled_by"] == synthetic.LABELLED_BY[synthetic.CONDITIONAL]
    assert "confidence" not in arrays.files  # the conditional labels are the classes G was asked for


def test_the_same_seed_gives_the_same_images_and_another_seed_others(conditional):
    generator, ckpt = load_generator(conditional)

    def images(seed):
        return synthetic.run_to_end(synthetic.synthesize(generator, ckpt, 4, seed=seed, batch=3)).images

    assert np.array_equal(images(1), images(1)) and not np.array_equal(images(1), images(2))


def test_an_unconditional_model_keeps_only_confident_samples_and_counts_the_rest(tmp_path):
    generator, ckpt = load_generator(tiny_image_checkpoint(tmp_path / "plain.pt"))
    steps = list(synthetic.synthesize(generator, ckpt, 6, evaluator=FakeEvaluator(), batch=4, min_confidence=0.9))
    data = steps[-1].result
    assert np.bincount(data.labels).tolist() == [6, 6] and data.class_names == ("a", "b")
    assert (data.confidence >= 0.9).all()
    assert sum(data.dropped) == data.drawn // 2  # every other sample was at confidence 0.5
    assert data.drawn == 12 + sum(data.dropped) + data.surplus
    fractions = [p.fraction for p in steps]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # a progress bar only moves forward


def test_a_class_the_generator_never_makes_is_a_clear_error_after_the_cap(tmp_path):
    generator, ckpt = load_generator(tiny_image_checkpoint(tmp_path / "plain.pt"))
    never_b = FakeEvaluator(confidences=(0.99,), never=1)
    with pytest.raises(UsageError, match=r"after 40 draws, 1 of 2 classes .* \(b: 0\).*collapsed mode.*nothing"):
        synthetic.run_to_end(synthetic.synthesize(generator, ckpt, 3, evaluator=never_b, batch=8, max_draws=40))


def test_a_shipped_unconditional_model_is_labelled_by_the_shipped_evaluator(tmp_path, capsys):
    out = tmp_path / "dcgan.npz"
    assert export("--checkpoint", f"{SHIPPED}/mnist-dcgan.pt", "--per-class", 3, "--out", out) == 0
    arrays = np.load(out)
    assert np.bincount(arrays["labels"]).tolist() == [3] * 10 and (arrays["confidence"] >= 0.9).all()
    manifest = json.loads(str(arrays["manifest"]))
    assert len(manifest["dropped_per_class"]) == 10 and manifest["min_confidence"] == 0.9
    assert "dropped under confidence 0.9 (per class: 0: " in capsys.readouterr().out


def test_cluster_steering_draws_the_clusters_that_made_the_missing_class():
    steer = synthetic._ClusterSteer(clusters=5, classes=2, seed=0)
    clusters = torch.tensor([3] * 20 + [1] * 20)
    steer.record(clusters, torch.tensor([1] * 20 + [0] * 20), torch.ones(40, dtype=torch.bool))
    picked = steer.labels(torch.tensor([0, 10]), 200)  # only class 1 is missing: cluster 3 makes it
    assert (picked == 3).float().mean() > 0.9


def test_folder_names_sort_as_the_classes_do(tmp_path):
    assert synthetic_files.folder_names(tuple("0123")) == list("0123")
    assert synthetic_files.folder_names(("dog", "cat", "a/b")) == ["0_dog", "1_cat", "2_a_b"]
    data = synthetic.SyntheticSet(
        np.zeros((4, 1, 8, 8), np.uint8) + np.arange(4, dtype=np.uint8)[:, None, None, None],
        np.array([0, 0, 1, 1]),
        ("dog", "cat"),
        synthetic.CONDITIONAL,
        "x.pt",
        0,
        0,
        2,
        None,
        4,
        [0, 0],
    )
    synthetic_files.write(data, tmp_path / "pets")
    back = load_dataset(f"folder:{tmp_path / 'pets'}", image_size=8)
    assert back.class_names == ("0_dog", "1_cat") and back.labels.tolist() == [0, 0, 1, 1]
    names = zipfile.ZipFile(io.BytesIO(synthetic_files.zip_bytes(data, root="pets"))).namelist()
    assert "pets/0_dog/000001.png" in names and "pets/synthetic.json" in names


def test_refusals_say_why_and_change_nothing(conditional, tmp_path, capsys):
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    cases = [
        (
            ["--checkpoint", f"{SHIPPED}/ring8-mlp.pt", "--out", tmp_path / "r"],
            "export-dataset and eval --cas need an image model",
        ),
        (["--checkpoint", conditional, "--out", foreign], "exists and is not empty"),
        (["--checkpoint", conditional, "--out", foreign, "--overwrite"], "did not write: refusing to replace it"),
        (["--checkpoint", conditional, "--out", tmp_path / "x.png"], "must be a folder, FILE.npz or FILE.zip"),
        (["--checkpoint", conditional, "--out", tmp_path / "s", "--per-class", 0], "per-class must be at least 1"),
        (["--checkpoint", conditional, "--out", tmp_path / "s", "--min-confidence", 1.5], "min-confidence must be"),
    ]
    for args, message in cases:
        assert export(*args) == 2
        assert message in capsys.readouterr().err
    plain = tiny_image_checkpoint(tmp_path / "plain.pt")
    assert export("--checkpoint", plain, "--out", tmp_path / "p", "--evaluator", tmp_path / "none.pt") == 2
    assert "labelled by an evaluator, and there is none" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == [
        "cond.pt",
        "mine",
        "plain.pt",
    ]


def test_overwrite_replaces_an_earlier_export_and_a_failed_write_keeps_it(conditional, tmp_path, monkeypatch):
    out = tmp_path / "set"
    assert export("--checkpoint", conditional, "--per-class", 2, "--out", out) == 0
    assert export("--checkpoint", conditional, "--per-class", 1, "--out", out, "--overwrite") == 0
    assert len(load_dataset(f"folder:{out}").labels) == 10

    def broken(image):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(synthetic_files, "png_bytes", broken)
    assert export("--checkpoint", conditional, "--per-class", 3, "--out", out, "--overwrite") == 2
    assert len(load_dataset(f"folder:{out}").labels) == 10  # the earlier export, untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cond.pt", "set"]  # no .partial left behind
