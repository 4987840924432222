"""Test modules that stop at collection, left out so the rest of the suite runs.

pytest stops the whole session when one module fails to import. Two kinds are left out
with ``--ignore``: a module that reaches for the network while it is collected (the
sandbox has none), and, when no other fix is left, a module that fails for reasons of
its own (bitarray's free-threading stress tests assert a free-threaded build at import;
ptyprocess's call `unittest.makeSuite`, which 3.13 dropped).
Neither happens when nothing else would be collected, and a conftest is never left out.
"""

from __future__ import annotations

import re

from runner_core.enrich.distnames import is_stdlib
from runner_core.enrich.edits import with_test_args

Candidate = tuple[str, str | None, str | None]

# the section pytest writes for each module that failed to collect (written at once by
# pytest-instafail, the first one then follows `collecting ... ` on its line)
_SECTION = re.compile(
    r"^(?:collecting \.\.\. )?_+ ERROR collecting (?P<path>\S+\.py) _+$"
    r"(?P<text>.*?)(?=^_{3,} |^=+ )",
    re.M | re.S,
)
# what a module that reaches for the network says in a sandbox without one
_NO_NETWORK = re.compile(
    r"Temporary failure in name resolution|Name or service not known|NameResolutionError"
    r"|Network is unreachable|Failed to establish a new connection|No address associated"
)
_COLLECTED = re.compile(r"^collected (?P<items>\d+) items? / \d+ errors?", re.M)
_EXCEPTION = re.compile(r"^E +(?P<line>\w[\w.]*(?:Error|Exception|Exit)\b.*)$", re.M)
# a name the standard library no longer has (`unittest.makeSuite`, gone in 3.13): a
# module that stops on it stops on one Python version for a reason no hunt is after
_STDLIB_GONE = re.compile(
    r"module '(?P<module>[\w.]+)' has no attribute"
    r"|cannot import name '\w+' from '(?P<source>[\w.]+)'"
    r"|No module named '(?P<removed>[\w.]+)'"
)
# how the notes mark a module left out as a last resort: verify keeps such a fix from
# hiding what only one interpreter does
ISOLATE_PURPOSE = "stops at collection -> --ignore"
STDLIB_PURPOSE = "uses what the standard library dropped -> --ignore"


def _broken(log: str) -> dict[str, str]:
    """Each module that failed to collect, with the exception it stopped on."""
    found: dict[str, str] = {}
    for section in _SECTION.finditer(log):
        path = section.group("path")
        if path.rsplit("/", 1)[-1] == "conftest.py":
            return {}
        exception = _EXCEPTION.search(section.group("text"))
        found.setdefault(path, exception.group("line")[:120] if exception else "an error")
    return found


def _ignoring(test: str | None, paths: list[str]) -> str:
    return with_test_args(test, [f"--ignore={p}" for p in paths])


def offline(log: str, install: str | None, test: str | None) -> list[Candidate]:
    """Modules that need the network at collection."""
    paths = [m.group("path") for m in _SECTION.finditer(log) if _NO_NETWORK.search(m.group("text"))]
    if not paths:
        return []
    paths = list(dict.fromkeys(paths))
    description = f"{', '.join(paths)} needs the network at collection -> --ignore"
    return [(description, install, _ignoring(test, paths))]


def isolate(log: str, install: str | None, test: str | None) -> list[Candidate]:
    """The last resort: modules that stop at collection while others were collected."""
    broken = _broken(log)
    # `-q` leaves the count out; a suite left with nothing then ends in no verdict either
    collected = _COLLECTED.search(log)
    if not broken or (collected is not None and int(collected.group("items")) == 0):
        return []
    dropped = {path: line for path, line in broken.items() if _stdlib_gone(line)}
    return [
        (f"{_why(modules)} {purpose}", install, _ignoring(test, list(modules)))
        for modules, purpose in ((dropped, STDLIB_PURPOSE), (broken, ISOLATE_PURPOSE))
        if modules
    ]


def _why(modules: dict[str, str]) -> str:
    return "; ".join(f"{path} ({line})" for path, line in modules.items())


def _stdlib_gone(line: str) -> bool:
    gone = _STDLIB_GONE.search(line)
    return gone is not None and is_stdlib(next(g for g in gone.groups() if g))
