"""Training-health alarms: the classic GAN failures, each in plain words with a concrete remedy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WINDOW = 20  # recent metric rows an alarm looks at
D_WINS_LOSS = 0.05  # D's loss below this (BCE, LS, hinge) means it separates real from fake almost perfectly
VANISHED_GRADIENT = 0.1  # G's gradient norm below this share of its peak counts as vanished
FROZEN_RANGE = 1e-6  # relative spread of both losses below this: nothing is learning
ROWS_NEEDED = 3 * WINDOW  # the most recent rows any check reads (oscillation looks furthest back)
# Losses whose G loss is D's raw score: no floor, centred near 0, and a D loss that never saturates G's gradient.
SCORE_LOSSES = ("hinge", "wgan-gp", "wgan-clip")
HINGE_MARGIN = 1.0  # hinge's margins are +-1: G's loss (-D(G(z))) moving by less is not a swing

Config = Mapping[str, Any]
Advice = tuple[str, Callable[[Config], bool]]  # (what to try, whether the run already does it)


def advise(config: Config | None, advice: Sequence[Advice]) -> str:
    """The remedies the run does not use already, joined in words ("a, b, or c"); all of them when the
    config is not known."""
    config = config or {}
    tried = [text for text, already in advice if not (config and already(config))] or [advice[0][0]]
    return tried[0] if len(tried) == 1 else ", ".join(tried[:-1]) + ", or " + tried[-1]


def _uses_hinge_sn(c: Config) -> bool:
    return c.get("loss") == "hinge" and bool(c.get("spectral_norm"))


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
    config: Config | None = None,
) -> list[Alarm]:
    """Alarms for a run from its metric rows, its error text, its coverage series [(step, value)] (modes
    covered, or the diversity of its fixed-noise samples) and the latest PacGAN numbers of a 2-D mixture.
    `config` (the run's config as a dict): what the loss makes of the numbers, and which remedies the run
    already uses, so none is advised twice."""
    alarms = []
    for check in (
        _diverged(error, history, config),
        _d_wins(history, config),
        _frozen(history),
        _oscillating(history, config),
        _collapsed(coverage, config) or _collapsed_onto_few_modes(toy_stats, coverage, config),
    ):
        if check is not None:
            alarms.append(check)
    return alarms


def _diverged(error: str, history: Sequence[dict[str, float]], config: Config | None = None) -> Alarm | None:
    if not error.startswith("diverged at step"):
        return None
    step = int(error.split("step", 1)[1].split(":")[0])
    return Alarm(
        "diverged",
        step,
        f"The losses became NaN or infinite ({error}); the last good checkpoint is kept.",
        advise(
            config,
            [
                ("halve both learning rates", lambda c: False),
                ("switch to hinge loss with spectral norm (preset hinge-sn)", _uses_hinge_sn),
                (
                    "switch to wgan-gp, whose gradient penalty keeps D's gradients bounded",
                    lambda c: c.get("loss") == "wgan-gp",
                ),
            ],
        )
        + ".",
    )


def _d_wins(history: Sequence[dict[str, float]], config: Config | None = None) -> Alarm | None:
    """D's loss near its floor. Under BCE or LS that saturates G's gradient; under hinge it does not (G's loss
    is D's raw score), so there it is an alarm only once G's gradients have in fact vanished."""
    recent = history[-WINDOW:]
    if len(recent) < WINDOW // 2 or _mean(r["loss_d"] for r in recent) > D_WINS_LOSS:
        return None
    if any(r["loss_d"] < 0 for r in recent):  # a Wasserstein critic (wgan-clip, wgan-gp): its loss has no floor
        return None  # at 0, so a small or negative one says nothing of D winning
    peak = max(r.get("grad_norm_g", 0.0) for r in history)
    now = _mean(r.get("grad_norm_g", 0.0) for r in recent)
    vanished = peak > 0 and now < VANISHED_GRADIENT * peak
    if (config or {}).get("loss") in SCORE_LOSSES and not vanished:
        return None
    detail = (
        f" and G's gradients have shrunk to {now / peak:.1%} of their peak, so G has stopped learning"
        if vanished
        else ""
    )
    return Alarm(
        "d_wins",
        recent[-1]["step"],
        f"The discriminator wins outright: its loss is {_mean(r['loss_d'] for r in recent):.4f}{detail}.",
        advise(
            config,
            [
                ("lower D's learning rate", lambda c: False),
                ("add D dropout", lambda c: c.get("d_dropout", 0) > 0),
                ("add spectral norm", lambda c: bool(c.get("spectral_norm"))),
                ("use the non-saturating loss (nsgan) instead of minimax", lambda c: c.get("loss") != "minimax"),
                ("add packing (pac 2)", lambda c: c.get("pac", 1) > 1),
            ],
        )
        + ".",
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


def _oscillating(
    history: Sequence[dict[str, float]], config: Config | None = None, window: int = ROWS_NEEDED
) -> Alarm | None:
    """Large swings of G's smoothed loss that keep reversing: the two networks chase each other. A swing is
    large against the loss's own size; under hinge, whose G loss is centred near 0, against its margin. Only
    reversals of a good part of the swing count, so a loss that falls steadily with some noise is no swing."""
    recent = [r["loss_g"] for r in history[-window:]]
    if len(recent) < window:
        return None
    smoothed, average = [], recent[0]
    for value in recent:
        average = 0.7 * average + 0.3 * value
        smoothed.append(average)
    swing = max(smoothed) - min(smoothed)
    turns = large_turns(smoothed, REVERSAL_SHARE * swing)
    loss = (config or {}).get("loss")
    if loss in ("wgan-gp", "wgan-clip"):
        return None  # a critic's score drifts and swings by design: its size says nothing of chasing
    scale = max(abs(_mean(smoothed)), HINGE_MARGIN if loss == "hinge" else 0.1)
    if swing < 1.0 * scale or turns < MIN_TURNS:
        return None
    return Alarm(
        "oscillating",
        history[-1]["step"],
        f"G's loss swings by {swing:.2f} around {_mean(smoothed):.2f} and keeps reversing: "
        "G and D chase each other instead of converging.",
        advise(
            config,
            [
                ("lower both learning rates", lambda c: False),
                ("set beta1 to 0.5 or 0", lambda c: (c.get("betas") or (0.9,))[0] <= 0.5),
                ("use an EMA generator for samples", lambda c: bool(c.get("ema"))),
                ("switch to hinge loss with spectral norm", _uses_hinge_sn),
            ],
        )
        + ".",
    )


COLLAPSE_ADVICE: list[Advice] = [
    ("add packing (pac 2 or 4)", lambda c: c.get("pac", 1) > 1),
    ("lower G's learning rate", lambda c: False),
    ("switch to wgan-gp", lambda c: c.get("loss") == "wgan-gp"),
]


REVERSAL_SHARE = 0.3  # a reversal counts once the loss has come back by this share of its whole swing
MIN_TURNS = 3  # peaks and troughs: up, down, up, down


def large_turns(values: Sequence[float], threshold: float) -> int:
    """How often the series reverses by more than `threshold` from its last peak or trough (hysteresis, so
    wiggles smaller than that are not turns)."""
    if not values or threshold <= 0:
        return 0
    direction, high, low, turns = 0, values[0], values[0], 0
    for value in values[1:]:
        high, low = max(high, value), min(low, value)
        if direction >= 0 and value < high - threshold:  # came down from a peak
            turns += direction > 0
            direction, low = -1, value
        elif direction <= 0 and value > low + threshold:  # came up from a trough
            turns += direction < 0
            direction, high = 1, value
    return turns


def _collapsed(coverage: Sequence[tuple[int, float]], config: Config | None = None) -> Alarm | None:
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
        advise(config, [*COLLAPSE_ADVICE, ("resume from an earlier checkpoint", lambda c: False)]) + ".",
    )


def _collapsed_onto_few_modes(
    stats: dict[str, float] | None, coverage: Sequence[tuple[int, float]], config: Config | None = None
) -> Alarm | None:
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
        advise(config, COLLAPSE_ADVICE) + ".",
    )


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
