"""The test suite of a source tree: where it is, what it imports, which plugins it needs.

Test files are read with ``ast`` (never imported). Imports inside ``try: ... except
ImportError`` blocks, inside functions and ``pytest.importorskip("x")`` calls are
optional: without them the suite skips or fails those tests, it still reaches a verdict.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from runner_core.enrich.distnames import (
    MARKER_TO_DIST,
    NAMESPACE_ROOTS,
    import_key,
    is_stdlib,
)
from runner_core.enrich.guarded import required_guarded_imports
from runner_core.enrich.local_imports import is_suite_module, missing, targets
from runner_core.enrich.suite_file import SuiteFileVisitor
from runner_core.planted import read_inside

_SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "node_modules",
        "build",
        "dist",
        "__pycache__",
        ".eggs",
        "site-packages",
    }
)
TEST_DIR_NAMES = ("tests", "test", "testing", "unittests", "unit_tests", "t")
_TEST_FILE = re.compile(r"^(test_.*|.*_test)\.py$")
# a module of tests at the top of a tree (`tests.py`): pytest does not collect it by name
_TEST_MODULE = re.compile(r"^tests?\.py$")
# Folders of test data: their Python files are inputs for the tests, not tests.
_DATA_DIRS = frozenset(
    {
        "data",
        "testdata",
        "test_data",
        "samples",
        "sample",
        "fixtures",
        "resources",
        "snippets",
        "cases",
        "examples",
        "inputs",
        "input",
        "files",
        "corpus",
    }
)
_NOT_PACKAGES = frozenset(
    {
        "tests",
        "test",
        "testing",
        "docs",
        "doc",
        "examples",
        "example",
        "benchmarks",
        "bench",
        "scripts",
        "tools",
        "ci",
        "build",
        "dist",
        "src",
        "requirements",
        "changelog.d",
    }
)
_NOT_MODULES = frozenset(
    {"setup", "conftest", "noxfile", "fabfile", "tasks", "dodo", "conf", "bootstrap", "hatch_build"}
)


@dataclass
class ImportUse:
    """A module the tests import, and whether they can do without it."""

    module: str
    files: set[str] = field(default_factory=set)
    optional: bool = True
    # the environment markers of the version branches it is imported in; None when it
    # is imported outside any (see version_checks)
    markers: set[str] | None = field(default_factory=set)

    def seen(self, rel: str, optional: bool, marker: str | None = None) -> None:
        self.files.add(rel)
        self.optional = self.optional and optional
        if marker is None or self.markers is None:
            self.markers = None
        else:
            self.markers.add(marker)

    @property
    def marker(self) -> str | None:
        """The marker to install it with: None when every Python needs it."""
        if not self.markers:
            return None
        if len(self.markers) == 1:
            return next(iter(self.markers))
        return " or ".join(f"({m})" for m in sorted(self.markers))


@dataclass
class TestLayout:
    """What the test files of a tree are and what they need."""

    root: Path
    test_dirs: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    conftests: list[str] = field(default_factory=list)
    test_functions: int = 0
    imports: dict[str, ImportUse] = field(default_factory=dict)
    fixtures: dict[str, set[str]] = field(default_factory=dict)
    markers: dict[str, set[str]] = field(default_factory=dict)
    local_names: set[str] = field(default_factory=set)
    packages: list[str] = field(default_factory=list)
    compiled_sources: list[str] = field(default_factory=list)
    uses_unittest_only: bool = False
    missing_local: list[str] = field(default_factory=list)
    # suite files that import (directly or through a helper) what the tree lacks
    lacking: list[str] = field(default_factory=list)
    unparsable: list[str] = field(default_factory=list)

    def provides(self, key: str) -> bool:
        """The tree has the module an import key names: a namespace package's key
        (``opentelemetry.sdk``, ``google.cloud.storage``) only where the tree has that
        very package, not merely another part of the namespace."""
        return key in self.local_names

    def third_party(self) -> dict[str, ImportUse]:
        """Imported modules that are neither the standard library nor part of the tree."""
        return {
            key: use
            for key, use in self.imports.items()
            if not is_stdlib(key)
            and not self.provides(key)
            and not _TEST_FILE.match(key + ".py")
            and not key.startswith("_")
            and key not in TEST_DIR_NAMES
            and not is_suite_module(key.split(".", 1)[0])
        }


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            children = sorted(folder.iterdir())
        except OSError:
            continue
        for child in children:
            if child.is_dir():
                if child.name not in _SKIP_DIRS and not child.name.startswith("."):
                    stack.append(child)
            elif child.is_file():
                found.append(child)
    return found


def _in_test_dir(rel: Path) -> bool:
    return any(part in TEST_DIR_NAMES for part in rel.parts[:-1])


def _is_test_file(rel: Path) -> bool:
    """`test_x.py`, `x_test.py`; `tests.py` only at the top or in a test folder (inside
    a package, opensearch-py's `helpers/test.py` is a base class for tests)."""
    if _TEST_FILE.match(rel.name):
        return True
    return _TEST_MODULE.match(rel.name) is not None and (len(rel.parts) == 1 or _in_test_dir(rel))


def _is_test_path(rel: Path) -> bool:
    return _is_test_file(rel) or _in_test_dir(rel)


def _local_names(root: Path, files: list[Path]) -> set[str]:
    """Every module or package name the tree itself provides, at any depth; below a
    namespace root, also the dotted names (``opentelemetry.sdk``)."""
    names: set[str] = set()
    for path in files:
        if path.suffix in (".py", ".pyi", ".so", ".pyd", ".pyx"):
            parts = [*path.relative_to(root).parts[:-1], path.name.split(".", 1)[0]]
            names.update(parts)
            names.update(_namespace_names(parts))
    return names


def _namespace_names(parts: list[str]) -> list[str]:
    """``a.b``, ``a.b.c``, ... for the parts of a path from a namespace root ``a`` on."""
    for start, part in enumerate(parts):
        if part in NAMESPACE_ROOTS:
            return [".".join(parts[start:end]) for end in range(start + 2, len(parts) + 1)]
    return []


def _packages(root: Path) -> list[str]:
    """Top-level importable names of the project: src/ layout first, then the root."""
    found: list[str] = []
    for base in (root / "src", root / "lib", root):
        if not base.is_dir():
            continue
        for child in sorted(base.iterdir()):
            if child.name.startswith((".", "_")) or child.name in _NOT_PACKAGES:
                continue
            if child.is_dir() and (child / "__init__.py").is_file():
                found.append(child.name)
            elif (
                child.suffix == ".py"
                and child.stem not in _NOT_MODULES
                and not _is_test_file(Path(child.name))
                and child.stem.isidentifier()
            ):
                found.append(child.stem)
        if found:
            break
    return found


def _test_dirs(root: Path, test_files: list[str]) -> list[str]:
    """The folders holding the test files: the shallowest test-named folder of each."""
    dirs: list[str] = []
    for rel in test_files:
        parts = Path(rel).parts
        for depth, part in enumerate(parts[:-1]):
            if part in TEST_DIR_NAMES:
                candidate = "/".join(parts[: depth + 1])
                if candidate not in dirs:
                    dirs.append(candidate)
                break
        else:
            if len(parts) > 1:
                candidate = "/".join(parts[:-1])
                if candidate not in dirs and not any(candidate.startswith(d + "/") for d in dirs):
                    dirs.append(candidate)
    roots = [d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs)]
    return sorted(roots)


