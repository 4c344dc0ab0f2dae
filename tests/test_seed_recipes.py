"""The seed documents' recipes: layers, shapes and parameter counts as the seed code builds them, TensorFlow's
"same" padding, Keras' init, the refusals, a few real steps from the CLI and from the presets, exact resume."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from ganplay.checkpoints import load_checkpoint
from ganplay.cli import main
from ganplay.config import ConfigError
from ganplay.data import load_training_data
from ganplay.models import ARCHS, SeededDropout, build_models
from ganplay.presets import PRESETS, make_config
from ganplay.seed_models import SameConv2d, SameConvTranspose2d, same_padding
from ganplay.trainer import GANTrainer

SEED_PRESETS = ("seed000-tf-dcgan", "seed001-dense-gan", "seed004-dcgan64", "seed004-dcgan64-tanh")


def trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def running_stats(module: nn.Module) -> int:
    """Keras' non-trainable parameters: batch norm's moving mean and variance."""
    return sum(b.numel() for name, b in module.named_buffers() if name.endswith(("running_mean", "running_var")))


def layer_kinds(seq: nn.Sequential) -> list[str]:
    return [type(m).__name__ for m in seq]


def shapes_through(seq: nn.Sequential, x: torch.Tensor) -> list[tuple[int, ...]]:
    """Each layer's output shape without the batch axis, as Keras' model.summary() lists them."""
    shapes = []
    for layer in seq:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    return shapes


def seed_pair(arch: str, size: int, channels: int = 1):
    cfg = make_config(dataset="mnist-bundled", arch=arch, image_size=size, z_dim=100)
    torch.manual_seed(0)
    return build_models(cfg, (channels, size, size), 0)


LRELU_BN = ["BatchNorm2d", "LeakyReLU"]


def test_seed000_layers_shapes_and_parameters_match_the_tensorflow_code():
    g, d = seed_pair("seed000", 28)
    assert layer_kinds(g.net) == [
        *["Linear", "BatchNorm1d", "LeakyReLU", "Unflatten"],
        *["SameConvTranspose2d", *LRELU_BN, "SameConvTranspose2d", *LRELU_BN, "SameConvTranspose2d", "Tanh"],
    ]
    g.eval()
    assert shapes_through(g.net, torch.randn(2, 100)) == [
        *[(12544,)] * 3,
        *[(256, 7, 7)],
        *[(128, 7, 7)] * 3,  # the seed's asserts: (None, 7, 7, 128)
        *[(64, 14, 14)] * 3,  # (None, 14, 14, 64)
        *[(1, 28, 28)] * 2,  # (None, 28, 28, 1)
    ]
    assert all(m.bias is None for m in g.net if isinstance(m, (nn.Linear, nn.ConvTranspose2d)))  # use_bias=False
    assert [m.negative_slope for m in g.modules() if isinstance(m, nn.LeakyReLU)] == [0.3] * 3  # Keras' default
    # The seed's G: Dense 100 -> 12544 without bias = 1,254,400; BatchNorm of the Dense's 12,544 units (before
    # the reshape) = 2 x 12,544 = 25,088; Conv2DTranspose 256 -> 128, 5x5, no bias = 256*128*25 = 819,200;
    # BN 128 = 256; 128 -> 64 = 204,800; BN 64 = 128; 64 -> 1 = 1,600. Trainable: 2,305,472.
    assert trainable(g) == 1_254_400 + 25_088 + 819_200 + 256 + 204_800 + 128 + 1_600 == 2_305_472
    assert running_stats(g) == 2 * (12_544 + 128 + 64) == 25_472  # Keras' "non-trainable params"
    assert layer_kinds(d.features) == ["SameConv2d", "LeakyReLU", "SeededDropout"] * 2
    assert shapes_through(d.features, torch.randn(2, 1, 28, 28)) == [*[(64, 14, 14)] * 3, *[(128, 7, 7)] * 3]
    assert [m.p for m in d.modules() if isinstance(m, SeededDropout)] == [0.3, 0.3]
    # D: Conv2D 1 -> 64, 5x5 + bias = 25*64 + 64 = 1,664; 64 -> 128 = 64*128*25 + 128 = 204,928;
    # Dense 7*7*128 -> 1 = 6,272 + 1 = 6,273. Total 212,865.
    assert trainable(d) == 1_664 + 204_928 + 6_273 == 212_865
    assert d(torch.randn(2, 1, 28, 28)).shape == (2,)


def test_seed001_layers_shapes_and_parameters_match_the_dense_code():
    g, d = seed_pair("seed001", 28)
    dense_relu_bn = ["Linear", "ReLU", "BatchNorm1d"]
    assert layer_kinds(g.net) == [*dense_relu_bn * 3, "Linear", "Tanh"]
    g.eval()
    assert shapes_through(g.net, torch.randn(2, 100)) == [*[(256,)] * 3, *[(512,)] * 3, *[(1024,)] * 3, *[(784,)] * 2]
    assert g(torch.randn(2, 100)).shape == (2, 1, 28, 28)
    # G: Dense 100 -> 256 = 25,600 + 256 = 25,856; BN 256 = 512; 256 -> 512 = 131,072 + 512 = 131,584;
    # BN 512 = 1,024; 512 -> 1024 = 524,288 + 1,024 = 525,312; BN 1024 = 2,048; 1024 -> 28*28 = 802,816 + 784
    # = 803,600. Total 1,489,936.
    assert trainable(g) == 25_856 + 512 + 131_584 + 1_024 + 525_312 + 2_048 + 803_600 == 1_489_936
    assert layer_kinds(d.features) == ["Flatten", *["Linear", "ReLU", "SeededDropout"] * 2]
    assert [m.p for m in d.modules() if isinstance(m, SeededDropout)] == [0.3, 0.3]
    # D: Dense 784 -> 512 = 401,408 + 512 = 401,920; 512 -> 256 = 131,072 + 256 = 131,328; 256 -> 1 = 257.
    assert trainable(d) == 401_920 + 131_328 + 257 == 533_505
    # The seed's D reads (28, 28, 3): with channels 3 its first Dense is 2,352 -> 512 = 1,204,224 + 512.
    _, d3 = seed_pair("seed001", 28, channels=3)
    assert trainable(d3) == 1_204_736 + 131_328 + 257 == 1_336_321


@pytest.mark.parametrize("arch, last", [("seed004", "LeakyReLU"), ("seed004-tanh", "Tanh")])
def test_seed004_layers_shapes_and_parameters_match_the_64px_code(arch, last):
    g, d = seed_pair(arch, 64)
    assert layer_kinds(g.net) == [
        *["Linear", "BatchNorm1d", "LeakyReLU", "Unflatten"],
        *["SameConvTranspose2d", *LRELU_BN, "SameConvTranspose2d", *LRELU_BN, "SameConvTranspose2d", last],
    ]
    g.eval()
    assert shapes_through(g.net, torch.randn(2, 100)) == [
        *[(8192,)] * 3,
        *[(128, 8, 8)],
        *[(128, 16, 16)] * 3,
        *[(64, 32, 32)] * 3,
        *[(1, 64, 64)] * 2,
    ]
    assert {m.negative_slope for m in g.modules() if isinstance(m, nn.LeakyReLU)} == {0.2}
    # G: Dense 100 -> 8192 with Keras' default bias = 819,200 + 8,192 = 827,392; BN 8192 = 16,384;
    # Conv2DTranspose 128 -> 128, 4x4 + bias = 128*128*16 + 128 = 262,272; BN 128 = 256; 128 -> 64 = 131,072 + 64
    # = 131,136; BN 64 = 128; 64 -> 1 = 1,024 + 1 = 1,025. Total 1,238,593.
    assert trainable(g) == 827_392 + 16_384 + 262_272 + 256 + 131_136 + 128 + 1_025 == 1_238_593
    assert layer_kinds(d.features) == ["SameConv2d", "LeakyReLU"] * 2
    assert shapes_through(d.features, torch.randn(2, 1, 64, 64)) == [*[(128, 32, 32)] * 2, *[(128, 16, 16)] * 2]
    # D: Conv2D 1 -> 128, 4x4 + bias = 2,048 + 128 = 2,176; 128 -> 128 = 262,144 + 128 = 262,272;
    # Dense 16*16*128 -> 1 = 32,768 + 1 = 32,769. Total 297,217.
    assert trainable(d) == 2_176 + 262_272 + 32_769 == 297_217
    # the channels parameter: RGB images change only the first and last layers
    g3, d3 = seed_pair(arch, 64, channels=3)
    assert g3(torch.randn(2, 100)).shape == (2, 3, 64, 64)
    assert trainable(d3) - trainable(d) == 2 * 128 * 16  # two more input channels of a 4x4 conv to 128


def test_seed004_faithful_output_is_unbounded_and_tanh_is_not():
    g, _ = seed_pair("seed004", 64)
    g_tanh, _ = seed_pair("seed004-tanh", 64)
    with torch.no_grad():
        for module in (g, g_tanh):
            module.net[-2].bias.fill_(3.0)  # push every pixel far above the data's 1
    z = torch.randn(4, 100)
    assert g(z).max() > 1.5  # LeakyReLU passes it on, as in the seed
    assert g_tanh(z).abs().max() <= 1.0


def test_same_padding_is_tensorflows():
    assert same_padding(28, 5, 2) == (1, 2) and same_padding(14, 5, 2) == (1, 2)  # the odd pixel after
    assert same_padding(7, 5, 1) == (2, 2) and same_padding(64, 4, 2) == (1, 1)
    # An impulse at the top-left pixel reaches only the first output of a 5x5 stride-2 "same" conv in
    # TensorFlow (its window covers rows -1..3); PyTorch's padding=2 would reach the second row and column too.
    conv = SameConv2d(1, 1, 5, 2, bias=False)
    nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 28, 28)
    x[..., 0, 0] = 1.0
    out = conv(x)
    assert out.shape == (1, 1, 14, 14) and out.nonzero().tolist() == [[0, 0, 0, 0]]


@pytest.mark.parametrize("size, kernel, stride", [(7, 5, 2), (14, 5, 2), (7, 5, 1), (8, 4, 2)])
def test_same_transposed_conv_is_the_adjoint_of_the_same_conv(size, kernel, stride):
    """TensorFlow's Conv2DTranspose is the gradient of its Conv2D: <T(g), x> = <g, C(x)> with the same kernel."""
    torch.manual_seed(0)
    transposed = SameConvTranspose2d(3, 2, kernel, stride, bias=False)
    conv = SameConv2d(2, 3, kernel, stride, bias=False)
    conv.weight.data.copy_(transposed.weight.data)  # both (3, 2, k, k): C maps 2 -> 3 channels, T maps 3 -> 2
    g = torch.randn(1, 3, size, size, dtype=torch.float64)
    x = torch.randn(1, 2, size * stride, size * stride, dtype=torch.float64)
    conv, transposed = conv.double(), transposed.double()
    assert transposed(g).shape == x.shape
    assert torch.allclose((transposed(g) * x).sum(), (g * conv(x)).sum())


