"""Versions of the apiary packages installed next to this one."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

APIARY_PACKAGES = (
    "normalized-events",
    "registry-core",
    "sandbox-runner",
    "runner-core",
    "reporter",
)


def installed_versions() -> dict[str, str | None]:
    """Each apiary package with its installed version, or None when it is missing."""
    found: dict[str, str | None] = {}
    for name in APIARY_PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def version_lines() -> list[str]:
    """What `apiary --version` prints: one `name version` line per package."""
    return [f"{name} {found or 'not installed'}" for name, found in installed_versions().items()]
