"""Batch norm shared over processes on CPUs: 2 gloo processes of 8 rows each give what one BatchNorm2d gives
on all 16 rows (outputs, every gradient, running statistics); evaluation, the state dict's keys and the refusal
of training without the other processes."""

from __future__ import annotations

import copy
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from ganplay.shared_batch_norm import SharedBatchNorm, share_batch_norm


def _whole_batch() -> tuple[torch.Tensor, torch.Tensor, nn.Module]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 5, 5, generator=gen) * 2 + 1
    target = torch.randn(16, 3, 5, 5, generator=gen)
    torch.manual_seed(0)  # the conv's initial weights, alike in this process and in the spawned ones
    layer = nn.Sequential(nn.Conv2d(3, 3, 1), nn.BatchNorm2d(3, momentum=0.3))
    with torch.no_grad():
        layer[1].weight.uniform_(0.5, 1.5, generator=gen)
        layer[1].bias.uniform_(-0.5, 0.5, generator=gen)
    return x, target, layer


def _loss(y: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((y - target) ** 2 * torch.arange(1, 4).view(1, 3, 1, 1)).mean()  # each channel weighted apart


def _share_worker(rank: int, port: int, out: str) -> None:
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    x, target, layer = _whole_batch()
    layer = share_batch_norm(layer)
    rows = slice(rank * 8, (rank + 1) * 8)
    xs = x[rows].clone().requires_grad_(True)
    y = layer(xs)
    _loss(y, target[rows]).backward()
    grads = [p.grad for p in layer.parameters()]
    for g in grads:  # the trainer averages the parameters' gradients over processes (distributed.World.average)
        torch.distributed.all_reduce(g)
        g /= 2
    torch.save({"y": y.detach(), "dx": xs.grad, "grads": grads, "state": layer.state_dict()}, f"{out}.{rank}")
    torch.distributed.destroy_process_group()


def test_two_processes_normalise_over_the_whole_batch(tmp_path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # two processes on two cores
    mp.spawn(_share_worker, args=(port, str(tmp_path / "share")), nprocs=2, join=True)
    x, target, layer = _whole_batch()
    whole = x.clone().requires_grad_(True)
    y = layer(whole)
    _loss(y, target).backward()
    ranks = [torch.load(tmp_path / f"share.{r}", weights_only=True) for r in range(2)]
    assert torch.allclose(torch.cat([r["y"] for r in ranks]), y, atol=1e-6)
    # each process's loss is the mean over its 8 rows, half the whole batch's: its rows' gradient is twice theirs
    assert torch.allclose(torch.cat([r["dx"] for r in ranks]), whole.grad * 2, atol=1e-6)
    for shared, plain in zip(ranks[0]["grads"], layer.parameters()):
        assert torch.allclose(shared, plain.grad, atol=1e-6)
    state = layer.state_dict()
    assert ranks[0]["state"].keys() == state.keys()  # batch norm's own keys: checkpoints load anywhere
    for key in ("1.running_mean", "1.running_var", "1.num_batches_tracked"):
        assert torch.allclose(ranks[0]["state"][key].float(), state[key].float(), atol=1e-6), key
    assert torch.equal(ranks[0]["state"]["1.running_mean"], ranks[1]["state"]["1.running_mean"])


def test_in_evaluation_it_is_plain_batch_norm_and_training_needs_the_processes():
    x, _, layer = _whole_batch()
    layer[1].running_mean.uniform_(-1, 1)
    shared = share_batch_norm(copy.deepcopy(layer))
    assert isinstance(shared[1], SharedBatchNorm) and isinstance(shared[0], nn.Conv2d)
    layer.eval(), shared.eval()
    assert torch.equal(shared(x), layer(x))  # running statistics, no process group needed
    shared.load_state_dict(layer.state_dict())  # and it reads plain batch norm's state dict
    shared.train()
    with pytest.raises(ValueError, match="process group"):  # training alone: never silently local statistics
        shared(x)
