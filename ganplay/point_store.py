"""Where the user's own 2-D points are kept: the folder of drawn and uploaded points files (never overwriting other
points under the same name), and each run's own copy of the points it trains on (checked on resume)."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from ganplay.image_files import DatasetError, default_data_dir
from ganplay.point_files import RUN_COPY, PointTable, read_points

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # saved points files: NAME.csv


# -- where drawn and uploaded points are kept ----------------------------------------------------------


def points_folder() -> Path:
    """Drawn and uploaded points: $GANPLAY_DATA/points (else ./data/points), beside uploaded image sets."""
    return default_data_dir() / "points"


def save_points(table: PointTable, name: str, folder: str | Path | None = None) -> Path:
    """table as folder/NAME.csv; the same points there already are reused, different ones are never replaced."""
    stem = name.strip().removesuffix(".csv")
    if not NAME_PATTERN.match(stem):
        raise DatasetError(
            f"points name {name!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    path = Path(folder or points_folder()) / f"{stem}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(table.to_csv())
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)  # fails if the name is taken, even by a file written a moment ago: no silent replace
        except FileExistsError:
            if not _holds_same_points(path, table):
                raise DatasetError(
                    f"{path} already holds other points; pick another name (nothing was overwritten)"
                ) from None
    finally:
        os.unlink(tmp)
    return path


def _holds_same_points(path: Path, table: PointTable) -> bool:
    try:
        return read_points(path).fingerprint == table.fingerprint
    except DatasetError:
        return False


def saved_points_files(folder: str | Path | None = None) -> list[Path]:
    """The saved points files, newest first."""
    found = Path(folder or points_folder())
    files = [p for p in found.glob("*.csv") if p.is_file()] if found.is_dir() else []
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


# -- a run's own copy ------------------------------------------------------------------------------


def keep_run_points(folder: str | Path, data: object) -> None:
    """A run trains on the points it started with. A new run (no checkpoint yet) writes them to its folder as
    RUN_COPY; a resumed one is refused when its points file now holds other points, saying how to get them back.
    Any other dataset is left alone."""
    from ganplay.checkpoints import CHECKPOINT_NAME
    from ganplay.safe_files import atomic_write_text

    table = getattr(data, "table", None)
    if not isinstance(table, PointTable):
        return
    copy = Path(folder) / RUN_COPY
    if not (Path(folder) / CHECKPOINT_NAME).exists() or not copy.exists():
        atomic_write_text(copy, table.to_csv())
        return
    try:
        kept = read_points(copy).fingerprint
    except DatasetError as err:
        raise DatasetError(
            f"{copy}, this run's copy of its points, cannot be read ({err}); delete it to resume on "
            f"{table.source} as it is now"
        ) from None
    if kept != table.fingerprint:
        raise DatasetError(
            f"{table.source} has changed since this run started (sha256 of its points was {kept[:12]}, now "
            f"{table.fingerprint[:12]}): a run trains on the points it started with. {copy} holds them: copy it "
            f"over {table.source} to resume, or start a new run on the changed file"
        )
