"""The user's own 2-D points as a dataset (points:FILE.csv): reading and checking a CSV of x,y with an optional
label column, and the points' fingerprint. Where drawn and uploaded points are kept, and each run's own copy of
its points: point_store.py.

Accepted files: UTF-8 text (a BOM is fine) named .csv, .tsv or .txt, at most MAX_POINT_BYTES and MAX_POINT_ROWS
points; one point per line as `x,y` or `x,y,label`, the separator a comma, a tab, a semicolon or spaces (the first
line's decides); an optional header line (its first two fields are not numbers); blank lines and lines starting
with # are skipped. x and y are finite numbers; a label is any non-empty text (2 to MAX_LABELS distinct ones; a
single label everywhere is no labelling). Every problem is a DatasetError naming the file and line; nothing is
changed by a refused file.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import itertools
import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganplay.image_files import DatasetError, dataset_path

POINTS_PREFIX = "points:"
POINT_SUFFIXES = (".csv", ".tsv", ".txt")
MAX_POINT_BYTES = 64 * 1024**2  # checked before a byte is read: 10 million rows of x,y are 100 MB or more
MAX_POINT_ROWS = 1_000_000  # points read at most; reading stops at the first one over
MIN_POINTS = 10  # fewer is no distribution to learn
MAX_LABELS = 100  # distinct labels: a class per label, as conditional models take them
RUN_COPY = "points.csv"  # each run's copy of the points it trains on, in its folder
SHOWN = 40  # characters of a bad field quoted in a message


@dataclass(frozen=True)
class PointTable:
    """Points as read, in the file's own units, with their labels; `fingerprint` says whether two tables agree."""

    xy: np.ndarray  # (N, 2) float64
    labels: np.ndarray  # (N,) int64 indices into class_names; all 0 when unlabelled
    class_names: tuple[str, ...]  # () without a label column, or with one label only
    source: str  # where they came from, for messages

    @functools.cached_property
    def fingerprint(self) -> str:
        """sha256 of the numbers and labels (not of the file's bytes): a header or spacing changes nothing."""
        digest = hashlib.sha256(np.ascontiguousarray(self.xy, dtype="<f8").tobytes())
        if self.class_names:
            digest.update(np.ascontiguousarray(self.labels, dtype="<i8").tobytes())
            digest.update("\0".join(self.class_names).encode())
        return digest.hexdigest()

    def placement(self) -> tuple[np.ndarray, float]:
        """(centre (2,), half-width): the one shift and scale that put every point in [-1, 1], keeping the shape."""
        low, high = self.xy.min(0), self.xy.max(0)
        return (low + high) / 2, float((high - low).max() / 2)

    def normalised(self) -> np.ndarray:
        """(N, 2) float32 in [-1, 1], the widest axis spanning it: ring8's scale, which the toy recipes suit."""
        centre, half = self.placement()
        return ((self.xy - centre) / half).astype(np.float32)

    def to_csv(self) -> str:
        """The canonical file: a header, then x,y[,label] with each number written so it reads back exactly."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["x", "y", "label"] if self.class_names else ["x", "y"])
        for (x, y), label in zip(self.xy.tolist(), self.labels.tolist()):
            writer.writerow([repr(x), repr(y), self.class_names[label]] if self.class_names else [repr(x), repr(y)])
        return out.getvalue()

    def summary(self) -> str:
        labels = f", {len(self.class_names)} labels" if self.class_names else ""
        return f"{len(self.xy):,} points{labels}"


def make_table(xy: np.ndarray, label_texts: list[str] | None, source: str) -> PointTable:
    """Check points from any source (a file, a drawing): enough of them, finite, spread out; labels indexed."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    if len(xy) < MIN_POINTS:
        raise DatasetError(
            f"{source} holds {len(xy)} point{'s' * (len(xy) != 1)}; at least {MIN_POINTS} are needed to learn from"
        )
    if not np.isfinite(xy).all():
        raise DatasetError(f"{source}: every x and y must be a finite number (no NaN or infinity)")
    span = np.ptp(xy, axis=0).max()
    if not np.isfinite(span) or span > 1e300:
        raise DatasetError(f"{source}: the points span more than 1e300; rescale them")
    if span == 0:
        raise DatasetError(f"{source}: all {len(xy):,} points are ({xy[0, 0]:g}, {xy[0, 1]:g}); they need some spread")
    labels, names = np.zeros(len(xy), dtype=np.int64), ()
    if label_texts is not None:
        distinct = sorted(set(label_texts), key=_label_order)
        if len(distinct) > MAX_LABELS:
            raise DatasetError(f"{source} has {len(distinct):,} distinct labels; at most {MAX_LABELS} (one class each)")
        if len(distinct) > 1:  # one label everywhere is no labelling, as one class folder is
            index = {name: i for i, name in enumerate(distinct)}
            labels, names = np.fromiter((index[t] for t in label_texts), np.int64, len(xy)), tuple(distinct)
    return PointTable(xy, labels, names, source)


