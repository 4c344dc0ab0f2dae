"""WGAN with weight clipping: the paper's defaults, the clip after every D update, RMSprop in the config, exact
resume with RMSprop's state, and clear messages for a bad clip or optimizer."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay.checkpoints import load_checkpoint
from ganplay.config import ConfigError
from ganplay.data import load_dataset
from ganplay.losses import LOSSES, clip_weights_
from ganplay.presets import make_config
from ganplay.trainer import GANTrainer


def make_trainer(cfg):
    return GANTrainer(cfg, load_dataset(cfg.dataset, image_size=cfg.image_size, seed=cfg.seed), torch.device("cpu"))


def test_the_loss_brings_the_papers_defaults():
    cfg = make_config(loss="wgan-clip")
    assert (cfg.optimizer, cfg.lr_g, cfg.lr_d, cfg.d_steps, cfg.weight_clip) == ("rmsprop", 5e-5, 5e-5, 5, 0.01)
    assert make_config(loss="wgan-clip", optimizer="adam", weight_clip=0.05).weight_clip == 0.05  # the user's win
    assert make_config().optimizer == "adam" and not LOSSES.get("nsgan").clips_weights
    assert LOSSES.get("wgan-clip").clips_weights and not LOSSES.get("wgan-clip").gradient_penalty


def test_every_d_update_ends_with_every_weight_of_d_inside_the_clip():
    trainer = make_trainer(tiny_image_config(loss="wgan-clip", weight_clip=0.005))
    assert isinstance(trainer.opt_d, torch.optim.RMSprop) and isinstance(trainer.opt_g, torch.optim.RMSprop)
    assert trainer.opt_d.param_groups[0]["lr"] == 5e-5
    # DCGAN's init draws D's conv weights from N(0, 0.02) and its batch-norm scales near 1: far outside 0.005
    assert max(p.abs().max() for p in trainer.D.parameters()) > 0.5
    g_before = [p.clone() for p in trainer.G.parameters()]
    stats = trainer.train_step()
    assert trainer.draws == 5 and torch.isfinite(stats["loss_d"])
    assert all(p.abs().max() <= 0.005 for p in trainer.D.parameters())
    assert any(p.abs().max() > 0.005 for p in trainer.G.parameters())  # G is never clipped
    assert any(not torch.equal(a, b) for a, b in zip(g_before, trainer.G.parameters()))


def test_clip_weights_clamps_in_place_and_leaves_small_weights_alone():
    layer = torch.nn.Linear(3, 2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.5, -0.5, 0.001], [-0.002, 0.0, 2.0]]))
        layer.bias.copy_(torch.tensor([-3.0, 0.003]))
    clip_weights_(layer, 0.01)
    assert torch.allclose(layer.weight, torch.tensor([[0.01, -0.01, 0.001], [-0.002, 0.0, 0.01]]))
    assert torch.allclose(layer.bias, torch.tensor([-0.01, 0.003]))


def test_without_the_clip_the_same_loss_leaves_d_unclipped():
    """The clip belongs to wgan-clip alone: wgan-gp has the same critic objective and no clip."""
    trainer = make_trainer(tiny_image_config(loss="wgan-gp", d_norm="layer", optimizer="rmsprop"))
    trainer.train_step()
    assert max(p.abs().max() for p in trainer.D.parameters()) > 0.5


def test_the_critic_learns_to_score_real_points_above_generated_ones():
    trainer = make_trainer(tiny_toy_config(loss="wgan-clip", lr_d=5e-4, lr_g=5e-4))
    for _ in range(30):
        stats = trainer.train_step()
    assert stats["d_real"] > stats["d_fake"] and stats["loss_d"] < 0  # D(G(z)) - D(x): negative once it tells


def test_resume_with_rmsprop_is_exact(registry):
    def make(**kw):
        return tiny_toy_config(loss="wgan-clip", lr_decay="none", checkpoint_every=100, **kw)

    assert registry.start(make(steps=8), name="whole").wait(60)
    assert registry.start(make(steps=4), name="half").wait(60)
    assert registry.resume("half", steps=8).wait(60)
    whole, half = load_checkpoint(registry.root / "whole"), load_checkpoint(registry.root / "half")
    assert half.step == whole.step == 8
    for key in ("G", "D", "G_ema"):
        for name, tensor in whole.state[key].items():
            assert torch.equal(tensor, half.state[key][name]), (key, name)
    # RMSprop's running squares are what a resume must restore: Adam would have exp_avg too
    moments = half.state["opt_d"]["state"][0]
    assert "square_avg" in moments and "exp_avg" not in moments
    for slot, state in whole.state["opt_d"]["state"].items():
        assert torch.equal(state["square_avg"], half.state["opt_d"]["state"][slot]["square_avg"])
    assert json.loads((registry.root / "half" / "config.json").read_text())["optimizer"] == "rmsprop"


@pytest.mark.parametrize(
    "values, field, words",
    [
        (dict(weight_clip=0.0), "weight_clip", "weight_clip must be above 0, got 0.0"),
        (dict(weight_clip=-0.01), "weight_clip", "a c of 0 or less would set every one of them to 0"),
        (dict(weight_clip=5.0), "weight_clip", "weight_clip must be between 1e-05 and 1, got 5.0"),
        (dict(weight_clip="small"), "weight_clip", "weight_clip must be a number, got 'small'"),
        (dict(optimizer="sgd"), "optimizer", "optimizer must be one of adam, rmsprop, got 'sgd'"),
    ],
)
def test_a_bad_clip_or_optimizer_is_named(values, field, words):
    with pytest.raises(ConfigError) as caught:
        make_config(loss="wgan-clip", **values).validated()
    assert words in caught.value.errors[field] and set(caught.value.errors) == {field}


def test_the_cli_trains_it_and_writes_the_optimizer_into_the_config(tmp_path, capsys):
    from conftest import TINY_TOY

    from ganplay.cli import main

    runs = tmp_path / "runs"
    assert (
        main(["train", *TINY_TOY, "--loss", "wgan-clip", "--steps", "4", "--runs-dir", str(runs), "--name", "w"]) == 0
    )
    saved = json.loads((runs / "w" / "config.json").read_text())
    assert (saved["loss"], saved["optimizer"], saved["weight_clip"], saved["d_steps"]) == (
        "wgan-clip",
        "rmsprop",
        0.01,
        5,
    )
    assert main(["train", *TINY_TOY, "--loss", "wgan-clip", "--weight-clip", "0", "--runs-dir", str(runs)]) == 2
    assert "weight_clip must be above 0" in capsys.readouterr().err


def test_the_form_offers_the_clip_only_for_wgan_clip_and_betas_only_for_adam():
    from pages.train_form import applies

    assert applies("weight_clip", "image", {"loss": "wgan-clip"})
    assert not applies("weight_clip", "image", {"loss": "wgan-gp"})
    assert applies("betas", "toy", {"optimizer": "adam"}) and not applies("betas", "toy", {"optimizer": "rmsprop"})
