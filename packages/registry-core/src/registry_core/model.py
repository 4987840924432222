"""The typed form of a package file and of an index entry (laruche format)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Every field of the format, in the order the reference tool writes them.
FIELD_ORDER: tuple[str, ...] = (
    "package",
    "repo",
    "pypi_url",
    "extension_type",
    "python_versions",
    "install_method",
    "install_command",
    "test_command",
    "test_framework",
    "uses_xdist",
    "timeout",
    "skip",
    "skip_reason",
    "skip_versions",
    "notes",
    "enriched",
    "clone_depth",
    "import_name",
)

# Fields apiary adds to the format (kept as extra fields, so the laruche layout and its
# round trip are untouched; labeille ignores them): --strict does not flag them.
APIARY_FIELDS: tuple[str, ...] = (
    "sdist_has_tests",  # the PyPI sdist carries the test suite: run from it, no clone
)

# Documented values plus those seen in the wild; anything else is flagged by --strict.
KNOWN_EXTENSION_TYPES = frozenset(
    {"pure", "extensions", "unknown", "c_extension", "rust", "cpp_extension"}
)
NOT_COMPILED = frozenset({"pure", "unknown", ""})
KNOWN_TEST_FRAMEWORKS = frozenset(
    {
        "pytest",
        "unittest",
        "custom",
        "django",
        "stestr",
        "nose",
        "nose2",
        "other",
        "none",
        "unknown",
    }
)

# A PyPI project name (PEP 508): letters, digits, and . _ - inside.
PACKAGE_NAME_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$"
PACKAGE_NAME = re.compile(PACKAGE_NAME_PATTERN)
# Python minor versions as the format writes them ("3.15").
_VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"

ProjectName = Annotated[str, Field(pattern=PACKAGE_NAME_PATTERN)]
PythonVersion = Annotated[str, Field(pattern=_VERSION_PATTERN)]

# Fields whose null the corpus writes for "empty", read as their empty value.
_EMPTY_WHEN_NULL: dict[str, Callable[[], Any]] = {
    "skip_versions": dict,
    "python_versions": list,
    "notes": str,
    "pypi_url": str,
}


DEFAULT_INSTALL = "pip install -e ."
DEFAULT_TEST = "python -m pytest"


class PackageEntry(BaseModel):
    """One ``packages/<name>.yaml`` file. Unknown fields are kept (``model_extra``).

    Values are checked strictly (a quoted ``"300"`` is not a timeout), but nulls where the
    corpus writes them for "empty" are accepted: ``skip_versions``, ``python_versions``,
    ``notes`` and ``pypi_url`` read null as their empty default.
    """

    # Built on first validation: a load served from the cache validates nothing.
    model_config = ConfigDict(
        extra="allow", strict=True, validate_assignment=True, defer_build=True
    )

    package: ProjectName
    repo: str | None = None
    pypi_url: str = ""
    extension_type: str = "unknown"
    python_versions: list[PythonVersion] = Field(default_factory=list)
    install_method: str = "pip"
    install_command: str | None = DEFAULT_INSTALL
    test_command: str | None = DEFAULT_TEST
    test_framework: str = "pytest"
    uses_xdist: bool = False
    timeout: int | None = Field(default=None, ge=0)
    skip: bool = False
    skip_reason: str | None = None
    skip_versions: dict[PythonVersion, str] = Field(default_factory=dict)
    notes: str = ""
    enriched: bool = False
    clone_depth: int | None = Field(default=None, ge=0)
    import_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _null_is_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(data.get(name, 0) is None for name in _EMPTY_WHEN_NULL):
            data = dict(data)
            for name, empty in _EMPTY_WHEN_NULL.items():
                if name in data and data[name] is None:
                    data[name] = empty()
        return data

    @property
    def has_compiled_code(self) -> bool:
        """True for every extension type but pure and unknown (extensions, rust, ...)."""
        return self.extension_type.strip().lower() not in NOT_COMPILED

    @property
    def effective_import_name(self) -> str:
        """``import_name`` when set, else the package name as a module name."""
        if self.import_name:
            return self.import_name
        return re.sub(r"[-.]+", "_", self.package).lower()

    @property
    def unknown_fields(self) -> dict[str, Any]:
        """Fields that are not part of the format, kept as they were read."""
        return dict(self.model_extra or {})

    def skip_reason_for(self, python_version: str | None = None) -> str | None:
        """Why this package is not run (on ``python_version``, e.g. "3.15"), or None."""
        if self.skip:
            return self.skip_reason or "skipped"
        if python_version is not None and python_version in self.skip_versions:
            return self.skip_versions[python_version] or f"skipped on {python_version}"
        return None

    def field_value(self, name: str) -> Any:
        """The value of a format field, an unknown field (None when absent) or a derived fact."""
        if name in FIELD_ORDER or name in ("has_compiled_code", "effective_import_name"):
            return getattr(self, name)
        return (self.model_extra or {}).get(name)


class IndexEntry(BaseModel):
    """One item of ``index.yaml``'s ``packages`` list."""

    model_config = ConfigDict(extra="allow", strict=True, defer_build=True)

    name: str
    download_count: int | None = None
    extension_type: str = "unknown"
    enriched: bool = False
    skip: bool = False
    skip_versions_keys: list[str] = Field(default_factory=list)

    @field_validator("skip_versions_keys", mode="before")
    @classmethod
    def _null_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value


INDEX_FIELD_ORDER: tuple[str, ...] = tuple(IndexEntry.model_fields)


def index_entry_for(entry: PackageEntry, download_count: int | None) -> IndexEntry:
    """The index summary of a package: compiled extension types read as "extensions"."""
    extension_type = "extensions" if entry.has_compiled_code else entry.extension_type
    return IndexEntry(
        name=entry.package,
        download_count=download_count,
        extension_type=extension_type,
        enriched=entry.enriched,
        skip=entry.skip,
        skip_versions_keys=sorted(entry.skip_versions),
    )
