"""Reading faulthandler's dumps (and Py_FatalError's, which share the format) out of a log.

A dump looks like this (3.14 adds thread names in brackets and a C stack):

    Fatal Python error: Segmentation fault
    Python runtime state: initialized          <- Py_FatalError only

    Thread 0x00007f... (most recent call first):
      File "/src/x.py", line 4 in poll
    Current thread 0x00007f... [python3] (most recent call first):
      File "/src/y.py", line 7 in crash
    Current thread's C stack trace (most recent call first):
      Binary file "/usr/bin/python3", at _Py_DumpStack+0x42 [0x5b27f7d7147e]

    Extension modules: yaml._yaml (total: 1)

The first line may follow other text on the same line (pytest's progress dots), and a
dump may have no `Fatal Python error` line at all when pytest's capture swallowed it.
`Timeout (0:05:00)!` starts a dump of pytest's faulthandler_timeout, which is no crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner_core.crash.record import CFrame, PythonFrame, ThreadStack

_FATAL = re.compile(r"Fatal Python error: (?P<message>.*?)\s*$")
_TIMEOUT = re.compile(r"(?:^|\s)Timeout \((?:\d+:)?\d+:\d+(?:\.\d+)?\)!\s*$")
_THREAD = re.compile(
    r"^(?P<which>Current thread|Thread) (?P<id>0x[0-9a-fA-F]+)"
    r"(?: \[(?P<name>[^\]]*)\])? \(most recent call first\):\s*$"
)
_STACK = re.compile(r"^Stack \(most recent call first\):\s*$")
_FRAME = re.compile(r'^  File "(?P<file>.*)", line (?P<line>\d+|\?\?\?) in (?P<function>.*?)\s*$')
_RUNTIME = re.compile(r"^Python runtime state: (?P<state>.*?)\s*$")
_C_STACK = re.compile(r"^Current thread's C stack trace \(most recent call first\):\s*$")
_C_FRAME = re.compile(
    r'^  Binary file "(?P<binary>.*)", at (?P<symbol>[^\s+\-]*)(?P<offset>[+-]0x[0-9a-fA-F]+)?'
    r" \[(?P<address>0x[0-9a-fA-F]+)\]\s*$"
)
_EXTENSIONS = re.compile(r"^Extension modules: (?P<modules>.*?)(?: \(total: \d+\))?\s*$")
# Lines faulthandler prints inside a dump that carry nothing we keep.
_FILLER = re.compile(
    r"^(?:  <[^>]*>|  \.\.\.|  Garbage-collecting|<Cannot show all threads[^>]*>)\s*$"
)
# Py_FatalError may print an exception and object details between its message and the
# threads; past this many unrelated lines the message had no dump after it.
_MAX_PREAMBLE = 40


@dataclass
class FaultDump:
    """One dump: where it starts in the list of lines, and what it says."""

    start: int
    fatal_error: str | None = None
    timeout: bool = False
    runtime_state: str | None = None
    threads: list[ThreadStack] = field(default_factory=list)
    c_frames: list[CFrame] = field(default_factory=list)
    extension_modules: list[str] = field(default_factory=list)

    @property
    def current(self) -> ThreadStack | None:
        chosen = next((t for t in self.threads if t.current), None)
        if chosen is None and len(self.threads) == 1:
            return self.threads[0]
        return chosen

    @property
    def others(self) -> list[ThreadStack]:
        current = self.current
        return [t for t in self.threads if t is not current]


@dataclass
class _Builder:
    dump: FaultDump
    thread: ThreadStack | None = None
    frames: list[PythonFrame] = field(default_factory=list)
    in_c_stack: bool = False
    preamble: int = 0

    def end_thread(self) -> None:
        if self.thread is not None:
            self.dump.threads.append(self.thread.model_copy(update={"frames": self.frames}))
        self.thread, self.frames = None, []

    def finish(self) -> FaultDump:
        self.end_thread()
        return self.dump


def find_dumps(lines: list[str]) -> list[FaultDump]:
    """Every dump in the lines, in order (timeout dumps marked, not dropped)."""
    reader = _DumpReader()
    for index, line in enumerate(lines):
        reader.take(index, line)
    return reader.close()


class _DumpReader:
    """Reads lines one at a time, a dump at a time (a new header closes the last one)."""

    def __init__(self) -> None:
        self.dumps: list[FaultDump] = []
        self.builder: _Builder | None = None

    def close(self) -> list[FaultDump]:
        """End the dump being read, if any; every dump read so far."""
        if self.builder is not None:
            self.dumps.append(self.builder.finish())
            self.builder = None
        return self.dumps

    def take(self, index: int, line: str) -> None:
        if self.builder is None and not _may_start_dump(line):
            return
        if self._fatal_or_timeout(index, line) or self._thread_header(index, line):
            return
        if self.builder is not None:
            self._within(self.builder, line)

    def _fatal_or_timeout(self, index: int, line: str) -> bool:
        """A line that starts a new dump: a fatal error or faulthandler's timeout."""
        fatal = _FATAL.search(line) if "Fatal Python error: " in line else None
        if fatal is None and not ("Timeout (" in line and _TIMEOUT.search(line)):
            return False
        self.close()
        message = fatal.group("message") if fatal is not None else None
        self.builder = _Builder(FaultDump(index, fatal_error=message, timeout=fatal is None))
        return True

    def _thread_header(self, index: int, line: str) -> bool:
        """A thread's header (or a bare "Stack (most recent call first):")."""
        header = _THREAD.match(line)
        if header is None and not _STACK.match(line):
            return False
        if self.builder is None:
            self.builder = _Builder(FaultDump(index))
        self.builder.end_thread()
        self.builder.in_c_stack = False
        self.builder.thread = ThreadStack(
            thread_id=header.group("id") if header else None,
            name=header.group("name") if header else None,
            current=header is None or header.group("which") == "Current thread",
        )
        return True

    def _within(self, builder: _Builder, line: str) -> None:
        """Any other line: part of the dump, or its end (after a few preamble lines)."""
        if _continue_dump(builder, line):
            if _EXTENSIONS.match(line):
                self.close()
            return
        if builder.dump.threads or builder.thread is not None or builder.dump.c_frames:
            self.close()
            return
        builder.preamble += 1
        if builder.preamble > _MAX_PREAMBLE:
            self.close()


