"""Training precision: fp32, or bf16 autocast where the hardware runs it fast, and what "auto" picks.

Under autocast only the networks' matrix work (convolutions, linear layers) runs in bf16. The weights, their
gradients, the optimizer's state and the EMA stay fp32 tensors, and the losses and the gradient penalty are
computed in fp32 (the trainer casts D's logits up), so bf16 only rounds the activations.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ganplay.config import PRECISIONS


def fast_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix work is native here: AVX-512 BF16 or AMX on a CPU, bf16 tensor cores on CUDA."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False  # Apple's MPS: fp32, the backend's well-trodden path


def resolve_precision(precision: str, device: torch.device, images: bool) -> torch.dtype | None:
    """The autocast dtype a run trains with, or None for plain fp32.

    auto: bf16 where it is native, for image runs only. A 2-D run's networks are a few small matrices, where
    casting to and from bf16 costs more than it saves (ring8's MLP ran at 0.6x fp32's speed on this project's
    AVX-512 BF16 CPU, DCGAN 28 px at 1.7-1.9x). bf16 asked for where it is not native falls back to fp32, since
    emulated bf16 is slower than fp32 and no more exact; `describe_precision` says so.
    """
    if precision == "fp32":
        return None
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if not fast_bf16(device) or (precision == "auto" and not images):
        return None
    return torch.bfloat16


def describe_precision(precision: str, dtype: torch.dtype | None, device: torch.device) -> str:
    """One line for the run's status: what it trains in, and why when that is not what was asked for."""
    if dtype is not None:
        return "bf16 autocast" + (" (auto)" if precision == "auto" else "")
    if precision == "bf16":
        return f"fp32 (bf16 asked for, but this {device.type.upper()} has no native bf16)"
    return "fp32"


@contextlib.contextmanager
def autocast(device: torch.device, dtype: torch.dtype | None) -> Iterator[None]:
    """bf16 autocast for the block when dtype is set; nothing at all otherwise (not even a disabled autocast)."""
    if dtype is None:
        yield
        return
    with torch.autocast(device.type, dtype=dtype):
        yield
