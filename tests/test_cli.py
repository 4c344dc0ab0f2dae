"""The command line, end to end on tiny runs: train, resume, sample, interpolate, runs, list, errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY_TOY
from PIL import Image

from ganplay.checkpoints import CheckpointError
from ganplay.cli import main

TINY_MNIST = [
    "--dataset",
    "mnist-bundled",
    "--ngf",
    "8",
    "--ndf",
    "8",
    "--z-dim",
    "8",
    "--batch-size",
    "8",
    "--device",
    "cpu",
    "--log-every",
    "2",
    "--sample-every",
    "4",
    "--num-samples",
    "4",
    "--quiet",
]


@pytest.mark.parametrize(
    "command", [[], ["train"], ["sample"], ["interpolate"], ["runs"], ["bench"], ["list"], ["export"], ["eval"]]
)
def test_help_everywhere(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0 and "usage: python -m ganplay" in capsys.readouterr().out


def test_train_resume_and_list_runs(tmp_path, capsys):
    runs = str(tmp_path / "runs")
    assert main(["train", *TINY_TOY, "--steps", "8", "--name", "toy", "--runs-dir", runs]) == 0
    out = capsys.readouterr().out
    assert "finished at step 8/8" in out and "quality (PacGAN protocol" in out
    config = json.loads((tmp_path / "runs" / "toy" / "config.json").read_text())
    assert config["mlp_hidden"] == 16 and config["lr_decay"] == "linear"  # flags over the toy defaults
    assert (
        main(["train", "--resume", str(tmp_path / "runs" / "toy"), "--steps", "12", "--quiet", "--runs-dir", runs]) == 0
    )
    assert "finished at step 12/12" in capsys.readouterr().out
    assert main(["runs", "--json", "--runs-dir", runs]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "toy" and listed[0]["state"] == "finished" and listed[0]["latest"]["step"] == 12
    assert main(["runs", "--runs-dir", runs]) == 0
    assert "toy" in capsys.readouterr().out


def test_config_file_and_bad_values(tmp_path, capsys):
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"dataset": "ring8", "steps": 4, "mlp_hidden": 16, "device": "cpu"}))
    assert main(["train", "--config", str(cfg), "--quiet", "--name", "fromfile", "--runs-dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "fromfile" / "config.json").read_text())["steps"] == 4
    capsys.readouterr()
    assert main(["train", "--batch-size", "0", "--runs-dir", str(tmp_path)]) == 2
    assert "batch_size must be between 1 and 4096, got 0" in capsys.readouterr().err
    assert main(["train", "--dataset", "folder:/no/such/place", "--runs-dir", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sample_and_interpolate_images(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert (
        main(["train", *TINY_MNIST, "--steps", "4", "--name", "digits", "--runs-dir", str(runs), "--conditional"]) == 0
    )
    ckpt = str(runs / "digits")
    assert main(["sample", "--checkpoint", ckpt, "--n", "6", "--seed", "3", "--out", str(tmp_path / "s.npy")]) == 0
    array = np.load(tmp_path / "s.npy")
    assert array.shape == (6, 1, 28, 28) and array.min() >= -1 and array.max() <= 1
    assert main(["sample", "--checkpoint", ckpt, "--n", "6", "--seed", "3", "--out", str(tmp_path / "s2.npy")]) == 0
    assert np.array_equal(array, np.load(tmp_path / "s2.npy"))  # same seed, same samples
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                ckpt,
                "--n",
                "9",
                "--class",
                "7",
                "--truncation",
                "0.7",
                "--out",
                str(tmp_path / "grid.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "grid.png").size == (3 * 30 + 2, 3 * 30 + 2)
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                ckpt,
                "--frames",
                "5",
                "--mode",
                "lerp",
                "--out",
                str(tmp_path / "strip.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "strip.png").size == (5 * 30 + 2, 32)
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                ckpt,
                "--frames",
                "4",
                "--class-from",
                "1",
                "--class-to",
                "8",
                "--out",
                str(tmp_path / "walk.gif"),
            ]
        )
        == 0
    )
    with Image.open(tmp_path / "walk.gif") as gif:
        assert gif.n_frames == 4
    capsys.readouterr()
    assert main(["sample", "--checkpoint", ckpt, "--class", "12", "--out", str(tmp_path / "x.png")]) == 2
    assert "class must be between 0 and 9, got 12" in capsys.readouterr().err
    assert main(["sample", "--checkpoint", ckpt, "--out", str(tmp_path / "x.jpg")]) == 2
    assert "--out must end in .png or .npy" in capsys.readouterr().err
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    assert main(["sample", "--checkpoint", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "x.png")]) == 2
    assert "bad.pt: not a readable checkpoint" in capsys.readouterr().err


def test_toy_samples_are_points_in_data_coordinates(tmp_path):
    runs = tmp_path / "runs"
    assert main(["train", *TINY_TOY, "--steps", "4", "--name", "pts", "--runs-dir", str(runs)]) == 0
    assert (
        main(
            [
                "sample",
                "--checkpoint",
                str(runs / "pts" / "checkpoint.pt"),
                "--n",
                "50",
                "--out",
                str(tmp_path / "p.npy"),
            ]
        )
        == 0
    )
    assert np.load(tmp_path / "p.npy").shape == (50, 2)
    assert (
        main(
            [
                "interpolate",
                "--checkpoint",
                str(runs / "pts"),
                "--frames",
                "6",
                "--seeds",
                "1",
                "2",
                "3",
                "--out",
                str(tmp_path / "path.gif"),
            ]
        )
        == 0
    )
    assert main(["sample", "--checkpoint", str(runs / "pts"), "--n", "100", "--out", str(tmp_path / "p.png")]) == 0
    assert Image.open(tmp_path / "p.png").size == (256, 256)


def test_list_names_every_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in (
        "ring8",
        "grid25",
        "mnist-bundled",
        "cifar10",
        "dcgan",
        "mlp",
        "nsgan",
        "minimax",
        "wgan-gp",
        "quick-cpu-demo",
        "hinge-sn",
        "folder:PATH",
    ):
        assert name in out


def test_eval_prints_the_metrics_as_json(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert (
        main(
            [
                "train",
                "--dataset",
                "ring8",
                "--steps",
                "20",
                "--mlp-hidden",
                "16",
                "--device",
                "cpu",
                "--quiet",
                "--name",
                "toy",
                "--runs-dir",
                str(runs),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(runs / "toy")]) == 0
    toy = json.loads(capsys.readouterr().out)
    assert toy["num_samples"] == 2500 and toy["num_modes"] == 8 and "PacGAN" in toy["protocol"]
    assert main(["train", *TINY_MNIST, "--steps", "2", "--name", "digits", "--runs-dir", str(runs)]) == 0
    capsys.readouterr()
    assert main(["eval", "--checkpoint", str(runs / "digits"), "--samples", "300"]) == 0
    images = json.loads(capsys.readouterr().out)
    assert images["classes num_classes"] == 10
    assert images["standard FID"].startswith(("unavailable", "not computed"))  # only --standard-fid computes it
    floor = images["fd floor, real vs real (mnist-bundled-classifier features)"]
    assert images["fd (mnist-bundled-classifier features)"] > 3 * floor  # two steps of training: far off
    assert main(["eval", "--checkpoint", str(runs / "digits"), "--evaluator", str(tmp_path / "none.pt")]) == 2
    assert "no evaluator for" in capsys.readouterr().err


def test_export_writes_a_generator_only_file_with_its_commands(tmp_path, capsys):
    from ganplay.checkpoints import load_checkpoint, load_generator
    from ganplay.sampling import sample

    runs, run = str(tmp_path / "runs"), tmp_path / "runs" / "digits"
    train = [
        "train",
        *TINY_MNIST,
        "--conditional",
        "--steps",
        "4",
        "--eval-every",
        "2",
        "--name",
        "digits",
        "--runs-dir",
        runs,
    ]
    assert main(train) == 0
    out = tmp_path / "shipped" / "digits.pt"
    assert main(["export", str(run), "--best", "--out", str(out)]) == 0
    assert "generator only" in capsys.readouterr().out
    shipped = load_checkpoint(out)
    assert shipped.generator_only and shipped.D is None and "opt_g" not in shipped.state
    assert out.stat().st_size < (run / "checkpoint.pt").stat().st_size / 2
    record = json.loads(out.with_suffix(".json").read_text())
    assert record["commands"] == [
        "python -m ganplay " + " ".join(train),
        f"python -m ganplay export {run} --best --out {out}",
    ]
    best = json.loads((run / "status.json").read_text())  # the exported step is best.pt's
    assert record["step"] == load_checkpoint(run / "best.pt").step and best["step"] == 4
    generator, ckpt = load_generator(out)
    full, _ = load_generator(run / "best.pt")
    assert torch.equal(sample(generator, ckpt, 4, seed=1, class_id=3), sample(full, ckpt, 4, seed=1, class_id=3))
    assert main(["sample", "--checkpoint", str(out), "--out", str(tmp_path / "grid.png"), "--n", "4"]) == 0
    with pytest.raises(CheckpointError, match="keeps just the EMA generator"):
        load_generator(out, use_ema=False)
    again = tmp_path / "again.pt"  # an export of the export keeps the commands that made it
    assert main(["export", str(out), "--out", str(again)]) == 0
    assert json.loads(again.with_suffix(".json").read_text())["commands"] == [
        *record["commands"],
        f"python -m ganplay export {out} --out {again}",
    ]
    assert main(["export", str(tmp_path / "nothing"), "--out", str(out)]) == 2
    assert "no such checkpoint" in capsys.readouterr().err


FIXTURE = Path(__file__).resolve().parent / "fixtures" / "toy-v1.pt"


def test_a_bug_in_the_core_keeps_its_traceback_and_a_users_mistake_is_one_line(tmp_path, capsys, monkeypatch):
    """One-line messages are for what the user can fix; a ValueError from a bug in the core propagates."""
    from ganplay import sampling

    out = str(tmp_path / "x.png")
    assert main(["sample", "--checkpoint", str(FIXTURE), "--device", "gpu", "--out", out]) == 2
    assert "error: --device gpu: " in capsys.readouterr().err  # torch's RuntimeError, about the user's flag
    assert main(["train", "--resume", str(tmp_path / "runs" / "nosuch"), "--quiet"]) == 2
    assert "no run named 'nosuch'" in capsys.readouterr().err

    def broken(*args, **kwargs):
        raise ValueError("a bug in sampling")

    monkeypatch.setattr(sampling, "sample", broken)
    with pytest.raises(ValueError, match="a bug in sampling"):
        main(["sample", "--checkpoint", str(FIXTURE), "--out", out])


def test_every_score_splits_the_real_images_the_same_way():
    """eval, standard FID and the live score share one split: a fixed permutation, then two disjoint sets."""
    from ganplay.metrics import real_halves

    images = torch.arange(20.0)[:, None]
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(0)).float()
    a, b = real_halves(images, 5)
    assert torch.equal(a[:, 0], perm[:5]) and torch.equal(b[:, 0], perm[5:10])
    reference, others = real_halves(images, 8, 3)
    assert len(reference) == 8 and len(others) == 3 and not set(reference[:, 0].tolist()) & set(others[:, 0].tolist())
