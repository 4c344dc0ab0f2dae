"""TrainConfig: defaults, presets, validation messages and JSON round trips."""

from __future__ import annotations

import json

import pytest

from ganplay.config import ConfigError, TrainConfig
from ganplay.presets import PRESETS, make_config


def test_json_round_trip_is_exact():
    cfg = make_config("wgan-gp", seed=3, betas=(0.1, 0.8))
    again = TrainConfig.from_json(cfg.to_json())
    assert again == cfg
    assert isinstance(again.betas, tuple)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_is_valid(preset):
    assert make_config(preset).errors() == {}


def test_defaults_follow_dataset_and_loss():
    toy = make_config(dataset="ring8")
    assert toy.arch == "mlp" and toy.z_dim == 2
    wgan = make_config(loss="wgan-gp")
    assert (wgan.d_steps, wgan.gp_weight, wgan.d_norm) == (5, 10.0, "layer")
    assert make_config(dataset="cifar10").image_size == 32
    assert make_config(dataset="ring8", lr_g=0.01).lr_g == 0.01  # the user's value wins


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("batch_size", 0, "batch_size must be between 1 and 4096, got 0"),
        ("lr_g", -1.0, "lr_g must be between"),
        ("pac", 3, "pac must be 1, 2 or 4, got 3"),
        ("device", "tpu", "device must be one of auto, cpu, cuda, mps, got 'tpu'"),
        ("arch", "resnet", "unknown architecture 'resnet'; choose one of: mlp, dcgan"),
        ("loss", "bce", "unknown loss 'bce'"),
        ("dataset", "imagenet", "unknown dataset 'imagenet'"),
        ("steps", 1.5, "steps must be an integer, got 1.5"),
        ("image_size", 27, "even size"),
    ],
)
def test_specific_messages(field, value, message):
    cfg = make_config(**{field: value})
    errors = cfg.errors()
    assert message in errors[field]
    with pytest.raises(ConfigError) as err:
        cfg.validated()
    assert message in str(err.value)


def test_cross_field_rules():
    assert "multiple of pac" in make_config(batch_size=30, pac=4).errors()["pac"]
    assert "needs images" in make_config(dataset="ring8", arch="dcgan").errors()["arch"]
    assert "batch norm" in make_config(loss="wgan-gp", d_norm="batch").errors()["d_norm"]
    assert "has no" in make_config(dataset="spiral", conditional=True).errors()["conditional"]
    assert "lr_decay must be one of" in make_config(lr_decay="cosine").errors()["lr_decay"]


def test_unknown_fields_and_bad_json(tmp_path):
    with pytest.raises(ConfigError, match="unknown field"):
        TrainConfig.from_dict({"dataset": "ring8", "learning_rate": 1})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="bad.json: not valid JSON"):
        TrainConfig.load(bad)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(make_config(dataset="ring8").to_dict()))
    assert TrainConfig.load(good).dataset == "ring8"
