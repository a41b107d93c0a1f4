"""Public names of a package that load on first use (PEP 562 module ``__getattr__``).

A package's ``__init__`` runs whenever any of its modules is imported: a plugin entry point, a
settings model. Re-exporting heavy modules there would make every command pay for them at
start-up (``empathy-bridge analyze`` needs neither the store nor a vendor client).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` that imports each name from its home module when first read.

    :param package: the package's ``__name__`` (relative homes such as ``".query"`` resolve
        against it).
    :param homes: public name → module that defines it.
    """

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(home, package), name)

    return __getattr__
