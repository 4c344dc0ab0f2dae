"""The game stepped by hand: one D update, one G update, a full step or several, each reported as the losses
on a fixed probe batch before and after it, so a learner sees what one move changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from ganplay.errors import UsageError
from ganplay.latent import z_from_seed
from ganplay.trainer import GANTrainer

MOVES = {"d": "D update", "g": "G update", "step": "full step"}
MAX_MOVES = 1000  # per request: a page waits for its moves, and a thousand toy steps take seconds
PROBE_SEED = 0x9A3E  # the probe batch's own seed, apart from every stream of the run
PROBE_KEYS = ("loss_d", "loss_g", "d_real", "d_fake")


@dataclass(frozen=True)
class Move:
    """What one request did: `count` moves of one `kind`, and the probe batch's numbers around them."""

    kind: str  # a key of MOVES
    count: int
    step_before: int
    step_after: int
    before: dict[str, float]
    after: dict[str, float]

    def summary(self) -> str:
        """One line such as '1 D update (step 12): loss_d 1.386 → 1.301, D(x) 0.501 → 0.532, ...'."""
        name = MOVES[self.kind] + ("" if self.count == 1 else "s")
        where = (
            f"step {self.step_after:,}"
            if self.step_before == self.step_after
            else f"step {self.step_before:,} → {self.step_after:,}"
        )
        changes = ", ".join(f"{_LABELS[key]} {self.before[key]:.3f} → {self.after[key]:.3f}" for key in PROBE_KEYS)
        return f"{self.count} {name} ({where}): {changes}"


_LABELS = {"loss_d": "loss D", "loss_g": "loss G", "d_real": "D(x)", "d_fake": "D(G(z))"}


def check_move(kind: str, count: int) -> None:
    """UsageError for a move that is not one, or too many at once."""
    if kind not in MOVES:
        raise UsageError(f"unknown move {kind!r}: choose one of {', '.join(MOVES)}")
    if not 1 <= count <= MAX_MOVES:
        raise UsageError(f"moves per request must be 1 to {MAX_MOVES:,}, got {count:,}")


class Probe:
    """A fixed batch of real data and fixed noise on which D's and G's losses are read without changing the run."""

    def __init__(self, trainer: GANTrainer):
        n = trainer.cfg.batch_size  # as big as a training batch, so batch norm sees what it sees in training
        real, labels = trainer.data.real_samples(n, seed=PROBE_SEED)
        self.real = real.to(trainer.device)
        self.z = z_from_seed(PROBE_SEED, n, trainer.cfg.z_dim).to(trainer.device)  # (n, z_dim)
        self.y = labels.to(trainer.device) if trainer.num_classes else None

    @torch.no_grad()
    def measure(self, trainer: GANTrainer) -> dict[str, float]:
        """The game's losses (without a gradient penalty) and D's verdicts on the probe batch, as training sees
        them (training mode: batch statistics, dropout, augmentation)."""
        with _untouched(trainer):
            fake = trainer.G(self.z, self.y)
            d_real, d_fake = trainer.judge(self.real, self.y), trainer.judge(fake, self.y)
        loss = trainer.loss
        values = {
            "loss_d": loss.d_loss(d_real, d_fake),
            "loss_g": loss.g_loss(d_fake),
            "d_real": loss.d_report(d_real),
            "d_fake": loss.d_report(d_fake),
        }
        return {key: float(value) for key, value in values.items()}


@contextmanager
def _untouched(trainer: GANTrainer) -> Iterator[None]:
    """Whatever a forward pass changes in training mode (batch-norm statistics, the noise stream that dropout and
    augmentation draw from) is put back afterwards, so reading the probe leaves the run exactly where it was."""
    buffers = [b for net in (trainer.G, trainer.D) for b in net.buffers()]
    saved = [b.clone() for b in buffers]
    noise = trainer.noise.get_state()
    try:
        yield
    finally:
        for buffer, value in zip(buffers, saved):
            buffer.copy_(value)
        trainer.noise.set_state(noise)


def make_moves(
    trainer: GANTrainer,
    probe: Probe,
    kind: str,
    count: int,
    after_each: Callable[[dict[str, Tensor]], None] | None = None,
) -> Move:
    """`count` moves of `kind` on the trainer; after_each(stats) gets each move's values (a full step's go to the
    run's metric rows). The probe is read before the first and after the last."""
    check_move(kind, count)
    step_before, before = trainer.step, probe.measure(trainer)
    update = {"d": trainer.d_update, "g": trainer.g_update, "step": trainer.train_step}[kind]
    for _ in range(count):
        stats: dict[str, Tensor] = update()
        if after_each is not None:
            after_each(stats)
    return Move(kind, count, step_before, trainer.step, before, probe.measure(trainer))
