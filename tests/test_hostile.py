"""The hostile pass of issue 14, repeated: odd names and paths, damaged and edited run files, hostile config
values, huge strings. Each probe must end with a clear message and lose or touch nothing.

Probes elsewhere: hostile zips in test_hostile_zips.py, crafted checkpoints and output paths in
test_hostile_checkpoints.py, kill -9 in test_kill_probe.py, a full disk in test_full_disk.py, SIGTERM in
test_signals.py, a batch too big for memory in test_memory.py, two processes on one run in test_run_lock.py, DNS rebinding in test_browser.py.
"""

from __future__ import annotations

import json
import os

import pytest
from conftest import TINY_TOY, tiny_toy_config

from ganplay.cli import main
from ganplay.config import TrainConfig


def _fails_cleanly(capsys, code: int, *words: str) -> str:
    """The CLI refused: a non-zero code and one short 'error:' line holding `words`, no traceback."""
    err = capsys.readouterr().err
    assert code != 0, err
    assert "Traceback" not in err and err.startswith("error: ") and len(err) < 2_000, err[:2_000]
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def finished(tmp_path, capsys):
    """A finished 8-step toy run in tmp_path/runs/toy."""
    assert main(["train", *TINY_TOY, "--steps", "8", "--name", "toy", "--runs-dir", str(tmp_path / "runs")]) == 0
    capsys.readouterr()
    return tmp_path / "runs" / "toy"


@pytest.mark.parametrize("name", ["../outside", "/abs/outside", "docs"])
def test_delete_and_resume_never_reach_outside_the_runs_root(registry, tmp_path, monkeypatch, name):
    """A name or path resolves only inside the runs root: ./docs, ../x and /abs/path stay untouched."""
    for folder in (tmp_path / "outside", tmp_path / "cwd" / "docs"):
        folder.mkdir(parents=True)
        (folder / "keep.txt").write_text("mine")
    monkeypatch.chdir(tmp_path / "cwd")
    name = name.replace("/abs/outside", str(tmp_path / "outside")).replace(
        "../outside", str(registry.root / ".." / "outside")
    )
    with pytest.raises(ValueError, match="not a run of|no run named"):
        registry.delete(name)
    with pytest.raises(ValueError, match="not a run of|no run named"):
        registry.resume(name)
    assert (tmp_path / "outside" / "keep.txt").exists() and (tmp_path / "cwd" / "docs" / "keep.txt").exists()


def test_a_hand_edited_config_is_not_overwritten_by_a_resume(finished, capsys):
    config = finished / "config.json"
    edited = json.loads(config.read_text()) | {"lr_g": 0.001, "batch_size": 16}
    config.write_text(json.dumps(edited))
    code = main(["train", "--resume", str(finished), "--steps", "12", "--quiet"])
    _fails_cleanly(
        capsys,
        code,
        "was edited since the run's last checkpoint",
        "lr_g: 0.002 in the checkpoint, 0.001 in config.json",
        "batch_size",
        "train --config",
    )
    assert json.loads(config.read_text()) == edited  # the edit is kept, word for word
    assert json.loads((finished / "status.json").read_text())["step"] == 8  # and nothing trained


def test_only_steps_may_change_on_resume(finished, capsys):
    config = finished / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()) | {"steps": 10}))
    assert main(["train", "--resume", str(finished), "--steps", "12", "--quiet"]) == 0
    assert "finished at step 12/12" in capsys.readouterr().out


@pytest.mark.parametrize(
    "payload, says",
    [
        (b'{"dataset": "ring8", "lr_g": 0.1\xff}', "not UTF-8 text (byte 0xff at position 32"),
        (b'{"dataset": null}', "dataset"),
        (b'{"conditional": "false"}', "conditional"),
        (b'{"pac": 2.0}', "pac"),
        (b"[" * 200_000, "nested too deeply"),
    ],
)
def test_hostile_config_files_are_refused_naming_the_file(tmp_path, capsys, payload, says):
    path = tmp_path / "hostile.json"
    path.write_bytes(payload)
    code = main(["train", "--config", str(path), "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    _fails_cleanly(capsys, code, says, str(path))
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_50_mb_dataset_string_is_refused_without_echoing_it(tmp_path, capsys):
    code = main(["train", "--dataset", "x" * 50_000_000, "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    _fails_cleanly(capsys, code, "dataset", "characters")


def test_a_50_mb_data_dir_never_reaches_the_config_or_a_checkpoint():
    errors = TrainConfig(data_dir="d" * 50_000_000).errors()
    assert "data_dir" in errors and len(errors["data_dir"]) < 300


def test_an_unknown_home_folder_is_a_clear_error(tmp_path, capsys):
    code = main(["train", "--dataset", "folder:~nosuchuser/x", "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    _fails_cleanly(capsys, code, "~nosuchuser")


@pytest.mark.parametrize(
    "status, shown",
    [
        ({"state": "bogus"}, "damaged"),
        ({"created_at": 5}, "damaged"),
        ({"total_steps": None}, "damaged"),
        ({"error": 5}, "damaged"),
        ({"step": "x"}, "damaged"),
        ({"state": "running", "pid": 2**70}, "interrupted"),  # no process has that pid: it is not running
    ],
)
def test_a_damaged_status_lists_as_damaged_beside_a_sound_run(registry, capsys, status, shown):
    sound = registry.start(tiny_toy_config(), name="sound")
    assert sound.wait(60)
    broken = registry.root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text(tiny_toy_config().to_json())
    (broken / "status.json").write_text(json.dumps({"name": "broken", "state": "stopped", "step": 1} | status))
    assert main(["runs", "--runs-dir", str(registry.root)]) == 0
    out = capsys.readouterr().out
    assert "sound" in out and "broken" in out and shown in out


def test_a_run_folder_symlinked_out_of_the_root_is_not_deleted_through(registry, tmp_path):
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep.txt").write_text("mine")
    registry.root.mkdir(parents=True, exist_ok=True)
    os.symlink(outside, registry.root / "link", target_is_directory=True)
    with pytest.raises(ValueError, match="not a run of"):
        registry.delete("link")
    assert (outside / "keep.txt").exists()