def _may_start_dump(line: str) -> bool:
    return (
        "Fatal Python error: " in line
        or "Timeout (" in line
        or line.startswith(("Current thread 0x", "Thread 0x", "Stack ("))
    )


def _continue_dump(builder: _Builder, line: str) -> bool:
    """Take one line into the dump being read; False when the line is not part of it."""
    frame = _FRAME.match(line)
    if frame is not None and builder.thread is not None and not builder.in_c_stack:
        number = frame.group("line")
        builder.frames.append(
            PythonFrame(
                file=frame.group("file"),
                line=int(number) if number.isdigit() else None,
                function=frame.group("function"),
            )
        )
        return True
    if not line.strip():
        builder.end_thread()
        builder.in_c_stack = False
        return True
    if _C_STACK.match(line):
        builder.end_thread()
        builder.in_c_stack = True
        return True
    c_frame = _C_FRAME.match(line)
    if c_frame is not None and builder.in_c_stack:
        builder.dump.c_frames.append(
            CFrame(
                index=len(builder.dump.c_frames),
                address=c_frame.group("address"),
                function=c_frame.group("symbol") or None,
                binary=c_frame.group("binary"),
                offset=c_frame.group("offset"),
            )
        )
        return True
    runtime = _RUNTIME.match(line)
    if runtime is not None:
        builder.dump.runtime_state = runtime.group("state")
        return True
    extensions = _EXTENSIONS.match(line)
    if extensions is not None:
        builder.end_thread()
        modules = extensions.group("modules").split(", ")
        builder.dump.extension_modules = [m.strip() for m in modules if m.strip()]
        return True
    return bool(_FILLER.match(line))
