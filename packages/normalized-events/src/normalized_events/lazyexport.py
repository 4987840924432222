"""A package's public names, each imported from its module on first use (PEP 562).

Importing ``normalized_events.exits`` or ``reporter.cli`` runs the package's
``__init__`` first: with its names listed here rather than imported there, a command that
needs one small module does not pay for the pydantic models of the whole package (nor
for reading the package's metadata for ``__version__``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, distribution: str, table: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` serving ``__version__`` (the installed version of
    ``distribution``) and each name of ``table`` (name -> submodule of ``package``)."""

    def getattr_(name: str) -> Any:
        if name == "__version__":
            from importlib.metadata import version

            value: Any = version(distribution)
        elif name in table:
            value = getattr(importlib.import_module(f"{package}.{table[name]}"), name)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)
        return value

    return getattr_
