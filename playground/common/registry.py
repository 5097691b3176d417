"""A tiny name -> object registry, shared by every feature.

Modelled on torchvision's ``models/_api.py`` and timm's ``create_model``:
an unknown name raises ``ValueError`` listing the valid choices, and
registering a name twice raises, so two presets can never shadow each other.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects (usually builder functions).

    >>> kernels = Registry("kernel preset")
    >>> @kernels.register("identity")
    ... def _identity(): return [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    >>> kernels.get("identity")()[1][1]
    1
    """

    def __init__(self, what: str):
        # ``what`` names the kind of thing in error messages ("model", "pipeline" ...).
        self.what = what
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T | None = None) -> Callable[[T], T] | T:
        """Register ``obj`` under ``name``; usable as a decorator when ``obj`` is None."""

        def _add(o: T) -> T:
            key = name.strip()
            if not key:
                raise ValueError(f"A {self.what} needs a non-empty name.")
            if key in self._items:
                raise ValueError(f"The {self.what} {key!r} is already registered.")
            self._items[key] = o
            return o

        return _add if obj is None else _add(obj)

    def get(self, name: str) -> T:
        """Return the object registered as ``name``; ValueError listing the choices if unknown."""
        try:
            return self._items[name]
        except KeyError:
            choices = ", ".join(self.names())
            raise ValueError(f"Unknown {self.what} {name!r}. Choose one of: {choices}.") from None

    def names(self) -> list[str]:
        """Registered names, in registration order (the order menus show them)."""
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        """(name, object) pairs in registration order."""
        return iter(self._items.items())

    def __getitem__(self, name: str) -> T:
        """``registry[name]``, the same as ``get``: a registry reads like the dict it replaced."""
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        """The names, in registration order, so ``list(registry)`` and ``", ".join(registry)`` work."""
        return iter(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
