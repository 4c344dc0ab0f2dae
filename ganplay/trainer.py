"""One GAN training step (D updates, then a G update, then EMA), with its full state; no threads, no files."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganplay.augment import make_augmenter
from ganplay.building import build_models_seeded
from ganplay.config import TrainConfig
from ganplay.distributed import SINGLE, World, sync_batch_norm
from ganplay.errors import UsageError
from ganplay.latent import z_from_seed
from ganplay.losses import LOSSES, clip_weights_, gradient_penalty
from ganplay.models import SeededDropout, latent_code
from ganplay.precision import autocast, describe_precision, resolve_precision
from ganplay.seeding import label_cdf, labels_from_cdf
from ganplay.sources import DataSource


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("device 'cuda' was asked for but this machine has no usable CUDA GPU; use auto or cpu")
    if name == "mps" and not torch.backends.mps.is_available():
        raise UsageError("device 'mps' was asked for but Apple's Metal backend is not available; use auto or cpu")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return f"CUDA: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "Apple MPS"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'' if threads == 1 else 's'})"


def make_adam(module: nn.Module, lr: float, betas: tuple[float, float], device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel where torch has one: one op per step instead of dozens (~20% of a toy step)."""
    fused = device.type in ("cpu", "cuda")
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=fused or None)


