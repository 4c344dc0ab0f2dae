"""Dataset registry: 2-D toy mixtures, torchvision image sets, image folders, the user's own 2-D points
(points:FILE.csv, read by point_files.py) and the bundled MNIST; the data sources themselves are in sources.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganplay.catalog import DATASETS
from ganplay.folders import FOLDER_PREFIX, folder_of, has_class_folders, read_folder
from ganplay.image_files import DatasetError, default_data_dir, fit_images, read_cifar10, read_idx_set, read_idx_splits
from ganplay.point_files import POINTS_PREFIX, points_file_of, read_points
from ganplay.sources import (
    DataSource,
    ImageTensorData,
    PointCloud,
    ToyCurve,
    ToyMixture,
    place_images,
    spiral_points,
    toy_modes,
)

BUNDLED_MNIST = Path(__file__).parent / "assets" / "mnist10k"
DIGITS = tuple(str(d) for d in range(10))
FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


# -- loaders ---------------------------------------------------------------------------------------

LoadArgs = dict[str, Any]  # image_size, channels, data_dir, seed, device, download


@DATASETS.register("grid25")
@DATASETS.register("ring8")
def load_mixture(name: str, a: LoadArgs) -> DataSource:
    modes, sigma = toy_modes(name)
    return ToyMixture(
        name,
        DATASETS.info(name)["title"],
        "toy",
        (2,),
        len(modes),
        tuple(f"mode {i}" for i in range(len(modes))),
        f"{len(modes)} modes, sigma {sigma}",
        float(modes.abs().max()),
        a["seed"],
        a["device"],
        modes=modes,
        sigma=sigma,
    )


@DATASETS.register("spiral")
def load_spiral(name: str, a: LoadArgs) -> DataSource:
    return ToyCurve(
        name,
        DATASETS.info(name)["title"],
        "toy",
        (2,),
        0,
        (),
        "a continuous curve, no discrete modes",
        1.0,
        a["seed"],
        a["device"],
        sampler=spiral_points,
    )


def _image_source(
    name: str,
    title: str,
    images: np.ndarray | Tensor,
    labels: np.ndarray | Tensor,
    class_names: tuple[str, ...],
    note: str,
    a: LoadArgs,
) -> ImageTensorData:
    x = torch.as_tensor(np.asarray(images)) if not isinstance(images, Tensor) else images
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    channels = a["channels"] or x.shape[1]
    x = place_images(fit_images(x, a["image_size"], channels), a["device"])
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long).to(x.device)
    return ImageTensorData(
        name,
        title,
        "image",
        tuple(x.shape[1:]),
        len(class_names),
        class_names,
        note,
        1.0,
        a["seed"],
        a["device"],
        images=x,
        labels=y,
    )


# family: sets of the same images share evaluators and notes; offline: the member that never downloads.
@DATASETS.register("mnist-bundled")
def load_bundled_mnist(name: str, a: LoadArgs) -> DataSource:
    images, labels, _ = read_idx_splits(BUNDLED_MNIST)
    if not len(images):
        raise DatasetError(f"the bundled MNIST files are missing from {BUNDLED_MNIST}; reinstall ganplay")
    note = f"the real MNIST test split, {len(images):,} digits, shipped with ganplay (offline)"
    return _image_source(name, DATASETS.info(name)["title"], images, labels, DIGITS, note, a)


def _load_idx_dataset(name: str, a: LoadArgs, folder_name: str, tv_name: str, classes: tuple[str, ...]) -> DataSource:
    raw = Path(a["data_dir"]) / folder_name / "raw"
    images, labels, found, download_error = read_idx_set(Path(a["data_dir"]), folder_name, tv_name, a["download"])
    title = DATASETS.info(name)["title"]
    if found:
        return _image_source(name, title, images, labels, classes, f"{', '.join(found)} from {raw}", a)
    offline = DATASETS.info(name).get("offline")
    if offline:
        return _offline_instead(name, offline, folder_name, raw, download_error, a)
    raise DatasetError(
        f"{title} is not in {raw} and could not be downloaded ({download_error or 'download off'}); "
        f"put train-images-idx3-ubyte.gz and train-labels-idx1-ubyte.gz (or the t10k files) there"
    )


def _offline_instead(
    name: str, offline: str, folder_name: str, raw: Path, download_error: str, a: LoadArgs
) -> DataSource:
    """The offline member of name's family, under name, saying why: a first run without internet still trains."""
    data = DATASETS.get(offline)(offline, a)
    data.name = name
    data.title = f"{data.title.removesuffix(')')}: full {folder_name} not available)"
    data.note = (
        f"no {folder_name} files in {raw} and the download failed ({download_error or 'disabled'}); "
        f"training on the bundled 10k test split instead"
    )
    return data


@DATASETS.register("mnist")
def load_mnist(name: str, a: LoadArgs) -> DataSource:
    return _load_idx_dataset(name, a, "MNIST", "MNIST", DIGITS)


