"""Checkpoints: atomic writes, and clear errors for corrupt, truncated or foreign files."""

from __future__ import annotations

import os

import pytest
import torch
from conftest import tiny_image_config

from ganplay.checkpoints import CheckpointError, load_checkpoint, load_generator
from ganplay.safe_files import atomic_write_bytes


@pytest.fixture
def checkpoint(registry):
    run = registry.start(tiny_image_config(conditional=True), name="ck")
    assert run.wait(60)
    return registry.root / "ck" / "checkpoint.pt"


def test_generator_round_trip(checkpoint):
    generator, ckpt = load_generator(checkpoint)
    assert ckpt.step == 6 and ckpt.config.conditional
    out = generator(torch.randn(2, ckpt.config.z_dim), torch.tensor([1, 2]))
    assert out.shape == (2, 1, 28, 28)
    raw, _ = load_generator(checkpoint, use_ema=False)
    assert any(not torch.equal(a, b) for a, b in zip(generator.parameters(), raw.parameters()))


def test_truncated_file_names_the_file(checkpoint, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable checkpoint, the file is truncated or corrupt"):
        load_checkpoint(cut)


def test_garbage_and_foreign_files(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(os.urandom(1000))
    with pytest.raises(CheckpointError, match="junk.pt: not a readable checkpoint"):
        load_checkpoint(junk)
    foreign = tmp_path / "resnet.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(CheckpointError, match=r"resnet\.pt: not a ganplay checkpoint \(found: state_dict\)"):
        load_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_checkpoint(tmp_path / "missing.pt")


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_code_in_a_checkpoint_is_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "ganplay-checkpoint", "payload": Evil()}, evil)
    with pytest.raises(CheckpointError, match="evil.pt: refused to load"):
        load_checkpoint(evil)


def test_newer_format_and_bad_config(checkpoint, tmp_path):
    ckpt = torch.load(checkpoint, weights_only=True)
    ckpt["format_version"] = 99
    torch.save(ckpt, tmp_path / "new.pt")
    with pytest.raises(CheckpointError, match="newer ganplay"):
        load_checkpoint(tmp_path / "new.pt")
    ckpt["format_version"] = 1
    ckpt["config"]["colour"] = "red"
    torch.save(ckpt, tmp_path / "cfg.pt")
    with pytest.raises(CheckpointError, match="its config is invalid: unknown field"):
        load_checkpoint(tmp_path / "cfg.pt")


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "file.bin"
    atomic_write_bytes(target, b"old")

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="could not write .*file.bin: No space left on device"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]  # no temp file left behind


def test_written_files_get_the_usual_permissions(tmp_path):
    """mkstemp makes 0600 files: checkpoints and exports must stay readable by others, as any file would."""
    from ganplay import safe_files

    path = atomic_write_bytes(tmp_path / "model.pt", b"x")
    assert path.stat().st_mode & 0o777 == 0o666 & ~safe_files._UMASK