def _label_order(text: str) -> tuple[int, float, str]:
    """Numbers by value (2 before 10), then text: the class order a user expects."""
    try:
        return 0, float(text), text
    except ValueError:
        return 1, 0.0, text


# -- reading a file --------------------------------------------------------------------------------


def points_file_of(name: str) -> Path:
    """The existing points file that points:PATH names, ~ expanded; one DatasetError for every way it is not.

    Checked here only, so the form, the config's validation and the loader refuse a file with the same words.
    """
    path = dataset_path(name, POINTS_PREFIX, "a CSV file of x,y lines, as in points:/home/me/blobs.csv")
    raw = name[len(POINTS_PREFIX) :].strip()  # as typed, for the messages
    if path.is_dir():
        raise DatasetError(f"points:{raw} is a folder; points: names a CSV file (a folder of images is folder:PATH)")
    if path.suffix.lower() not in POINT_SUFFIXES:
        raise DatasetError(
            f"points:{raw}: a points file is text named {', '.join(POINT_SUFFIXES)} (x,y or x,y,label per line); "
            f"{path.name!r} is not"
        )
    if not path.exists():
        raise DatasetError(f"points file {path} does not exist (a run keeps a copy of its points as its {RUN_COPY})")
    if not path.is_file():
        raise DatasetError(f"points file {path} is not a regular file")
    return path


def read_points(path: str | Path) -> PointTable:
    """The checked table of a points file, read once per version of the file (its size and modification time)."""
    path = Path(path)
    try:
        info = path.stat()
    except OSError as err:
        raise DatasetError(f"cannot read points file {path}: {err.strerror or err}") from None
    _check_size(info.st_size, str(path))
    return _read_cached(str(path), info.st_size, info.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int) -> PointTable:
    try:
        with open(path, "rb") as raw:
            _check_text(raw.read(8192), path)
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return parse_points(handle, path)
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"{path} is not UTF-8 text (byte {err.object[err.start]:#04x}): a points file is a CSV"
        ) from None
    except OSError as err:
        raise DatasetError(f"cannot read points file {path}: {err.strerror or err}") from None


def parse_points_bytes(payload: bytes, source: str) -> PointTable:
    """An uploaded file's table, under the same limits as a file on disk."""
    _check_size(len(payload), source)
    _check_text(payload[:8192], source)
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise DatasetError(
            f"{source} is not UTF-8 text (byte {err.object[err.start]:#04x}): a points file is a CSV"
        ) from None
    return parse_points(io.StringIO(text, newline=""), source)


def _check_size(size: int, source: str) -> None:
    if size > MAX_POINT_BYTES:
        raise DatasetError(
            f"{source} is {size / 1024**2:,.1f} MiB; a points file may be at most {MAX_POINT_BYTES // 1024**2} MiB "
            f"and {MAX_POINT_ROWS:,} points: sample it down first"
        )


def _check_text(head: bytes, source: str) -> None:
    if b"\0" in head:
        raise DatasetError(f"{source} is a binary file, not a CSV of x,y lines")