def test_keras_defaults_init_and_batch_norm():
    g, d = seed_pair("seed000", 28)
    dense = g.net[0]
    limit = math.sqrt(6 / (100 + 12544))  # Glorot uniform: sqrt(6 / (fan_in + fan_out))
    assert dense.weight.abs().max() <= limit and dense.weight.abs().max() > 0.99 * limit
    head = d.head
    assert torch.count_nonzero(head.bias) == 0  # Keras' zero bias
    assert head.weight.abs().max() <= math.sqrt(6 / (6272 + 1))
    norms = [m for m in g.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert {(m.eps, m.momentum) for m in norms} == {(1e-3, 0.01)}  # Keras' epsilon, momentum 0.99 as PyTorch's


def test_every_seed_arch_is_registered_with_a_help_text(capsys):
    for arch in ("seed000", "seed001", "seed004", "seed004-tanh"):
        assert ARCHS.info(arch)["title"] and ARCHS.info(arch)["help"]
    assert "tanh" in ARCHS.info("seed004")["help"] and "[-1, 1]" in ARCHS.info("seed004")["help"]
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("seed000 ", "seed004-tanh", *SEED_PRESETS))


@pytest.mark.parametrize(
    "values, field, words",
    [
        (dict(arch="seed000", image_size=64), "image_size", "seed000 builds 28 px images, as the seed does"),
        (dict(arch="seed004", image_size=28), "image_size", "set image_size 64"),
        (dict(arch="seed004-tanh", image_size=32), "image_size", "set image_size 64"),
        (dict(arch="seed001", dataset="ring8"), "arch", "ring8 is 2-D points: use arch mlp"),
        (dict(arch="seed000", dataset="grid25"), "arch", "grid25 is 2-D points"),
        (dict(arch="seed000", conditional=True), "conditional", "takes no class labels"),
        (dict(arch="seed001", clusters=10), "clusters", "takes no cluster labels"),
        (dict(arch="seed004", image_size=64, info_codes=10), "info_codes", "no InfoGAN code head"),
        (dict(arch="seed001", pac=2), "pac", "use pac 1"),
        (dict(arch="seed000", spectral_norm=True), "spectral_norm", "without spectral norm"),
        (dict(arch="seed001", d_dropout=0.5), "d_dropout", "the seed's own dropout of 0.3"),
        (dict(arch="seed004", image_size=64, d_dropout=0.2), "d_dropout", "no dropout, as the seed"),
    ],
)
def test_wrong_combinations_get_a_clear_message(values, field, words):
    cfg = make_config(**{"dataset": "mnist-bundled", **values})
    before = cfg.to_dict()
    errors = cfg.errors()
    assert words in errors[field]
    assert cfg.to_dict() == before  # validation changes nothing
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        cfg.validated()


