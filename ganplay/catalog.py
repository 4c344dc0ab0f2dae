"""What ganplay offers by name: every dataset, architecture and loss, with the facts menus, `list` and the
config's checks read. Only names and plain data live here, no torch, so `python -m ganplay list` answers at once;
each entry names the module whose decorator registers its builder, imported when the builder is first asked for.

Adding one: declare it here, and register its builder with `@REGISTRY.register(name)` in that module.
"""

from __future__ import annotations

from typing import Any

from ganplay.registry import Registry

DATASETS: Registry[Any] = Registry("dataset")  # name -> loader(name, load args) -> DataSource (data.py)
ARCHS: Registry[Any] = Registry("architecture")  # name -> builder(cfg, shape, classes, scale) -> (G, D)
LOSSES: Registry[Any] = Registry("loss")  # name -> GANLoss (losses.py)

DATASETS.declare("ring8", "ganplay.data", title="Ring of 8 Gaussians (2-D)", kind="toy", labelled=True)
# grid25's 25 modes need a gentler rate, larger batches and more steps than ring8 (PacGAN protocol,
# 2,500 samples): 25/25 modes and 95.6% high quality here, against 20/25 and 76% with ring8's settings.
DATASETS.declare(
    "grid25",
    "ganplay.data",
    title="Grid of 25 Gaussians (2-D)",
    kind="toy",
    labelled=True,
    defaults={"mlp_hidden": 128, "batch_size": 512, "lr_g": 0.001, "lr_d": 0.001, "steps": 20000},
)
DATASETS.declare("spiral", "ganplay.data", title="Two-arm spiral (2-D)", kind="toy", labelled=False)
DATASETS.declare(
    "mnist-bundled",
    "ganplay.data",
    title="MNIST (10k, bundled)",
    kind="image",
    native_size=28,
    native_channels=1,
    labelled=True,
    family="mnist",
)
DATASETS.declare(
    "mnist",
    "ganplay.data",
    title="MNIST (70k; downloads, else bundled 10k)",
    kind="image",
    native_size=28,
    native_channels=1,
    labelled=True,
    family="mnist",
    offline="mnist-bundled",
)
DATASETS.declare(
    "fashion-mnist",
    "ganplay.data",
    title="Fashion-MNIST",
    kind="image",
    native_size=28,
    native_channels=1,
    labelled=True,
)
DATASETS.declare(
    "cifar10", "ganplay.data", title="CIFAR-10", kind="image", native_size=32, native_channels=3, labelled=True
)

ARCHS.declare("mlp", "ganplay.models", title="MLP (fully connected)")
ARCHS.declare("dcgan", "ganplay.models", title="DCGAN (strided convolutions)")
ARCHS.declare(
    "seed000",
    "ganplay.seed_models",
    title="Seed 000: TensorFlow DCGAN, 28 px (5x5 convs, LeakyReLU 0.3, dropout 0.3)",
    help=(
        "seed 000's networks layer for layer: G Dense 7x7x256 (no bias), BN, LeakyReLU; transposed 5x5 convs "
        "to 128 (stride 1), 64 and the image (stride 2), no biases, tanh. D: 5x5 stride-2 convs to 64 and "
        "128, each with LeakyReLU and dropout 0.3, then Dense 1. 28 px images only; ngf, ndf and d_norm do "
        "not apply."
    ),
    sizes=(28,),
)
ARCHS.declare(
    "seed001",
    "ganplay.seed_models",
    title="Seed 001: dense GAN (G Dense 256-512-1024 with BN, D Dense 512-256 with dropout 0.3)",
    help=(
        "seed 001's dense networks: G Dense 256, 512 and 1024, each ReLU then BN, then Dense to the image and"
        " tanh; D Flatten, Dense 512 and 256, each ReLU then dropout 0.3, then Dense 1. Any image size; ngf, "
        "ndf and d_norm do not apply."
    ),
    sizes=None,
)
ARCHS.declare(
    "seed004",
    "ganplay.seed_models",
    title="Seed 004: DCGAN 64 px, LeakyReLU 0.2 throughout, G ends in LeakyReLU (as the seed)",
    help=(
        "seed 004's networks: G Dense 8x8x128, BN, LeakyReLU 0.2; three 4x4 stride-2 transposed convs (128, "
        "64, the image's channels), BN and LeakyReLU 0.2 after the first two; D two 4x4 stride-2 convs of 128"
        " with LeakyReLU 0.2, then Dense 1. 64 px images only; ngf, ndf and d_norm do not apply. As in the "
        "seed, G's last layer is a LeakyReLU, so its pixels are unbounded while the data lies in [-1, 1]; the"
        " usual choice is tanh (arch seed004-tanh), which maps exactly onto that range."
    ),
    sizes=(64,),
)
ARCHS.declare(
    "seed004-tanh",
    "ganplay.seed_models",
    title="Seed 004 with the usual tanh output: DCGAN 64 px, LeakyReLU 0.2 throughout",
    help=(
        "seed 004's networks: G Dense 8x8x128, BN, LeakyReLU 0.2; three 4x4 stride-2 transposed convs (128, "
        "64, the image's channels), BN and LeakyReLU 0.2 after the first two; D two 4x4 stride-2 convs of 128"
        " with LeakyReLU 0.2, then Dense 1. 64 px images only; ngf, ndf and d_norm do not apply. G ends in "
        "tanh instead of the seed's LeakyReLU: the usual choice, since tanh maps onto [-1, 1], where the data"
        " lies, and cannot make pixels darker or brighter than any real one."
    ),
    sizes=(64,),
)

LOSSES.declare("nsgan", "ganplay.losses", title="Non-saturating GAN (BCE, -log D(G(z)))")
LOSSES.declare("minimax", "ganplay.losses", title="Minimax GAN (saturating log(1 - D(G(z))))")
LOSSES.declare("lsgan", "ganplay.losses", title="Least squares GAN (a=0, b=c=1)")
LOSSES.declare("hinge", "ganplay.losses", title="Hinge loss")
LOSSES.declare("wgan-gp", "ganplay.losses", title="Wasserstein GAN with gradient penalty")
LOSSES.declare("wgan-clip", "ganplay.losses", title="Wasserstein GAN with weight clipping")