@dataclass
class _Parsed:
    rel: str
    kind: str  # conftest, test or helper
    visitor: SuiteFileVisitor


def _suite_files(root: Path, files: list[Path], layout: TestLayout) -> list[Path]:
    """The Python files of the suite (tests, conftests, helpers beside them); compiled
    sources are noted on the way."""
    # Helper modules count where tests are; a folder of other Python files is test data.
    test_folders = {p.parent for p in files if p.name == "conftest.py" or _TEST_FILE.match(p.name)}
    test_folders |= {p.parent for p in files if p.parent.name in TEST_DIR_NAMES}
    # ... and above them inside the test tree (tests/system/utils.py for tests/system/x/)
    test_folders |= {
        parent
        for folder in test_folders
        for parent in folder.parents
        if root in parent.parents
        and any(part in TEST_DIR_NAMES for part in parent.relative_to(root).parts)
    }
    chosen = []
    for path in files:
        rel = path.relative_to(root)
        if path.suffix in (".c", ".cc", ".cpp", ".cxx", ".pyx", ".rs") and not any(
            part in TEST_DIR_NAMES for part in rel.parts
        ):
            layout.compiled_sources.append(rel.as_posix())
        if path.suffix != ".py":
            continue
        is_conftest = path.name == "conftest.py"
        if not (is_conftest or _is_test_path(rel)):
            continue
        if not (is_conftest or _is_test_file(rel) or path.parent in test_folders):
            continue
        if rel.parts[0] in ("docs", "doc", "examples", "benchmarks") or _DATA_DIRS & set(
            rel.parts[:-1]
        ):
            continue
        chosen.append(path)
    return chosen


