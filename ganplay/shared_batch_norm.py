"""Batch norm over the whole batch of a distributed run on CPUs, where torch's SyncBatchNorm refuses to run.

Each process holds a share of the batch. In training, the per-channel sums (and, going back, the sums of the
incoming gradient) are added up over all processes with one all-reduce each, so every share is normalised
with the whole batch's mean and variance, as a single process normalising the whole batch would: the losses
of 2 processes of 32 then match 1 process of 64 to float rounding. Evaluation uses the running statistics, as
torch's batch norm does. The state dict keeps batch norm's own keys, so checkpoints load anywhere.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

_PLAIN = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


class _WholeBatchNorm(torch.autograd.Function):
    """y = (x - mean) / sqrt(var + eps) * weight + bias, with mean and var over every process's rows."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor]:
        dims = [0, *range(2, x.dim())]
        channels, wide = x.shape[1], [1, x.shape[1]] + [1] * (x.dim() - 2)
        xf = x.float()
        sums = torch.cat([xf.sum(dims), (xf * xf).sum(dims), xf.new_tensor([x.numel() / channels])])
        torch.distributed.all_reduce(sums)
        count = sums[-1]
        mean = sums[:channels] / count
        var = (sums[channels : 2 * channels] / count - mean * mean).clamp_min(0)  # biased, as in training
        rstd = torch.rsqrt(var + eps)
        xhat = (xf - mean.view(wide)) * rstd.view(wide)
        ctx.save_for_backward(xhat, weight, rstd, count)
        ctx.dims, ctx.wide = dims, wide
        unbiased = var * count / (count - 1).clamp_min(1)
        ctx.mark_non_differentiable(mean, unbiased)
        return (xhat * weight.view(wide) + bias.view(wide)).to(x.dtype), mean, unbiased

    @staticmethod
    @once_differentiable  # the all-reduce is not on the graph: a gradient of this gradient would be wrong
    def backward(ctx, dy: Tensor, _mean: Tensor, _var: Tensor) -> tuple[Tensor, Tensor, Tensor, None]:
        xhat, weight, rstd, count = ctx.saved_tensors
        dims, wide = ctx.dims, ctx.wide
        dyf = dy.float()
        sum_dy, sum_dy_xhat = dyf.sum(dims), (dyf * xhat).sum(dims)
        both = torch.cat([sum_dy, sum_dy_xhat])  # this share's; the weight's and bias's gradients stay local
        torch.distributed.all_reduce(both)  # (the trainer averages those over processes with all the others)
        mean_dy, mean_dy_xhat = (both / count).chunk(2)
        dx = (dyf - mean_dy.view(wide) - xhat * mean_dy_xhat.view(wide)) * (weight * rstd).view(wide)
        return dx.to(dy.dtype), sum_dy_xhat, sum_dy, None


class SharedBatchNorm(nn.modules.batchnorm._BatchNorm):
    """A batch norm layer that normalises over the whole batch of all processes while it trains."""

    def _check_input_dim(self, x: Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"batch norm expects (N, C, ...) input, got {x.dim()} dimension(s)")

    def forward(self, x: Tensor) -> Tensor:
        self._check_input_dim(x)
        if not self.training and self.running_mean is not None:
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)
        weight = self.weight if self.weight is not None else x.new_ones(x.shape[1], dtype=torch.float32)
        bias = self.bias if self.bias is not None else x.new_zeros(x.shape[1], dtype=torch.float32)
        y, mean, var = _WholeBatchNorm.apply(x, weight, bias, self.eps)
        if self.training and self.running_mean is not None:
            self._follow(mean, var)
        return y

    @torch.no_grad()
    def _follow(self, mean: Tensor, var: Tensor) -> None:
        self.num_batches_tracked += 1
        momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean.lerp_(mean.to(self.running_mean.dtype), momentum)
        self.running_var.lerp_(var.to(self.running_var.dtype), momentum)


def share_batch_norm(module: nn.Module) -> nn.Module:
    """`module` with each plain batch norm layer replaced by a SharedBatchNorm holding the same tensors."""
    if isinstance(module, _PLAIN):
        shared = SharedBatchNorm(
            module.num_features, module.eps, module.momentum, module.affine, module.track_running_stats
        )
        if module.affine:
            shared.weight, shared.bias = module.weight, module.bias
        if module.track_running_stats:
            shared.running_mean, shared.running_var = module.running_mean, module.running_var
            shared.num_batches_tracked = module.num_batches_tracked
        shared.train(module.training)
        return shared
    for name, child in module.named_children():
        module.add_module(name, share_batch_norm(child))
    return module
