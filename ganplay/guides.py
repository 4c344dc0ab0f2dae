"""Plain-words guides to what the live view shows: how to read each loss's curves, and what their bad shapes mean."""

from __future__ import annotations

import math

# What D(x) and D(G(z)) are, per loss: a probability for the BCE losses, a raw score otherwise.
_OUTPUTS = {
    True: (
        "**D(x)** is D's average probability that a real sample is real; **D(G(z))** the same for G's "
        "samples. 1 means 'surely real', 0 'surely fake'."
    ),
    False: (
        "**D(x)** and **D(G(z))** are D's average raw scores for real and for generated samples: with this "
        "loss D gives a score, not a probability, so only their levels against the targets below mean "
        "anything."
    ),
}

_GUIDES = {
    "nsgan": (
        (
            "**Loss D** is D's error at telling real (label 1) from generated (label 0) samples (binary cross-entropy, "
            "summed over both). **Loss G** is -log D(G(z)): small when D believes G's samples."
        ),
        (
            f"D(x) and D(G(z)) both near 0.5 (D cannot tell), loss D near 2 ln 2 = {2 * math.log(2):.2f} and "
            f"loss G near ln 2 = {math.log(2):.2f}. On real data D usually stays a little ahead: D(x) 0.6-0.8 "
            "and D(G(z)) 0.2-0.4, with noisy but level curves."
        ),
    ),
    "minimax": (
        (
            "**Loss D** is D's error at telling real from generated samples (binary cross-entropy). **Loss G** is "
            "log(1 - D(G(z))), Goodfellow's original: it goes flat (saturates) when D rejects G's samples, so G "
            "learns little early on."
        ),
        (f"D(x) and D(G(z)) near 0.5, loss D near {2 * math.log(2):.2f}, loss G near -ln 2 = {-math.log(2):.2f}."),
    ),
    "lsgan": (
        (
            "**Loss D** is D's squared distance to its targets: 1 for real samples, 0 for generated ones. **Loss G** "
            "is the squared distance of D(G(z)) to 1: G wants its samples scored as real."
        ),
        (
            "both scores near 0.5 (D cannot tell): loss D near 0.25 and loss G near 0.125. D(x) above D(G(z)) by a "
            "steady margin is normal."
        ),
    ),
    "hinge": (
        (
            "**Loss D** is the hinge loss: D is penalised when a real sample scores below +1 or a generated one "
            "above -1. **Loss G** is -D(G(z)): G pushes its samples' scores up."
        ),
        (
            "D(x) above D(G(z)) with both inside about -1..+1 and loss D between 1 and 2 (2: D cannot tell). Loss G "
            "drifts with D's scale; its trend matters less than D(x) - D(G(z))."
        ),
    ),
    "wgan-gp": (
        (
            "**Loss D** (the critic's) is D(G(z)) - D(x) plus the gradient penalty: its negative estimates how far "
            "the generated distribution is from the real one (the Wasserstein distance). **Loss G** is -D(G(z))."
        ),
        (
            "loss D negative and shrinking towards 0 as G improves. The scores themselves drift freely: only the "
            "gap D(x) - D(G(z)) means anything."
        ),
    ),
    "wgan-clip": (
        (
            "**Loss D** (the critic's) is D(G(z)) - D(x), with every weight of D clipped into [-c, c] after each "
            "update: its negative estimates, up to a constant factor, the Wasserstein distance between the real "
            "and the generated samples. **Loss G** is -D(G(z))."
        ),
        (
            "loss D negative, its size falling slowly as the samples improve (the WGAN paper's curves fall with "
            "sample quality). The scores are small (the clip keeps them so) and drift: only D(x) - D(G(z)) means "
            "anything. A loss D that stays near 0 means a critic clipped too hard (c too small: its gradients "
            "vanish); a large c makes the critic slow to train (the paper's two failure modes)."
        ),
    ),
}

_BAD_SHAPES = (
    "- **D wins outright**: loss D falls towards 0, D(x) goes to 1 (or far above) and D(G(z)) to 0 (or far "
    "below); G gets no useful signal. Slow D down: a lower D learning rate, dropout, spectral norm.\n"
    "- **Frozen flat curves**: nothing is learning (a learning rate far too small, or a dead network).\n"
    "- **Big regular swings**: the two players overshoot each other; lower both learning rates or use Adam "
    "beta1 0.5 or 0.\n"
    "- **Healthy-looking losses, samples all alike**: mode collapse does not show in the losses; watch the "
    "samples, the modes covered (2-D) or the quality score."
)


def curve_guide(loss: str) -> str:
    """Markdown: what the curves mean for this loss, what healthy looks like, and the usual bad shapes."""
    if loss not in _GUIDES:
        raise ValueError(f"no guide for loss {loss!r}; known: {', '.join(_GUIDES)}")
    meaning, healthy = _GUIDES[loss]
    from ganplay.losses import LOSSES

    probabilistic = LOSSES.get(loss).probabilistic
    return f"{meaning}\n\n{_OUTPUTS[probabilistic]}\n\n**Healthy:** {healthy}\n\n**Bad shapes:**\n{_BAD_SHAPES}"
