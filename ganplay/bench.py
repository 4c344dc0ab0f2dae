"""Throughput benchmark: the engine (a Run, with all its bookkeeping) against a bare PyTorch loop."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ganplay.building import build_models_seeded
from ganplay.checkpoints import data_meta, save_checkpoint
from ganplay.presets import make_config
from ganplay.runs import Run
from ganplay.trainer import describe_device, make_adam, resolve_device


def bare_loop(cfg, data, device: torch.device) -> Callable[[], None]:
    """The textbook DCGAN step over the same models: forward, backward, step, nothing else."""
    g, d = build_models_seeded(cfg, data.shape, 0, cfg.seed)
    g, d = g.to(device), d.to(device)
    opt_g = make_adam(g, cfg.lr_g, cfg.betas, device)  # the same optimizer as the engine: a fair race
    opt_d = make_adam(d, cfg.lr_d, cfg.betas, device)
    real, _ = data.batch(0, cfg.batch_size)  # one fixed batch: no data handling at all

    def step() -> None:
        z = torch.randn(cfg.batch_size, cfg.z_dim, device=device)
        fake = g(z)
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-d(real)).mean() + F.softplus(d(fake.detach())).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        loss_g = F.softplus(-d(fake)).mean()
        loss_g.backward()
        opt_g.step()

    return step


def _timed(step: Callable[[], None], steps: int, device: torch.device) -> float:
    """Seconds for `steps` steps, with the device synchronised before each clock read."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_bench(batch_size: int = 64, window: int = 40, windows: int = 5, device: str = "auto") -> dict[str, float]:
    cfg = make_config("dcgan-classic", batch_size=batch_size, device=device, steps=10**8).validated()
    dev = resolve_device(device)
    with tempfile.TemporaryDirectory(prefix="ganplay-bench-") as tmp:
        run = Run(Path(tmp) / "bench", cfg)
        run.prepare()  # the engine exactly as a run thread drives it: read-back, snapshots, checkpoints
        bare = bare_loop(cfg, run.data, dev)
        methods = {"bare PyTorch loop": bare, "ganplay engine": run.advance}
        print(
            f"DCGAN {cfg.image_size}px, batch {batch_size}, {describe_device(dev)}; "
            f"{windows} windows of {window} steps each, alternating; median images/s"
        )
        for step in methods.values():
            _timed(step, max(5, window // 4), dev)  # warm-up
        rates: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(windows):
            for name, step in methods.items():
                rates[name].append(window * batch_size / _timed(step, window, dev))
        run.flush_metrics()
    result = {name: statistics.median(values) for name, values in rates.items()}
    for name, value in result.items():
        spread = f"(min {min(rates[name]):,.0f}, max {max(rates[name]):,.0f})"
        print(f"  {name:20} {value:10,.1f} images/s  {spread}")
    ratio = result["ganplay engine"] / result["bare PyTorch loop"]
    print(f"  engine / bare = {ratio:.1%}")
    result["ratio"] = ratio
    return result


def run_eval_bench(
    preset: str = "mnist-quick", eval_every: int = 250, windows: int = 5, device: str = "auto"
) -> dict[str, float]:
    """What live quality scoring costs: the seconds of one score (and of the best.pt it may save) against
    the seconds of the eval_every training steps between two scores, each the median of `windows` timings.

    Timing the two parts apart avoids comparing two noisy throughputs whose difference is a few percent.
    """
    cfg = make_config(
        preset, device=device, steps=10**8, eval_every=eval_every, sample_every=10**7, checkpoint_every=10**7
    ).validated()
    dev = resolve_device(device)
    with tempfile.TemporaryDirectory(prefix="ganplay-bench-") as tmp:
        run = Run(Path(tmp) / "eval", cfg)
        run.prepare()
        run.score()  # fails early, with the reason, where this dataset has nothing to score with
        print(f"{preset} ({cfg.arch}, batch {cfg.batch_size}), {describe_device(dev)}; medians of {windows} timings")
        steps = eval_every - 1  # stop short of the scoring step: these are training alone
        train, score, save = [], [], []
        for _ in range(windows):
            train.append(_timed(run.advance, steps, dev))
            score.append(_timed(run.score, 1, dev))
            save.append(
                _timed(
                    lambda: save_checkpoint(Path(tmp) / "best.pt", run.trainer.state_dict(), cfg, data_meta(run.data)),
                    1,
                    dev,
                )
            )
            run.advance()  # the scoring step itself, so the next window starts on the boundary again
        run.flush_metrics()
    train_s = statistics.median(train) * eval_every / steps  # scaled to a full stretch between two scores
    score_s, save_s = statistics.median(score), statistics.median(save)
    typical, worst = score_s / (train_s + score_s), (score_s + save_s) / (train_s + score_s + save_s)
    print(
        f"  {eval_every} training steps     {train_s:8.2f} s  ({eval_every * cfg.batch_size / train_s:,.0f} images/s)"
    )
    print(f"  one live score          {score_s:8.3f} s")
    print(f"  one best.pt save        {save_s:8.3f} s  (only when the score improves)")
    print(f"  share of training time  {typical:8.1%}  ({worst:.1%} when every score saves a best.pt)")
    return {
        "train_seconds": train_s,
        "score_seconds": score_s,
        "save_seconds": save_s,
        "cost": typical,
        "worst_cost": worst,
    }
