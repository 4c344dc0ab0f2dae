"""Which evaluator a dataset or a model has: where its file lives (evaluator_path_for), how to train one when
there is none (train_evaluator_advice), the check that it reads the model's images, and the real images it never
trained on (the reference of its scores)."""

from __future__ import annotations

import hashlib
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from ganplay.data import DATASETS, dataset_family
from ganplay.errors import UsageError
from ganplay.folders import FOLDER_PREFIX

if TYPE_CHECKING:
    from ganplay.evaluators import Evaluator

EVALUATOR_DIR = Path(__file__).resolve().parent.parent / "checkpoints" / "evaluators"  # shipped beside the code


def evaluator_path_for(dataset: str) -> Path:
    """Where the evaluator of a dataset lives: checkpoints/evaluators/FAMILY.pt for a registered set (mnist.pt
    serves mnist and mnist-bundled); for folder:PATH, folder-NAME-HASH.pt, NAME the folder's last part made safe
    for a file name and HASH the first 8 hex digits of the sha256 of its absolute path (two folders named cats
    get two files). Any other name gets the same slug and hash: never a path with a colon or a slash."""
    if dataset in DATASETS:
        return EVALUATOR_DIR / f"{dataset_family(dataset)}.pt"
    if dataset.startswith(FOLDER_PREFIX):
        raw = dataset[len(FOLDER_PREFIX) :].strip()
        try:
            where = str(Path(raw).expanduser().resolve())  # folder:~/cats and folder:/home/me/cats: one file
        except (RuntimeError, OSError):  # ~nosuchuser, a symlink loop: the name as written
            where = raw
        return EVALUATOR_DIR / f"folder-{_slug(Path(where).name)}-{_digest(where)}.pt"
    return EVALUATOR_DIR / f"{_slug(dataset)}-{_digest(dataset)}.pt"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "data"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]


def train_evaluator_advice(dataset: str, shape: Sequence[int]) -> str:
    """How to get an evaluator for a dataset: the train-evaluator command for its images' size and channels, or
    why there cannot be one (no labels)."""
    from ganplay.data import dataset_info
    from ganplay.evaluators import FOLDER_SIZE, UNLABELLED_HINT

    try:
        info = dataset_info(dataset)
    except ValueError as err:
        return f"no evaluator can be trained on {dataset} here ({err})"
    if info["kind"] != "image" or not info["labelled"]:
        return f"{dataset} has no labels to train an evaluator on ({UNLABELLED_HINT})"
    channels, size = shape[0], shape[-1]
    flags = "" if size == (info["native_size"] or FOLDER_SIZE) else f" --image-size {size}"
    flags += "" if channels == info["native_channels"] else f" --channels {channels}"
    return f"train one: python -m ganplay train-evaluator --dataset {shlex.quote(dataset)}{flags}"


def model_evaluator(
    ckpt, named: str | Path | None = None, device: str | torch.device = "cpu", why: str = ""
) -> Evaluator:
    """The evaluator file `named`, else the one of the model's dataset, checked to read its images; a UsageError
    saying what is missing otherwise. `why` says what needs it, in that message."""

    found = find_model_evaluator(ckpt, named, device, why)
    if found is None:
        name = ckpt.data["name"]
        because = f" ({why})" if why else ""
        raise UsageError(
            f"no evaluator for {name} at {evaluator_path_for(name)}{because}: "
            f"{train_evaluator_advice(name, ckpt.data['shape'])}, or give --evaluator"
        )
    return found


def find_model_evaluator(
    ckpt, named: str | Path | None = None, device: str | torch.device = "cpu", why: str = ""
) -> Evaluator | None:
    """As model_evaluator, but None when the dataset has no evaluator file yet (a named file must exist)."""
    from ganplay.evaluators import load_evaluator

    path = Path(named) if named else evaluator_path_for(ckpt.data["name"])
    because = f" ({why})" if why else ""
    if not path.exists():
        if named:
            raise UsageError(f"no evaluator for {ckpt.data['name']} at {path}{because}: no such file")
        return None
    evaluator = load_evaluator(path, device)
    mismatch = shape_mismatch(evaluator, ckpt.data["shape"])
    if mismatch:
        raise UsageError(f"{path} {mismatch}{because}")
    return evaluator


def shape_mismatch(evaluator: Evaluator, shape: Sequence[int]) -> str:
    """Why an evaluator cannot score images of this (C, S, S) shape, or "" when it can."""
    if (evaluator.channels, evaluator.image_size) == (shape[0], shape[-1]):
        return ""
    return (
        f"reads {evaluator.channels}-channel {evaluator.image_size} px images, the model makes "
        f"{shape[0]}-channel {shape[-1]} px: "
        f"{train_evaluator_advice(evaluator.dataset, shape)} (with --out for a second file)"
    )


def held_out_images(evaluator: Evaluator) -> Tensor:
    """The real images the evaluator never trained on, (M, C, S, S) uint8: its dataset loaded and split again as
    train-evaluator did. A UsageError when that dataset is no longer there or no longer the one it learnt."""
    from ganplay.data import load_dataset
    from ganplay.evaluators import default_holdout, holdout_split
    from ganplay.image_files import DatasetError

    try:
        data = load_dataset(
            evaluator.dataset,
            image_size=evaluator.image_size,
            channels=evaluator.channels,
            seed=evaluator.seed,
            device="cpu",
            data_dir=evaluator.data_dir or None,
            download=False,
        )
    except (DatasetError, ValueError) as err:
        raise UsageError(f"the evaluator's own images ({evaluator.dataset}) cannot be read: {err}") from None
    if tuple(data.class_names) != tuple(evaluator.class_names):
        raise UsageError(f"{evaluator.dataset} no longer has the classes its evaluator learnt")
    holdout = evaluator.holdout or default_holdout(len(data.images))
    _, held = holdout_split(len(data.images), holdout, evaluator.seed)
    return data.images[held]
