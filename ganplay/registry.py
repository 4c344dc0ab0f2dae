"""A tiny name -> builder registry whose listing feeds menus and errors.

Entries are declared with their facts first (catalog.py: plain data, no torch) and their builders registered by a
decorator in the module that holds them, which is imported the first time a builder is asked for. A registry of
its own (the Learn page's lessons) may also register and declare at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to builders; unknown names raise a ValueError that lists the valid ones."""

    def __init__(self, kind: str):
        self.kind = kind  # "dataset", "architecture", "loss": used in error messages
        self._entries: dict[str, T] = {}
        self._info: dict[str, dict[str, Any]] = {}
        self._homes: dict[str, str] = {}  # name -> the module that registers its builder

    def declare(self, name: str, home: str, **info: Any) -> None:
        """A name and its facts, before (and without importing) the module `home` that registers its builder."""
        if name in self._info:
            raise ValueError(f"{self.kind} {name!r} is declared twice")
        self._info[name], self._homes[name] = info, home

    def register(self, name: str, **info: Any) -> Callable[[T], T]:
        def add(builder: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if name in self._homes and info:
                raise ValueError(f"{self.kind} {name!r} is declared with its facts in catalog.py: give them there")
            if name not in self._info:
                self._info[name] = info
            self._entries[name] = builder
            return builder

        return add

    def names(self) -> list[str]:
        return list(self._info)

    def info(self, name: str) -> dict[str, Any]:
        self._known(name)
        return dict(self._info[name])

    def get(self, name: str) -> T:
        self._known(name)
        if name not in self._entries:
            importlib.import_module(self._homes[name])  # its decorator registers the builder
        if name not in self._entries:
            raise RuntimeError(f"{self.kind} {name!r} is declared for {self._homes[name]}, which registers no builder")
        return self._entries[name]

    def _known(self, name: str) -> None:
        if name not in self._info:
            valid = ", ".join(self._info)
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of: {valid}")

    def __contains__(self, name: object) -> bool:
        return name in self._info
