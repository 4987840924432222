"""From a step's output and exit status to a CrashRecord, or None when nothing crashed.

The rule (the status decides whether it crashed, the output says how):

- Death by a signal (a negative returncode, an explicit signal, or a shell's or
  bubblewrap's 128+N) is a crash. Its kind and details come from the output when the
  output agrees with the signal (a dump saying `Segmentation fault` under SIGSEGV; an
  assertion, `Aborted` or a Py_FatalError under SIGABRT); otherwise from the signal alone.
- An AddressSanitizer report is a crash whenever the status is not a clean exit 0: ASan
  exits with status 1 by default, not by a signal.
- `Fatal Python error` in the output of a process that exited normally is NOT a crash by
  itself. Tests that check crash handling print it on purpose while passing (exit 0);
  an interpreter that cannot start prints it and exits 1 (a bad PYTHONHOME); a test
  whose child process crashed prints the child's dump and pytest exits 1. A real
  Py_FatalError always ends in abort(), so it always comes with SIGABRT. (The step's
  outcome is still `crash` when its tests failed and a process they started crashed:
  `outcomes.classify_test` decides that from `scan_output`.)
- Only evidence after the test runner's last summary line counts: a process that died
  could not print a summary after its own dump, so a dump before the summary belongs
  to a child process (`scan_output` still finds it, for a failure's reason).
"""

from __future__ import annotations

import signal as _signal

from normalized_events import CrashKind

from runner_core.crash.asan import AsanReport, find_asan_report, find_assertions
from runner_core.crash.faulthandler import FaultDump, find_dumps
from runner_core.crash.record import CrashRecord
from runner_core.crash.signals import FAULT_MESSAGES, describe_signal, status_signal
from runner_core.summaries import last_runner_summary

_KIND_OF_SIGNAL: dict[int, CrashKind] = {
    _signal.SIGSEGV: CrashKind.SEGFAULT,
    _signal.SIGABRT: CrashKind.ABORT,
    _signal.SIGBUS: CrashKind.BUS_ERROR,
    _signal.SIGFPE: CrashKind.FPE,
    _signal.SIGILL: CrashKind.ILLEGAL_INSTRUCTION,
}

# An assertion message counts for the dump that follows it within this many lines
# (CPython's _PyObject_AssertFailed prints object details in between).
_ASSERTION_REACH = 12


def parse_crash(output: str, *, exit_code: int | None, signal: int | None) -> CrashRecord | None:
    """The crash this output and status show, or None when they show none (see module doc)."""
    died_of = status_signal(exit_code, signal)
    lines = output.splitlines()
    lines = lines[_after_runner_summary(lines) :]
    report = find_asan_report(lines)
    if report is not None and (died_of is not None or exit_code != 0):
        return _asan_record(report, lines, died_of, exit_code)
    if died_of is None:
        return None
    dumps = [d for d in find_dumps(lines) if not d.timeout]
    record = _record_from_evidence(lines, dumps, died_of, exit_code)
    if record is not None:
        return record
    return CrashRecord(
        kind=_KIND_OF_SIGNAL.get(died_of, CrashKind.KILLED_BY_SIGNAL),
        signal=died_of,
        exit_code=exit_code,
        headline=describe_signal(died_of),
    )


def scan_output(output: str) -> CrashRecord | None:
    """The last crash report anywhere in the output, whatever the exit status.

    For explaining a failure (a child process crashed and the test failed because of
    it), never for deciding that the step crashed: `parse_crash` does that.
    """
    lines = output.splitlines()
    report = find_asan_report(lines)
    # a real dump has a thread section; a quoted "Fatal Python error" in a test's
    # assertion message does not
    dumps = [
        d for d in find_dumps(lines) if d.fatal_error is not None and not d.timeout and d.threads
    ]
    if report is not None and (not dumps or report.start > dumps[-1].start):
        return _asan_record(report, lines, None, None)
    if not dumps:
        return None
    return _record_from_evidence(lines, dumps, None, None)


def _after_runner_summary(lines: list[str]) -> int:
    found = last_runner_summary(lines)
    return 0 if found is None else found[0] + 1


def _expected_signal(dump: FaultDump | None) -> int | None:
    if dump is None or dump.fatal_error is None:
        return None
    return FAULT_MESSAGES.get(dump.fatal_error, _signal.SIGABRT)


def _record_from_evidence(
    lines: list[str], dumps: list[FaultDump], died_of: int | None, exit_code: int | None
) -> CrashRecord | None:
    """A record from the last dump (and an assertion just before it), if it fits the signal."""
    dump = dumps[-1] if dumps else None
    expected = _expected_signal(dump)
    if died_of is not None and expected is not None and expected != died_of:
        return None  # the dump is some other process's: trust the status alone
    assertion = None
    if expected in (None, _signal.SIGABRT) and died_of in (None, _signal.SIGABRT):
        candidates = find_assertions(lines)
        if dump is not None:
            candidates = [
                a for a in candidates if dump.start - _ASSERTION_REACH <= a.index <= dump.start
            ]
        assertion = candidates[-1] if candidates else None
    if dump is None and assertion is None:
        return None
    signal_number = died_of if died_of is not None else expected
    if assertion is not None:
        kind, headline = CrashKind.C_ASSERTION, assertion.text
    elif dump is not None and dump.fatal_error is not None:
        kind = _KIND_OF_SIGNAL.get(FAULT_MESSAGES.get(dump.fatal_error, 0), CrashKind.FATAL_ERROR)
        headline = dump.fatal_error
    elif died_of is not None:
        kind = _KIND_OF_SIGNAL.get(died_of, CrashKind.KILLED_BY_SIGNAL)
        headline = describe_signal(died_of)
    else:
        return None
    return _with_dump(
        CrashRecord(
            kind=kind,
            signal=signal_number,
            exit_code=exit_code,
            headline=headline,
            assertion=assertion.text if assertion is not None else None,
        ),
        dump,
    )


def _asan_record(
    report: AsanReport, lines: list[str], died_of: int | None, exit_code: int | None
) -> CrashRecord:
    dumps = [d for d in find_dumps(lines) if not d.timeout]
    record = CrashRecord(
        kind=CrashKind.ASAN,
        signal=died_of,
        exit_code=exit_code,
        headline=report.error
        if report.error.startswith("LeakSanitizer")
        else f"AddressSanitizer: {report.error}",
        asan_error=report.error_type,
        c_frames=report.frames,
        asan_stacks=report.related,
    )
    # With faulthandler on, a fault is dumped by Python first and then reported by ASan.
    return _with_dump(record, dumps[-1] if dumps else None, keep_c_frames=True)


def _with_dump(
    record: CrashRecord, dump: FaultDump | None, *, keep_c_frames: bool = False
) -> CrashRecord:
    if dump is None:
        return record
    current = dump.current
    update: dict[str, object] = {
        "fatal_error": dump.fatal_error,
        "runtime_state": dump.runtime_state,
        "python_frames": current.frames if current is not None else [],
        "current_thread_id": current.thread_id if current is not None else None,
        "other_threads": dump.others,
        "extension_modules": dump.extension_modules,
    }
    if not keep_c_frames:
        update["c_frames"] = dump.c_frames
    return record.model_copy(update=update)
