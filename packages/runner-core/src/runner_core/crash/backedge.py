"""Whether a spinning thread stands on a long loop's back-edge.

CPython 3.13's JIT can re-optimize one loop forever without running it again: when the
loop's body is long enough that its back-edge is `EXTENDED_ARG; JUMP_BACKWARD`, the
executor goes over the `EXTENDED_ARG`, the `JUMP_BACKWARD` left behind optimizes again
whenever the executor steps back to the interpreter, and a garbage collection that finds
nothing to do keeps it stepping back (docs/findings.md, gh-126127). A JIT-only hang whose
innermost frame is on such a back-edge is most likely that bug, whatever the package.

The question is put to the interpreter that ran the suite (its own bytecode), which only
compiles the file: nothing of the package is executed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

from runner_core.crash.record import PythonFrame

_SCRIPT = """
import dis, sys
path, line = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as source:
    todo = [compile(source.read(), path, "exec")]
while todo:
    code = todo.pop()
    todo += [c for c in code.co_consts if hasattr(c, "co_code")]
    before = None
    for ins in dis.get_instructions(code):
        at = ins.positions.lineno if ins.positions else None
        if ins.opname == "JUMP_BACKWARD" and before == "EXTENDED_ARG" and at == line:
            sys.exit(0)
        before = ins.opname
sys.exit(3)
"""
_TIMEOUT_S = 30


def _on_long_backedge(python: Path, frame: PythonFrame) -> bool:
    if frame.line is None or not Path(frame.file).is_file():
        return False
    try:
        done = subprocess.run(
            [str(python), "-I", "-c", _SCRIPT, frame.file, str(frame.line)],
            capture_output=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def long_backedges(python: Path, frames: Iterable[PythonFrame]) -> list[str]:
    """`file:line` (file's name only) of the frames whose line ends a loop with
    `EXTENDED_ARG; JUMP_BACKWARD` in ``python``'s bytecode."""
    on_one = [f for f in dict.fromkeys(frames) if _on_long_backedge(python, f)]
    return [f"{Path(f.file).name}:{f.line}" for f in on_one]
