"""`if WINDOWS:` read as a branch that never runs here.

psutil's Windows tests import `win32con` under `if WINDOWS and not PYPY:`: on Linux the
branch never runs, so its imports are no requirement of the suite (and `win32con` is on
no index at all). A branch counts as another platform's when its test is a flag named for
one (`WINDOWS`, `IS_MACOS`, `ON_WIN`), or a comparison of `sys.platform`, `os.name` or
`platform.system()` with one (`sys.platform == "win32"`, `os.name == "nt"`).
"""

from __future__ import annotations

import ast
import re

_FLAG = re.compile(
    r"^(?:is_|on_|running_on_)?(?:win(?:dows|32|64)?|nt|mac(?:os)?|osx|darwin|"
    r"(?:free|open|net)?bsd|sunos|solaris|aix|cygwin|msys|emscripten|wasi|ios|android)$",
    re.IGNORECASE,
)
_PLATFORM_VALUE = re.compile(
    r"^(?:win32|cygwin|msys|nt|darwin|windows|aix|sunos\d*|(?:free|open|net)bsd\d*|"
    r"emscripten|wasi|ios|android)$",
    re.IGNORECASE,
)


def _flag(node: ast.expr) -> bool:
    name = node.id if isinstance(node, ast.Name) else None
    name = node.attr if isinstance(node, ast.Attribute) else name
    return name is not None and bool(_FLAG.match(name))


def _compares_platform(node: ast.Compare, operators: tuple[type[ast.cmpop], ...]) -> bool:
    if len(node.ops) != 1 or not isinstance(node.ops[0], operators):
        return False
    strings = [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]
    return bool(strings) and all(_PLATFORM_VALUE.match(s) for s in strings)


def _startswith_platform(node: ast.Call) -> bool:
    """`sys.platform.startswith("win")`."""
    func = node.func
    if not (isinstance(func, ast.Attribute) and func.attr == "startswith" and node.args):
        return False
    first = node.args[0]
    return (
        isinstance(first, ast.Constant)
        and isinstance(first.value, str)
        and first.value.lower() in {"win", "darwin", "cygwin", "freebsd", "openbsd", "aix"}
    )


def other_platform(test: ast.expr) -> bool:
    """The `if` test holds only on a platform other than Linux."""
    if isinstance(test, ast.BoolOp):
        parts = [other_platform(v) for v in test.values]
        return any(parts) if isinstance(test.op, ast.And) else all(parts)
    if isinstance(test, ast.Compare):
        return _compares_platform(test, (ast.Eq, ast.In))
    if isinstance(test, ast.Call):
        return _startswith_platform(test)
    return _flag(test)


def else_is_other_platform(test: ast.expr) -> bool:
    """`if not WINDOWS:` / `if os.name != "nt":`: the else branch is another platform's."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return other_platform(test.operand)
    return isinstance(test, ast.Compare) and _compares_platform(test, (ast.NotEq, ast.NotIn))
