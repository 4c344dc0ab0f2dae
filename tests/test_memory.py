"""A step that cannot fit in memory is refused before any data loads, with the batch that would fit."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from ganplay import memory
from ganplay.cli import main
from ganplay.config import ConfigError
from ganplay.memory import check_fits, step_bytes
from ganplay.presets import make_config

CPU = torch.device("cpu")


def test_batch_4096_at_256_px_is_refused_at_once_naming_what_fits(registry):
    """Batch 4096 at 256 px passed validation and failed 65 s later with the allocator's raw error."""
    cfg = make_config(image_size=256, batch_size=4096, steps=10, device="cpu").validated()
    with pytest.raises(ConfigError) as err:
        registry.start(cfg, name="huge")
    message = str(err.value)
    assert set(err.value.errors) == {"batch_size"}
    assert "4,096 at 256 px needs about" in message and "GiB free" in message and "would fit" in message
    assert not (registry.root / "huge").exists() and registry.list_runs() == []  # nothing was created


def test_the_cli_refuses_it_in_one_line(tmp_path, capsys):
    code = main(
        [
            "train",
            "--image-size",
            "256",
            "--batch-size",
            "4096",
            "--steps",
            "1",
            "--device",
            "cpu",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code != 0 and "needs about" in err and "Traceback" not in err
    assert not any((tmp_path / "runs").glob("*/config.json"))


def test_the_batch_it_suggests_fits_and_twice_it_does_not(monkeypatch):
    cfg = make_config(image_size=64, channels=3, batch_size=1024, device="cpu").validated()
    budget = step_bytes(replace(cfg, batch_size=100), (3, 64, 64))  # room for 100 images: 64 is the power of 2
    monkeypatch.setattr(memory, "free_bytes", lambda device: int(budget / memory.USABLE_SHARE))
    with pytest.raises(ConfigError, match="batch_size 64 would fit"):
        check_fits(cfg, CPU)
    check_fits(replace(cfg, batch_size=64), CPU)
    with pytest.raises(ConfigError):
        check_fits(replace(cfg, batch_size=128), CPU)


def test_the_estimate_grows_with_the_batch_and_the_image():
    cfg = make_config(device="cpu").validated()
    small = step_bytes(cfg, (1, 28, 28))
    assert step_bytes(replace(cfg, batch_size=128), (1, 28, 28)) > 1.8 * (
        small - step_bytes(replace(cfg, batch_size=1), (1, 28, 28))
    )
    assert step_bytes(replace(cfg, image_size=64), (3, 64, 64)) > 4 * small
    assert 20 * 2**20 < small < 200 * 2**20  # the default step measured 83 MiB on this CPU


def test_toy_data_and_unknown_devices_are_not_estimated(monkeypatch):
    check_fits(make_config(dataset="ring8", arch="mlp", batch_size=4096).validated(), CPU)  # 2-D points
    monkeypatch.setattr(memory, "free_bytes", lambda device: None)
    check_fits(make_config(image_size=256, batch_size=4096).validated(), CPU)
