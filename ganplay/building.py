"""Building the architectures' networks for a purpose: with init weights fixed by a seed (safe across threads), or
with names and shapes only (on the meta device, or with no init run) for checks and memory estimates."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.overrides import TorchFunctionMode

from ganplay.models import ModelPair, build_models

if TYPE_CHECKING:
    from ganplay.config import TrainConfig


def shapes_only(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float = 1.0) -> ModelPair:
    """(G, D) on the meta device: every name and shape, nothing allocated (checks of a checkpoint's weights)."""
    with torch.device("meta"):
        return build_untrained(cfg, shape, num_classes, data_scale)


def build_untrained(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, data_scale: float = 1.0) -> ModelPair:
    """(G, D) with every name and shape and no init run, for checks and estimates that need no trained values.

    Built without spectral norm: it renames D's parameters only (G never has it), and its power iteration
    imports torch._dynamo on the meta device. G is exact; D has the right sizes, and without spectral norm in
    the config, the right names.
    """
    with _SkipInit():
        return build_models(replace(cfg, spectral_norm=False), shape, num_classes, data_scale)


class _SkipInit(TorchFunctionMode):
    """Leaves normal_ undone: a meta tensor holds no values anyway, and meta's normal_ imports torch._dynamo
    (1.5 s the first time). A mode is per thread, so a run building its networks meanwhile is not touched."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (Tensor.normal_, torch.nn.init.normal_):
            return args[0] if args else kwargs["tensor"]
        return func(*args, **kwargs)


# Default weight init draws from torch's global RNG, which every thread shares.
_GLOBAL_RNG_LOCK = threading.Lock()


@contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """The global RNG seeded for the block and restored after it, one thread at a time.

    Module constructors draw their initial weights from the global RNG. Every construction in a run
    thread goes through here, so two runs that start together cannot shift each other's weights.
    """
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def build_models_seeded(
    cfg: TrainConfig, shape: tuple[int, ...], num_classes: int, seed: int, data_scale: float = 1.0
) -> ModelPair:
    """build_models with init weights fixed by `seed`, leaving the global RNG as it was, safe across threads."""
    with seeded_global_rng(seed):
        return build_models(cfg, shape, num_classes, data_scale)