@DATASETS.register("fashion-mnist")
def load_fashion_mnist(name: str, a: LoadArgs) -> DataSource:
    return _load_idx_dataset(name, a, "FashionMNIST", "FashionMNIST", FASHION_CLASSES)


@DATASETS.register("cifar10")
def load_cifar10(name: str, a: LoadArgs) -> DataSource:
    root = Path(a["data_dir"])
    images, labels = read_cifar10(root, a["download"])
    note = f"{len(images):,} images from {root / 'cifar-10-batches-py'}"
    return _image_source(name, DATASETS.info(name)["title"], images, labels, CIFAR10_CLASSES, note, a)


def load_folder(path: Path, a: LoadArgs) -> DataSource:
    found = read_folder(path, a["image_size"], a["channels"])
    return _image_source(
        f"{FOLDER_PREFIX}{path}",
        f"Images in {path.name or path}",
        found.images,
        found.labels,
        found.class_names,
        found.note,
        a,
    )


def load_points(path: Path, a: LoadArgs) -> DataSource:
    """A points file as a 2-D toy: its points moved and scaled into [-1, 1] (shape kept), its labels as classes."""
    table = read_points(path)
    centre, half = table.placement()
    counts = np.bincount(table.labels, minlength=len(table.class_names)) if table.class_names else None
    note = (
        f"{table.summary()} from {path} (sha256 {table.fingerprint[:12]}), moved and scaled into [-1, 1]: "
        f"x' = (x - {centre[0]:.6g}) / {half:.6g}, y' = (y - {centre[1]:.6g}) / {half:.6g}"
    )
    return PointCloud(
        f"{POINTS_PREFIX}{path}",
        points_title(path),
        "toy",
        (2,),
        len(table.class_names),
        table.class_names,
        note,
        1.0,
        a["seed"],
        a["device"],
        # fake labels follow the real ones' shares, as real labels are drawn with their points
        label_prior=tuple((counts / counts.sum()).tolist()) if counts is not None else (),
        points=torch.from_numpy(table.normalised()),
        labels=torch.from_numpy(table.labels),
        table=table,
    )


def points_title(path: Path) -> str:
    return f"Points in {path.name}"


# -- the public entry points -----------------------------------------------------------------------


def dataset_family(name: str) -> str:
    """The name shared by sets of the same images ("mnist" for mnist and mnist-bundled); else the name itself."""
    return DATASETS.info(name).get("family", name) if name in DATASETS else name


def offline_dataset(name: str) -> str:
    """The registered set with the same images that never downloads (mnist -> mnist-bundled); else the name."""
    return DATASETS.info(name).get("offline", name) if name in DATASETS else name


def dataset_info(name: str) -> dict[str, Any]:
    """title, kind (toy|image), native_size, native_channels, labelled, defaults: cheap, loads no data (a points
    file is read, once per version of it, to say whether it is valid and labelled)."""
    if name.startswith(FOLDER_PREFIX):
        path = folder_of(name)
        return {
            "title": f"Images in {path.name}",
            "kind": "image",
            "native_size": None,
            "native_channels": None,
            "labelled": has_class_folders(path),
        }
    if name.startswith(POINTS_PREFIX):  # reads the file (once per version of it): a bad file is refused here
        path = points_file_of(name)
        return {
            "title": points_title(path),
            "kind": "toy",
            "native_size": None,
            "native_channels": None,
            "labelled": bool(read_points(path).class_names),
        }
    info = DATASETS.info(name)
    return {
        "title": info["title"],
        "kind": info["kind"],
        "native_size": info.get("native_size"),
        "native_channels": info.get("native_channels"),
        "labelled": info["labelled"],
        "defaults": dict(info.get("defaults", {})),
    }


def load_dataset(
    name: str,
    *,
    image_size: int = 28,
    channels: int = 0,
    data_dir: str | Path | None = None,
    seed: int = 0,
    device: torch.device | str = "cpu",
    download: bool = True,
) -> DataSource:
    """The DataSource for a registered name, folder:PATH or points:FILE.csv; DatasetError says what is missing."""
    args: LoadArgs = {
        "image_size": image_size,
        "channels": channels,
        "seed": seed,
        "device": torch.device(device),
        "data_dir": Path(data_dir) if data_dir else default_data_dir(),
        "download": download,
    }
    if name.startswith(FOLDER_PREFIX):
        return load_folder(folder_of(name), args)
    if name.startswith(POINTS_PREFIX):
        return load_points(points_file_of(name), args)
    return DATASETS.get(name)(name, args)


def load_training_data(cfg: Any, device: torch.device | str = "cpu") -> DataSource:
    """What a run of `cfg` trains on: its dataset, labelled by clusters when cfg.clusters is set."""
    from ganplay.clusters import self_conditioned  # clusters builds on ImageTensorData, so it imports this module

    data = load_dataset(
        cfg.dataset,
        image_size=cfg.image_size,
        channels=cfg.channels,
        data_dir=cfg.data_dir or None,
        seed=cfg.seed,
        device=device,
    )
    return self_conditioned(data, cfg.clusters) if cfg.clusters else data
