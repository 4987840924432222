"""What one test file says, read with ``ast`` (never imported): the modules it imports
and whether it can do without them, the fixtures and markers it uses, its tests."""

from __future__ import annotations

import ast

from runner_core.enrich.distnames import (
    FIXTURE_TO_DIST,
    NAMESPACE_ROOTS,
    in_every_current_python,
)
from runner_core.enrich.guarded import catches_import_error
from runner_core.enrich.local_imports import ImportStatement
from runner_core.enrich.platform_checks import else_is_other_platform, other_platform
from runner_core.enrich.version_checks import negated, version_marker


def _stdlib_everywhere(body: list[ast.stmt]) -> bool:
    """The statements import only what every current CPython's standard library has."""
    imported = [
        name for statement in body for node in ast.walk(statement) for name in _modules(node)
    ]
    return bool(imported) and all(in_every_current_python(name) for name in imported)


def _modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else ["."]
    return []


class SuiteFileVisitor(ast.NodeVisitor):
    """Collects what one test file imports (with its optional flag and version marker),
    the fixtures its functions ask for, the markers it uses and its test count."""

    def __init__(self) -> None:
        self.imports: list[tuple[str, bool, str | None]] = []
        self.statements: list[ImportStatement] = []
        self.fixtures: set[str] = set()
        self.markers: set[str] = set()
        self.defined_fixtures: set[str] = set()
        self.tests = 0
        self.pytest_used = False
        self._optional = 0
        self._versions: list[str] = []  # markers of the version branches we are in

    def visit_Try(self, node: ast.Try) -> None:
        catches = catches_import_error(node)
        self._optional += catches
        for child in node.body:
            self.visit(child)
        self._optional -= catches
        # `try: from zoneinfo import ZoneInfo / except ImportError: from backports...`:
        # the fallback is for Pythons older than any run here
        unreached = catches and _stdlib_everywhere(node.body)
        self._optional += unreached
        for handler in node.handlers:
            self.visit(handler)
        self._optional -= unreached
        for rest in (*node.orelse, *node.finalbody):
            self.visit(rest)

    def visit_If(self, node: ast.If) -> None:
        guarded = any(
            (isinstance(n, ast.Name) and n.id == "TYPE_CHECKING")
            or (isinstance(n, ast.Attribute) and n.attr == "TYPE_CHECKING")
            for n in ast.walk(node.test)
        )
        marker = version_marker(node.test)
        skipped = guarded or other_platform(node.test)
        self._optional += skipped
        self._in_branch(node.body, marker)
        self._optional -= skipped
        elsewhere = else_is_other_platform(node.test)
        self._optional += elsewhere
        self._in_branch(node.orelse, negated(marker) if marker else None)
        self._optional -= elsewhere

    def _in_branch(self, body: list[ast.stmt], marker: str | None) -> None:
        self._versions += [marker] if marker else []
        for child in body:
            self.visit(child)
        if marker:
            self._versions.pop()

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(alias.name)
            self.statements.append(ImportStatement(0, alias.name, (), self._optional > 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = tuple(alias.name for alias in node.names)
        self.statements.append(
            ImportStatement(node.level, node.module or "", names, self._optional > 0)
        )
        if node.level == 0 and node.module:
            if node.module.split(".")[0] in NAMESPACE_ROOTS:
                for alias in node.names:
                    self._imported(f"{node.module}.{alias.name}")
            else:
                self._imported(node.module)

    def _imported(self, module: str) -> None:
        self.pytest_used = self.pytest_used or module.split(".", maxsplit=1)[0] == "pytest"
        marker = " and ".join(self._versions) or None
        self.imports.append((module, self._optional > 0, marker))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "importorskip"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            self.imports.append((node.args[0].value, True, None))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        value = node.value
        if isinstance(value, ast.Attribute) and value.attr == "mark":
            self.markers.add(node.attr)
        self.generic_visit(node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name.startswith("test"):
            self.tests += 1
        if any("fixture" in ast.unparse(d) for d in node.decorator_list):
            self.defined_fixtures.add(node.name)
        names = [a.arg for a in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs)]
        self.fixtures.update(n for n in names if n in FIXTURE_TO_DIST)
        # An import inside a function fails that test only (a verdict, not a config
        # error), and often names a module the test itself writes: optional.
        self._optional += 1
        self.generic_visit(node)
        self._optional -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)
