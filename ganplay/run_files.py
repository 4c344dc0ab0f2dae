"""A run folder's JSON files read back and checked: a damaged file is reported in words, never a traceback.

status.json, config.json, metrics.jsonl and eval.jsonl are written by ganplay, but a crash, a full disk or a
hand edit can leave anything in them. Readers here take what is sound and describe the rest as problems
("status.json: state 'bogus' is not one of ..."), so one damaged folder shows as damaged and every other
run still lists.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ganplay.checkpoints import BEST_CHECKPOINT_NAME
from ganplay.config import TrainConfig, field_types, fits_type, shown
from ganplay.health import ROWS_NEEDED, check_health
from ganplay.live_eval import best_row, metric_of
from ganplay.run_lock import process_alive
from ganplay.run_state import ACTIVE_STATES, MetricHistory, RunSnapshot, RunState
from ganplay.safe_files import atomic_write_text

EVALS_FILE = "eval.jsonl"  # live quality scores, one JSON row each
METRIC_KEYS = ("step", "loss_d", "loss_g")  # what every metrics.jsonl row holds; readers rely on them


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
    kinds = field_types()
    kept = {}
    for key, value in config.items():
        if key not in kinds:
            problems.append(f"config.json: unknown field {shown(key)}")
        elif not fits_type(value, kinds[key]):
            problems.append(f"config.json: {key} {shown(value)} is not {kinds[key].__name__}")
        else:
            kept[key] = value
    return kept


def config_edits(folder: Path, config: TrainConfig) -> list[str]:
    """How the run's config.json differs from `config` (its checkpoint's), steps aside ("lr_g: 0.0002 in the
    checkpoint, 0.001 in config.json"); empty when it matches or cannot be read (a resume rewrites it then)."""
    problems: list[str] = []
    on_disk = checked_config(read_json(folder / "config.json", problems), problems)
    if problems:
        return []
    ours = config.to_dict()
    return [
        f"{key}: {shown(ours.get(key))} in the checkpoint, {shown(value)} in config.json"
        for key, value in sorted(on_disk.items())
        if key != "steps" and _comparable(value) != _comparable(ours.get(key))
    ]


def _comparable(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def read_rows(
    path: Path,
    required: tuple[str, ...] = ("step",),
    upto: int | None = None,
    rewrite: bool = False,
    problems: list[str] | None = None,
) -> list[dict[str, float]]:
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


def history_of(
    path: Path, required: tuple[str, ...] = ("step",), upto: int | None = None, rewrite: bool = False
) -> MetricHistory:
    return bounded(read_rows(path, required, upto=upto, rewrite=rewrite))


def bounded(rows: list[dict[str, float]]) -> MetricHistory:
    history = MetricHistory()
    for row in rows:
        history.append(row)
    return history


def created_at(folder: Path, default: str) -> str:
    found = read_json(folder / "status.json").get("created_at")
    return found if isinstance(found, str) else default


def snapshot_from_disk(folder: Path) -> RunSnapshot:
    """A run of no live thread here, from its folder; a folder whose files are damaged reads as DAMAGED, with
    what is wrong in `error`, and never raises."""
    problems: list[str] = []
    status = read_json(folder / "status.json", problems)
    config = checked_config(read_json(folder / "config.json", problems), problems)
    state = _state_on_disk(status, problems)
    step = whole_number(status, "step", 0, "status.json", problems)
    total = whole_number(status, "total_steps", config.get("steps", 0), "status.json", problems)
    error, device, title, created = (
        text(status, key, "status.json", problems) for key in ("error", "device", "data_title", "created_at")
    )
    rows = read_rows(folder / "metrics.jsonl", METRIC_KEYS, problems=problems)
    evals = read_rows(folder / EVALS_FILE, problems=problems)
    metric = metric_of(evals)
    best = best_row(evals, metric) if metric and (folder / BEST_CHECKPOINT_NAME).exists() else None
    if problems:
        state, error = (
            RunState.DAMAGED,
            f"damaged run folder {folder}: "
            + "; ".join(problems[:5])
            + (f"; and {len(problems) - 5} more" if len(problems) > 5 else ""),
        )
    return RunSnapshot(
        name=folder.name,
        folder=str(folder),
        state=state,
        step=step,
        total_steps=total,
        config=config,
        history=bounded(rows).rows(),
        latest=rows[-1] if rows else {},
        error=error,
        device=device,
        alarms=check_health(rows[-ROWS_NEEDED:], error, config=config),
        data_title=title,
        created_at=created,
        evals=evals,
        eval_metric=metric,
        best=best,
    )


def _state_on_disk(status: dict[str, Any], problems: list[str]) -> RunState:
    value = status.get("state", RunState.INTERRUPTED.value)
    try:
        state = RunState(value)
    except (ValueError, TypeError):
        problems.append(
            f"status.json: state {shown(value)} is not one of "
            f"{', '.join(s.value for s in RunState if s != RunState.DAMAGED)}"
        )
        return RunState.DAMAGED
    pid = status.get("pid")
    # a pid of this process has no live thread here, or the run would be in the registry
    if state in ACTIVE_STATES and (pid == os.getpid() or not process_alive(pid)):
        return RunState.INTERRUPTED  # its process is gone: the run can be resumed from its checkpoint
    return state
