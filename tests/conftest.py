"""Tiny, seeded fixtures: small nets, few steps, CPU, a temporary runs folder."""

from __future__ import annotations

import pytest
import torch
from browser_kit import browser, served, server  # noqa: F401 - the browser tests' fixtures

from ganplay.presets import make_config

torch.set_num_threads(2)


def tiny_image_config(**overrides):
    """DCGAN on the bundled MNIST at 28 px with narrow nets: a step takes milliseconds."""
    values = dict(
        dataset="mnist-bundled",
        arch="dcgan",
        ngf=8,
        ndf=8,
        z_dim=16,
        batch_size=8,
        steps=6,
        device="cpu",
        log_every=2,
        sample_every=3,
        checkpoint_every=3,
        num_samples=8,
        seed=0,
    )
    values.update(overrides)
    return make_config(**values).validated()


def tiny_image_checkpoint(path, **overrides):
    """A generator-only file of an untrained tiny 28 px model (conditional, clustered or InfoGAN by overrides)."""
    from ganplay.building import build_models_seeded
    from ganplay.checkpoints import save_checkpoint

    cfg = tiny_image_config(**overrides)
    classes = cfg.clusters or (10 if cfg.conditional else 0)
    generator, _ = build_models_seeded(cfg, (1, 28, 28), classes, 0)
    names = [f"cluster {i}" for i in range(classes)] if cfg.clusters else [str(i) for i in range(10)]
    meta = {"name": "mnist-bundled", "title": "tiny", "kind": "image", "shape": [1, 28, 28]}
    meta.update(num_classes=classes or 10, class_names=names)
    if cfg.clusters:
        meta["label_prior"] = [1 / classes] * classes
    return save_checkpoint(path, {"step": 0, "generator_only": True, "G_ema": generator.state_dict()}, cfg, meta)


# A few steps of a tiny 2-D run from the command line: `main(["train", *TINY_TOY, "--steps", "8", ...])`.
TINY_TOY = [
    "--dataset",
    "ring8",
    "--mlp-hidden",
    "16",
    "--mlp-layers",
    "2",
    "--batch-size",
    "32",
    "--device",
    "cpu",
    "--log-every",
    "2",
    "--sample-every",
    "4",
    "--checkpoint-every",
    "4",
    "--quiet",
]


def tiny_toy_config(**overrides):
    values = dict(
        dataset="ring8",
        arch="mlp",
        mlp_hidden=32,
        mlp_layers=2,
        batch_size=32,
        steps=6,
        device="cpu",
        log_every=2,
        sample_every=3,
        checkpoint_every=3,
        num_samples=64,
        seed=0,
    )
    values.update(overrides)
    return make_config(**values).validated()


@pytest.fixture(autouse=True)
def seeded_global_rng():
    """Every test starts from the same global RNG state, so any torch.rand in a test is reproducible."""
    torch.manual_seed(0)


@pytest.fixture
def runs_root(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    monkeypatch.setenv("GANPLAY_RUNS", str(root))
    return root


@pytest.fixture
def registry(runs_root):
    from ganplay.run_registry import RunRegistry

    reg = RunRegistry(runs_root)
    yield reg
    for run in reg.live_runs():  # threads outlive a test unless stopped
        run.stop()
        run.wait(30)


@pytest.fixture
def app_registry(runs_root):
    """The registry the pages see (GANPLAY_RUNS points at a temporary folder); its runs stop at teardown."""
    from ganplay.run_registry import get_registry

    reg = get_registry(runs_root)
    yield reg
    for run in reg.live_runs():
        run.stop()
        run.wait(30)


@pytest.fixture
def downloads(monkeypatch):
    """{file name: bytes} of every download button the pages draw."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    files: dict[str, bytes] = {}
    add = MediaFileManager.add

    def recording(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        files[file_name] = data
        return add(self, data, mimetype, coordinates, file_name, is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", recording)
    return files
