"""A run folder's JSON files read back and checked: a damaged file is reported in words, never a traceback.

status.json, config.json, metrics.jsonl and eval.jsonl are written by ganplay, but a crash, a full disk or a
hand edit can leave anything in them. Readers here take what is sound and describe the rest as problems
("status.json: state 'bogus' is not one of ..."), so one damaged folder shows as damaged and every other
run still lists.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from ganplay.checkpoints import atomic_write_text
from ganplay.config import TrainConfig

MAX_SHOWN = 60  # characters of a bad value quoted in a problem


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "..."


def read_json(path: Path, problems: list[str] | None = None) -> dict[str, Any]:
    """The JSON object in `path`; {} (and a problem) when it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as err:
        _note(problems, f"{path.name} is unreadable ({type(err).__name__})")
        return {}
    if not isinstance(data, dict):
        _note(problems, f"{path.name} holds {type(data).__name__}, not a JSON object")
        return {}
    return data


def whole_number(data: dict[str, Any], key: str, default: int, where: str, problems: list[str]) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        problems.append(f"{where}: {key} {shown(value)} is not a whole number")
        return default
    return value


def text(data: dict[str, Any], key: str, where: str, problems: list[str]) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        problems.append(f"{where}: {key} {shown(value)} is not text")
        return ""
    return value


def checked_config(config: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """config.json's fields whose values have the right type; the others are reported and left out."""
    kinds = {f.name: type(f.default if f.default is not MISSING else f.default_factory()) for f in fields(TrainConfig)}
    kept = {}
    for key, value in config.items():
        if key not in kinds:
            problems.append(f"config.json: unknown field {shown(key)}")
        elif not _fits(value, kinds[key]):
            problems.append(f"config.json: {key} {shown(value)} is not {kinds[key].__name__}")
        else:
            kept[key] = value
    return kept


def _fits(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is tuple:
        return isinstance(value, list) and all(_fits(v, float) for v in value)
    return isinstance(value, kind)


def read_rows(path: Path, required: tuple[str, ...] = ("step",), upto: int | None = None, rewrite: bool = False,
              problems: list[str] | None = None) -> list[dict[str, float]]:
    """The rows of a .jsonl file that are sound: an object, a whole-number step, numbers for values.

    A last line cut short by a crash is dropped quietly; any other bad line is dropped and reported. With
    `upto` (a resume), rows after that step, which the resumed run redoes, are dropped, and with `rewrite`
    removed from the file too.
    """
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []
    except OSError as err:
        _note(problems, f"{path.name} is unreadable ({err.strerror or err})")
        return []
    rows, kept = [], []
    for number, line in enumerate(lines, start=1):
        row, problem = _parse_row(line, required)
        if problem is not None:
            if not (problem == "cut short" and number == len(lines)):
                _note(problems, f"{path.name} line {number}: {problem}")
            continue
        if upto is None or row["step"] <= upto:
            rows.append(row)
            kept.append(line)
    if upto is not None and rewrite:
        atomic_write_text(path, "".join(f"{line}\n" for line in kept))
    return rows


def _parse_row(line: str, required: tuple[str, ...]) -> tuple[dict[str, float], str | None]:
    try:
        row = json.loads(line)
    except (ValueError, RecursionError):
        return {}, "cut short"
    if not isinstance(row, dict):
        return {}, f"{shown(row)} is not a row of values"
    missing = [key for key in required if key not in row]
    if missing:
        return {}, f"no {', '.join(missing)}"
    if isinstance(row["step"], bool) or not isinstance(row["step"], int):
        return {}, f"step {shown(row['step'])} is not a whole number"
    bad = [key for key, value in row.items() if isinstance(value, bool) or not isinstance(value, (int, float))]
    if bad:
        return {}, f"{bad[0]} {shown(row[bad[0]])} is not a number"
    return row, None


def _note(problems: list[str] | None, problem: str) -> None:
    if problems is not None:
        problems.append(problem)
