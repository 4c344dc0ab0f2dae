"""A process of a distributed run other than rank 0: it trains its share of every step and writes nothing.

Rank 0 (runs.Run) owns the run folder and everything in it. The others get the config and the starting state
from it, so they need no run folder of their own (machines without a shared disk work), then take a step each
time rank 0 says so, until it says the run is over.
"""

from __future__ import annotations

import signal

from ganplay.config import TrainConfig
from ganplay.data import load_training_data
from ganplay.distributed import STEP, World, next_command, receive_run
from ganplay.trainer import GANTrainer, resolve_device


def follow_lead(world: World) -> None:
    """Train as rank 0 leads, until it says the run is over."""
    # Ctrl-C reaches every process of the terminal: rank 0 saves a checkpoint and then says stop; this one
    # must still be there to hear it (a rank 0 that is gone ends the wait with an error instead)
    for name in ("SIGINT", "SIGTERM"):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    config_json, state = receive_run()
    cfg = TrainConfig.from_json(config_json)
    device = resolve_device(cfg.device)
    trainer = GANTrainer(cfg, load_training_data(cfg, device), device, world)
    trainer.load_state_dict(state)
    while next_command() == STEP:
        trainer.train_step()
