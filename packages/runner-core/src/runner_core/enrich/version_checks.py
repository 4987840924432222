"""`if sys.version_info >= (3, 9):` read as an environment marker.

A test module that imports one module on new Pythons and its backport on old ones
(`from zoneinfo import ...` / `from backports.zoneinfo import ...`) needs the backport
only where its branch runs. The branch's imports are installed with the marker
(`backports.zoneinfo; python_version < "3.9"`), which the installer evaluates for the
interpreter under test, so a backport that does not build on a new CPython is never
tried there.
"""

from __future__ import annotations

import ast

_OPERATORS: dict[type[ast.cmpop], str] = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}
_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_REVERSED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def version_marker(test: ast.expr) -> str | None:
    """The marker an `if` test on `sys.version_info` stands for, or None for any other
    test (`sys.version_info >= (3, 9)` -> `python_version >= "3.9"`)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1):
        return None
    operator = _OPERATORS.get(type(test.ops[0]))
    left, right = test.left, test.comparators[0]
    if operator is None:
        return None
    if _is_version_info(left):
        version = _version_tuple(right)
    elif _is_version_info(right):
        version, operator = _version_tuple(left), _REVERSED[operator]
    else:
        return None
    if version is None:
        return None
    variable = "python_full_version" if len(version) > 2 else "python_version"
    return f'{variable} {operator} "{".".join(map(str, version))}"'


def negated(marker: str) -> str:
    """The marker of the `else` branch."""
    variable, operator, value = marker.split(" ", 2)
    return f"{variable} {_NEGATED[operator]} {value}"


def _is_version_info(node: ast.expr) -> bool:
    """`sys.version_info`, or its first two fields (`sys.version_info[:2]`)."""
    if isinstance(node, ast.Subscript):
        part = node.slice
        two = (
            isinstance(part, ast.Slice)
            and part.lower is None
            and isinstance(part.upper, ast.Constant)
            and part.upper.value == 2  # major and minor
            and part.step is None
        )
        return two and _is_version_info(node.value)
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "version_info"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _version_tuple(node: ast.expr) -> tuple[int, ...] | None:
    if not isinstance(node, ast.Tuple) or not node.elts:
        return None
    values = [e.value for e in node.elts if isinstance(e, ast.Constant) and type(e.value) is int]
    return tuple(values) if len(values) == len(node.elts) else None
