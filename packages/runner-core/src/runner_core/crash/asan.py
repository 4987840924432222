"""Reading AddressSanitizer reports and C assertion failures out of a log.

An ASan report (the process then exits with status 1 unless ASAN_OPTIONS says otherwise):

    ==6256==ERROR: AddressSanitizer: heap-use-after-free on address 0x6020000008d4 at pc ...
    READ of size 4 at 0x6020000008d4 thread T0
        #0 0x7fda56cb81a5 in uaf /tmp/x/uafso.c:2
        #1 0x7fda559d9f79  (/lib/x86_64-linux-gnu/libffi.so.8+0x6f79)
    ...
    SUMMARY: AddressSanitizer: heap-use-after-free /tmp/x/uafso.c:2 in uaf

glibc's assert() prints `prog: file.c:12: func: Assertion `expr' failed.` before abort();
CPython's _PyObject_AssertFailed prints `file.c:12: func: Assertion "expr" failed: msg`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from runner_core.crash.record import CFrame

_ERROR = re.compile(
    r"==(?P<pid>\d+)==ERROR: (?P<tool>AddressSanitizer|LeakSanitizer): (?P<rest>.*?)\s*$"
)
_SUMMARY = re.compile(r"^SUMMARY: AddressSanitizer: (?P<type>\S+)")
# The stacks after the access: where the memory was freed, where it was allocated.
_RELATED = re.compile(
    r"^(?:(?P<free>freed by thread)|(?:previously )?(?P<alloc>allocated by thread))\b.*here:"
)
_LEAK = re.compile(r"^(?P<kind>Direct|Indirect) leak of \d+ byte\(s\) in \d+ object\(s\)")
LEAK_ERROR = "memory-leak"
_FRAME = re.compile(r"^\s*#(?P<index>\d+) (?P<address>0x[0-9a-fA-F]+)\s*(?P<rest>.*?)\s*$")
_LOCATION = re.compile(
    r"^(?P<function>.*?)\s*"
    r"(?:\((?P<binary>[^()\s]+)\+(?P<offset>0x[0-9a-fA-F]+)\)"
    r"|(?P<file>[^\s()]+?):(?P<line>\d+)(?::\d+)?)"
    r"(?:\s+\(BuildId: [0-9a-fA-F]+\))?$"
)
_ASSERTION = re.compile(
    r"(?:(?P<program>[^\s:]+): )?"
    r"(?P<where>(?P<file>[^\s:]+):(?P<line>\d+): (?:(?P<function>[^:\s]+): )?"
    r"Assertion (?P<expression>[`'\"].*[`'\"]) failed(?P<rest>.*?))\s*$"
)


@dataclass
class AsanReport:
    start: int
    error: str
    error_type: str
    frames: list[CFrame] = field(default_factory=list)
    related: dict[str, list[CFrame]] = field(default_factory=dict)  # "free", "alloc"


@dataclass(frozen=True)
class Assertion:
    index: int
    text: str  # without the program name: `file.c:12: func: Assertion `x' failed.`


def find_asan_report(lines: list[str]) -> AsanReport | None:
    """The first AddressSanitizer error report (ASan stops at the first by default)."""
    for index, line in enumerate(lines):
        if "Sanitizer: " not in line:
            continue
        error = _ERROR.search(line)
        if error is None:
            continue
        if error.group("tool") == "LeakSanitizer":
            return _read_leaks(lines, index, error.group("rest"))
        return _read_report(lines, index, error.group("rest"))
    return None


def _read_report(lines: list[str], start: int, rest: str) -> AsanReport:
    """The faulting access's stack, then the free and allocation stacks when shown."""
    frames: list[CFrame] = []
    related: dict[str, list[CFrame]] = {}
    current: list[CFrame] | None = frames
    summary_type: str | None = None
    for line in lines[start + 1 :]:
        summary = _SUMMARY.match(line)
        if summary is not None:
            summary_type = summary.group("type")
            break
        heading = _RELATED.match(line.strip())
        if heading is not None:
            current = related.setdefault("free" if heading.group("free") else "alloc", [])
            continue
        frame = _FRAME.match(line)
        if frame is not None and current is not None:
            current.append(_c_frame(frame))
        elif current and frame is None:
            current = None  # a stack ends at its first non-frame line
    return AsanReport(start, rest, summary_type or _error_type(rest), frames, related)


def _read_leaks(lines: list[str], start: int, rest: str) -> AsanReport:
    """A LeakSanitizer report: the first direct leak's allocation stack is its site."""
    frames: list[CFrame] = []
    reading = False
    for line in lines[start + 1 :]:
        if _SUMMARY.match(line):
            break
        leak = _LEAK.match(line.strip())
        if leak is not None:
            reading = not frames and leak.group("kind") == "Direct"
            continue
        frame = _FRAME.match(line)
        if frame is not None and reading:
            frames.append(_c_frame(frame))
        elif frames:
            reading = False
    return AsanReport(start, f"LeakSanitizer: {rest}", LEAK_ERROR, frames)


def _c_frame(match: re.Match[str]) -> CFrame:
    rest = match.group("rest")
    if rest.startswith("in "):
        rest = rest[3:]
    location = _LOCATION.match(rest)
    if location is None:
        return CFrame(
            index=int(match.group("index")), address=match.group("address"), function=rest or None
        )
    line = location.group("line")
    return CFrame(
        index=int(match.group("index")),
        address=match.group("address"),
        function=location.group("function") or None,
        file=location.group("file"),
        line=int(line) if line else None,
        binary=location.group("binary"),
        offset=location.group("offset"),
    )


def _error_type(rest: str) -> str:
    words = rest.split()
    if not words:
        return "unknown"
    if words[0] == "attempting" and len(words) > 1:
        return words[1]
    return words[0]


def find_assertions(lines: list[str]) -> list[Assertion]:
    """Every C assertion failure message, in order."""
    found = []
    for index, line in enumerate(lines):
        if "Assertion " not in line:
            continue
        match = _ASSERTION.search(line)
        if match is not None:
            found.append(Assertion(index, match.group("where")))
    return found
