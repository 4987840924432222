"""The suite's imports of its own modules: which helper files the tests reach, and which
in-tree modules they import that the tree lacks (an sdist that left them out).

A helper file beside the tests counts only when a test file or a conftest imports it,
directly or through another helper: a benchmark or plotting script in the test folder is
not part of the suite, and its imports are no test dependencies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from runner_core.enrich.distnames import IMPORT_TO_DIST, is_stdlib

# test_x / tests_x / x_test(s) / tests, and the helper files suites keep beside their
# tests (mmh3's `helper`, `utils`, `common`): by its name a module of a suite, never a
# distribution (google's `test_utils`, debugpy's `tests_python`, dill's `test_mixins`)
_SUITE_MODULE = re.compile(
    r"^(tests?_\w*|\w+_tests?|tests?|testing|conftest|_?helpers?|_?utils?|common|support)$"
)


def is_suite_module(name: str) -> bool:
    """A top-level name that, by its form, is a module of a test suite, unless it is a
    known distribution's (`process_tests`, pytest-cov's helper for subprocess tests)."""
    return bool(_SUITE_MODULE.match(name)) and name not in IMPORT_TO_DIST


@dataclass(frozen=True)
class ImportStatement:
    """One ``import`` or ``from ... import`` of a file, as written."""

    level: int
    module: str
    names: tuple[str, ...]
    optional: bool


def _bases(root: Path, rel: str, statement: ImportStatement) -> list[Path]:
    here = (root / rel).parent
    if statement.level == 0:
        return list(dict.fromkeys([root, root / "src", here, *_on_sys_path(root, here)]))
    base = here
    for _ in range(statement.level - 1):
        base = base.parent
    return [base]


def _on_sys_path(root: Path, here: Path) -> list[Path]:
    """The folders pytest puts on sys.path for a test file in ``here`` (its default
    `prepend` import mode): the first folder above it that is no package, and that of
    each conftest.py above it (azure-core's async tests import `utils` from tests/)."""
    places = [here, *(p for p in here.parents if p.is_relative_to(root))]
    found = [_package_base(root, here)]
    found += [_package_base(root, p) for p in places if (p / "conftest.py").is_file()]
    return found


def _package_base(root: Path, folder: Path) -> Path:
    while folder != root and (folder / "__init__.py").is_file():
        folder = folder.parent
    return folder


def _module_at(base: Path, module: str) -> Path | None:
    """The file or package folder of ``module`` under ``base``, if the tree has it."""
    target = base.joinpath(*module.split(".")) if module else base
    if target.with_suffix(".py").is_file():
        return target.with_suffix(".py")
    return target if target.is_dir() else None


def _provides(package: Path, name: str) -> bool:
    """``from package import name`` can succeed: a submodule, or a name in __init__.py."""
    if _module_at(package, name) is not None:
        return True
    init = package / "__init__.py"
    try:
        return name in init.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def targets(root: Path, rel: str, statement: ImportStatement) -> list[Path]:
    """Files of the tree the statement imports (modules, packages' __init__, submodules)."""
    found: list[Path] = []
    for base in _bases(root, rel, statement):
        place = _module_at(base, statement.module)
        if place is None:
            continue
        if place.is_dir():
            found.append(place / "__init__.py")
            for name in statement.names:
                sub = _module_at(place, name)
                if sub is not None:
                    found.append(sub if sub.is_file() else sub / "__init__.py")
        else:
            found.append(place)
    return found


def _is_own(root: Path, rel: str, statement: ImportStatement, suite: frozenset[str]) -> bool:
    """The statement names a module of the test suite (in a tests-like folder)."""
    if statement.level == 0:
        top = statement.module.split(".", 1)[0]
        # `test` without a test/ folder is CPython's own (test.support)
        cpython_test = top == "test" and not (root / "test").is_dir()
        named = top in suite or is_suite_module(top)
        return named and not is_stdlib(top) and not cpython_test
    base = _bases(root, rel, statement)[0]
    if not base.is_relative_to(root):
        return False
    parts = [*base.relative_to(root).parts, *statement.module.split(".")]
    return any(part in suite for part in parts)


def missing(root: Path, rel: str, statement: ImportStatement, suite: frozenset[str]) -> list[str]:
    """Modules of the test suite (``suite``: its folder names) that a required import
    names and the tree does not have."""
    if statement.optional or not _is_own(root, rel, statement, suite):
        return []
    shown = "." * statement.level + statement.module
    places = [_module_at(b, statement.module) for b in _bases(root, rel, statement)]
    found = [p for p in places if p is not None]
    if not found:
        return [shown]
    packages = [p for p in found if p.is_dir()]
    if not packages:
        return []
    joiner = "" if shown.endswith(".") else "."
    return [
        f"{shown}{joiner}{name}"
        for name in statement.names
        if not any(_provides(package, name) for package in packages)
    ]
