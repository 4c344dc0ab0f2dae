"""The training step: parameters move, every loss runs, CPU runs are deterministic."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay.data import load_dataset
from ganplay.losses import LOSSES
from ganplay.trainer import GANTrainer


def make_trainer(cfg):
    data = load_dataset(cfg.dataset, image_size=cfg.image_size, seed=cfg.seed)
    return GANTrainer(cfg, data, torch.device("cpu"))


def test_step_updates_both_networks_and_ema():
    trainer = make_trainer(tiny_image_config())
    before_g = [p.clone() for p in trainer.G.parameters()]
    before_d = [p.clone() for p in trainer.D.parameters()]
    before_ema = [p.clone() for p in trainer.G_ema.parameters()]
    stats = trainer.train_step()
    assert set(stats) == {"loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"}
    assert all(torch.isfinite(v) for v in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before_g, trainer.G.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_d, trainer.D.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_ema, trainer.G_ema.parameters()))
    assert trainer.step == 1 and trainer.draws == 1


@pytest.mark.parametrize("loss", LOSSES.names())
def test_every_loss_trains(loss):
    trainer = make_trainer(
        tiny_image_config(loss=loss, conditional=True, pac=2, d_dropout=0.1, augment="translation+cutout")
    )
    for _ in range(2):
        stats = trainer.train_step()
    assert all(torch.isfinite(v) for v in stats.values())
    assert trainer.draws == 2 * trainer.cfg.d_steps


def test_same_seed_same_weights_different_seed_differs():
    def weights(seed):
        trainer = make_trainer(tiny_toy_config(seed=seed, d_dropout=0.2))
        for _ in range(5):
            trainer.train_step()
        return torch.cat([p.flatten() for p in trainer.G.parameters()])

    assert torch.equal(weights(0), weights(0))
    assert not torch.equal(weights(0), weights(1))


def test_global_rng_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    trainer = make_trainer(tiny_toy_config())
    trainer.train_step()
    assert torch.equal(torch.rand(3), expected)


def test_conditional_generator_follows_labels():
    trainer = make_trainer(tiny_image_config(conditional=True))
    z = trainer.fixed_z[:2].repeat(2, 1)
    out = trainer.generate(z, torch.tensor([0, 1, 5, 5]))
    assert not torch.equal(out[0], out[2])  # same z, other class, other image