def test_the_builders_refuse_what_the_seed_cannot_build():
    cfg = make_config(dataset="mnist-bundled", arch="seed000")
    with pytest.raises(ValueError, match="seed000 needs image data"):
        build_models(cfg, (2,), 0)
    with pytest.raises(ValueError, match="seed000 builds 28 px images"):
        build_models(cfg, (1, 32, 32), 0)
    with pytest.raises(ValueError, match="takes no class or cluster labels"):
        ARCHS.get("seed004")(cfg, (1, 64, 64), 10, 1.0)
    g, d = seed_pair("seed001", 28)
    with pytest.raises(ValueError, match="takes no class labels"):
        g(torch.randn(2, 100), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="no InfoGAN code head"):
        d(torch.randn(2, 1, 28, 28), with_code=True)


def test_presets_carry_the_seeds_settings():
    assert {p: (PRESETS[p]["batch_size"], PRESETS[p]["lr_g"], PRESETS[p]["betas"]) for p in SEED_PRESETS} == {
        "seed000-tf-dcgan": (256, 1e-4, (0.9, 0.999)),  # the TensorFlow tutorial seed 000 copies
        "seed001-dense-gan": (128, 2e-4, (0.5, 0.999)),  # Adam(lr=0.0002, beta_1=0.5), batch_size=128
        "seed004-dcgan64": (64, 2e-4, (0.5, 0.999)),  # Adam(0.0002, 0.5)
        "seed004-dcgan64-tanh": (64, 2e-4, (0.5, 0.999)),
    }
    for preset in SEED_PRESETS:
        cfg = make_config(preset).validated()
        assert (cfg.loss, cfg.z_dim, cfg.ema, cfg.lr_d, cfg.dataset) == ("nsgan", 100, False, cfg.lr_g, "mnist-bundled")


