"""Files written so that nothing is lost or half-written: atomic replaces (temp file, fsync, rename), the
refusal to replace anything but a regular file, output paths checked before any work, and the clean-up of the
temporaries a kill leaves behind. No torch here: the CLI's help and listings import it."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ganplay.errors import UsageError

NAME_IN_TEMP = 100  # characters of the target's name kept in its temp file's name, so a 250-character name fits


def atomic_write_bytes(path: str | Path, payload: bytes) -> Path:
    """Write to a temp file beside `path`, fsync, then os.replace: readers see the old or the new file, never half.

    Only a regular file, or nothing, is replaced (see refuse_unless_regular). Errors name `path`, not the temp file.
    """
    path = Path(path)
    refuse_unless_regular(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:NAME_IN_TEMP]}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; others should read checkpoints as usual
        os.replace(tmp, path)
    except OSError as err:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from err
    _fsync_dir(path.parent)
    return path


def refuse_unless_regular(path: Path) -> None:
    """UsageError when `path` holds anything but a regular file, through links: a device, a fifo, a folder or a
    socket is never replaced by a file (as root, `export --out /dev/full` used to turn the device into one)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return  # nothing there (or a dangling link): a new file
    except OSError as err:  # a file where a folder should be, a link loop, a name too long
        raise OSError(err.errno, f"could not write {path}: {err.strerror or err}", str(path)) from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{path} is {_kind_of(mode)}, not a regular file: refusing to replace it with a file")


def _kind_of(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISFIFO, "a fifo (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((words for test, words in kinds if test(mode)), "something else")


def check_output_path(path: str | Path, suffixes: tuple[str, ...], what: str = "an output file") -> Path:
    """A path named for a new output: nothing or a regular file there (which will be replaced), and one of
    `suffixes` at its end. Checked before any work is done, so a wrong path costs nothing and writes nothing."""
    path = Path(path)
    refuse_unless_regular(path)
    if path.suffix not in suffixes:
        raise UsageError(f"{what} must end in {' or '.join(suffixes)}, got {path}")
    return path


def remove_stale_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files a kill during atomic_write_bytes left in `folder` and its samples/; only those
    (.NAME.XXXX.tmp, the pattern mkstemp gets above). Call it only while nothing else writes there."""
    removed = []
    for place in (Path(folder), Path(folder) / "samples"):
        for tmp in place.glob(".*.tmp") if place.is_dir() else ():
            if tmp.is_file() and not tmp.is_symlink():
                tmp.unlink(missing_ok=True)
                removed.append(tmp)
    return removed


def _current_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it; done once, at import, before any thread starts
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # some platforms cannot open folders; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
