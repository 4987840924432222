"""ThreadSanitizer reports as records: race type, both accesses' top frames, modules.

A report, as gcc's and clang's TSan runtimes print it (CPython's TSan builds included):

    ==================
    WARNING: ThreadSanitizer: data race (pid=30359)
      Read of size 4 at 0x55555555805c by thread T2:
        #0 bump /tmp/race.c:4 (race+0x11cf)
      Previous write of size 4 at 0x55555555805c by thread T1:
        #0 bump /tmp/race.c:4 (race+0x11f3)
      Location is global 'shared' of size 4 at 0x55555555805c (race+0x405c)
      Thread T2 (tid=30362, running) created by main thread at:
        #0 pthread_create .../tsan_interceptors_posix.cpp:1001 (libtsan.so.2+0x5e686)
    SUMMARY: ThreadSanitizer: data race /tmp/race.c:4 in bump
    ==================

The two stacks that make the report are the first two sections that are not the
`Location` or a `Thread ... created` section: the two accesses of a data race, the
two `Mutex ... acquired here` of a lock-order inversion. Each is named by its top frame
outside the TSan runtime (its interceptors: `pthread_mutex_lock` is where a lock was
taken, not who took it) as `file:function`, with the shared object it is in.

signature = `tsan:<type> | <frame> | <frame>` with the two frames sorted (which access
came first varies from run to run); bucket = its sha256's first 12 hex digits. A report
with no SUMMARY line before the next report or the end was cut short: it is still
parsed, and named in `problems`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from runner_core.crash.signature import BUCKET_LENGTH, normalise

_WARNING = re.compile(r"WARNING: ThreadSanitizer: (?P<kind>.+?)(?: \(pid=\d+\))?\s*$")
_SUMMARY = re.compile(r"SUMMARY: ThreadSanitizer: ")
_SECTION = re.compile(r"^  (?P<header>\S.*):\s*$")
_FRAME = re.compile(
    r"^\s+#\d+ (?P<function>\S+) (?P<where>\S+)(?: \((?P<module>[^+()\s]+)\+0x[0-9a-f]+\))?"
)
_RUNTIME_FUNCTION = re.compile(r"^(?:__tsan_|__interceptor_|___interceptor_|__sanitizer_)")
_RUNTIME_MODULE = re.compile(r"^lib(?:tsan|clang_rt\.tsan)")
# The runtime linked into the program (clang's static TSan, as in CPython's TSan builds).
_RUNTIME_FILE = re.compile(r"(?:compiler-rt/lib|libsanitizer)/(?:tsan|sanitizer_common)/")
# Sections that are not one of the two stacks: where the memory is, who made a thread or
# a mutex.
_SKIPPED_SECTION = re.compile(
    r"^(?:Location is |Thread T\d+|Thread main|Mutex M\d+ \(|Mutex M\d+ created)"
)
_MAX_REPORTS = 10_000


@dataclass(frozen=True)
class TsanFrame:
    function: str
    file: str | None
    module: str | None

    @property
    def token(self) -> str:
        if self.file is None:
            return normalise(self.function)
        return normalise(f"{self.file.rsplit('/', 1)[-1]}:{self.function}")


@dataclass(frozen=True)
class TsanReport:
    """One report: its type, the top frame of each of its two stacks, and its text."""

    kind: str
    frames: tuple[TsanFrame, ...]
    text: str
    complete: bool = True

    @property
    def signature(self) -> str:
        tokens = sorted(frame.token for frame in self.frames)
        return " | ".join([f"tsan:{self.kind}", *tokens])

    @property
    def bucket(self) -> str:
        return hashlib.sha256(self.signature.encode()).hexdigest()[:BUCKET_LENGTH]

    @property
    def modules(self) -> list[str]:
        return list(dict.fromkeys(f.module for f in self.frames if f.module))


@dataclass
class TsanReports:
    reports: list[TsanReport] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def parse_tsan(text: str, source: str = "output") -> TsanReports:
    """Every report in `text` (a step's output or a `log_path` file named `source`)."""
    found = TsanReports()
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if "WARNING: ThreadSanitizer: " in line]
    for number, start in enumerate(starts[:_MAX_REPORTS]):
        end = starts[number + 1] if number + 1 < len(starts) else len(lines)
        body = lines[start:end]
        summary = next((i for i, line in enumerate(body) if _SUMMARY.search(line)), None)
        report = _report(body if summary is None else body[: summary + 1], summary is not None)
        if not report.complete:
            found.problems.append(
                f"{source}: a ThreadSanitizer report ({report.kind}) is cut short: no SUMMARY line"
            )
        found.reports.append(report)
    return found


def _report(body: list[str], complete: bool) -> TsanReport:
    match = _WARNING.search(body[0])
    kind = match.group("kind") if match else "unknown"
    kind = re.sub(r"\s*\(potential deadlock\)$", "", kind).strip()
    tops: list[TsanFrame] = []
    section_open = False
    for line in body[1:]:
        header = _SECTION.match(line)
        if header is not None:
            section_open = not _SKIPPED_SECTION.match(header.group("header"))
            continue
        frame = _FRAME.match(line)
        if frame is None or not section_open:
            continue
        parsed = _frame(frame)
        if parsed is not None:
            tops.append(parsed)
            section_open = False  # only the top frame of each stack
        if len(tops) == 2:
            break
    return TsanReport(
        kind=kind.replace(" ", "-"), frames=tuple(tops), text="\n".join(body), complete=complete
    )


def _frame(match: re.Match[str]) -> TsanFrame | None:
    function, where, module = match.group("function", "where", "module")
    if _RUNTIME_FUNCTION.match(function) or (module and _RUNTIME_MODULE.match(module)):
        return None
    if _RUNTIME_FILE.search(where):
        return None
    if function == "<null>":
        return None
    file = None if where == "<null>" else re.sub(r"(?::\d+)+$", "", where)
    return TsanFrame(function=function, file=file, module=module)
