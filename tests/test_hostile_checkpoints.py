"""Hostile files and paths through the CLI: each crafted checkpoint ends in one line naming the file, exit 2, no
traceback and nothing written; an output path that is not a regular file, or has the wrong suffix, is refused
and left as it was (issue 14, items 9 and 10)."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

from ganplay.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "toy-v1.pt"  # a ring8 MLP in format 1


class Payload:
    """Pickled as a call to os.system: a loader that ran it would leave the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _mismatched(payload: dict) -> None:
    for key in ("G", "G_ema"):  # the first layer of a 32-unit MLP where the config builds 16 units
        payload[key]["net.0.weight"] = torch.zeros(32, 2)


def _both(payload: dict) -> None:
    payload["config"].update(mlp_hidden=-5, z_dim="x")


# name: (how the fixture's raw dict is changed, a fragment of the message)
PROBES = {
    "mlp_hidden -5": (
        lambda p: p["config"].update(mlp_hidden=-5),
        "its config is invalid: mlp_hidden: mlp_hidden must be between 4 and 8192, got -5",
    ),
    "z_dim x": (lambda p: p["config"].update(z_dim="x"), "its config is invalid: z_dim: z_dim must be an integer"),
    "mlp_hidden -5 and z_dim x": (_both, "z_dim must be an integer, got 'x'"),
    "no data.shape": (lambda p: p["data"].pop("shape"), "its data description is invalid: shape missing"),
    "shape 3x99999x99999": (
        lambda p: p["data"].update(shape=[3, 99999, 99999]),
        ("shape must be [2] for 2-D points with the config's image_size 28 and channels 0, got [3, 99999, 99999]"),
    ),
    "mismatched weights": (
        _mismatched,
        ("weights do not match the networks its config builds (net.0.weight is (32, 2), the config builds (16, 2))"),
    ),
    "newer format": (
        lambda p: p.update(format_version=3),
        "written by a newer ganplay (format 3; this one reads up to 1)",
    ),
}


def commands(path: Path, out: Path) -> dict[str, tuple[list[str], list[Path]]]:
    """Each command that reads a checkpoint: its arguments, and the files it must not leave behind."""
    return {
        "sample": (["sample", "--checkpoint", str(path), "--out", str(out / "s.png")], [out / "s.png"]),
        "interpolate": (["interpolate", "--checkpoint", str(path), "--out", str(out / "w.gif")], [out / "w.gif"]),
        "eval": (["eval", "--checkpoint", str(path)], []),
        "export": (["export", str(path), "--out", str(out / "e.pt")], [out / "e.pt", out / "e.json"]),
    }


