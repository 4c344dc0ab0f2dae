"""--precision: what auto picks, bf16 autocast training staying finite and close to fp32 for every architecture,
fp32 weights, optimizer state and EMA under it, exact resume within one precision, and its refusals.

bf16 is forced on (fast_bf16 patched) where a test trains in it: CPU autocast runs anywhere, only slower without
AVX-512 BF16, so these tests say the same on every machine."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from conftest import tiny_image_config, tiny_toy_config

from ganplay import precision
from ganplay.checkpoints import CHECKPOINT_NAME, load_checkpoint
from ganplay.config import ConfigError
from ganplay.data import load_training_data
from ganplay.models import ARCHS
from ganplay.precision import describe_precision, resolve_precision
from ganplay.run_registry import RunRegistry
from ganplay.run_state import RunState
from ganplay.trainer import GANTrainer

CPU = torch.device("cpu")


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(precision, "fast_bf16", lambda device: True)


def trainer_for(cfg) -> GANTrainer:
    torch.manual_seed(0)
    return GANTrainer(cfg, load_training_data(cfg), CPU)


def losses(cfg, steps: int) -> dict[str, torch.Tensor]:
    trainer = trainer_for(cfg)
    history = [trainer.train_step() for _ in range(steps)]
    return {key: torch.stack([float(h[key]) * torch.ones(()) for h in history]) for key in history[0]}


def test_auto_picks_bf16_for_images_where_it_is_native_and_fp32_elsewhere(monkeypatch):
    monkeypatch.setattr(precision, "fast_bf16", lambda device: True)
    assert resolve_precision("auto", CPU, images=True) is torch.bfloat16
    assert resolve_precision("auto", CPU, images=False) is None  # 2-D nets: the casts cost more than they save
    assert resolve_precision("bf16", CPU, images=False) is torch.bfloat16  # asked for: given
    assert resolve_precision("fp32", CPU, images=True) is None
    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)
    assert resolve_precision("auto", CPU, images=True) is None
    assert resolve_precision("bf16", CPU, images=True) is None  # the fallback, and the status says why
    assert describe_precision("bf16", None, CPU) == "fp32 (bf16 asked for, but this CPU has no native bf16)"
    assert describe_precision("auto", torch.bfloat16, CPU) == "bf16 autocast (auto)"


def test_an_unknown_precision_is_refused_by_name():
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16, got 'fp16'"):
        tiny_image_config(precision="fp16")


@pytest.mark.parametrize(
    "overrides, tolerance",
    [
        (dict(), 0.02),
        (dict(ngf=16, ndf=16, batch_size=32, conditional=True), 0.02),
        (dict(loss="wgan-gp", d_norm="layer", d_steps=2), 0.1),  # its penalty stays fp32; its losses are larger
        (dict(arch="seed000", batch_size=16), 0.02),
    ],
)
def test_bf16_training_stays_finite_and_close_to_fp32(native_bf16, overrides, tolerance):
    fp32 = losses(tiny_image_config(precision="fp32", **overrides), 40)
    bf16 = losses(tiny_image_config(precision="bf16", **overrides), 40)
    for key in ("loss_d", "loss_g", "d_real", "d_fake"):
        assert torch.isfinite(bf16[key]).all(), key
        gap = float((fp32[key] - bf16[key]).abs().max())
        assert 0 < gap < tolerance, f"{key}: bf16 is {gap:.4f} from fp32 (it must differ, a little)"


IMAGE_ARCHS = [name for name in ARCHS.names() if name != "mlp"]


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
def test_every_image_architecture_trains_in_bf16_keeping_fp32_state(native_bf16, arch):
    size = 64 if arch.startswith("seed004") else 28
    extra = dict(spectral_norm=True, ema=True) if arch == "dcgan" else dict(ema=True)
    trainer = trainer_for(tiny_image_config(precision="bf16", arch=arch, image_size=size, **extra))
    assert trainer.amp_dtype is torch.bfloat16
    for _ in range(2):
        stats = trainer.train_step()
    assert all(torch.isfinite(v) for v in stats.values())
    tensors = [*trainer.G.parameters(), *trainer.D.parameters(), *trainer.G_ema.parameters()]
    tensors += [s for opt in (trainer.opt_g, trainer.opt_d) for st in opt.state.values() for s in st.values()]
    assert {t.dtype for t in tensors if t.is_floating_point()} == {torch.float32}
    assert trainer.generate(trainer.fixed_z[:2], None if not trainer.num_classes else trainer.fixed_y[:2]).dtype == (
        torch.float32
    )  # samples for the view, the scores and the files are fp32


def test_infogan_and_a_points_run_train_in_bf16(native_bf16):
    info = trainer_for(tiny_image_config(precision="bf16", info_codes=4))
    assert "loss_info" in info.train_step()
    toy = trainer_for(tiny_toy_config(precision="bf16"))
    assert toy.amp_dtype is torch.bfloat16 and torch.isfinite(toy.train_step()["loss_d"])


def test_a_bf16_run_resumes_exactly_and_says_its_precision(native_bf16, tmp_path):
    registry = RunRegistry(tmp_path)
    cfg = tiny_image_config(precision="bf16", steps=6, checkpoint_every=3, eval_every=0)
    straight = registry.start(cfg, name="straight")
    assert straight.wait(60) and straight.state == RunState.FINISHED
    assert straight.snapshot().device.endswith("· bf16 autocast")
    broken = registry.start(replace(cfg, steps=3), name="broken")
    assert broken.wait(60) and broken.state == RunState.FINISHED
    resumed = registry.resume("broken", steps=6)
    assert resumed.wait(60) and resumed.state == RunState.FINISHED
    a = load_checkpoint(tmp_path / "straight" / CHECKPOINT_NAME).state
    b = load_checkpoint(tmp_path / "broken" / CHECKPOINT_NAME).state
    for net in ("G", "D", "G_ema"):
        for key, value in a[net].items():
            assert torch.equal(value, b[net][key]), f"{net}.{key} differs after a bf16 resume"
    assert torch.equal(a["noise_state"], b["noise_state"])


def test_bench_times_the_bare_loop_and_the_engine_for_each_precision(native_bf16, capsys):
    from ganplay.bench import run_bench

    result = run_bench(batch_size=8, window=2, windows=1, device="cpu", precisions=("fp32", "bf16"))
    assert set(result) == {"fp32", "bf16"} and all(r["bare"] > 0 and r["engine"] > 0 for r in result.values())
    printed = capsys.readouterr().out
    assert "dcgan 28 px, 1 channel, batch 8" in printed and "bf16 / fp32, engine" in printed


def test_bench_says_when_bf16_is_not_native_and_times_fp32_alone(monkeypatch, capsys):
    from ganplay.bench import run_bench

    monkeypatch.setattr(precision, "fast_bf16", lambda device: False)
    result = run_bench(batch_size=8, window=2, windows=1, device="cpu", image_size=32, channels=3)
    assert set(result) == {"fp32"}
    printed = capsys.readouterr().out
    assert "32 px, 3 channels" in printed and "bf16: fp32 (bf16 asked for, but this CPU has no native bf16)" in printed
