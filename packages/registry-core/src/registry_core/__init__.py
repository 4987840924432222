"""The apiary package registry: load, validate, edit and index registry files."""

from importlib.metadata import version

__version__ = version("registry-core")

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
