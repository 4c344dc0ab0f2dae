"""What each latent direction does, in numbers a reader can check: how often the evaluator's class changes at
-S and +S, and how simple stroke statistics (ink, slant, centre, size) move between the two ends."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ganplay.checkpoints import Checkpoint
from ganplay.directions import DEFAULT_STRENGTH, Directions
from ganplay.errors import UsageError
from ganplay.limits import STATS_SEEDS, STATS_TOP
from ganplay.sampling import generate, seed_labels, seed_latents

# name: (unit, words for a rise, words for a fall), in the order the table shows them
STROKES = {
    "ink": ("share of the pixel range", "more ink", "less ink"),
    "slant": ("degrees, + leans right", "leans right", "leans left"),
    "x": ("px, + right", "moves right", "moves left"),
    "y": ("px, + down", "moves down", "moves up"),
    "size": ("px, rms radius of the ink", "bigger", "smaller"),
}
RANDOM = -1  # the index of the baseline: a seeded random unit direction in z's continuous entries
RANDOM_SEED = 12345
WORDS_FROM_SD = 0.5  # a change of half the samples' own spread or more is named in words


def stroke_stats(images: Tensor) -> dict[str, Tensor]:
    """{name: (N,)} of images (N, C, H, W) in [-1, 1], dark background: intensity-weighted moments of the ink."""
    w = ((images.float().mean(1) + 1) / 2).clamp(0, 1)  # (N, H, W): 0 is background
    h, wd = w.shape[1:]
    rows = torch.arange(h, dtype=torch.float32)[None, :, None]
    cols = torch.arange(wd, dtype=torch.float32)[None, None, :]
    mass = w.sum((1, 2)).clamp_min(1e-6)
    cx, cy = (w * cols).sum((1, 2)) / mass, (w * rows).sum((1, 2)) / mass
    dx, up = cols - cx[:, None, None], cy[:, None, None] - rows  # up: + towards the top
    shear = (w * dx * up).sum((1, 2)) / (w * up * up).sum((1, 2)).clamp_min(1e-6)  # x gained per row climbed
    return {
        "ink": w.mean((1, 2)),
        "slant": torch.rad2deg(torch.atan(shear)),
        "x": cx - (wd - 1) / 2,
        "y": cy - (h - 1) / 2,
        "size": ((w * (dx * dx + up * up)).sum((1, 2)) / mass).sqrt(),
    }


@dataclass(frozen=True)
class DirectionEffect:
    """One direction's effect over the same samples moved to -strength and +strength."""

    index: int  # 0 for the strongest direction; RANDOM for the baseline of a random direction
    explained: float  # its share of the method's total (eigenvalues, or activation variance); nan for RANDOM
    pixels: float  # mean |moved - unmoved| over pixels and both ends, as a share of the pixel range
    class_changed: tuple[float, float] | None  # share of samples the evaluator reads as another class at (-S, +S)
    top_change: str  # the most common change, as "4 -> 9 (7 of 400)" over both ends; "" when none or no evaluator
    change: dict[str, tuple[float, float]]  # stroke stat: mean change from the unmoved sample at (-S, +S)
    spread: dict[str, float]  # each stroke stat's standard deviation over the unmoved samples

    def words(self, strength: float) -> str:
        """'-3 -> +3: more ink (1.4 sd), leans right (0.6 sd)': the changes of half a spread or more."""
        parts = []
        for name, (_, rise, fall) in STROKES.items():
            span = (self.change[name][1] - self.change[name][0]) / max(self.spread[name], 1e-9)
            if abs(span) >= WORDS_FROM_SD:
                parts.append((abs(span), f"{rise if span > 0 else fall} ({abs(span):.1f} sd)"))
        if self.class_changed and max(self.class_changed) >= 0.3:
            parts.append((math.inf, "changes the digit"))
        said = ", ".join(text for _, text in sorted(parts, key=lambda p: -p[0])[:3]) or "little of these"
        return f"-{strength:g} -> +{strength:g}: {said}"


