"""Dataset registry: 2-D toy mixtures, torchvision image sets, image folders and the bundled MNIST."""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import socket
import struct
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganplay.registry import Registry

BUNDLED_MNIST = Path(__file__).parent / "assets" / "mnist10k"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
FOLDER_PREFIX = "folder:"
MAX_FOLDER_IMAGES = 200_000
DOWNLOAD_TIMEOUT_S = 20
DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                   "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DatasetError(ValueError):
    """A dataset that cannot be loaded; the message says which files and what to do."""


def _mix(*values: int) -> int:
    """A 63-bit seed from several integers (splitmix64 steps), so nearby inputs give unrelated streams."""
    x = 0x9E3779B97F4A7C15
    for v in values:
        x = (x ^ (v & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        x ^= x >> 31
    return x & 0x7FFFFFFFFFFFFFFF


def _generator(*values: int) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(_mix(*values))
    return gen


@dataclass
class DataSource:
    """Real data for training: `batch(draw, B)` is a pure function of (seed, draw), so resume is exact."""

    name: str
    title: str
    kind: str  # "toy" (2-D points) or "image"
    shape: tuple[int, ...]  # (2,) or (C, H, W)
    num_classes: int = 0
    class_names: tuple[str, ...] = ()
    note: str = ""  # where the data came from, shown beside the run
    scale: float = 1.0  # typical coordinate size (images: 1, pixels in [-1, 1]; grid25: 4)
    seed: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    # Self-conditioning: each label's share of the data, so fake labels follow the real ones; () is uniform.
    label_prior: tuple[float, ...] = ()

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        """n real examples on the CPU (float, like `batch`) and their labels, chosen by `seed`."""
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


# -- 2-D toys --------------------------------------------------------------------------------------


@dataclass
class ToyMixture(DataSource):
    """A Gaussian mixture in the plane: fresh samples every draw; the label is the mode's index."""

    modes: Tensor = field(default_factory=lambda: torch.zeros(1, 2))  # (K, 2)
    sigma: float = 0.01

    def _draw(self, n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
        labels = torch.randint(len(self.modes), (n,), generator=gen)
        points = self.modes[labels] + self.sigma * torch.randn(n, 2, generator=gen)  # (n, 2)
        return points, labels

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        points, labels = self._draw(batch_size, _generator(self.seed, draw))
        return points.to(self.device), labels.to(self.device)

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        return self._draw(n, _generator(self.seed, seed, 0x5EED))

    def __len__(self) -> int:
        return 0  # an endless stream


@dataclass
class ToyCurve(DataSource):
    """Points near a continuous curve (no discrete modes): `sampler(n, gen)` returns (n, 2)."""

    sampler: Callable[[int, torch.Generator], Tensor] | None = None

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        points = self.sampler(batch_size, _generator(self.seed, draw))
        return points.to(self.device), torch.zeros(batch_size, dtype=torch.long, device=self.device)

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        return self.sampler(n, _generator(self.seed, seed, 0x5EED)), torch.zeros(n, dtype=torch.long)

    def __len__(self) -> int:
        return 0


def ring_modes(k: int = 8, radius: float = 1.0) -> Tensor:
    angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k)
    return (radius * torch.stack([angles.cos(), angles.sin()], 1)).float()  # (k, 2)


def grid_modes(values: tuple[float, ...] = (-4, -2, 0, 2, 4)) -> Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    return torch.cartesian_prod(v, v)  # (25, 2)


def spiral_points(n: int, gen: torch.Generator) -> Tensor:
    """Two interleaved spiral arms of radius up to 1, with a little noise."""
    t = torch.rand(n, generator=gen).sqrt() * 3 * math.pi  # sqrt: even density along the arm
    arm = torch.randint(2, (n,), generator=gen) * math.pi
    r = t / (3 * math.pi)
    points = torch.stack([r * (t + arm).cos(), r * (t + arm).sin()], 1)
    return points + 0.02 * torch.randn(n, 2, generator=gen)


# name -> (modes, sigma); the PacGAN protocol needs both.
TOY_MODES: dict[str, Callable[[], tuple[Tensor, float]]] = {
    "ring8": lambda: (ring_modes(8), 0.01),
    "grid25": lambda: (grid_modes(), 0.05),
}


def toy_modes(name: str) -> tuple[Tensor, float]:
    """The mixture's means (K, 2) and sigma; ValueError for toys without discrete modes."""
    if name not in TOY_MODES:
        raise ValueError(f"{name!r} has no discrete modes")
    return TOY_MODES[name]()


# -- in-memory image sets --------------------------------------------------------------------------


@dataclass
class ImageTensorData(DataSource):
    """All images as one uint8 tensor (N, C, H, W), on the training device when it fits.

    Batches follow one random permutation per epoch, chosen by (seed, epoch): the i-th image drawn
    overall is perm[epoch][i % N] with i = draw * B + j, so any draw can be recomputed after a resume.
    """

    images: Tensor | None = None  # (N, C, H, W) uint8
    labels: Tensor | None = None  # (N,) int64
    _perms: dict[int, Tensor] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return self.images.shape[0]

    def _permutation(self, epoch: int) -> Tensor:
        if epoch not in self._perms:
            if len(self._perms) > 2:
                self._perms.pop(min(self._perms))
            self._perms[epoch] = torch.randperm(len(self), generator=_generator(self.seed, epoch)).to(self.images.device)
        return self._perms[epoch]

    def batch(self, draw: int, batch_size: int) -> tuple[Tensor, Tensor]:
        n = len(self)
        first = draw * batch_size
        epoch, offset = divmod(first, n)
        if offset + batch_size <= n:
            index = self._permutation(epoch)[offset:offset + batch_size]
        else:  # the batch spans an epoch boundary (or the set is smaller than a batch)
            parts, taken, i = [], 0, first
            while taken < batch_size:
                e, o = divmod(i, n)
                take = min(n - o, batch_size - taken)
                parts.append(self._permutation(e)[o:o + take])
                taken, i = taken + take, i + take
            index = torch.cat(parts)
        x = self.images[index].to(self.device, non_blocking=True)
        y = self.labels[index].to(self.device, non_blocking=True)
        return to_float(x), y

    def real_samples(self, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
        index = torch.randperm(len(self), generator=_generator(self.seed, seed, 0x5EED))[:n]
        if n > len(self):
            index = torch.randint(len(self), (n,), generator=_generator(self.seed, seed, 0x5EED))
        index = index.to(self.images.device)
        return to_float(self.images[index]).cpu(), self.labels[index].cpu()


# -- self-conditioning: k-means clusters stand in for labels ---------------------------------------------

KMEANS_ROUNDS = 3  # restarts; the one with the smallest within-cluster sum of squares wins
KMEANS_ITERATIONS = 40


def kmeans(points: Tensor, k: int, seed: int = 0) -> Tensor:
    """(N,) cluster indices of (N, F) float points: Lloyd's k-means, best of KMEANS_ROUNDS seeded restarts.

    Deterministic for a seed on the CPU, so a resumed run clusters its data exactly as before.
    """
    if not 2 <= k <= len(points):
        raise DatasetError(f"cannot make {k} clusters of {len(points)} images: use 2 to {len(points)}")
    best, best_cost = None, math.inf
    for restart in range(KMEANS_ROUNDS):
        centers = points[torch.randperm(len(points), generator=_generator(seed, restart, 0xC1))[:k]].clone()
        assign = torch.full((len(points),), -1)
        for _ in range(KMEANS_ITERATIONS):
            new = torch.cdist(points, centers).argmin(1)  # (N,)
            if torch.equal(new, assign):
                break
            assign = new
            sums = torch.zeros_like(centers).index_add_(0, assign, points)
            counts = torch.bincount(assign, minlength=k)
            filled = counts > 0  # an empty cluster keeps its old center
            centers[filled] = sums[filled] / counts[filled, None]
        cost = float((torch.cdist(points, centers).min(1).values ** 2).sum())
        if cost < best_cost:
            best, best_cost = assign, cost
    return best


def self_conditioned(data: DataSource, k: int) -> DataSource:
    """The same images labelled by k-means clusters of their pixels, with the clusters' shares as prior.

    Self-conditioned GAN (Liu et al., CVPR 2020): G and D are conditioned on clusters found without
    any labels, so G can switch between distinct kinds of image instead of blending them.
    """
    if not isinstance(data, ImageTensorData):
        raise DatasetError(f"clusters need a fixed set of images; {data.name} draws fresh 2-D points")
    labels = _clusters_of(data.images.cpu(), k, data.seed)
    shares = torch.bincount(labels, minlength=k).double() / len(labels)
    return replace(data, labels=labels.to(data.images.device), num_classes=k,
                   class_names=tuple(f"cluster {i}" for i in range(k)), label_prior=tuple(shares.tolist()),
                   _perms={})


_CLUSTERS: dict[tuple[str, int, int], Tensor] = {}  # (pixels' digest, k, seed) -> labels; small, newest last
_CLUSTERS_KEPT = 4
_CLUSTERS_LOCK = threading.Lock()


def _clusters_of(images: Tensor, k: int, seed: int) -> Tensor:
    """kmeans of these uint8 images, remembered for the process: k-means of 10k digits takes seconds, and
    every start or resume of a run, in the app or in tests, would otherwise redo the same sums. Keyed by
    the pixels themselves, so a folder whose images changed is clustered afresh."""
    key = (hashlib.blake2b(images.contiguous().numpy().tobytes(), digest_size=16).hexdigest(), k, seed)
    with _CLUSTERS_LOCK:
        if key in _CLUSTERS:
            return _CLUSTERS[key].clone()
    labels = kmeans(to_float(images).flatten(1), k, seed)  # deterministic: a race only computes it twice
    with _CLUSTERS_LOCK:
        _CLUSTERS[key] = labels
        while len(_CLUSTERS) > _CLUSTERS_KEPT:
            del _CLUSTERS[next(iter(_CLUSTERS))]
    return labels.clone()


def load_training_data(cfg: Any, device: torch.device | str = "cpu") -> DataSource:
    """What a run of `cfg` trains on: its dataset, labelled by clusters when cfg.clusters is set."""
    data = load_dataset(cfg.dataset, image_size=cfg.image_size, channels=cfg.channels,
                        data_dir=cfg.data_dir or None, seed=cfg.seed, device=device)
    return self_conditioned(data, cfg.clusters) if cfg.clusters else data


def prior_labels(prior: Sequence[float], n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> Tensor:
    """(n,) labels drawn from prior's shares by inverse CDF: row i is the same whatever n is."""
    return labels_from_cdf(label_cdf(prior, device), n, generator)


def label_cdf(prior: Sequence[float], device: torch.device | str = "cpu") -> Tensor:
    """(K,) float64 cumulative shares, made once by a trainer that draws labels at every step."""
    return torch.tensor(prior, dtype=torch.float64, device=device).cumsum(0)


def labels_from_cdf(cdf: Tensor, n: int, generator: torch.Generator) -> Tensor:
    u = torch.rand(n, generator=generator, device=cdf.device, dtype=torch.float64) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=len(cdf) - 1)


def to_float(images: Tensor) -> Tensor:
    """uint8 [0, 255] -> float32 [-1, 1], the generator's tanh range."""
    return images.float().div_(127.5).sub_(1.0)


def fit_images(images: Tensor, size: int, channels: int) -> Tensor:
    """Resize (N, C, H, W) uint8 to size x size (center crop to square first) and 1 or 3 channels."""
    n, c, h, w = images.shape
    if c != channels:
        if channels == 3:
            images = images.expand(n, 3, h, w) if c == 1 else images[:, :3]
        else:  # ITU-R 601 luma, as PIL's convert("L")
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            images = (images[:, :3].float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if h != w:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        images = images[:, :, top:top + side, left:left + side]
    if images.shape[-1] != size:
        out = []
        for chunk in images.split(2048):  # bounded memory for big sets
            resized = F.interpolate(chunk.float(), size=(size, size), mode="bilinear", antialias=True,
                                    align_corners=False)
            out.append(resized.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(out)
    return images.contiguous()


def _place(images: Tensor, device: torch.device) -> Tensor:
    """Put the image tensor on the training device when it takes under a quarter of the free memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        if images.numel() < free // 4:
            return images.to(device)
        return images.pin_memory()
    if device.type == "mps":
        return images.to(device)
    return images


# -- IDX files (MNIST, Fashion-MNIST) ------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzip): magic 0x0803 images (N, H, W) or 0x0801 labels (N,), all uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DatasetError(f"{path}: cannot read it ({err}); the file is truncated or not gzip") from None
    if len(raw) < 8:
        raise DatasetError(f"{path}: too short to be an IDX file ({len(raw)} bytes)")
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or ndim not in (1, 3):
        raise DatasetError(f"{path}: not an IDX file of uint8 images or labels (magic {raw[:4].hex()})")
    dims = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    expected = 4 + 4 * ndim + math.prod(dims)
    if len(raw) != expected:
        raise DatasetError(f"{path}: holds {len(raw)} bytes, its header promises {expected}; the file is truncated")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx_splits(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every split present in an MNIST-style raw folder (train, t10k), joined; the names of those found."""
    images, labels, found = [], [], []
    for split in ("train", "t10k"):
        img = _idx_file(folder, f"{split}-images-idx3-ubyte")
        lab = _idx_file(folder, f"{split}-labels-idx1-ubyte")
        if img is None or lab is None:
            continue
        x, y = read_idx(img), read_idx(lab)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DatasetError(f"{img} and {lab} do not match: {x.shape} images, {y.shape} labels")
        images.append(x)
        labels.append(y)
        found.append(f"{split} ({len(x):,})")
    if not images:
        return np.zeros((0, 28, 28), np.uint8), np.zeros(0, np.uint8), []
    return np.concatenate(images), np.concatenate(labels), found


def default_data_dir() -> Path:
    return Path(os.environ.get("GANPLAY_DATA") or "data")


def _download_torchvision(dataset_cls: Any, root: Path) -> None:
    """Fetch both splits with torchvision; a short socket timeout keeps offline machines from hanging."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        for train in (True, False):
            dataset_cls(str(root), train=train, download=True)
    finally:
        socket.setdefaulttimeout(previous)


# -- loaders ---------------------------------------------------------------------------------------

DATASETS: Registry[Callable[..., DataSource]] = Registry("dataset")
LoadArgs = dict[str, Any]  # image_size, channels, data_dir, seed, device, download


# Decorators apply bottom-up: ring8 is registered (and listed) first.
# grid25's 25 modes need a gentler rate, larger batches and more steps than ring8 (PacGAN protocol,
# 2,500 samples): 25/25 modes and 95.6% high quality here, against 20/25 and 76% with ring8's settings.
@DATASETS.register("grid25", title="Grid of 25 Gaussians (2-D)", kind="toy", labelled=True,
                   defaults=dict(mlp_hidden=128, batch_size=512, lr_g=1e-3, lr_d=1e-3, steps=20000))
@DATASETS.register("ring8", title="Ring of 8 Gaussians (2-D)", kind="toy", labelled=True)
def load_mixture(name: str, a: LoadArgs) -> DataSource:
    modes, sigma = toy_modes(name)
    return ToyMixture(name, DATASETS.info(name)["title"], "toy", (2,), len(modes),
                      tuple(f"mode {i}" for i in range(len(modes))), f"{len(modes)} modes, sigma {sigma}",
                      float(modes.abs().max()), a["seed"], a["device"], modes=modes, sigma=sigma)


@DATASETS.register("spiral", title="Two-arm spiral (2-D)", kind="toy", labelled=False)
def load_spiral(name: str, a: LoadArgs) -> DataSource:
    return ToyCurve(name, DATASETS.info(name)["title"], "toy", (2,), 0, (), "a continuous curve, no discrete modes",
                    1.0, a["seed"], a["device"], sampler=spiral_points)


def _image_source(name: str, title: str, images: np.ndarray | Tensor, labels: np.ndarray | Tensor,
                  class_names: tuple[str, ...], note: str, a: LoadArgs) -> ImageTensorData:
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, Tensor) else images
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    channels = a["channels"] or x.shape[1]
    x = _place(fit_images(x, a["image_size"], channels), a["device"])
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long).to(x.device)
    return ImageTensorData(name, title, "image", tuple(x.shape[1:]), len(class_names), class_names, note,
                           1.0, a["seed"], a["device"], images=x, labels=y)


@DATASETS.register("mnist-bundled", title="MNIST (10k, bundled)", kind="image", native_size=28,
                   native_channels=1, labelled=True)
def load_bundled_mnist(name: str, a: LoadArgs) -> DataSource:
    images, labels, _ = read_idx_splits(BUNDLED_MNIST)
    if not len(images):
        raise DatasetError(f"the bundled MNIST files are missing from {BUNDLED_MNIST}; reinstall ganplay")
    note = f"the real MNIST test split, {len(images):,} digits, shipped with ganplay (offline)"
    return _image_source(name, DATASETS.info(name)["title"], images, labels, DIGITS, note, a)


def _load_idx_dataset(name: str, a: LoadArgs, folder_name: str, tv_name: str, classes: tuple[str, ...]) -> DataSource:
    import torchvision.datasets as tvd

    root = Path(a["data_dir"])
    raw = root / folder_name / "raw"
    images, labels, found = read_idx_splits(raw)
    download_error = ""
    if not found and a["download"]:
        try:
            _download_torchvision(getattr(tvd, tv_name), root)
        except Exception as err:  # noqa: BLE001 (any network or archive failure means: not available)
            download_error = f"{type(err).__name__}: {err}"
        images, labels, found = read_idx_splits(raw)
    title = DATASETS.info(name)["title"]
    if found:
        return _image_source(name, title, images, labels, classes, f"{', '.join(found)} from {raw}", a)
    if name == "mnist":
        bundled = load_bundled_mnist("mnist-bundled", a)
        bundled.name, bundled.title = name, "MNIST (10k, bundled: full MNIST not available)"
        bundled.note = (f"no MNIST files in {raw} and the download failed ({download_error or 'disabled'}); "
                        f"training on the bundled 10k test split instead")
        return bundled
    raise DatasetError(f"{title} is not in {raw} and could not be downloaded ({download_error or 'download off'}); "
                       f"put train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (or the t10k files) there")


@DATASETS.register("mnist", title="MNIST (70k; downloads, else bundled 10k)", kind="image", native_size=28,
                   native_channels=1, labelled=True)
def load_mnist(name: str, a: LoadArgs) -> DataSource:
    return _load_idx_dataset(name, a, "MNIST", "MNIST", DIGITS)


@DATASETS.register("fashion-mnist", title="Fashion-MNIST", kind="image", native_size=28, native_channels=1,
                   labelled=True)
def load_fashion_mnist(name: str, a: LoadArgs) -> DataSource:
    return _load_idx_dataset(name, a, "FashionMNIST", "FashionMNIST", FASHION_CLASSES)


@DATASETS.register("cifar10", title="CIFAR-10", kind="image", native_size=32, native_channels=3, labelled=True)
def load_cifar10(name: str, a: LoadArgs) -> DataSource:
    import torchvision.datasets as tvd

    root = Path(a["data_dir"])
    parts, errors = [], []
    for train in (True, False):
        try:
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
            try:
                parts.append(tvd.CIFAR10(str(root), train=train, download=a["download"]))
            finally:
                socket.setdefaulttimeout(previous)
        except Exception as err:  # noqa: BLE001 (missing files or no network: use the split that is there)
            errors.append(f"{type(err).__name__}: {err}")
    if not parts:
        raise DatasetError(f"CIFAR-10 is not in {root / 'cifar-10-batches-py'} and could not be downloaded "
                           f"({errors[0]}); run once with internet or put the extracted python version there")
    images = np.concatenate([p.data for p in parts]).transpose(0, 3, 1, 2)  # (N, 3, 32, 32)
    labels = np.concatenate([np.asarray(p.targets) for p in parts])
    note = f"{len(images):,} images from {root / 'cifar-10-batches-py'}"
    return _image_source(name, DATASETS.info(name)["title"], images, labels, CIFAR10_CLASSES, note, a)


# -- image folders ---------------------------------------------------------------------------------


def scan_folder(path: Path) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Image files, flat or one subfolder per class; (files, labels, class names), classes sorted by name."""
    if not path.is_dir():
        raise DatasetError(f"image folder {path} does not exist or is not a folder")
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    is_image = lambda p: p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")  # noqa: E731
    flat = sorted(p for p in path.iterdir() if is_image(p))
    if subdirs and not flat:
        files, labels, names = [], [], []
        for subdir in subdirs:
            found = sorted(p for p in subdir.rglob("*") if is_image(p))
            if found:
                labels += [len(names)] * len(found)
                names.append(subdir.name)
                files += found
        if len(names) < 2:  # one class is no labelling at all
            labels, names = [0] * len(files), []
        return files, labels, tuple(names)
    files = sorted(p for p in path.rglob("*") if is_image(p))
    return files, [0] * len(files), ()


def read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image, center-cropped and resized to (channels, size, size) uint8."""
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img = ImageOps.exif_transpose(img)
        img = img.convert("L" if channels == 1 else "RGB")
        img = ImageOps.fit(img, (size, size), Image.Resampling.LANCZOS)
        array = np.asarray(img, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def load_folder(path: Path, a: LoadArgs) -> DataSource:
    files, labels, classes = scan_folder(path)
    if not files:
        raise DatasetError(f"image folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}), "
                           f"neither at its top level nor in subfolders")
    if len(files) > MAX_FOLDER_IMAGES:
        raise DatasetError(f"image folder {path} holds {len(files):,} images; at most {MAX_FOLDER_IMAGES:,} fit "
                           f"in memory here")
    channels, why = (a["channels"], "as asked") if a["channels"] else _folder_channels(files)
    images, kept, skipped = [], [], []
    for file, label in zip(files, labels):
        try:
            images.append(read_image(file, a["image_size"], channels))
            kept.append(label)
        except Exception as err:  # noqa: BLE001 (PIL raises many types for a broken file)
            skipped.append(f"{file.name} ({type(err).__name__})")
    if not images:
        raise DatasetError(f"image folder {path}: none of its {len(files)} image files could be read "
                           f"(first: {skipped[0]})")
    note = (f"{len(images):,} images from {path}" + (f", {len(classes)} classes" if classes else "")
            + f"; {'colour' if channels == 3 else 'grey'} ({why})")
    if skipped:
        note += f"; skipped {len(skipped)} unreadable: {', '.join(skipped[:3])}{' ...' if len(skipped) > 3 else ''}"
    a = {**a, "channels": channels}
    return _image_source(f"{FOLDER_PREFIX}{path}", f"Images in {path.name or path}", np.stack(images),
                         np.asarray(kept), classes, note, a)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _folder_channels(files: list[Path]) -> tuple[int, str]:
    """(channels, why) from every file's header: colour if any image has colour, so nothing is lost.

    The alphabetically first file decided it once: one grey a_gray.png turned a colour folder grey.
    """
    from PIL import Image

    grey = colour = 0
    for file in files:
        try:
            with Image.open(file) as img:  # reads the header only
                grey, colour = (grey + 1, colour) if img.mode in GREY_MODES else (grey, colour + 1)
        except Exception:  # noqa: BLE001 (an unreadable file is skipped, and reported, while loading)
            continue
    if colour:
        return 3, f"{colour:,} of {grey + colour:,} images have colour"
    return 1, f"all {grey:,} images are grey"


# -- the public entry points -----------------------------------------------------------------------


def dataset_names() -> list[str]:
    return DATASETS.names()


def folder_path(raw: str) -> Path:
    """A folder dataset's path with ~ expanded; ~nosuchuser is a clear error, not Python's RuntimeError."""
    try:
        return Path(raw.strip()).expanduser()
    except RuntimeError:
        user = raw.strip().split("/", 1)[0]
        raise ValueError(f"folder:{raw}: cannot expand {user}: there is no such user on this machine") from None


def dataset_info(name: str) -> dict[str, Any]:
    """title, kind (toy|image), native_size, native_channels, labelled, defaults: cheap, loads no data."""
    if name.startswith(FOLDER_PREFIX):
        path = folder_path(name[len(FOLDER_PREFIX):])
        if not name[len(FOLDER_PREFIX):].strip():
            raise ValueError("folder: needs a path, as in folder:/home/me/faces")
        if not path.is_dir():
            raise ValueError(f"image folder {path} does not exist or is not a folder")
        labelled = any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())
        return {"title": f"Images in {path.name}", "kind": "image", "native_size": None, "native_channels": None,
                "labelled": labelled}
    info = DATASETS.info(name)
    return {"title": info["title"], "kind": info["kind"], "native_size": info.get("native_size"),
            "native_channels": info.get("native_channels"), "labelled": info["labelled"],
            "defaults": dict(info.get("defaults", {}))}


def load_dataset(name: str, *, image_size: int = 28, channels: int = 0, data_dir: str | Path | None = None,
                 seed: int = 0, device: torch.device | str = "cpu", download: bool = True) -> DataSource:
    """The DataSource for a registered name or folder:PATH; DatasetError says what is missing."""
    args: LoadArgs = dict(image_size=image_size, channels=channels, seed=seed, device=torch.device(device),
                          data_dir=Path(data_dir) if data_dir else default_data_dir(), download=download)
    if name.startswith(FOLDER_PREFIX):
        raw = name[len(FOLDER_PREFIX):].strip()
        if not raw:
            raise DatasetError("folder: needs a path, as in folder:/home/me/faces")
        try:
            return load_folder(folder_path(raw), args)
        except ValueError as err:
            raise DatasetError(str(err)) from None
    return DATASETS.get(name)(name, args)
