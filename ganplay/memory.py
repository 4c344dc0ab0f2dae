"""Will one training step fit in memory? An estimate from the networks' shapes, made before any data is loaded,
so that a batch that cannot fit is refused at once with a clear message instead of failing a minute later with
the allocator's. The networks are built on torch's meta device: shapes only, nothing is allocated."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ganplay.building import build_untrained
from ganplay.config import ConfigError, TrainConfig
from ganplay.data import dataset_info
from ganplay.trainer import resolve_device

GIB = 1024**3
# A step holds G's activations and D's on a real and a generated batch for the backward pass, which frees them as
# it makes gradients. Measured step peaks on this CPU (DCGAN 28-128 px, batch 64-512, grey and colour) were
# 0.84-1.31x the forward activations plus 5 parameter copies; 1.2x refuses nothing that fits with room to spare.
BACKWARD_FACTOR = 1.2
PARAMETER_COPIES = 5  # weights, gradients, Adam's two moments, and the EMA copy of G
USABLE_SHARE = 0.9  # of the memory free now: the data, Python and other runs need some too
ASSUMED_CLASSES = 10  # the class count changes the label inputs only, a rounding error here
PROBE_BATCH = 4  # samples in the probe's forward pass: a multiple of every PacGAN pack (1, 2, 4)


def step_bytes(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int = ASSUMED_CLASSES) -> int:
    """Bytes one training step needs: parameters and optimizer state, and the activations of G's forward
    and of D's forward on a real and a generated batch, kept for the backward pass."""
    return StepCost(*_probe(cfg, shape, num_classes)).bytes(cfg.batch_size)


class StepCost:
    """A step's bytes as a function of the batch: every layer's output grows with it, the parameters do not."""

    def __init__(self, probe_activations: int, parameters: int):
        self.per_sample = BACKWARD_FACTOR * probe_activations / PROBE_BATCH
        self.fixed = PARAMETER_COPIES * parameters

    def bytes(self, batch: int) -> int:
        return int(self.fixed + self.per_sample * batch)

    def largest_batch(self, budget: float) -> int:
        """The largest power of two batch within `budget` bytes; 0 when not even one sample fits."""
        most = int((budget - self.fixed) // max(self.per_sample, 1.0))
        return 1 << (most.bit_length() - 1) if most >= 1 else 0


def _probe(cfg: TrainConfig, shape: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """(activation bytes of G's forward and two of D's for PROBE_BATCH samples, parameter bytes), measured on
    real CPU networks with no init and no gradients: the meta device would need a second to import its batch
    norm, and a probe of 4 samples costs milliseconds."""
    generator, discriminator = build_untrained(cfg, shape, num_classes)
    sizes = {"g": 0, "d": 0}
    hooks = _count_outputs(generator, sizes, "g") + _count_outputs(discriminator, sizes, "d")
    try:
        z = torch.zeros(PROBE_BATCH, cfg.z_dim)
        labels = torch.zeros(PROBE_BATCH, dtype=torch.long) if cfg.takes_labels else None
        with torch.no_grad():
            discriminator(generator(z, labels), labels)
    finally:
        for hook in hooks:
            hook.remove()
    parameters = sum(p.numel() * p.element_size() for m in (generator, discriminator) for p in m.parameters())
    return sizes["g"] + 2 * sizes["d"], parameters  # D judges a real and a generated batch in every step


def _count_outputs(module: nn.Module, sizes: dict[str, int], key: str) -> list:
    def add(_module: nn.Module, _inputs: object, output: object) -> None:
        if isinstance(output, torch.Tensor):
            sizes[key] += output.numel() * output.element_size()

    return [m.register_forward_hook(add) for m in module.modules() if not list(m.children())]


def image_shape(cfg: TrainConfig) -> tuple[int, ...] | None:
    """The training images' shape as far as it is known before loading them; None for 2-D toy data."""
    info = dataset_info(cfg.dataset)
    if info["kind"] == "toy":
        return None
    channels = cfg.channels or info.get("native_channels") or 3  # a folder's own count: assume colour
    return (channels, cfg.image_size, cfg.image_size)


def free_bytes(device: torch.device) -> int | None:
    """Memory free for a new run now: the GPU's, or this machine's (within a container's limit); None if unknown."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    if device.type != "cpu":
        return None
    return _min_known(_meminfo_available(), _cgroup_room())


def fits_in_memory(cfg: TrainConfig) -> TrainConfig:
    """`cfg`, once check_fits has passed it on the device it asks for."""
    check_fits(cfg, resolve_device(cfg.device))
    return cfg


def check_fits(cfg: TrainConfig, device: torch.device) -> None:
    """Refuse, with what to lower, a config whose step cannot fit in the memory free now."""
    shape = image_shape(cfg)
    free = free_bytes(device)
    if shape is None or free is None:
        return  # 2-D points need kilobytes; an unknown device is left to try
    cost = StepCost(*_probe(cfg, shape, ASSUMED_CLASSES))
    need, budget = cost.bytes(cfg.batch_size), USABLE_SHARE * free
    if need <= budget:
        return
    fits = cost.largest_batch(budget)
    hint = f"batch_size {fits:,} would fit" if fits else "even batch_size 1 would not fit: lower image_size"
    raise ConfigError(
        {
            "batch_size": (
                f"{cfg.batch_size:,} at {cfg.image_size} px needs about {need / GIB:,.1f} GiB for one training step, and "
                f"{device.type.upper()} memory has {free / GIB:,.1f} GiB free; {hint}, or lower image_size, ngf or ndf"
            )
        }
    )


def _min_known(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    """A cgroup v2 container's memory limit minus what it uses; None without a limit."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
