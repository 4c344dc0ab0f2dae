"""One trainer per run folder, across processes: a lock file holding its owner's pid and host.

The app, the CLI and a resume all take it before they train a run, so `train --resume RUN` in a terminal
cannot write the folder of a run the app is training (both wrote it, and the app's metrics went to a
deleted file). The lock is taken atomically (O_CREAT | O_EXCL); a lock left by a process that died on
this host is stale and taken over; one held on another host is refused, naming it.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path

LOCK_NAME = "run.lock"
FRESH_SECONDS = 2.0  # an unreadable lock younger than this is being written by its taker, not damaged


class RunLocked(ValueError):
    """The run is being trained by another process; the message names it."""


def owner_of(folder: str | Path) -> dict | None:
    """The lock's owner {"pid", "host", "since"}, or None when the run is not locked (or only by the dead)."""
    owner = _read(Path(folder) / LOCK_NAME)
    return None if owner is None or _stale(owner) else owner


def acquire(folder: str | Path) -> None:
    """Take the run's lock for this process, or raise RunLocked naming the process that holds it."""
    path = Path(folder) / LOCK_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # a stale lock removed by us, then raced by another taker: look again
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            owner = _read(path)
            if owner == {} and _age(path) < FRESH_SECONDS:
                raise RunLocked(f"run {Path(folder).name} is being started by another process right now") from None
            if owner is not None and not _stale(owner):
                if owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
                    return  # already ours (a run of this process that ended without releasing)
                raise RunLocked(
                    f"run {Path(folder).name} is being trained by process {owner.get('pid')} on "
                    f"{owner.get('host')} (since {owner.get('since')}); stop it there first, or "
                    f"delete {path} if that process is gone"
                )
            path.unlink(missing_ok=True)  # its owner died: the lock is stale
            continue
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                },
                handle,
            )
        return
    raise RunLocked(f"could not take the lock {path}: other processes keep taking it")


def release(folder: str | Path) -> None:
    """Give the lock back, if this process holds it (never another's)."""
    path = Path(folder) / LOCK_NAME
    owner = _read(path)
    if owner is not None and owner.get("pid") == os.getpid() and owner.get("host") == socket.gethostname():
        path.unlink(missing_ok=True)


def _read(path: Path) -> dict | None:
    try:
        owner = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        return {}  # half written by a taker right now, or damaged: treated as stale below
    return owner if isinstance(owner, dict) else {}


def _age(path: Path) -> float:
    try:
        return datetime.now(timezone.utc).timestamp() - path.stat().st_mtime
    except OSError:
        return 0.0


def _stale(owner: dict) -> bool:
    """A lock of this host whose process is gone (or a damaged lock file); other hosts' locks cannot be checked."""
    pid, host = owner.get("pid"), owner.get("host")
    if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(host, str):
        return True
    return host == socket.gethostname() and not process_alive(pid)


def process_alive(pid: object) -> bool:
    """Whether a process of this host has this pid (False for what no pid can be: 0, -1, 2**70, "x")."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True  # alive, under another user
    except (ProcessLookupError, OverflowError, OSError):
        return False
    return True
