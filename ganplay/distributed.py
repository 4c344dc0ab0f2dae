"""Training across processes (torchrun): who this process is, its share of each batch, the averaged gradients,
and the few messages with which rank 0 leads the others.

Why not DistributedDataParallel's wrapper: its reducer expects one forward per backward of the module it
wraps, and a GAN step breaks that: D judges the real and the fake batch (and, for WGAN-GP, the mixed one, under
a gradient of a gradient) before one backward, and then judges G's images again with its own weights frozen.
So each update averages the gradients itself, as DDP's reducer does: one all-reduce of one flat buffer after
the backward, which also carries the update's reported values (so the losses shown are the whole batch's).

How a batch is shared: every rank draws the whole seeded batch (the real images of draw k, the z and labels
from the run's noise stream) and keeps its rows. The noise stream so stays the same on every rank, rank 0's
checkpoint holds it for all, and with gradients averaged over equal shares the update is the whole batch's.
Draws that differ by rank (dropout masks, augmentation, the gradient penalty's mixing) come from a rank's own
generator, seeded afresh for each update from (seed, rank, position), so resume needs no per-rank state.

Batch norm is synchronised: each share is normalised with the whole batch's statistics (torch's SyncBatchNorm
on GPUs; on CPUs, where torch has none, shared_batch_norm.py), so the run takes the steps one process would.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ganplay.errors import UsageError
from ganplay.shared_batch_norm import share_batch_norm

STEP, STOP = 1, 0  # rank 0's word before each step: train one more, or the run is over
_CPU = torch.device("cpu")  # rank 0's messages travel by gloo, whatever the run trains on
TIMEOUT = datetime.timedelta(minutes=30)  # how long a rank waits for the others (rank 0 writes checkpoints)


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; SINGLE when it trains alone."""

    rank: int = 0
    size: int = 1
    nodes: int = 1
    backend: str = ""

    @property
    def is_lead(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    def check_batch(self, batch_size: int, pac: int = 1) -> None:
        """Each process judges its own share, in PacGAN's groups of `pac`: the batch must split both ways."""
        if batch_size % (self.size * pac):
            unit = self.size * pac
            groups = f" of whole groups of pac {pac}" if pac > 1 else ""
            raise UsageError(
                f"batch size {batch_size} does not split into {self.size} equal shares{groups} (one per process): "
                f"use a multiple of {unit}; the batch size is the whole batch of one update, across processes"
            )

    def share(self, x: Tensor | None) -> Tensor | None:
        """This rank's rows of a whole batch (B, ...): rows [rank * B / size, (rank + 1) * B / size)."""
        if x is None or self.size == 1:
            return x
        rows = x.shape[0] // self.size
        return x[self.rank * rows : (self.rank + 1) * rows]

    def rank_seed(self, seed: int, *position: int) -> int:
        """A seed for this rank's own draws at one position of the run (draws, step, which update)."""
        value = seed * 1_000_003 + self.rank
        for p in position:
            value = (value * 1_000_033 + p) % (2**63 - 1)
        return value

    def average(self, module: nn.Module, values: dict[str, Tensor]) -> dict[str, Tensor]:
        """Average `module`'s gradients and the reported `values` over all ranks, in one all-reduce."""
        if self.size == 1:
            return values
        grads = [p.grad for p in module.parameters() if p.grad is not None]
        scalars = [v.detach().float().reshape(1) for v in values.values()]
        flat = torch.cat([g.reshape(-1) for g in grads] + scalars)
        torch.distributed.all_reduce(flat)
        flat /= self.size
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()
        return {key: flat[offset + i].clone() for i, key in enumerate(values)}

    def check_device(self, device: torch.device) -> None:
        if self.distributed and device.type not in ("cpu", "cuda"):
            raise UsageError(f"training across processes runs on CUDA GPUs (NCCL) or CPUs (gloo), not on {device.type}")

    def describe(self, device: torch.device) -> str:
        machines = f" on {self.nodes} machines" if self.nodes > 1 else ""
        return f"distributed: {self.size} processes{machines}, {'NCCL' if device.type == 'cuda' else 'gloo'}"


SINGLE = World()


def launched() -> bool:
    """True when torchrun (or another launcher) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join() -> World:
    """Join the other processes started by torchrun. Where there are GPUs, the group speaks NCCL for GPU
    tensors and gloo for CPU ones, so that the run's own device (its config, known to rank 0 only when it
    resumes) decides, not the machine."""
    size, rank = int(os.environ["WORLD_SIZE"]), int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(size)))
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if gpus:
        if local_rank >= gpus:
            raise UsageError(
                f"process {local_rank} of this machine has no GPU of its own ({gpus} here): "
                "start at most one process per GPU (--nproc_per_node)"
            )
        torch.cuda.set_device(local_rank)  # "cuda" then means this process's own GPU
    backend = "cpu:gloo,cuda:nccl" if gpus else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, timeout=TIMEOUT)
    return World(rank, size, max(1, size // max(1, local_size)), backend)


def leave() -> None:
    """Leave together: a process that tore its group down while another still held it aborted (gloo, 1 in 4)."""
    if not (torch.distributed.is_available() and torch.distributed.is_initialized()):
        return
    try:
        torch.distributed.barrier()
    except torch.distributed.DistError:
        pass  # another process has gone already: nothing to wait for
    torch.distributed.destroy_process_group()


def sync_batch_norm(module: nn.Module, world: World, device: torch.device) -> nn.Module:
    """Batch norm over the whole batch of all processes: torch's SyncBatchNorm on GPUs, ours on CPUs."""
    if not world.distributed:
        return module
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    return share_batch_norm(module)


# -- rank 0 leads, the others follow ---------------------------------------------------------------


class Lead:
    """Rank 0's side: it sends the run (config and starting state) once, then its word before each step."""

    def __init__(self, world: World):
        self.world = world
        self.started = False
        self.ended = not world.distributed  # alone: nothing to say to anyone

    def start(self, config_json: str, state: dict[str, Any]) -> None:
        if self.world.distributed:  # on the CPU: GPU tensors would unpickle onto rank 0's GPU everywhere
            torch.distributed.broadcast_object_list([("start", config_json, _on_cpu(state))], src=0, device=_CPU)
        self.started = True

    def step(self) -> None:
        if self.world.distributed:  # a CPU tensor: gloo carries it whatever the run trains on
            torch.distributed.broadcast(torch.tensor([STEP]), src=0)

    def end(self, why: str = "") -> None:
        """Tell the others the run is over (or never started, and why); safe to call more than once."""
        if self.ended:
            return
        self.ended = True
        if self.started:
            torch.distributed.broadcast(torch.tensor([STOP]), src=0)
        else:
            torch.distributed.broadcast_object_list(
                [("abort", why or "rank 0 could not start the run")], src=0, device=_CPU
            )


def _on_cpu(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return {k: _on_cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_on_cpu(v) for v in value)
    return value


def receive_run() -> tuple[str, dict[str, Any]]:
    """A follower's first message: (config JSON, starting state); UsageError with rank 0's reason if it gave up."""
    message: list[Any] = [None]
    torch.distributed.broadcast_object_list(message, src=0, device=_CPU)
    kind, *rest = message[0]
    if kind == "abort":
        raise UsageError(f"rank 0 did not start the run: {rest[0]}")
    return rest[0], rest[1]


def next_command() -> int:
    word = torch.zeros(1, dtype=torch.long)
    torch.distributed.broadcast(word, src=0)
    return int(word.item())