def _parse(root: Path, path: Path, layout: TestLayout) -> _Parsed | None:
    rel = path.relative_to(root).as_posix()
    visitor = SuiteFileVisitor()
    try:
        tree = ast.parse(read_inside(root, path), filename=rel)
        visitor.visit(tree)
    except (SyntaxError, ValueError, OSError, RecursionError):
        # Test data files are sometimes not Python, or nested too deep to walk.
        layout.unparsable.append(rel)
        return None
    visitor.imports += [(module, False, None) for module in required_guarded_imports(tree)]
    if path.name == "conftest.py":
        kind = "conftest"
    elif visitor.tests or _is_test_file(Path(rel)):
        kind = "test"
    else:
        kind = "helper"
    return _Parsed(rel, kind, visitor)


def _reachable(root: Path, parsed: list[_Parsed]) -> list[_Parsed]:
    """Tests, conftests, packages' __init__ and the helpers they import (transitively)."""
    by_path = {(root / item.rel).resolve(): item for item in parsed}
    seen = {
        item.rel for item in parsed if item.kind != "helper" or item.rel.endswith("__init__.py")
    }
    todo = [item for item in parsed if item.rel in seen]
    while todo:
        item = todo.pop()
        for statement in item.visitor.statements:
            for target in targets(root, item.rel, statement):
                found = by_path.get(target.resolve())
                if found is not None and found.rel not in seen:
                    seen.add(found.rel)
                    todo.append(found)
    return [item for item in parsed if item.rel in seen]


def _record(layout: TestLayout, item: _Parsed) -> None:
    visitor = item.visitor
    if item.kind == "conftest":
        layout.conftests.append(item.rel)
    elif item.kind == "test":
        layout.test_files.append(item.rel)
    layout.test_functions += visitor.tests
    for module, optional, marker in visitor.imports:
        key = import_key(module)
        layout.imports.setdefault(key, ImportUse(key)).seen(item.rel, optional, marker)
    for name in visitor.fixtures:
        layout.fixtures.setdefault(name, set()).add(item.rel)
    for name in visitor.markers:
        if name in MARKER_TO_DIST:
            layout.markers.setdefault(name, set()).add(item.rel)


def _missing_local(root: Path, parsed: list[_Parsed]) -> list[str]:
    suite = frozenset(TEST_DIR_NAMES)
    found: dict[str, None] = {}
    for item in parsed:
        for statement in item.visitor.statements:
            for name in missing(root, item.rel, statement, suite):
                found.setdefault(f"{name} (imported by {item.rel})")
    return list(found)


def _lacking(root: Path, suite: list[_Parsed], suite_names: frozenset[str]) -> list[str]:
    """The suite's files that cannot be imported: a missing module in their own imports or
    in those of a helper they import, at any depth."""
    by_path = {(root / item.rel).resolve(): item.rel for item in suite}
    uses = {
        item.rel: {
            by_path[target.resolve()]
            for statement in item.visitor.statements
            for target in targets(root, item.rel, statement)
            if target.resolve() in by_path
        }
        for item in suite
    }
    broken = {
        item.rel
        for item in suite
        if any(missing(root, item.rel, st, suite_names) for st in item.visitor.statements)
    }
    grew = True
    while grew:
        more = {rel for rel, used in uses.items() if rel not in broken and used & broken}
        broken |= more
        grew = bool(more)
    return sorted(broken)


def scan_tests(root: Path) -> TestLayout:
    """Find the test files of ``root`` and read their imports, fixtures and markers."""
    layout = TestLayout(root=root)
    files = _walk(root)
    layout.local_names = _local_names(root, files)
    layout.packages = _packages(root)
    parsed = [
        item
        for item in (_parse(root, path, layout) for path in _suite_files(root, files, layout))
        if item is not None
    ]
    suite = _reachable(root, parsed)
    for item in suite:
        _record(layout, item)
    # A fixture the suite defines itself is not a plugin's.
    for item in suite:
        for name in item.visitor.defined_fixtures:
            layout.fixtures.pop(name, None)
    layout.missing_local = _missing_local(root, suite)
    if layout.missing_local:
        layout.lacking = _lacking(root, suite, frozenset(TEST_DIR_NAMES))
    layout.test_files.sort()
    layout.test_dirs = _test_dirs(root, layout.test_files)
    pytest_used = any(i.visitor.pytest_used or i.kind == "conftest" for i in suite)
    layout.uses_unittest_only = bool(layout.test_files) and not pytest_used
    return layout