def make_optimizer(module: nn.Module, cfg: TrainConfig, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """The config's optimizer for one network: Adam with its betas, or RMSprop (torch's defaults, as WGAN's code)."""
    if cfg.optimizer == "rmsprop":
        return torch.optim.RMSprop(module.parameters(), lr=lr)
    return make_adam(module, lr, cfg.betas, device)


class GANTrainer:
    """Holds G, D, EMA-G, both optimizers and the noise stream; `train_step()` advances one G step."""

    def __init__(self, cfg: TrainConfig, data: DataSource, device: torch.device, world: World = SINGLE):
        """`world`: this process's place among the processes of a distributed run (see distributed.py)."""
        self.cfg, self.data, self.device, self.world = cfg, data, device, world
        world.check_batch(cfg.batch_size, cfg.pac)
        world.check_device(device)
        self.amp_dtype = resolve_precision(cfg.precision, device, images=len(data.shape) == 3)
        self.precision_text = describe_precision(cfg.precision, self.amp_dtype, device)
        self.loss = LOSSES.get(cfg.loss)
        if cfg.clusters and len(data.label_prior) != cfg.clusters:
            raise ValueError(f"clusters {cfg.clusters}: label the data with data.load_training_data first")
        self.num_classes = data.num_classes if cfg.takes_labels else 0
        self.fake_label_cdf = label_cdf(data.label_prior, device) if data.label_prior else None
        g, d = build_models_seeded(cfg, data.shape, data.num_classes, cfg.seed, data.scale)
        self.G, self.D = sync_batch_norm(g, world, device).to(device), sync_batch_norm(d, world, device).to(device)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False) if cfg.ema else None
        self.opt_g = make_optimizer(self.G, cfg, cfg.lr_g, device)
        self.opt_d = make_optimizer(self.D, cfg, cfg.lr_d, device)
        # One private stream for z, fake labels, dropout masks and GP mixing: a run never touches
        # the global RNG after init, so concurrent runs stay reproducible and resume is exact.
        self.noise = torch.Generator(device=device)
        self.noise.manual_seed(cfg.seed + 1)
        # Across processes, draws that differ by rank (dropout, augmentation, GP mixing) have their own stream,
        # seeded afresh for each update; the shared stream above then stays the same on every rank.
        self.rank_noise = torch.Generator(device=device) if world.distributed else self.noise
        for module in self.D.modules():
            if isinstance(module, SeededDropout):
                module.generator = self.rank_noise
        self.augment = make_augmenter(cfg.augment, self.rank_noise)  # identity for "none"
        self.fixed_z = z_from_seed(cfg.seed, cfg.num_samples, cfg.z_dim).to(device)  # (S, z_dim)
        self.fixed_y = (torch.arange(cfg.num_samples) % self.num_classes).to(device) if self.num_classes else None
        self.step = 0  # generator updates done
        self.draws = 0  # real batches drawn (d_steps per step), which fixes the data order on resume
        self.extra_d_updates = 0  # D updates made on their own, outside train_step (the game stepped by hand)
        self._ema_pairs = self._ema_tensors()

    # -- the step ----------------------------------------------------------------------------------
    def train_step(self) -> dict[str, Tensor]:
        """d_steps discriminator updates, one generator update, one EMA update. Values stay on the device."""
        cfg = self.cfg
        self._set_learning_rates()
        for i in range(cfg.d_steps):
            real, real_y = self._real_batch()
            fake, fake_y, codes = self._fake_batch(keep_graph=i == cfg.d_steps - 1)  # the G update reuses the last
            stats = self._update_d(real, real_y, fake.detach(), fake_y, codes)
        stats.update(self._update_g(fake, fake_y, codes))
        self._update_ema()
        self.step += 1
        return stats

    # One player at a time (the game stepped by hand): each is a real update that draws from the run's own
    # streams exactly as train_step does, so the checkpoint after it resumes the same game.
    def d_update(self) -> dict[str, Tensor]:
        """One discriminator update on its own; the step (G updates) does not move."""
        self._set_learning_rates()
        real, real_y = self._real_batch()
        fake, fake_y, codes = self._fake_batch(keep_graph=False)
        stats = self._update_d(real, real_y, fake, fake_y, codes)
        self.extra_d_updates += 1
        return stats

    def g_update(self) -> dict[str, Tensor]:
        """One generator update (and its EMA update) on its own: the step moves by one."""
        self._set_learning_rates()
        fake, fake_y, codes = self._fake_batch(keep_graph=True)
        stats = self._update_g(fake, fake_y, codes)
        self._update_ema()
        self.step += 1
        return stats

    def _real_batch(self) -> tuple[Tensor, Tensor | None]:
        real, real_y = self.data.batch(self.draws, self.cfg.batch_size)  # the whole batch: this rank's rows
        self.draws += 1
        return self.world.share(real), (self.world.share(real_y) if self.num_classes else None)

    def _fake_batch(self, keep_graph: bool) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """(G(z), its labels, InfoGAN's codes (B,) or None) for fresh latents from the run's noise stream."""
        z, fake_y = self.sample_latents(self.cfg.batch_size)
        z, fake_y = self.world.share(z), self.world.share(fake_y)
        codes = latent_code(z, self.cfg.info_codes) if self.cfg.info_codes else None
        with torch.set_grad_enabled(keep_graph and torch.is_grad_enabled()), autocast(self.device, self.amp_dtype):
            return self.G(z, fake_y), fake_y, codes  # bf16 images under autocast: D reads them as they are

    def judge(self, x: Tensor, y: Tensor | None) -> Tensor:
        """D's fp32 logits for images as D sees them in training: through the run's augmentation, if any."""
        with autocast(self.device, self.amp_dtype):
            logits = self.D(self.augment(x), y)
        return logits.float()  # the losses are computed in fp32

    def judge_fake(self, fake: Tensor, fake_y: Tensor | None, codes: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """D's logits for generated images, and with InfoGAN the cross-entropy of D's guess of their codes."""
        if codes is None:
            return self.judge(fake, fake_y), None
        with autocast(self.device, self.amp_dtype):
            logits, code_logits = self.D(self.augment(fake), fake_y, with_code=True)
        return logits.float(), F.cross_entropy(code_logits.float(), codes)

    def _update_d(
        self, real: Tensor, real_y: Tensor | None, fake: Tensor, fake_y: Tensor | None, codes: Tensor | None
    ) -> dict[str, Tensor]:
        # (1) Update D: maximize log D(x) + log(1 - D(G(z))) (or the chosen loss's equivalent)
        self._seed_rank_noise(0)
        self.opt_d.zero_grad(set_to_none=True)
        d_real = self.judge(real, real_y)
        d_fake, code_loss = self.judge_fake(fake, fake_y, codes)
        loss_d = self.loss.d_loss(d_real, d_fake)
        if self.loss.gradient_penalty:
            # in fp32 whatever the precision: a gradient of a gradient, where bf16's rounding would be squared
            penalty = gradient_penalty(lambda x: self.D(self.augment(x), real_y), real, fake.float(), self.rank_noise)
            loss_d = loss_d + self.cfg.gp_weight * penalty
        # InfoGAN: D's code head learns to read the code from fakes (reported apart from the game's loss)
        (loss_d if code_loss is None else loss_d + self.cfg.info_weight * code_loss).backward()
        stats = {
            "loss_d": loss_d.detach(),
            "d_real": self.loss.d_report(d_real.detach()),
            "d_fake": self.loss.d_report(d_fake.detach()),
        }
        stats = self.world.average(self.D, stats)  # across processes: the whole batch's gradient and values
        stats["grad_norm_d"] = _grad_norm(self.D)
        self.opt_d.step()
        if self.loss.clips_weights:  # WGAN: the clip keeps the critic K-Lipschitz, after every D update
            clip_weights_(self.D, self.cfg.weight_clip)
        return stats

    def _update_g(self, fake: Tensor, fake_y: Tensor | None, codes: Tensor | None) -> dict[str, Tensor]:
        # (2) Update G: make D call G(z) real; D's own weights need no gradient here
        self._seed_rank_noise(1)
        self.D.requires_grad_(False)
        self.opt_g.zero_grad(set_to_none=True)
        d_fake, code_loss = self.judge_fake(fake, fake_y, codes)
        loss_g = self.loss.g_loss(d_fake)
        # InfoGAN: G also makes its code easy to read, which is what ties each code to one kind of sample
        (loss_g if code_loss is None else loss_g + self.cfg.info_weight * code_loss).backward()
        self.D.requires_grad_(True)
        stats = {"loss_g": loss_g.detach()}
        if code_loss is not None:
            stats["loss_info"] = code_loss.detach()
        stats = self.world.average(self.G, stats)
        stats["grad_norm_g"] = _grad_norm(self.G)
        self.opt_g.step()
        return stats

    def _seed_rank_noise(self, update: int) -> None:
        """Across processes: this rank's own draws for this update (0: D's, 1: G's) from its place in the run."""
        if self.world.distributed:
            position = (self.draws, self.step, self.extra_d_updates, update)
            self.rank_noise.manual_seed(self.world.rank_seed(self.cfg.seed, *position))

    def lr_factor(self) -> float:
        """Multiplier of both base learning rates at this step; a function of the step, so resume is exact."""
        if self.cfg.lr_decay == "none":
            return 1.0
        half = self.cfg.steps / 2
        return min(1.0, max(0.0, (self.cfg.steps - self.step) / half))

    def _set_learning_rates(self) -> None:
        factor = self.lr_factor()
        for opt, base in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * factor

    def _ema_tensors(self) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[Tensor]] | None:
        if self.G_ema is None:
            return None
        return (
            list(self.G_ema.parameters()),
            list(self.G.parameters()),
            list(self.G_ema.buffers()),
            list(self.G.buffers()),
        )

    @torch.no_grad()
    def _update_ema(self) -> None:
        if self._ema_pairs is None:
            return
        ema_params, params, ema_buffers, buffers = self._ema_pairs
        # Warm-up: early on the average follows G closely instead of remembering random weights.
        decay = min(self.cfg.ema_decay, (1 + self.step) / (10 + self.step))
        torch._foreach_lerp_(ema_params, params, 1.0 - decay)
        if ema_buffers:  # an MLP has none
            torch._foreach_copy_(ema_buffers, buffers)  # batch-norm statistics are copied, not averaged

    # -- sampling ----------------------------------------------------------------------------------
    def sample_latents(self, n: int) -> tuple[Tensor, Tensor | None]:
        z = torch.randn(n, self.cfg.z_dim, device=self.device, generator=self.noise)  # (n, z_dim)
        y = None
        if self.fake_label_cdf is not None:  # clusters: fake ones as often as real ones
            y = labels_from_cdf(self.fake_label_cdf, n, self.noise)
        elif self.num_classes:
            y = torch.randint(self.num_classes, (n,), device=self.device, generator=self.noise)
        return z, y

    @torch.no_grad()
    def generate(self, z: Tensor, y: Tensor | None = None, use_ema: bool = True) -> Tensor:
        """Samples in eval mode; the EMA generator when there is one and use_ema is set."""
        if use_ema and self.G_ema is not None:
            return self.G_ema(z, y)
        was_training = self.G.training
        self.G.eval()
        try:
            return self.G(z, y)
        finally:
            self.G.train(was_training)

    def fixed_samples(self) -> Tensor:
        return self.generate(self.fixed_z, self.fixed_y)

    # -- state -------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "G_ema": self.G_ema.state_dict() if self.G_ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": self.step,
            "draws": self.draws,
            "extra_d_updates": self.extra_d_updates,
            "world_size": self.world.size,  # resume replays the same game only under as many processes
            "noise_state": self.noise.get_state(),
            "fixed_z": self.fixed_z.cpu(),
            "fixed_y": self.fixed_y.cpu() if self.fixed_y is not None else None,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["G_ema"] if state.get("G_ema") is not None else state["G"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step, self.draws = int(state["step"]), int(state["draws"])
        self.extra_d_updates = int(state.get("extra_d_updates", 0))  # files from before single updates: none
        self.noise.set_state(state["noise_state"])
        self.fixed_z = state["fixed_z"].to(self.device)
        if state.get("fixed_y") is not None:
            self.fixed_y = state["fixed_y"].to(self.device)


def _grad_norm(module: nn.Module) -> Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    return torch.nn.utils.get_total_norm(grads) if grads else torch.zeros(())
