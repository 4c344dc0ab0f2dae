"""A tiny name -> builder registry, filled by a decorator, whose listing feeds menus and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to builders; unknown names raise a ValueError that lists the valid ones."""

    def __init__(self, kind: str):
        self.kind = kind  # "dataset", "architecture", "loss": used in error messages
        self._entries: dict[str, T] = {}
        self._info: dict[str, dict[str, Any]] = {}

    def register(self, name: str, **info: Any) -> Callable[[T], T]:
        def add(builder: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = builder
            self._info[name] = info
            return builder

        return add

    def names(self) -> list[str]:
        return list(self._entries)

    def info(self, name: str) -> dict[str, Any]:
        self.get(name)
        return dict(self._info[name])

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            valid = ", ".join(self._entries)
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {valid}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries
