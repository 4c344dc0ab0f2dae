"""`torchrun ... -m ganplay train ...`: each process joins the others; rank 0 runs and writes the run as a
single process would (progress bar, run folder), the others train their shares and print only their errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from ganplay.distributed import Lead, World, join, leave
from ganplay.errors import is_users_mistake


def train_across_processes(
    args: argparse.Namespace,
    start_run: Callable[[argparse.Namespace, World], Any],
    watch_run: Callable[[Any, argparse.Namespace], int],
) -> int:
    world = join()
    try:
        if world.is_lead:
            return _lead(args, world, start_run, watch_run)
        return _follow(world)
    finally:
        leave()


def _lead(args: argparse.Namespace, world: World, start_run: Callable, watch_run: Callable) -> int:
    try:
        run = start_run(args, world)
    except Exception as err:
        # nothing started: the others wait for rank 0's first word, so it is why not (and they exit too)
        Lead(world).end(str(err) if is_users_mistake(err) else f"{type(err).__name__}: {err}")
        raise
    print(f"training across {world.size} processes ({os.environ.get('LOCAL_WORLD_SIZE', world.size)} on this machine)")
    return watch_run(run, args)


def _follow(world: World) -> int:
    import torch.distributed

    from ganplay.rank_follower import follow_lead

    try:
        follow_lead(world)
    except torch.distributed.DistError as err:  # rank 0 failed or was killed: its own output says why
        print(f"rank {world.rank}: rank 0 has gone, so this process stops too ({type(err).__name__})", file=sys.stderr)
        return 1
    except Exception as err:
        if not is_users_mistake(err):
            raise
        print(f"rank {world.rank}: error: {err}", file=sys.stderr)
        return 2
    return 0
