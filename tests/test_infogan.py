"""InfoGAN: a categorical code read from z, which D must recover, ties each code to one kind of sample."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay.checkpoints import Checkpoint, data_meta, load_generator, save_checkpoint
from ganplay.cli import main
from ganplay.data import load_dataset
from ganplay.evaluators import load_evaluator
from ganplay.latent import with_codes, z_from_seed
from ganplay.live_eval import evaluator_path_for
from ganplay.metrics import code_purity, toy_mode_stats
from ganplay.models import latent_code
from ganplay.presets import make_config
from ganplay.sampling import EACH_CODE, sample
from ganplay.sources import to_float
from ganplay.trainer import GANTrainer


def test_bad_code_settings_are_refused_with_the_reason():
    def error(**overrides):
        return make_config(None, dataset="mnist-bundled", **overrides).errors().get("info_codes", "")

    assert error(info_codes=10) == ""
    assert "needs z_dim of at least 10" in error(info_codes=10, z_dim=8)
    assert "conditional" in error(info_codes=10, conditional=True)
    assert "use pac 1" in error(info_codes=10, pac=2)
    assert "one value says nothing" in error(info_codes=1)
    assert "between 0 and 1024" in error(info_codes=-3)
    assert "info_weight" in make_config(None, dataset="mnist-bundled", info_weight=-1.0).errors()


def test_with_codes_sets_the_code_and_keeps_the_draw():
    z = z_from_seed(3, 500, 12)
    codes = torch.arange(500) % 6
    fixed = with_codes(z, codes, 6)
    assert torch.equal(latent_code(fixed, 6), codes)
    assert torch.equal(fixed.sort(1).values, z.sort(1).values)  # the same values, two of them swapped
    assert torch.equal(fixed[:, 6:], z[:, 6:])  # the noise past the code is untouched
    same = latent_code(z, 6)
    assert torch.equal(with_codes(z, same, 6), z)
    counts = torch.bincount(same, minlength=6)
    assert counts.min() > 60  # argmax of iid Gaussians: a uniform code (500 / 6 = 83 each)


def test_the_generator_reads_only_which_code_entry_is_largest():
    cfg = tiny_image_config(info_codes=4, z_dim=8)
    trainer = GANTrainer(cfg, load_dataset(cfg.dataset, image_size=cfg.image_size), torch.device("cpu"))
    z = z_from_seed(0, 6, 8)
    stretched = z.clone()
    stretched[:, :4] = stretched[:, :4] * 3 + 5  # the same order, other values
    assert torch.allclose(trainer.generate(z), trainer.generate(stretched))
    assert not torch.allclose(trainer.generate(z), trainer.generate(with_codes(z, (latent_code(z, 4) + 1) % 4, 4)))


def test_each_code_finds_its_own_toy_mode():
    """On ring8 with 8 codes, every code lands in one mode and the 8 codes in 8 different modes."""
    cfg = tiny_toy_config(
        z_dim=8, info_codes=8, pac=1, mlp_hidden=64, mlp_layers=3, batch_size=256, lr_g=2e-3, lr_d=2e-3, steps=800
    )
    data = load_dataset(cfg.dataset, seed=cfg.seed)
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    for _ in range(cfg.steps):
        stats = trainer.train_step()
    assert float(stats["loss_info"]) < 0.05  # D reads the code from the sample almost surely
    modes_of_codes = set()
    for code in range(8):
        points = trainer.generate(with_codes(z_from_seed(code, 400, 8), torch.full((400,), code), 8))
        one_code = toy_mode_stats(points, data.modes, data.sigma)
        assert one_code.modes_covered == 1 and one_code.high_quality > 0.9, (code, one_code.summary())
        nearest = torch.cdist(points, data.modes.float()).argmin(1)
        modes_of_codes.add(int(nearest.mode().values))
    assert len(modes_of_codes) == 8


def test_codes_survive_a_checkpoint_and_reach_sample(tmp_path):
    cfg = tiny_image_config(info_codes=5, z_dim=16)
    data = load_dataset(cfg.dataset, image_size=cfg.image_size)
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    stats = trainer.train_step()
    assert torch.isfinite(stats["loss_info"])
    path = save_checkpoint(tmp_path / "info.pt", trainer.state_dict(), cfg, data_meta(data))
    generator, ckpt = load_generator(path)
    got = sample(generator, ckpt, 10, seed=4, code=EACH_CODE)
    z = with_codes(z_from_seed(4, 10, 16), torch.arange(10) % 5, 5)
    assert torch.allclose(got, trainer.generate(z), atol=1e-6)
    with pytest.raises(ValueError, match="code must be between 0 and 4"):
        sample(generator, ckpt, 2, code=5)
    assert (
        main(["sample", "--checkpoint", str(path), "--code", "each", "--n", "10", "--out", str(tmp_path / "codes.png")])
        == 0
    )
    assert (tmp_path / "codes.png").stat().st_size > 0


def test_a_model_without_codes_refuses_one(tmp_path, capsys):
    cfg = tiny_toy_config()
    data = load_dataset(cfg.dataset)
    trainer = GANTrainer(cfg, data, torch.device("cpu"))
    path = save_checkpoint(tmp_path / "plain.pt", trainer.state_dict(), cfg, data_meta(data))
    assert main(["sample", "--checkpoint", str(path), "--code", "2", "--out", str(tmp_path / "x.png")]) != 0
    assert "has no InfoGAN code" in capsys.readouterr().err


class ClassPerCode(torch.nn.Module):
    """A stand-in InfoGAN generator: each code returns real digits of one class (`classes[code]`)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: list[int]):
        super().__init__()
        self.by_class = [images[labels == k][:50] for k in range(10)]
        self.classes = classes
        self.anchor = torch.nn.Parameter(torch.zeros(()))  # generate() asks G for its device

    def forward(self, z, y=None):
        codes = latent_code(z, len(self.classes)).tolist()
        return torch.stack([self.by_class[self.classes[c]][i % 50] for i, c in enumerate(codes)])


def test_code_purity_scores_what_the_codes_found():
    data = load_dataset("mnist-bundled")
    images, labels = to_float(data.images), data.labels
    evaluator = load_evaluator(evaluator_path_for("mnist-bundled"))
    ckpt = Checkpoint(make_config(None, dataset="mnist-bundled", info_codes=10), {})
    purity, found = code_purity(ClassPerCode(images, labels, list(range(10))), ckpt, evaluator, per_code=50)
    assert purity > 0.95 and found == 10
    purity, found = code_purity(ClassPerCode(images, labels, [3] * 10), ckpt, evaluator, per_code=50)
    assert purity > 0.95 and found == 1  # every code makes a 3: pure codes, one class found
