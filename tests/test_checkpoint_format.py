"""The checkpoint format: a typed Checkpoint, files of format 1 (the fixture, the shipped models) that keep
loading, an upgrade chain that renames a config field, and clear errors for newer or unknown contents."""

from __future__ import annotations

from dataclasses import field, fields, make_dataclass
from pathlib import Path

import pytest
import torch

from ganplay import checkpoint_format
from ganplay.checkpoints import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    load_generator,
    load_models,
    save_checkpoint,
)
from ganplay.config import TrainConfig
from ganplay.sampling import sample

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "toy-v1.pt"  # written by ganplay 0.1.0 in format 1; never rewrite it
SHIPPED = sorted((ROOT / "checkpoints").glob("*.pt"))


def crafted(tmp_path: Path, change, name: str = "crafted.pt") -> Path:
    """The fixture's raw dict, changed by `change`, saved as a new file."""
    payload = torch.load(FIXTURE, weights_only=True)
    change(payload)
    path = tmp_path / name
    torch.save(payload, path)
    return path


def test_the_fixture_is_a_full_format_1_checkpoint_that_loads():
    raw = torch.load(FIXTURE, weights_only=True)  # plain data and tensors on disk
    assert raw["format_version"] == 1 and {"G", "D", "G_ema", "opt_g", "opt_d", "noise_state"} <= set(raw)
    ckpt = load_checkpoint(FIXTURE)
    assert isinstance(ckpt, Checkpoint) and isinstance(ckpt.config, TrainConfig)
    assert (ckpt.step, ckpt.format_version, ckpt.path, ckpt.generator_only) == (4, 1, str(FIXTURE), False)
    assert ckpt.config.mlp_hidden == 16 and ckpt.data["shape"] == [2] and len(ckpt.data["modes"]) == 8
    assert ckpt.G is not None and ckpt.D is not None and ckpt.G_ema is not None and "opt_g" in ckpt.state
    generator, discriminator, _ = load_models(FIXTURE)
    points = sample(generator, ckpt, 50, seed=1)
    assert points.shape == (50, 2) and torch.isfinite(points).all()
    assert discriminator(points[:4]).shape[0] == 2  # pac 2: D judges the points in pairs


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_the_shipped_models_load_and_draw(path):
    generator, ckpt = load_generator(path)
    assert ckpt.format_version == 1 and ckpt.generator_only and ckpt.commands
    out = sample(generator, ckpt, 4, seed=0)
    assert out.shape[1:] == tuple(ckpt.data["shape"]) and torch.isfinite(out).all()


def test_a_saved_checkpoint_stays_weights_only_and_round_trips(tmp_path):
    ckpt = load_checkpoint(FIXTURE)
    path = save_checkpoint(tmp_path / "again.pt", ckpt.state, ckpt.config, ckpt.data)
    raw = torch.load(path, weights_only=True)
    assert raw["format_version"] == checkpoint_format.FORMAT_VERSION and isinstance(raw["config"], dict)
    again = load_checkpoint(path)
    assert again.step == ckpt.step and again.config == ckpt.config and again.data == ckpt.data
    assert all(torch.equal(again.G[k], ckpt.G[k]) for k in ckpt.G)


def renamed_config(old: str, new: str) -> type:
    """TrainConfig as a later ganplay might define it, with the field `old` renamed `new` (code reading the old
    name still works, through a property): what a rename of a config field looks like to the loader."""
    specs = [
        (new if f.name == old else f.name, f.type, field(default=f.default, metadata=f.metadata))
        for f in fields(TrainConfig)
    ]
    methods = {
        name: TrainConfig.__dict__[name] for name in ("takes_labels", "to_dict", "from_dict", "errors", "validated")
    }
    return make_dataclass("TrainConfig", specs, namespace={**methods, old: property(lambda self: getattr(self, new))})


