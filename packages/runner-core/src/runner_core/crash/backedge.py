"""Whether a spinning thread stands on a long loop's back-edge.

CPython 3.13's JIT can re-optimize one loop forever without running it again: when the
loop's body is long enough that its back-edge is `EXTENDED_ARG; JUMP_BACKWARD`, the
executor goes over the `EXTENDED_ARG`, the `JUMP_BACKWARD` left behind optimizes again
whenever the executor steps back to the interpreter, and a garbage collection that finds
nothing to do keeps it stepping back (docs/findings.md, gh-126127). A JIT-only hang whose
innermost frame is on such a back-edge is most likely that bug, whatever the package.

The question is put to the interpreter that ran the suite (its own bytecode), which only
compiles the files: nothing of the package is executed. The files are the package's, and
their paths come from the suite's own output, so apiary reads them (regular files, up to
a size) and one interpreter compiles them all in a sandbox with no network, bounded in
time and memory.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from sandbox_runner import Isolation, Limits, SandboxError, SandboxSpec, run_sandboxed

from runner_core.crash.record import PythonFrame
from runner_core.isolation import sandbox_backend
from runner_core.settings import BackendChoice

# reads [[source, line], ...] from the file named by argv[1]; prints the index of each
# whose line ends a loop with EXTENDED_ARG; JUMP_BACKWARD
_SCRIPT = """
import dis, json, sys
with open(sys.argv[1], encoding="utf-8") as asked:
    frames = json.load(asked)

def on_long_backedge(source, line):
    todo = [compile(source, "frame", "exec")]
    while todo:
        code = todo.pop()
        todo += [c for c in code.co_consts if hasattr(c, "co_code")]
        before = None
        for ins in dis.get_instructions(code):
            at = ins.positions.lineno if ins.positions else None
            if ins.opname == "JUMP_BACKWARD" and before == "EXTENDED_ARG" and at == line:
                return True
            before = ins.opname
    return False

for index, (source, line) in enumerate(frames):
    try:
        if on_long_backedge(source, line):
            print(index)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        pass
"""
_TIMEOUT_S = 60
_MEMORY_BYTES = 2 * 1024**3
# a Python source longer than this is not a package's module
_MAX_SOURCE_BYTES = 8 * 1024**2


def long_backedges(
    python: Path, frames: Iterable[PythonFrame], backend: BackendChoice = "auto"
) -> list[str]:
    """`file:line` (file's name only) of the frames whose line ends a loop with
    `EXTENDED_ARG; JUMP_BACKWARD` in ``python``'s bytecode; ``backend`` is the run's
    sandbox choice."""
    asked = [(f, text) for f in dict.fromkeys(frames) if (text := _source(f)) is not None]
    if not asked:
        return []
    with tempfile.TemporaryDirectory(prefix="apiary-backedge-") as folder:
        found = _compiled(python, Path(folder), [[text, f.line] for f, text in asked], backend)
    return [f"{Path(f.file).name}:{f.line}" for i, (f, _) in enumerate(asked) if i in found]


def _source(frame: PythonFrame) -> str | None:
    """The frame's file when it is a regular file of a module's size, else None (never
    blocking on a FIFO or a device the suite's output named)."""
    if frame.line is None:
        return None
    try:
        descriptor = os.open(frame.file, os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode) or status.st_size > _MAX_SOURCE_BYTES:
            return None
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read(_MAX_SOURCE_BYTES).decode("utf-8", "replace")
    except OSError:
        return None
    finally:
        os.close(descriptor)


def _compiled(
    python: Path, folder: Path, frames: list[list[object]], backend: BackendChoice
) -> set[int]:
    """The indexes of `frames` on a long back-edge, as the sandboxed `python` says."""
    asked, answer = folder / "frames.json", folder / "answer.log"
    asked.write_text(json.dumps(frames), encoding="utf-8")
    spec = SandboxSpec(
        command=[str(python), "-I", "-c", _SCRIPT, str(asked)],
        cwd=folder,
        env={},
        limits=Limits(timeout_s=_TIMEOUT_S, memory_bytes=_MEMORY_BYTES),
        isolation=Isolation(backend=sandbox_backend(backend), readable=(folder,)),
        stdout_log=answer,
    )
    try:
        result = run_sandboxed(spec)
        lines = answer.read_text(encoding="utf-8", errors="replace").split()
    except (SandboxError, OSError):
        return set()
    if result.exit_code != 0:
        return set()
    return {int(line) for line in lines if line.isdigit()}