def refused(argv: list[str], capsys, *fragments: str) -> str:
    """Run the CLI: it must return 2 (not raise), and say every fragment on stderr in one line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.mark.parametrize("command", ["sample", "interpolate", "eval", "export"])
@pytest.mark.parametrize("probe", list(PROBES))
def test_a_crafted_checkpoint_is_one_line_naming_the_file(tmp_path, capsys, probe, command):
    change, message = PROBES[probe]
    payload = torch.load(FIXTURE, weights_only=True)
    change(payload)
    path = tmp_path / "crafted.pt"
    torch.save(payload, path)
    argv, outputs = commands(path, tmp_path)[command]
    refused(argv, capsys, f"{path}: ", message)
    assert not any(out.exists() for out in outputs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crafted.pt"]  # no temporary files either


@pytest.mark.parametrize("command", ["sample", "interpolate", "eval", "export"])
def test_a_pickle_payload_never_runs_and_a_foreign_file_is_named(tmp_path, capsys, command):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"format": "ganplay-checkpoint", "format_version": 1, "payload": Payload(marker)}, evil)
    refused(commands(evil, tmp_path)[command][0], capsys, f"{evil}: refused to load")
    assert not marker.exists()
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint\n")
    refused(commands(text, tmp_path)[command][0], capsys, f"{text}: not a readable checkpoint")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.pt", "notes.pt"]


def test_a_fifo_as_the_checkpoint_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.pt"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "ganplay", "sample", "--checkpoint", str(fifo), "--out", str(tmp_path / "s.png")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2 and f"{fifo}: not a regular file, so not a checkpoint" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "s.png").exists()


OUTPUTS = {
    "sample": ("s.png", ["sample", "--checkpoint", str(FIXTURE)]),
    "interpolate": ("w.gif", ["interpolate", "--checkpoint", str(FIXTURE)]),
    "export": ("e.pt", ["export", str(FIXTURE)]),
}


def _make(kind: str, place: Path, name: str) -> tuple[Path, int]:
    """A fifo, a folder, or a link to one of them, named `name`: the --out to refuse, and the mode to keep."""
    target = place / (f"real-{name}" if kind.startswith("link") else name)
    if kind.endswith("fifo"):
        os.mkfifo(target)
    else:
        target.mkdir()
    if kind.startswith("link"):
        (place / name).symlink_to(target)
    return place / name, os.lstat(place / name).st_mode


@pytest.mark.parametrize("kind", ["fifo", "folder", "link to a fifo", "link to a folder"])
@pytest.mark.parametrize("command", list(OUTPUTS))
def test_an_output_that_is_not_a_regular_file_is_refused_and_left_as_it_was(tmp_path, capsys, command, kind):
    name, argv = OUTPUTS[command]
    out, mode = _make(kind, tmp_path, name)
    refused([*argv, "--out", str(out)], capsys, f"{out} is a ", "not a regular file: refusing to replace it")
    assert os.lstat(out).st_mode == mode
    assert not any(p.name.endswith(".tmp") or p.suffix == ".json" for p in tmp_path.iterdir())


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_dev_null_is_refused_and_stays_a_device(capsys, command):
    from ganplay.safe_files import check_output_path

    # First the helper itself: were it to let /dev/null through, the CLI below would replace the device (as root).
    with pytest.raises(ValueError, match="/dev/null is a device"):
        check_output_path("/dev/null", (".pt",))
    refused([*OUTPUTS[command][1], "--out", "/dev/null"], capsys, "/dev/null is a device, not a regular file")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.parametrize("command", list(OUTPUTS))
def test_a_wrong_suffix_is_refused_before_any_work(tmp_path, capsys, command):
    out = tmp_path / "x.txt"
    refused([*OUTPUTS[command][1], "--out", str(out)], capsys, "--out must end in ", str(out))
    assert list(tmp_path.iterdir()) == []


def test_an_export_onto_its_own_source_is_refused(tmp_path, capsys):
    source = tmp_path / "run.pt"
    source.write_bytes(FIXTURE.read_bytes())
    refused(["export", str(source), "--out", str(source)], capsys, "is the checkpoint being exported")
    assert source.read_bytes() == FIXTURE.read_bytes()  # the run's D and optimizers are still there


def test_a_write_error_names_the_target_not_the_temporary_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "grid.png"

    def refuse(*args, dir=None, prefix="", suffix="", **kwargs):
        raise OSError(errno.EACCES, "Permission denied", str(Path(dir) / f"{prefix}abc123{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    err = refused(
        ["sample", "--checkpoint", str(FIXTURE), "--out", str(out)], capsys, f"could not write {out}: Permission denied"
    )
    assert ".tmp" not in err and not out.exists()


def test_a_long_name_that_fits_the_file_system_is_written(tmp_path):
    out = tmp_path / ("x" * 250 + ".png")  # 254 characters: the temp file's name must not outgrow the limit
    assert main(["sample", "--checkpoint", str(FIXTURE), "--n", "10", "--out", str(out)]) == 0
    assert out.stat().st_size > 0 and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_crafted_evaluator_file_is_one_line_naming_it(tmp_path, capsys):
    fake = tmp_path / "evaluator.pt"
    torch.save({"format": "ganplay-evaluator", "class_names": ["a"]}, fake)  # no channels, no weights
    refused(
        ["eval", "--checkpoint", str(ROOT / "checkpoints" / "mnist-cdcgan.pt"), "--evaluator", str(fake)],
        capsys,
        f"{fake}: a damaged ganplay evaluator file",
    )


def _evil_in_payload(marker: Path) -> object:
    return {"format": "ganplay-checkpoint", "format_version": 1, "payload": Payload(marker)}


def _evil_as_whole_file(marker: Path) -> object:
    return Payload(marker)


def _evil_inside_a_state_dict(marker: Path) -> object:
    return {"format": "ganplay-checkpoint", "format_version": 1, "G": {"net.0.weight": Payload(marker)}}


@pytest.mark.parametrize(
    "make, legacy",
    [
        (_evil_in_payload, False),
        (_evil_as_whole_file, False),
        (_evil_inside_a_state_dict, False),
        (_evil_in_payload, True),
    ],  # torch's pre-zip pickle format too
    ids=["in-the-payload", "the-whole-file", "inside-a-state-dict", "legacy-format"],
)
def test_pickle_payloads_in_four_forms_never_run(tmp_path, make, legacy):
    from ganplay.checkpoints import CheckpointError, load_checkpoint, load_generator

    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save(make(marker), evil, _use_new_zipfile_serialization=not legacy)
    for load in (load_checkpoint, load_generator):
        with pytest.raises(CheckpointError, match=f"{evil}: "):
            load(evil)
    assert not marker.exists()