@pytest.fixture
def mlp_hidden_renamed(monkeypatch):
    """Format 2, in which mlp_hidden is called mlp_width, and the step that upgrades format 1 files to it."""
    monkeypatch.setattr(checkpoint_format, "FORMAT_VERSION", 2)
    monkeypatch.setattr(checkpoint_format, "TrainConfig", renamed_config("mlp_hidden", "mlp_width"))
    monkeypatch.setattr(checkpoint_format, "UPGRADES", {})

    @checkpoint_format.upgrade_from(1)
    def rename_mlp_hidden(payload):
        payload["config"] = {("mlp_width" if k == "mlp_hidden" else k): v for k, v in payload["config"].items()}
        return payload

    return rename_mlp_hidden


def test_a_renamed_config_field_is_upgraded_in_the_old_fixture_and_the_shipped_models(mlp_hidden_renamed):
    ckpt = load_checkpoint(FIXTURE)
    assert ckpt.config.mlp_width == 16 and ckpt.format_version == 1  # as written; read as format 2
    generator, _ = load_generator(FIXTURE)
    assert sample(generator, ckpt, 8, seed=0).shape == (8, 2)
    for path in SHIPPED:  # mnist-* lack fields added later (augment, info_codes): the defaults fill them
        assert load_checkpoint(path).config.mlp_width == torch.load(path, weights_only=True)["config"]["mlp_hidden"]


def test_without_its_upgrade_step_an_old_file_says_so(mlp_hidden_renamed, monkeypatch):
    monkeypatch.setattr(checkpoint_format, "UPGRADES", {})
    with pytest.raises(CheckpointError, match=r"toy-v1\.pt: format 1 has no upgrade to format 2"):
        load_checkpoint(FIXTURE)


def test_a_newer_format_names_both_versions(tmp_path, mlp_hidden_renamed):
    path = crafted(tmp_path, lambda p: p.update(format_version=3))
    with pytest.raises(
        CheckpointError,
        match=rf"{path}: written by a newer ganplay \(format 3; this one reads up "
        r"to 2\); upgrade ganplay",
    ):
        load_checkpoint(path)


def test_an_unknown_config_field_names_the_field_the_file_and_the_format(tmp_path):
    path = crafted(tmp_path, lambda p: p["config"].update(colour="red"))
    with pytest.raises(
        CheckpointError,
        match=rf"{path}: its config is invalid: unknown field\(s\): colour \(not "
        r"fields of checkpoint format 1, the file's own\)",
    ):
        load_checkpoint(path)
    path = crafted(tmp_path, lambda p: p["data"].update(colour="red"), "data.pt")
    with pytest.raises(
        CheckpointError,
        match=rf"{path}: its data description is invalid: unknown field\(s\): "
        r"'colour'",
    ):
        load_checkpoint(path)


@pytest.mark.parametrize("version", [None, "1", 0, True, 1.0])
def test_a_format_version_that_is_no_whole_number_is_refused(tmp_path, version):
    path = crafted(tmp_path, lambda p: p.update(format_version=version))
    with pytest.raises(CheckpointError, match=rf"{path}: its format_version must be a whole number from 1"):
        load_checkpoint(path)


def test_a_model_trained_on_a_folder_that_is_gone_still_loads(tmp_path):
    """A generator needs none of its training data: a checkpoint shared without its folder still draws."""
    gone = tmp_path / "gone"
    image = torch.load(ROOT / "checkpoints" / "mnist-cdcgan.pt", weights_only=True)
    image["config"]["dataset"] = f"folder:{gone}"
    torch.save(image, tmp_path / "folder.pt")
    assert load_checkpoint(tmp_path / "folder.pt").config.dataset == f"folder:{gone}"
    image["config"]["dataset"] = 5  # a wrong type is still an error
    torch.save(image, tmp_path / "typed.pt")
    with pytest.raises(CheckpointError, match="dataset must be text, got 5"):
        load_checkpoint(tmp_path / "typed.pt")


def test_a_checkpoint_made_in_memory_reads_like_a_loaded_one():
    ckpt = load_checkpoint(FIXTURE)
    made = Checkpoint(ckpt.config, ckpt.data, path="/runs/x/checkpoint.pt")
    assert made.step == 0 and made.G is None and made.commands == [] and made.state == {}
