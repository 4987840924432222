"""The kind of an install failure, read from the installer's output (pip or uv).

One ordered table of rules: the first kind whose pattern the output shows wins. The
order goes from the most specific cause to the most general (a C API compile error is
also a build backend error; a network failure also ends in "no matching distribution").
"""

from __future__ import annotations

import re

from normalized_events import InstallFailure

# CPython headers that releases removed or moved (3.11: longintrepr.h, eval.h to cpython/)
_CPYTHON_HEADERS = r"(?:longintrepr|eval|frameobject|code|pycore_\w+|internal/\w+)\.h"
_COMPILE_ERROR = r"\.(?:c|cc|cpp|cxx|h|hpp):\d+(?::\d+)?: (?:fatal )?error: "

_RULES: tuple[tuple[InstallFailure, re.Pattern[str]], ...] = (
    (
        InstallFailure.NO_COMPILER,
        re.compile(
            r"error: command '[^']*(?:gcc|cc|clang|g\+\+|c\+\+)[^']*' failed: No such file"
            r"|unable to execute '[^']*(?:gcc|cc|clang)'"
            r"|[Cc]argo, the Rust package manager, is not installed"
            r"|can't find Rust compiler|Rust not found, installing into a temporary directory"
            r"|No such file or directory: '[^']*(?:/|\b)(?:gcc|cc|clang|g\+\+|c\+\+|cargo)'"
        ),
    ),
    (
        InstallFailure.CYTHON,
        re.compile(
            r"Error compiling Cython file|Cython\.Compiler\.Errors"
            r"|" + _COMPILE_ERROR + r".*__(?:pyx|Pyx)"
            r"|\.pyx:\d+:\d+: "
        ),
    ),
    (
        InstallFailure.C_API,
        re.compile(
            _COMPILE_ERROR + r"(?:"
            r"\S*" + _CPYTHON_HEADERS + r": No such file"
            r"|.*\b_?Py\w+\b.*(?:undeclared|implicit declaration|too (?:few|many) arguments)"
            r"|implicit declaration of function '_?Py"
            r"|.*has no member named '(?:ob_\w+|tp_\w+|f_\w+|co_\w+|curexc_\w+|exc_\w+)'"
            r"|unknown type name '_?Py"
            r")"
        ),
    ),
    (
        InstallFailure.SYSTEM_LIBRARY,
        re.compile(
            _COMPILE_ERROR + r"\S+\.h(?:pp)?: No such file or directory"
            r"|pg_config executable not found|\b[\w.+]+[_-]config: (?:command )?not found"
            r"|was not found in the pkg-config search path"
            r"|/usr/bin/ld: cannot find -l\w+"
            r"|that provides `[\w./-]+\.h`"
        ),
    ),
    (
        InstallFailure.PYTHON_VERSION,
        re.compile(
            r"requires a different Python|current Python version \([\d.]+\) does not satisfy"
            r"|that require a different python version"
        ),
    ),
    (
        InstallFailure.NETWORK,
        re.compile(
            r"NewConnectionError|Temporary failure in name resolution|Network is unreachable"
            r"|Connection refused|Name or service not known|Failed to fetch: "
            r"|dns error|ConnectTimeoutError|Read timed out"
        ),
    ),
    (
        InstallFailure.RESOLUTION,
        re.compile(
            r"No matching distribution found|No solution found when resolving dependencies"
            r"|ResolutionImpossible|conflicting dependencies"
        ),
    ),
    (
        InstallFailure.BUILD_BACKEND,
        re.compile(
            r"Failed building wheel|Failed to build|subprocess-exited-with-error"
            r"|The build backend returned an error|metadata-generation-failed"
            r"|Getting requirements to build wheel did not run successfully"
        ),
    ),
)


def install_failure(output: str) -> InstallFailure:
    """The kind of the failed install whose installer output is given (a timeout or a
    killed installer is told by its status, in `runner_core.outcomes`)."""
    for kind, pattern in _RULES:
        if pattern.search(output):
            return kind
    return InstallFailure.OTHER
