"""Offline evaluators: a small classifier per labelled dataset, trained by ganplay itself.

Standard FID needs Inception weights that cannot be downloaded offline. A classifier trained here on
the same data gives class predictions (coverage, confidence, mode collapse) and penultimate features
that stand in for Inception's in Frechet distance, KID and precision/recall, always named as such.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganplay import __version__
from ganplay.building import seeded_global_rng
from ganplay.checkpoints import CheckpointError
from ganplay.data import dataset_info, load_dataset
from ganplay.errors import UsageError
from ganplay.safe_files import atomic_write_bytes
from ganplay.seeding import seeded_generator
from ganplay.sources import to_float

EVALUATOR_FORMAT = "ganplay-evaluator"
FEATURES = 128  # size of the feature vector used by the distances


class ClassifierNet(nn.Module):
    """(B, C, S, S) in [-1, 1] -> logits (B, K); `features` gives the (B, 128) penultimate activations."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.body = nn.Sequential(
            *block(channels, 32),
            *block(32, 32),
            nn.MaxPool2d(2),  # (B, 32, S/2, S/2)
            *block(32, 64),
            *block(64, 64),
            nn.MaxPool2d(2),  # (B, 64, S/4, S/4)
            nn.AdaptiveAvgPool2d(7),
            nn.Flatten(),  # (B, 64*7*7)
            nn.Linear(64 * 49, FEATURES),
            nn.ReLU(inplace=True),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(FEATURES, num_classes))

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


@dataclass
class Evaluator:
    """A trained classifier with what it was trained on; `predict` works in chunks, on any device."""

    net: ClassifierNet
    dataset: str
    image_size: int
    channels: int
    class_names: tuple[str, ...]
    holdout_accuracy: float
    command: str = ""
    holdout: int = 0  # images held out of its training, by holdout_split(N, holdout, seed); 0: DEFAULT_HOLDOUT
    seed: int = 0
    data_dir: str = ""  # where its dataset was read ("" : the default place)

    @property
    def label(self) -> str:
        """Its name in metric keys: "mnist-bundled-classifier", or for a folder "cats folder-classifier"."""
        return f"{dataset_label(self.dataset)}-classifier"

    @torch.no_grad()
    def predict(self, images: Tensor, batch: int = 500) -> tuple[Tensor, Tensor]:
        """(probabilities (N, K), features (N, 128)) for images (N, C, S, S) in [-1, 1]."""
        self.net.eval()
        device = next(self.net.parameters()).device
        probs, feats = [], []
        for start in range(0, len(images), batch):
            x = self._fit(images[start : start + batch].to(device).float())
            f = self.net.features(x)
            probs.append(F.softmax(self.net.head(f), dim=1).cpu())
            feats.append(f.cpu())
        return torch.cat(probs), torch.cat(feats)

    def _fit(self, x: Tensor) -> Tensor:
        if x.shape[1] != self.channels:
            x = x.mean(1, keepdim=True) if self.channels == 1 else x.expand(-1, 3, -1, -1)
        if x.shape[-1] != self.image_size:
            x = F.interpolate(x, size=(self.image_size, self.image_size), mode="bilinear", align_corners=False)
        return x


