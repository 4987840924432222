"""The apiary package registry: load, validate, edit and index registry files.

Each public name is imported from its module when first used, so that a command needing
one small module (the command line's option types, the locator) does not import the YAML
reader, pydantic and the models. (This package depends on no other apiary package, so it
does not share ``normalized_events.lazyexport``.)
"""

import importlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from registry_core.errors import (
        EditError,
        RegistryError,
        RegistryNotFoundError,
        ResolveError,
        SelectionError,
    )
    from registry_core.loader import (
        LoadedRegistry,
        LoadStats,
        load_registry,
        packages_by_popularity,
    )
    from registry_core.locate import locate_registry
    from registry_core.model import FIELD_ORDER, IndexEntry, PackageEntry
    from registry_core.problems import RegistryProblem

    __version__: str

_EXPORTS = {
    "EditError": "errors",
    "RegistryError": "errors",
    "RegistryNotFoundError": "errors",
    "ResolveError": "errors",
    "SelectionError": "errors",
    "LoadedRegistry": "loader",
    "LoadStats": "loader",
    "load_registry": "loader",
    "packages_by_popularity": "loader",
    "locate_registry": "locate",
    "FIELD_ORDER": "model",
    "IndexEntry": "model",
    "PackageEntry": "model",
    "RegistryProblem": "problems",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version

        value: Any = version("registry-core")
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f"registry_core.{_EXPORTS[name]}"), name)
    else:
        raise AttributeError(f"module 'registry_core' has no attribute {name!r}")
    setattr(sys.modules[__name__], name, value)
    return value


__all__ = [
    "FIELD_ORDER",
    "EditError",
    "IndexEntry",
    "LoadStats",
    "LoadedRegistry",
    "PackageEntry",
    "RegistryError",
    "RegistryNotFoundError",
    "RegistryProblem",
    "ResolveError",
    "SelectionError",
    "__version__",
    "load_registry",
    "locate_registry",
    "packages_by_popularity",
]