def describe(
    generator: nn.Module,
    ckpt: Checkpoint,
    directions: Directions,
    evaluator=None,
    *,
    top: int = STATS_TOP,
    seeds: int = STATS_SEEDS,
    strength: float = DEFAULT_STRENGTH,
    class_id: int | None = None,
    baseline: bool = True,
) -> list[DirectionEffect]:
    """The effect of each of the first `top` directions on samples of seeds 0..seeds-1 (each the sample that
    seed gives on the Samples page: labels as drawn there, or `class_id` held), moved to -strength and +strength;
    with `baseline`, a last row for a random direction of the same length, to read the others against."""
    if not 10 <= seeds <= 10_000:
        raise UsageError(f"the table's seeds must be between 10 and 10,000, got {seeds}")
    z = seed_latents(list(range(seeds)), ckpt.config.z_dim)  # (seeds, z_dim)
    labels = seed_labels(ckpt.data, ckpt.config, list(range(seeds)), class_id)
    base = generate(generator, z, labels)
    base_stats, base_class = stroke_stats(base), _classes(evaluator, base)
    spread = {name: float(values.std()) for name, values in base_stats.items()}
    chosen = [(i, directions.vectors[i]) for i in range(min(top, directions.k))]
    if baseline:
        chosen.append((RANDOM, random_direction(directions)))
    effects = []
    for i, vector in chosen:
        ends = [generate(generator, z + sign * strength * vector, labels) for sign in (-1, 1)]
        pixels = sum(float((end - base).abs().mean()) for end in ends) / 4  # two ends; the range is 2 wide
        stats = [stroke_stats(images) for images in ends]
        change = {name: tuple(float((s[name] - base_stats[name]).mean()) for s in stats) for name in STROKES}
        changed, top_change = _class_changes(evaluator, base_class, [_classes(evaluator, end) for end in ends])
        share = float(directions.explained[i]) if i != RANDOM else math.nan
        effects.append(DirectionEffect(i, share, pixels, changed, top_change, change, spread))
    return effects


def random_direction(directions: Directions, seed: int = RANDOM_SEED) -> Tensor:
    """A seeded random unit vector where the directions live (InfoGAN's code entries stay zero): the baseline."""
    vector = torch.randn(directions.vectors.shape[1], generator=torch.Generator().manual_seed(seed))
    vector = vector * (directions.vectors.abs().sum(0) > 0)  # entries no direction uses (codes) stay unmoved
    return vector / vector.norm()


def evaluator_for(ckpt: Checkpoint, device: str | torch.device = "cpu"):
    """The dataset's shipped evaluator when it reads this model's images; None otherwise (no class columns)."""
    from ganplay.errors import UsageError
    from ganplay.live_eval import model_evaluator

    try:
        return model_evaluator(ckpt, device=device)
    except UsageError:
        return None


def _classes(evaluator, images: Tensor) -> Tensor | None:
    return None if evaluator is None else evaluator.predict(images)[0].argmax(1)


def _class_changes(evaluator, base: Tensor | None, ends: list[Tensor | None]) -> tuple[tuple[float, float] | None, str]:
    if evaluator is None or base is None:
        return None, ""
    shares = tuple(float((end != base).float().mean()) for end in ends)
    pairs = Counter(
        (int(a), int(b)) for end in ends for a, b in zip(base.tolist(), end.tolist()) if a != b
    )  # over both ends
    if not pairs:
        return shares, ""
    (a, b), count = pairs.most_common(1)[0]
    names = evaluator.class_names
    return shares, f"{names[a]} -> {names[b]} ({count} of {2 * len(base)})"


def effects_table(effects: list[DirectionEffect], strength: float) -> list[dict[str, str]]:
    """One row of formatted cells per direction, for the CLI's markdown table and the page's dataframe."""
    s = f"{strength:g}"
    rows = []
    for e in effects:
        row = {
            "direction": "random" if e.index == RANDOM else str(e.index + 1),
            "share": "-" if e.index == RANDOM else f"{e.explained:.1%}",
            "pixels moved": f"{e.pixels:.1%}",
        }
        row[f"class changes at -{s} / +{s}"] = (
            "-" if e.class_changed is None else " / ".join(f"{c:.0%}" for c in e.class_changed)
        )
        row["most common change"] = e.top_change or "-"
        for name in STROKES:
            digits = 3 if name == "ink" else 1
            row[f"{name} at -{s} / +{s}"] = " / ".join(f"{v:+.{digits}f}" for v in e.change[name])
        row["reads as"] = e.words(strength)
        rows.append(row)
    return rows


def markdown_table(rows: list[dict[str, str]]) -> str:
    if not rows:
        return ""
    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row[name] for name in header) + " |" for row in rows]
    return "\n".join(lines)


def units_note() -> str:
    """What the stroke columns measure, for under the table."""
    strokes = "; ".join(f"{name}: {unit}" for name, (unit, _, _) in STROKES.items())
    return (
        f"share: of the method's total; pixels moved: mean |moved - unmoved| as a share of the pixel range; "
        f"{strokes}; each the mean change from the unmoved sample; sd: the unmoved samples' standard deviation; "
        f"random: a random direction of the same length, for comparison"
    )
