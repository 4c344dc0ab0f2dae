"""Training-health alarms: the classic GAN failures, each in plain words with a concrete remedy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WINDOW = 20  # recent metric rows an alarm looks at
D_WINS_LOSS = 0.05  # D's loss below this (BCE, LS, hinge) means it separates real from fake almost perfectly
VANISHED_GRADIENT = 0.1  # G's gradient norm below this share of its peak counts as vanished
FROZEN_RANGE = 1e-6  # relative spread of both losses below this: nothing is learning
ROWS_NEEDED = 3 * WINDOW  # the most recent rows any check reads (oscillation looks furthest back)


@dataclass(frozen=True)
class Alarm:
    kind: str  # diverged | d_wins | frozen | oscillating | mode_collapse
    step: int
    message: str  # what is going wrong
    remedy: str  # what to change

    def text(self) -> str:
        return f"[{self.kind} at step {self.step}] {self.message} Try: {self.remedy}"


def check_health(
    history: Sequence[dict[str, float]],
    error: str = "",
    coverage: Sequence[tuple[int, float]] = (),
    toy_stats: dict[str, float] | None = None,
) -> list[Alarm]:
    """Alarms for a run from its metric rows, its error text, its coverage series [(step, value)] (modes
    covered, or the diversity of its fixed-noise samples) and the latest PacGAN numbers of a 2-D mixture."""
    alarms = []
    for check in (
        _diverged(error, history),
        _d_wins(history),
        _frozen(history),
        _oscillating(history),
        _collapsed(coverage) or _collapsed_onto_few_modes(toy_stats, coverage),
    ):
        if check is not None:
            alarms.append(check)
    return alarms


def _diverged(error: str, history: Sequence[dict[str, float]]) -> Alarm | None:
    if not error.startswith("diverged at step"):
        return None
    step = int(error.split("step", 1)[1].split(":")[0])
    return Alarm(
        "diverged",
        step,
        f"The losses became NaN or infinite ({error}); the last good checkpoint is kept.",
        "halve both learning rates, or switch to hinge loss with spectral norm (preset hinge-sn), "
        "or to wgan-gp, whose gradient penalty keeps D's gradients bounded.",
    )


def _d_wins(history: Sequence[dict[str, float]]) -> Alarm | None:
    recent = history[-WINDOW:]
    if len(recent) < WINDOW // 2 or _mean(r["loss_d"] for r in recent) > D_WINS_LOSS:
        return None
    if any(r["loss_d"] < 0 for r in recent):  # a Wasserstein critic (wgan-clip, wgan-gp): its loss has no floor
        return None  # at 0, so a small or negative one says nothing of D winning
    peak = max(r.get("grad_norm_g", 0.0) for r in history)
    now = _mean(r.get("grad_norm_g", 0.0) for r in recent)
    vanished = peak > 0 and now < VANISHED_GRADIENT * peak
    detail = (
        f" and G's gradients have shrunk to {now / peak:.1%} of their peak, so G has stopped learning"
        if vanished
        else ""
    )
    return Alarm(
        "d_wins",
        recent[-1]["step"],
        f"The discriminator wins outright: its loss is {_mean(r['loss_d'] for r in recent):.4f}{detail}.",
        "lower D's learning rate or use two time-scale rates (lr_d smaller than lr_g), add D dropout "
        "or spectral norm, use the non-saturating loss (nsgan) instead of minimax, or add packing (pac 2).",
    )


def _frozen(history: Sequence[dict[str, float]]) -> Alarm | None:
    recent = history[-WINDOW:]
    if len(recent) < WINDOW:
        return None
    for key in ("loss_d", "loss_g"):
        values = [r[key] for r in recent]
        if max(values) - min(values) > FROZEN_RANGE * (abs(_mean(values)) + 1e-3):
            return None
    return Alarm(
        "frozen",
        recent[-1]["step"],
        "Both losses have stopped moving: neither network is learning.",
        "raise the learning rates (they may be far too small), and check that the data is not constant.",
    )


def _oscillating(history: Sequence[dict[str, float]], window: int = ROWS_NEEDED) -> Alarm | None:
    """Large swings of G's smoothed loss that keep reversing: the two networks chase each other."""
    recent = [r["loss_g"] for r in history[-window:]]
    if len(recent) < window:
        return None
    smoothed, average = [], recent[0]
    for value in recent:
        average = 0.7 * average + 0.3 * value
        smoothed.append(average)
    swing = max(smoothed) - min(smoothed)
    turns = sum(1 for a, b, c in zip(smoothed, smoothed[1:], smoothed[2:]) if (b - a) * (c - b) < 0)
    scale = max(abs(_mean(smoothed)), 0.1)
    if swing < 1.0 * scale or turns < 6:
        return None
    return Alarm(
        "oscillating",
        history[-1]["step"],
        f"G's loss swings by {swing:.2f} around {_mean(smoothed):.2f} and keeps reversing: "
        "G and D chase each other instead of converging.",
        "lower both learning rates, set beta1 to 0.5 or 0, use an EMA generator for samples, "
        "or switch to hinge loss with spectral norm.",
    )


def _collapsed(coverage: Sequence[tuple[int, float]]) -> Alarm | None:
    """Coverage (modes, classes or sample diversity, as a share of the best) fell far below its best."""
    if len(coverage) < 2:
        return None
    best = max(value for _, value in coverage)
    step, now = coverage[-1]
    if best <= 0 or now >= 0.5 * best:
        return None
    return Alarm(
        "mode_collapse",
        step,
        # a share of the best: for images the coverage is the samples' mean distance, not itself a share
        f"Coverage fell to {now / best:.0%} of its best: G makes a few kinds of sample only.",
        "add packing (pac 2 or 4), lower G's learning rate, switch to wgan-gp, or resume from an earlier checkpoint.",
    )


def _collapsed_onto_few_modes(stats: dict[str, float] | None, coverage: Sequence[tuple[int, float]]) -> Alarm | None:
    """Sharp samples on a quarter of the modes or fewer: collapsed from the start, not only dropping."""
    if not stats or "num_modes" not in stats:  # a toy without modes (spiral, a points file) has grid numbers only
        return None
    if stats["high_quality"] < 0.5 or stats["modes_covered"] > stats["num_modes"] / 4:
        return None
    step = coverage[-1][0] if coverage else 0
    return Alarm(
        "mode_collapse",
        step,
        f"{stats['high_quality']:.0%} of the samples are sharp but they cover only "
        f"{stats['modes_covered']} of {stats['num_modes']} modes: G has collapsed onto a few.",
        "add packing (pac 2 or 4), lower G's learning rate, or switch to wgan-gp.",
    )


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
