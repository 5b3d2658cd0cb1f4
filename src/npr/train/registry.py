"""A small name -> entry registry, so that a config string selects an advantage estimator, a loss or a reward term.

Each registry is a module-level instance in the module that defines its family (``ADVANTAGES`` in
:mod:`npr.train.advantages`, ``POLICY_LOSSES`` in :mod:`npr.train.losses`, ...). Users add entries with
``@REGISTRY.register("name")``; an unknown name is refused with the list of known ones.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries of one family, by name. ``kind`` names the family in error messages ("advantage estimator")."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REGISTRY.register("name")`` adds the decorated object under ``name``."""

        def add(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = entry
            return entry

        return add

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(self.unknown(name)) from None

    def unknown(self, name: str) -> str:
        """The message for an unknown name: the known names, and the closest one when there is one."""
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return f"unknown {self.kind} {name!r}{hint}; known: {', '.join(self._entries)}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