TINY = ["--batch-size", "4", "--device", "cpu", "--log-every", "1", "--num-samples", "4", "--eval-every", "0"]


@pytest.mark.parametrize("preset, size", [("seed000-tf-dcgan", 28), ("seed001-dense-gan", 28), ("seed004-dcgan64", 64)])
def test_a_few_steps_on_the_bundled_mnist_from_the_cli(tmp_path, capsys, preset, size):
    runs = str(tmp_path / "runs")
    assert main(["train", "--preset", preset, *TINY, "--steps", "2", "--name", "r", "--runs-dir", runs, "--quiet"]) == 0
    assert "finished at step 2/2" in capsys.readouterr().out
    folder = tmp_path / "runs" / "r"
    assert json.loads((folder / "config.json").read_text())["arch"] == PRESETS[preset]["arch"]
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(np.isfinite(r["loss_d"]) for r in rows)
    out = tmp_path / "s.npy"
    assert main(["sample", "--checkpoint", str(folder), "--n", "3", "--seed", "1", "--out", str(out)]) == 0
    assert np.load(out).shape == (3, 1, size, size)  # the run's file loads back and samples


@functools.cache
def bundled_digits(size: int):
    """The bundled MNIST at a size, loaded once: resizing 10,000 digits to 64 px is most of a tiny test's time."""
    return load_training_data(make_config(dataset="mnist-bundled", image_size=size, device="cpu"))