def holdout_split(n: int, holdout: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """(train indices, held-out indices): a fixed permutation, so the held-out images are never trained on."""
    if not 0 < holdout < n:
        raise UsageError(f"holdout must be between 1 and {n - 1}, got {holdout}")
    perm = torch.randperm(n, generator=seeded_generator(seed, 0xE7A1))
    return perm[holdout:], perm[:holdout]


DEFAULT_HOLDOUT = 2000  # held-out images of train_evaluator: the shipped evaluator's split, which CAS tests on


def train_evaluator(
    dataset: str = "mnist-bundled",
    holdout: int | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Callable[[str], None] | None = None,
    limit: int | None = None,
    image_size: int | None = None,
    channels: int = 0,
    data_dir: str | Path | None = None,
    download: bool = False,
) -> Evaluator:
    """Train on all but `holdout` images (with +-2 px shifts), report accuracy on the held-out ones.

    Any labelled image set: a registered one (at its native size unless image_size says otherwise) or a folder
    with one subfolder per class (at FOLDER_SIZE unless told; a GAN's images are scored at their own size, so
    give the size it trains at). holdout None: DEFAULT_HOLDOUT, or a fifth of a smaller set. epochs and
    batch_size None: the shipped recipe (8 epochs of 128), with smaller batches and more epochs for a small set,
    so that it still gets MIN_UPDATES updates. limit caps the training images (tests); the held-out set stays.
    """
    data = _labelled_images(dataset, image_size, channels, seed, data_dir, download)
    images, labels = data.images, data.labels
    holdout = default_holdout(len(images)) if holdout is None else holdout
    train_idx, held_idx = holdout_split(len(images), holdout, seed)
    train_idx = train_idx[:limit] if limit else train_idx
    batch_size = batch_size or min(DEFAULT_BATCH, max(8, len(train_idx) // 8))
    epochs = epochs or max(DEFAULT_EPOCHS, math.ceil(MIN_UPDATES / math.ceil(len(train_idx) / batch_size)))
    start = time.perf_counter()
    scores: list[float] = []

    def score(epoch: int, net: ClassifierNet) -> None:
        evaluator = Evaluator(net, dataset, images.shape[-1], images.shape[1], data.class_names, 0.0)
        scores.append(held_out_accuracy(evaluator, images[held_idx], labels[held_idx]))
        if progress:
            progress(
                f"epoch {epoch + 1}/{epochs}: held-out accuracy {scores[-1]:.2%} ({time.perf_counter() - start:.0f} s)"
            )

    net = fit_classifier(
        images[train_idx], labels[train_idx], data.num_classes, epochs, batch_size, lr, seed, device, on_epoch=score
    )
    size, channels = images.shape[-1], images.shape[1]
    command = (
        f"python -m ganplay train-evaluator --dataset {shlex.quote(dataset)} --epochs {epochs} --holdout {holdout} "
        f"--seed {seed} --image-size {size} --channels {channels}"
        + (f" --data-dir {shlex.quote(str(data_dir))}" if data_dir else "")
    )
    return Evaluator(
        net, dataset, size, channels, data.class_names, scores[-1], command, holdout, seed, str(data_dir or "")
    )


DEFAULT_EPOCHS, DEFAULT_BATCH = 8, 128  # the shipped evaluator's recipe: 500 updates on the bundled 8,000
MIN_UPDATES = 500  # a folder of 300 images gets batches of 30 for 63 epochs instead of 2 updates an epoch


FOLDER_SIZE = 64  # a folder has no native size: the size make_config gives a folder's GAN
MIN_IMAGES = 10  # fewer cannot be split into a training set and a held-out one worth a number


def default_holdout(n: int) -> int:
    """DEFAULT_HOLDOUT images held out, or a fifth of a set too small for that (the bundled 10k: 2,000)."""
    return min(DEFAULT_HOLDOUT, n // 5)


def _labelled_images(
    dataset: str, image_size: int | None, channels: int, seed: int, data_dir: str | Path | None, download: bool
):
    """The dataset's images and labels at the evaluator's size, or a UsageError saying why it cannot have one."""
    try:
        info = dataset_info(dataset)  # an unknown name or a missing folder, said before anything loads
    except ValueError as err:
        raise UsageError(str(err)) from None
    if info["kind"] != "image":
        raise UsageError(f"an evaluator classifies images; {dataset} is 2-D points")
    if not info["labelled"]:
        raise UsageError(f"an evaluator learns from labels and {dataset} has none: {UNLABELLED_HINT}")
    size = image_size or info["native_size"] or FOLDER_SIZE
    data = load_dataset(
        dataset, image_size=size, channels=channels, seed=seed, device="cpu", data_dir=data_dir, download=download
    )
    if not data.num_classes:
        raise UsageError(f"an evaluator learns from labels and {dataset} has none: {UNLABELLED_HINT}")
    if len(data.images) < MIN_IMAGES:
        raise UsageError(f"{dataset} holds {len(data.images)} images; an evaluator needs at least {MIN_IMAGES}")
    return data


UNLABELLED_HINT = "a folder gives labels when its images sit in one subfolder per class (at least two)"


def dataset_label(dataset: str) -> str:
    """A dataset's name as metric keys and file names show it: a folder by its last part ("cats folder")."""
    from ganplay.folders import FOLDER_PREFIX

    if not dataset.startswith(FOLDER_PREFIX):
        return dataset
    tail = Path(dataset[len(FOLDER_PREFIX) :].strip().rstrip("/")).name
    return f"{tail or 'root'} folder"


def fit_classifier(
    images: Tensor,
    labels: Tensor,
    num_classes: int,
    epochs: int = 8,
    batch_size: int = 128,
    lr: float = 2e-3,
    seed: int = 0,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[int, ClassifierNet], None] | None = None,
) -> ClassifierNet:
    """A ClassifierNet trained on these (N, C, S, S) uint8 images and (N,) labels: the evaluator's recipe
    (AdamW, one-cycle schedule, +-2 px shifts), seeded, so any two image sets are trained exactly alike.

    on_epoch(epoch, net) runs after each epoch (the net is in training mode again afterwards).
    """
    if epochs < 1:
        raise UsageError(f"epochs must be at least 1, got {epochs}")
    if len(images) != len(labels) or not len(images):
        raise UsageError(f"need as many labels as images, and some images; got {len(images)} and {len(labels)}")
    torch.manual_seed(seed)
    net = ClassifierNet(images.shape[1], num_classes).to(device)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(len(images) / batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = seeded_generator(seed, 0xC1A55)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(images), generator=gen)
        for first in range(0, len(order), batch_size):
            index = order[first : first + batch_size]
            x = _shift(to_float(images[index]), gen).to(device)
            loss = F.cross_entropy(net(x), labels[index].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if on_epoch:
            on_epoch(epoch, net)
    return net


def held_out_accuracy(evaluator: Evaluator, images: Tensor, labels: Tensor) -> float:
    probs, _ = evaluator.predict(to_float(images))
    return float((probs.argmax(1) == labels).float().mean())


def _shift(x: Tensor, gen: torch.Generator, pixels: int = 2) -> Tensor:
    """Random translations of up to `pixels` in each direction (the background is -1, black)."""
    padded = F.pad(x, (pixels,) * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=gen).tolist()
    return padded[:, :, dy : dy + x.shape[2], dx : dx + x.shape[3]]


def save_evaluator(evaluator: Evaluator, path: str | Path) -> Path:
    import io

    payload = {
        "format": EVALUATOR_FORMAT,
        "ganplay_version": __version__,
        "dataset": evaluator.dataset,
        "image_size": evaluator.image_size,
        "channels": evaluator.channels,
        "class_names": list(evaluator.class_names),
        "holdout_accuracy": evaluator.holdout_accuracy,
        "command": evaluator.command,
        "holdout": evaluator.holdout,
        "seed": evaluator.seed,
        "data_dir": evaluator.data_dir,
        "state_dict": evaluator.net.state_dict(),
    }
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_evaluator(path: str | Path, device: str | torch.device = "cpu") -> Evaluator:
    path = Path(path)
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such evaluator file") from None
    except Exception as err:  # noqa: BLE001 (a damaged or crafted file makes torch raise any type at all)
        raise CheckpointError(f"{path}: not a readable evaluator ({type(err).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != EVALUATOR_FORMAT:
        raise CheckpointError(f"{path}: not a ganplay evaluator file")
    if not _is_evaluator_payload(payload):
        raise CheckpointError(f"{path}: a damaged ganplay evaluator file (a field is missing or of the wrong type)")
    with seeded_global_rng(0):  # its random init is overwritten, but must not draw from a run's global RNG
        net = ClassifierNet(payload["channels"], len(payload["class_names"]))
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as err:
        first = str(err).splitlines()[0][:200]
        raise CheckpointError(f"{path}: its weights do not fit its classifier ({first})") from None
    return Evaluator(
        net.to(device).eval(),
        payload["dataset"],
        payload["image_size"],
        payload["channels"],
        tuple(payload["class_names"]),
        float(payload["holdout_accuracy"]),
        payload.get("command", ""),
        payload.get("holdout", 0),  # files from before these fields: the shipped split (2,000, seed 0)
        payload.get("seed", 0),
        payload.get("data_dir", ""),
    )


def _is_evaluator_payload(payload: dict[str, Any]) -> bool:
    """Every field load_evaluator reads, of its type: a crafted file gives a message, not a KeyError."""
    names, size = payload.get("class_names"), payload.get("image_size")
    return (
        type(payload.get("channels")) is int
        and payload["channels"] in (1, 3)
        and type(size) is int
        and 8 <= size <= 1024
        and isinstance(payload.get("dataset"), str)
        and isinstance(names, list)
        and 2 <= len(names) <= 10_000
        and all(isinstance(n, str) for n in names)
        and isinstance(payload.get("holdout_accuracy"), (int, float))
        and isinstance(payload.get("command", ""), str)
        and type(payload.get("holdout", 0)) is int
        and type(payload.get("seed", 0)) is int
        and isinstance(payload.get("data_dir", ""), str)
        and isinstance(payload.get("state_dict"), dict)
    )
