"""What one registry file gave: its entries and its problems.

Apart from the readers (``checks``, ``indexfile``) so that a load served from the cache
does not import the YAML reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from registry_core.model import IndexEntry, PackageEntry
from registry_core.problems import RegistryProblem


@dataclass
class FileResult:
    """What one package file gave: its entry (None when unusable) and its problems."""

    entry: PackageEntry | None
    problems: list[RegistryProblem] = field(default_factory=list)


@dataclass
class IndexResult:
    """The entries of ``index.yaml`` (with the line each starts on) and its problems."""

    entries: list[IndexEntry] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    last_updated: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    problems: list[RegistryProblem] = field(default_factory=list)
