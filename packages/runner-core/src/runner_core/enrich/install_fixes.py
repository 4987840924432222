"""Fixes for a run that stopped at its install: leave out a test dependency that PyPI
lacks or that does not build here, or install the project as released when its own build
cannot work on this machine."""

from __future__ import annotations

import re

from normalized_events import InstallFailure
from registry_core import PackageEntry
from runner_core.enrich.edits import remove_requirement
from runner_core.enrich.released import against_installed, released_install
from runner_core.install_failures import install_failure

_NO_DIST = re.compile(
    r"No matching distribution found for (?P<pip>[A-Za-z0-9._-]+)"
    r"|Because (?P<uv>[A-Za-z0-9._-]+) was not found in the package registry"
)
# pip's and uv's words for a distribution that did not build
_FAILED_BUILD = re.compile(
    r"Failed building wheel for (?P<pip>[\w.-]+)"
    r"|Failed to build '(?P<pip25>[\w.-]+)'"
    r"|Failed to (?:download and )?build `(?P<uv>[\w.-]+?)(?:==[^`]*)?`"
)
# the project's own build-system.requires could not be installed
_BUILD_REQUIRES_FAILED = re.compile(
    r"Failed to (?:resolve|install) requirements from `build-system\.requires`"
    r"|pip subprocess to install build dependencies did not run successfully"
    r"|installing build dependencies did not run successfully"
)

NOT_INSTALLED = ": not installed"


def install_fix(
    entry: PackageEntry, reason: str, log: str, version: str | None
) -> tuple[str, str | None, str | None] | None:
    """A test dependency PyPI lacks or that does not build here is left out; a project
    whose build requirements cannot be installed is installed as released instead."""
    install, test = entry.install_command, entry.test_command
    absent = _NO_DIST.search(reason) or _NO_DIST.search(log)
    if absent:
        name = absent.group("pip") or absent.group("uv")
        smaller = remove_requirement(install, name)
        if smaller is not None:
            return f"{name} is not on PyPI{NOT_INSTALLED}", smaller, test
    for name in _failed_builds(reason + "\n" + log):
        smaller = remove_requirement(install, name)
        if smaller is not None:
            return f"{name} does not build here{NOT_INSTALLED}", smaller, test
    if version and _BUILD_REQUIRES_FAILED.search(log):
        released = released_install(install, entry.package, version)
        if released is not None:
            return (
                f"the build requirements of {entry.package} do not install -> "
                f"the released {entry.package}=={version}",
                released,
                test,
            )
    if version:
        return _wheel_fix(entry, log, version)
    return None


# what stops the project's own build here while its released wheel can work: what the
# machine lacks, or a build script today's build tools no longer run (html5lib's setup.py
# imports pkg_resources); never a C API error, which is what the hunt is after
_MISSING_HERE = {
    InstallFailure.SYSTEM_LIBRARY: "a system library or header is missing",
    InstallFailure.NO_COMPILER: "no compiler for its code",
    InstallFailure.BUILD_BACKEND: "its build script fails with today's build tools",
}


def _wheel_fix(
    entry: PackageEntry, log: str, version: str
) -> tuple[str, str | None, str | None] | None:
    """The project's own build needs what the machine lacks: its released wheel of the
    same version, and the sdist's tests run against it."""
    kind = install_failure(log)
    lacks = _MISSING_HERE.get(kind)
    wheel = released_install(entry.install_command, entry.package, version, wheel_only=True)
    if lacks is None or wheel is None:
        return None
    # a tree that does not build for want of a compiler or a library lacks its compiled
    # parts: the tests take the installed copy; a build script's failure leaves the tree
    # as importable as the wheel (and a suite inside the package is only in the tree)
    compiled = kind is not InstallFailure.BUILD_BACKEND
    return (
        f"{entry.package} does not build here ({lacks}) -> "
        f"the released wheel of {entry.package}=={version}",
        wheel,
        against_installed(entry.test_command) if compiled else entry.test_command,
    )


def _failed_builds(text: str) -> list[str]:
    """Distributions pip or uv say they could not build."""
    names = (next(g for g in m.groups() if g) for m in _FAILED_BUILD.finditer(text))
    return list(dict.fromkeys(names))
