"""Health alarms fire on purpose-built bad runs, and stay quiet on a healthy one."""

from __future__ import annotations

import math

import torch
from conftest import tiny_toy_config

from ganplay.health import check_health
from ganplay.run_state import RunState
from ganplay.runs import Run
from ganplay.trainer import GANTrainer


def kinds(alarms) -> set[str]:
    return {a.kind for a in alarms}


def drive(run: Run, steps: int) -> None:
    run.prepare()
    for _ in range(steps):
        run.advance()
    run.flush_metrics()


def test_a_strong_d_against_a_frozen_g_raises_d_wins(tmp_path):
    cfg = tiny_toy_config(
        loss="minimax",
        lr_g=1e-8,
        lr_d=5e-3,
        d_steps=3,
        steps=400,
        log_every=5,
        sample_every=1000,
        checkpoint_every=1000,
    )
    run = Run(tmp_path / "dwins", cfg)
    drive(run, 400)
    alarms = run.snapshot().alarms
    assert "d_wins" in kinds(alarms), [a.text() for a in alarms]
    alarm = next(a for a in alarms if a.kind == "d_wins")
    assert "lower D's learning rate" in alarm.remedy


def test_an_overflowing_run_raises_diverged(registry, monkeypatch):
    original = GANTrainer.train_step

    def overflow(self):
        if self.step == 4:
            with torch.no_grad():
                next(self.G.parameters()).fill_(float("inf"))
        return original(self)

    monkeypatch.setattr(GANTrainer, "train_step", overflow)
    run = registry.start(tiny_toy_config(steps=20, log_every=2), name="boom")
    assert run.wait(60) and run.snapshot().state == RunState.FAILED
    alarm = next(a for a in run.snapshot().alarms if a.kind == "diverged")
    assert alarm.step == 5 and "hinge" in alarm.remedy


def test_a_generator_collapsed_onto_one_mode_raises_mode_collapse(tmp_path):
    cfg = tiny_toy_config(lr_g=1e-8, steps=10, sample_every=5, log_every=5)
    run = Run(tmp_path / "collapsed", cfg)
    run.prepare()
    last = [m for m in run.trainer.G.modules() if isinstance(m, torch.nn.Linear)][-1]
    with torch.no_grad():  # every z maps to the first mode, (1, 0)
        last.weight.zero_()
        last.bias.copy_(torch.tensor([1.0, 0.0]))
        run.trainer.G_ema.load_state_dict(run.trainer.G.state_dict())
    for _ in range(10):
        run.advance()
    alarms = run.snapshot().alarms
    assert "mode_collapse" in kinds(alarms), [a.text() for a in alarms]


def test_a_healthy_toy_run_raises_nothing(tmp_path):
    run = Run(tmp_path / "fine", tiny_toy_config(steps=200, log_every=5, sample_every=50))
    drive(run, 200)
    assert run.snapshot().alarms == []


def rows(loss_g, loss_d=0.7, grad_g=1.0):
    return [
        {
            "step": 10 * (i + 1),
            "loss_d": loss_d if not callable(loss_d) else loss_d(i),
            "loss_g": loss_g(i),
            "grad_norm_g": grad_g,
        }
        for i in range(80)
    ]


def test_frozen_oscillating_and_dropping_coverage_from_histories():
    assert kinds(check_health(rows(lambda i: 0.6931))) == {"frozen"}
    assert kinds(check_health(rows(lambda i: 2.0 + 1.5 * math.sin(i / 2)))) == {"oscillating"}
    assert kinds(check_health(rows(lambda i: 2.0 + 0.01 * math.sin(i)))) == set()
    dropping = [(100, 1.0), (200, 0.9), (300, 0.3)]
    assert kinds(check_health(rows(lambda i: 2.0 + 0.01 * math.sin(i)), coverage=dropping)) == {"mode_collapse"}


