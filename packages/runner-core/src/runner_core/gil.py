"""The GIL on a free-threaded interpreter: how a run sets it, and who turned it back on.

A free-threaded build runs with the GIL off unless told otherwise, and apiary leaves it
that way: `PYTHON_GIL` stays unset, so the build's default holds, and a C extension that
does not declare `Py_mod_gil` turns the GIL back on when it is imported, with a
`RuntimeWarning` naming the module. Those warnings, from the import check and from the
tests, are what `gil_enabled_by` reads. `env.PYTHON_GIL=1` (a `--condition`) gives the
GIL-on baseline; `PYTHON_GIL=0` forces the GIL off, even for such modules, which then
warn no more.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from normalized_events import InterpreterInfo

GilMode = Literal["off", "forced-off", "on"]

_ENABLED = re.compile(
    r"The global interpreter lock \(GIL\) has been enabled to load module '(?P<name>[^']+)'"
)


def gil_mode(info: InterpreterInfo, env: Mapping[str, str]) -> GilMode | None:
    """How the tests run: None on a build with a GIL, else from PYTHON_GIL."""
    if not info.free_threaded:
        return None
    value = env.get("PYTHON_GIL", "").strip()
    if value == "1":
        return "on"
    if value == "0":
        return "forced-off"
    return "off"


def describe_mode(mode: GilMode) -> str:
    """One line for the start of a run."""
    return {
        "off": "the GIL off (the build's default; a module without Py_mod_gil re-enables "
        "it, and apiary records which)",
        "forced-off": "the GIL forced off (PYTHON_GIL=0: no module can re-enable it)",
        "on": "the GIL on (PYTHON_GIL=1)",
    }[mode]


def gil_enabled_by(output: str) -> list[str]:
    """Modules whose import turned the GIL back on, in the order the warnings came."""
    return list(dict.fromkeys(m.group("name") for m in _ENABLED.finditer(output)))