def parse_points(lines: Iterable[str], source: str) -> PointTable:
    """The table of a CSV's lines; reading stops at the first bad line or at the first point over the limit."""
    xs, ys, label_texts = array("d"), array("d"), []
    columns, header = 0, 0  # the column count (2 or 3) once known; the header's line number, 0 for none
    for number, fields in _rows(lines, source):
        if not columns:
            columns = _column_count(fields, number, source)
            if not (_is_number(fields[0]) and _is_number(fields[1])):
                header = number  # names the columns; the next line holds the first point
                continue
        if len(fields) != columns:
            first = f"the header (line {header})" if header else "the first line"
            raise DatasetError(
                f"{source}, line {number}: {len(fields)} fields where {first} has {columns}; every line is "
                f"{'x,y,label' if columns == 3 else 'x,y'}"
            )
        try:  # the common case first, a million times: the messages are made only for a bad line
            x, y = float(fields[0]), float(fields[1])
        except ValueError:
            raise _not_numbers(fields, number, source, first_point=not xs) from None
        if not (math.isfinite(x) and math.isfinite(y)):
            axis, text = ("x", fields[0]) if not math.isfinite(x) else ("y", fields[1])
            raise DatasetError(
                f"{source}, line {number}: {axis} is {text.strip()}; every x and y must be a finite number"
            )
        xs.append(x)
        ys.append(y)
        if columns == 3:
            label_texts.append(_label(fields[2], number, source))
        if len(xs) > MAX_POINT_ROWS:
            raise DatasetError(f"{source} holds more than {MAX_POINT_ROWS:,} points (line {number:,}); sample it down")
    if not xs:
        raise DatasetError(f"{source} holds no points: no line of x,y numbers")
    xy = np.stack([np.frombuffer(xs, np.float64), np.frombuffer(ys, np.float64)], 1)
    return make_table(xy, label_texts if columns == 3 else None, source)


def _not_numbers(fields: list[str], number: int, source: str, first_point: bool) -> DatasetError:
    if first_point and not (_is_number(fields[0]) or _is_number(fields[1])):
        return DatasetError(
            f"{source} holds no numbers: line {number} reads {_quote(','.join(f.strip() for f in fields))}; "
            f"a points file has two numbers per line, x and y"
        )
    axis, text = ("x", fields[0]) if not _is_number(fields[0]) else ("y", fields[1])
    return DatasetError(f"{source}, line {number}: {axis} {_quote(text.strip())} is not a number")


def _rows(lines: Iterable[str], source: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each line with data; the first such line's separator splits them all. Fields keep
    their spaces (float() ignores them): stripping a million rows cost a fifth of the reading."""
    lines = iter(lines)
    for number, line in enumerate(lines, 1):
        if _holds_data(line):
            break
    else:
        return
    rest = itertools.chain([line], lines)
    separator = next((s for s in (",", "\t", ";") if s in line), None)
    if separator is None:  # spaces
        for offset, text in enumerate(rest):
            if _holds_data(text):
                yield number + offset, text.split()
        return
    reader = csv.reader(rest, delimiter=separator)
    try:
        for fields in reader:
            first = fields[0].strip() if fields else "#"
            if not first.startswith("#") and (first or any(f.strip() for f in fields[1:])):
                yield number - 1 + reader.line_num, fields
    except csv.Error as err:  # a NUL byte, a field over csv's size limit
        raise DatasetError(f"{source}, line {number - 1 + reader.line_num}: not a readable CSV line ({err})") from None


def _holds_data(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("#")


def _column_count(fields: list[str], number: int, source: str) -> int:
    if len(fields) == 1:
        raise DatasetError(
            f"{source}, line {number}: one column ({_quote(fields[0].strip())}); a points file needs two, x and y, "
            f"separated by commas (or tabs, semicolons or spaces), and may add a third, a label"
        )
    if len(fields) > 3:
        raise DatasetError(f"{source}, line {number}: {len(fields)} columns; a points file has x,y or x,y,label")
    return len(fields)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _label(text: str, number: int, source: str) -> str:
    text = text.strip()
    if not text:
        raise DatasetError(f"{source}, line {number}: the label is empty (leave the third column out for no labels)")
    return text


def _quote(text: str) -> str:
    return repr(text if len(text) <= SHOWN else f"{text[:SHOWN]}...")
