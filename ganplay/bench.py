"""Throughput benchmark: the engine (a Run, with all its bookkeeping) against a bare PyTorch loop, per precision."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ganplay.building import build_models_seeded
from ganplay.checkpoints import data_meta, save_checkpoint
from ganplay.precision import autocast, resolve_precision
from ganplay.presets import make_config
from ganplay.runs import Run
from ganplay.trainer import describe_device, make_adam, resolve_device


def bare_loop(cfg, data, device: torch.device, amp_dtype: torch.dtype | None) -> Callable[[], None]:
    """The textbook DCGAN step over the same models: forward, backward, step, nothing else (in the same
    precision as the engine: autocast around the networks, the losses in fp32)."""
    g, d = build_models_seeded(cfg, data.shape, 0, cfg.seed)
    g, d = g.to(device), d.to(device)
    opt_g = make_adam(g, cfg.lr_g, cfg.betas, device)  # the same optimizer as the engine: a fair race
    opt_d = make_adam(d, cfg.lr_d, cfg.betas, device)
    real, _ = data.batch(0, cfg.batch_size)  # one fixed batch: no data handling at all

    def step() -> None:
        z = torch.randn(cfg.batch_size, cfg.z_dim, device=device)
        with autocast(device, amp_dtype):
            fake = g(z)
            d_real, d_fake = d(real).float(), d(fake.detach()).float()
        opt_d.zero_grad(set_to_none=True)
        loss_d = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        with autocast(device, amp_dtype):
            d_fake = d(fake).float()
        loss_g = F.softplus(-d_fake).mean()
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


def run_bench(
    batch_size: int = 64,
    window: int = 40,
    windows: int = 5,
    device: str = "auto",
    arch: str = "dcgan",
    image_size: int = 28,
    channels: int = 1,
    precisions: Sequence[str] = ("fp32", "bf16"),
) -> dict[str, dict[str, float]]:
    """images/s of the bare loop and the engine for each precision asked, all timed in one process, their
    windows interleaved so that a machine's slow moments fall on every method alike. {precision: figures}."""
    dev = resolve_device(device)
    configs = {
        p: make_config(
            "dcgan-classic",
            arch=arch,
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            device=device,
            precision=p,
            steps=10**8,
        ).validated()
        for p in dict.fromkeys(precisions)
    }
    print(
        f"{arch} {image_size} px, {channels} channel{'s' if channels > 1 else ''}, batch {batch_size}, "
        f"{describe_device(dev)}; {windows} windows of {window} steps each, interleaved; median images/s"
    )
    with tempfile.TemporaryDirectory(prefix="ganplay-bench-") as tmp:
        methods: dict[tuple[str, str], Callable[[], None]] = {}
        runs = []
        for name, cfg in configs.items():
            run = Run(Path(tmp) / name, cfg)
            run.prepare()  # the engine exactly as a run thread drives it: read-back, snapshots, checkpoints
            if name == "bf16" and run.trainer.amp_dtype is None:
                print(f"  bf16: {run.trainer.precision_text}; not timed")
                continue
            runs.append(run)
            methods[(name, "bare")] = bare_loop(cfg, run.data, dev, run.trainer.amp_dtype)
            methods[(name, "engine")] = run.advance
        for step in methods.values():
            _timed(step, max(5, window // 4), dev)  # warm-up
        rates: dict[tuple[str, str], list[float]] = {key: [] for key in methods}
        for _ in range(windows):
            for key, step in methods.items():
                rates[key].append(window * batch_size / _timed(step, window, dev))
        for run in runs:
            run.flush_metrics()
    return _report(rates, configs)


def _report(rates: dict[tuple[str, str], list[float]], configs: dict) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    print(f"  {'precision':22} {'bare loop':>12} {'engine':>12} {'engine/bare':>12}")
    for name, cfg in configs.items():
        if (name, "bare") not in rates:
            continue
        bare, engine = (statistics.median(rates[(name, kind)]) for kind in ("bare", "engine"))
        result[name] = {"bare": bare, "engine": engine, "ratio": engine / bare}
        label = name if name != "auto" else f"auto ({'bf16' if _is_bf16(cfg) else 'fp32'})"
        print(f"  {label:22} {bare:12,.1f} {engine:12,.1f} {engine / bare:12.1%}")
    if "fp32" in result and "bf16" in result:
        for kind in ("bare", "engine"):
            print(f"  bf16 / fp32, {kind:6} {result['bf16'][kind] / result['fp32'][kind]:10.2f}x")
    return result


def _is_bf16(cfg) -> bool:
    return resolve_precision(cfg.precision, resolve_device(cfg.device), images=True) is not None


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