def test_the_cli_prints_alarms(tmp_path, capsys):
    from ganplay.cli import main

    assert (
        main(
            [
                "train",
                "--dataset",
                "ring8",
                "--loss",
                "minimax",
                "--lr-g",
                "1e-8",
                "--lr-d",
                "5e-3",
                "--d-steps",
                "3",
                "--steps",
                "400",
                "--mlp-hidden",
                "32",
                "--mlp-layers",
                "2",
                "--batch-size",
                "32",
                "--log-every",
                "5",
                "--device",
                "cpu",
                "--quiet",
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "warning: [d_wins at step" in capsys.readouterr().err


def test_a_drop_in_image_diversity_is_said_as_a_share_of_its_best():
    """For images the coverage is the fixed-noise samples' mean distance (7.39 here), not a share: the alarm
    says how far it fell relative to its best, never "a best of 739%"."""
    [alarm] = check_health(rows(lambda i: 2.0 + 0.01 * math.sin(i)), coverage=[(250, 7.39), (500, 2.5)])
    assert alarm.kind == "mode_collapse"
    assert "Coverage fell to 34% of its best" in alarm.message and "739" not in alarm.message


def test_a_wasserstein_critic_s_negative_loss_is_not_d_winning():
    """A WGAN critic's loss D(G(z)) - D(x) is below 0 by design: no "D wins" alarm, while a BCE D near 0 gets one."""
    wobble = lambda i: 2.0 + 0.3 * math.sin(i)  # G's loss moves: nothing is frozen
    assert "d_wins" not in kinds(check_health(rows(wobble, loss_d=lambda i: -0.02 + 0.01 * math.sin(i))))
    assert "d_wins" in kinds(check_health(rows(wobble, loss_d=lambda i: 0.01 + 0.005 * math.sin(i))))


MNIST_FAST = {"loss": "hinge", "spectral_norm": True, "ema": True, "betas": [0.0, 0.9], "pac": 1, "d_dropout": 0.0}


def test_remedies_the_run_already_uses_are_not_advised():
    swinging = rows(lambda i: 2.0 + 1.5 * math.sin(i / 2))
    [plain] = check_health(swinging)
    assert "hinge loss with spectral norm" in plain.remedy and "EMA" in plain.remedy
    nsgan = {**MNIST_FAST, "loss": "nsgan", "spectral_norm": False, "ema": False}
    [alarm] = check_health(swinging, config=nsgan)
    assert alarm.remedy == (
        "lower both learning rates, use an EMA generator for samples, or switch to hinge loss with spectral norm."
    )  # beta1 is 0 already
    collapsing = rows(lambda i: 2.0 + 0.01 * math.sin(i))
    [collapse] = check_health(collapsing, coverage=[(100, 1.0), (200, 0.3)], config={**nsgan, "pac": 4})
    assert "packing" not in collapse.remedy and collapse.remedy.startswith("lower G's learning rate")


def test_hinge_s_score_scale_raises_no_false_alarms():
    """mnist-fast (hinge + SN) once raised both: D's hinge loss near 0 with G still learning, and G's loss
    (-D(G(z)), centred near 0) swinging by less than hinge's margin."""
    lively_d = rows(lambda i: 0.1 + 0.4 * math.sin(i / 2), loss_d=lambda i: 0.02 + 0.01 * math.sin(i))
    assert kinds(check_health(lively_d)) == {"d_wins", "oscillating"}  # judged as a BCE run would be
    assert kinds(check_health(lively_d, config=MNIST_FAST)) == set()
    stalled = rows(lambda i: 0.1 + 0.4 * math.sin(i / 2), loss_d=0.01, grad_g=0.0)
    stalled[0]["grad_norm_g"] = 5.0  # G's gradient had a peak, and has vanished since
    [alarm] = check_health(stalled, config=MNIST_FAST)
    assert alarm.kind == "d_wins" and "G has stopped learning" in alarm.message
    assert "spectral norm" not in alarm.remedy and "minimax" not in alarm.remedy
    big_swings = rows(lambda i: 2.5 * math.sin(i / 2))
    assert kinds(check_health(big_swings, config=MNIST_FAST)) == {"oscillating"}
    assert kinds(check_health(big_swings, config={**MNIST_FAST, "loss": "wgan-gp"})) == set()


def test_a_steady_fall_with_noise_is_no_oscillation():
    """A conditional hinge run's G loss fell from 1.6 to 0.5 over 700 steps with small wiggles, and the old
    count of every tiny reversal called it oscillating."""
    falling = rows(lambda i: 1.6 - 0.018 * i + 0.03 * math.sin(3 * i))
    assert "oscillating" not in kinds(check_health(falling, config=MNIST_FAST))
    assert "oscillating" not in kinds(check_health(rows(lambda i: 2.0 - 0.03 * i + 0.05 * math.sin(3 * i))))
    from ganplay.health import large_turns

    assert large_turns([0, 1, 0, 1, 0], 0.5) == 3 and large_turns([0, 0.1, 0.05, 0.2, 1.0], 0.3) == 0