@pytest.mark.parametrize("preset", SEED_PRESETS)
def test_a_few_steps_from_make_config_move_both_networks(preset):
    cfg = make_config(preset, batch_size=4, steps=2, device="cpu", num_samples=4).validated()
    trainer = GANTrainer(cfg, bundled_digits(cfg.image_size), torch.device("cpu"))
    before = [torch.cat([p.detach().flatten().clone() for p in m.parameters()]) for m in (trainer.G, trainer.D)]
    stats = [trainer.train_step() for _ in range(2)]
    after = [torch.cat([p.detach().flatten() for p in m.parameters()]) for m in (trainer.G, trainer.D)]
    assert all(not torch.equal(a, b) for a, b in zip(before, after))
    assert all(torch.isfinite(s["loss_d"]) and torch.isfinite(s["loss_g"]) for s in stats)
    size = cfg.image_size
    assert trainer.fixed_samples().shape == (cfg.num_samples, 1, size, size)


def _weights(folder):
    ckpt = load_checkpoint(folder)
    return {k: torch.cat([t.flatten().float() for t in ckpt.state[k].values()]) for k in ("G", "D")}


@pytest.mark.parametrize("preset", ["seed000-tf-dcgan", "seed001-dense-gan"])
def test_resume_is_exact_with_the_seeds_dropout(registry, preset):
    make = lambda steps: make_config(
        preset, batch_size=4, steps=steps, device="cpu", checkpoint_every=100, eval_every=0, num_samples=4
    ).validated()
    # one after the other: two runs at once may split a reduction differently on a 2-core machine
    whole = registry.start(make(6), name="whole")
    assert whole.wait(120)
    half = registry.start(make(3), name="half")
    assert half.wait(120)
    assert registry.resume("half", steps=6).wait(120)
    a, b = _weights(registry.root / "whole"), _weights(registry.root / "half")
    for key in a:
        assert torch.equal(a[key], b[key]), key
    # the dropout masks did something: D in training mode is random, in eval mode not
    ckpt = load_checkpoint(registry.root / "whole")
    _, d = build_models(ckpt.config, (1, 28, 28), 0)
    d.load_state_dict(ckpt.state["D"])
    x = torch.randn(4, 1, 28, 28)
    gen = torch.Generator().manual_seed(0)
    for m in d.modules():
        if isinstance(m, SeededDropout):
            m.generator = gen
    assert not torch.equal(d.train()(x), d(x)) and torch.equal(d.eval()(x), d(x))


def test_the_train_page_offers_the_recipes_and_names_a_wrong_size():
    from pagetest import open_page, picker, texts

    at = open_page("pages/train.py")
    at.selectbox(key="preset").set_value("seed004-dcgan64").run()
    assert not at.exception and picker(at, "Architecture").value == "seed004"
    assert "seed 004's 64 px DCGAN as written" in texts(at) and not at.error
    [size] = [n for n in at.number_input if n.label == "Image size (pixels)"]
    size.set_value(28).run()
    assert "seed004 builds 64 px images, as the seed does: set image_size 64" in texts(at)
