"""Optional imports that are not optional.

``try: from hypothesis import given / except ImportError: pass`` reads as optional, but a
module that then uses ``given`` when it is executed (a decorator, a base class, a call at
module level) stops its collection with a ``NameError``: no test of it runs. Such an
import is a requirement of the suite. A name the ``except`` branch binds to something
usable (a stand-in function or class, another import) keeps the import optional.
"""

from __future__ import annotations

import ast

IMPORT_GUARDS = frozenset({"ImportError", "ModuleNotFoundError", "Exception"})


def catches_import_error(node: ast.Try) -> bool:
    """The ``try`` has a handler that swallows a failed import."""
    return any(
        handler.type is None
        or any(isinstance(n, ast.Name) and n.id in IMPORT_GUARDS for n in ast.walk(handler.type))
        for handler in node.handlers
    )


def _bound(statement: ast.stmt) -> dict[str, str]:
    """Names an import statement binds, each with the module it comes from."""
    if isinstance(statement, ast.Import):
        return {(a.asname or a.name.split(".")[0]): a.name for a in statement.names}
    if isinstance(statement, ast.ImportFrom) and statement.level == 0 and statement.module:
        return {(a.asname or a.name): statement.module for a in statement.names}
    return {}


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _fallbacks(handlers: list[ast.ExceptHandler]) -> set[str]:
    """Names the except branches bind to a usable stand-in (``None`` is not one)."""
    names: set[str] = set()
    for node in (n for handler in handlers for n in ast.walk(handler)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(_bound(node))
        elif isinstance(node, ast.Assign) and not _is_none(node.value):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names


def _guard_checks(node: ast.AST) -> set[int]:
    """ids of the nodes inside ``x is None`` / ``not x`` tests: checking is not using."""
    found: set[int] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Compare) or (
            isinstance(child, ast.UnaryOp) and isinstance(child.op, ast.Not)
        ):
            found.update(id(n) for n in ast.walk(child))
    return found


def _loads(nodes: list[ast.expr]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        checks = _guard_checks(node)
        names.update(
            n.id
            for n in ast.walk(node)
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in checks
        )
    return names


def used_on_execution(body: list[ast.stmt]) -> set[str]:
    """Names a module (or class) body reads while it is executed. Function bodies run
    later; ``if`` and ``try`` blocks are where a suite checks what it has, so neither
    counts."""
    names: set[str] = set()
    for statement in body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defaults = [d for d in statement.args.kw_defaults if d is not None]
            names |= _loads([*statement.decorator_list, *statement.args.defaults, *defaults])
        elif isinstance(statement, ast.ClassDef):
            keywords = [k.value for k in statement.keywords]
            names |= _loads([*statement.decorator_list, *statement.bases, *keywords])
            names |= used_on_execution(statement.body)
        elif not isinstance(statement, (ast.If, ast.Try, ast.Import, ast.ImportFrom)):
            names |= _loads([c for c in ast.iter_child_nodes(statement) if isinstance(c, ast.expr)])
    return names


def required_guarded_imports(tree: ast.Module) -> list[str]:
    """Modules imported under an ImportError guard whose names the module uses anyway."""
    guarded: dict[str, str] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Try) and catches_import_error(statement):
            stand_ins = _fallbacks(statement.handlers)
            for inner in statement.body:
                guarded.update(
                    {name: mod for name, mod in _bound(inner).items() if name not in stand_ins}
                )
    if not guarded:
        return []
    used = used_on_execution(tree.body)
    return sorted({module for name, module in guarded.items() if name in used})
