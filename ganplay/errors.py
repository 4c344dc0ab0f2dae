"""The user's errors: UsageError for a request got wrong, and is_users_mistake, which tells them from a bug's."""

from __future__ import annotations

import errno


class UsageError(ValueError):
    """A request that cannot be met as asked; the message says what to change. The CLI prints it as one line.

    A ValueError, so callers that caught ValueError for such requests keep working; a plain ValueError from
    the core is not the user's and keeps its traceback.
    """


# A full or read-only disk, a quota, a name the file system refuses: the machine's state, not a bug.
MACHINE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.ENAMETOOLONG, errno.ELOOP)


def is_users_mistake(err: BaseException) -> bool:
    """An error the user can act on (a bad value, a damaged or foreign file, a path that cannot be written, a run
    another process trains), shown as one line; any other exception is a bug and keeps its traceback."""
    from ganplay.checkpoints import CheckpointError
    from ganplay.config import ConfigError
    from ganplay.image_files import DatasetError
    from ganplay.run_lock import RunLocked

    if isinstance(err, (ConfigError, DatasetError, CheckpointError, RunLocked, UsageError)):
        return True
    if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError)):
        return True
    return isinstance(err, OSError) and err.errno in MACHINE_ERRNOS
