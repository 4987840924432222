"""What a step's exit status and output mean: the package's outcome and a one-line reason.

Pure functions, tested as a table of real captured outputs. The test step:

- timeout, then hang (idle timeout): the harness stopped the process, nothing else counts;
- oom when memory ran out, unless the output shows a real crash report (a fault dump,
  an assertion, an ASan error other than an allocation failure): that is a crash;
- crash: see `runner_core.crash.parse_crash` (death by signal, shell 128+N, an ASan
  report with any non-zero status; "Fatal Python error" alone with a normal exit is not);
- pass on 0, unless unittest's summary says it ran 0 tests (config_error);
- for pytest, config_error on 2-5 (collection error, internal error, a plugin that cannot
  load, a conftest.py that raises, usage error, no tests collected), the reason naming the
  missing module when a `ModuleNotFoundError` caused it; for the other frameworks,
  config_error on unittest's "NO TESTS RAN" and its failed test-module imports;
- any other status: fail only when a runner's own summary (`runner_core.summaries`) shows
  tests that ran and failed, or a process the tests started crashed; without that
  evidence (pytest exits 1 for a plugin that cannot start too, a script can exit 1 before
  any test) config_error, the reason being the line that stopped the run.

The other steps: `classify_install` (install_error) and `classify_import` (import_error,
or crash when the import check itself died of a signal). A source that cannot be fetched
is a source_error with the reason `runner_core.sources` gives. Every function returns
PASS when the step did not fail.
"""

from __future__ import annotations

import re

from normalized_events import CrashInfo, InstallFailure, Outcome
from pydantic import BaseModel, ConfigDict

from runner_core.crash import (
    CrashKind,
    CrashRecord,
    crash_info,
    describe,
    parse_crash,
    scan_output,
)
from runner_core.crash.signals import describe_signal, signal_name, status_signal
from runner_core.install_failures import install_failure
from runner_core.summaries import RunnerSummary, runner_summary

MAX_REASON = 200

# ASan's names for running out of memory: the allocator failed, nothing was corrupted.
_ASAN_ALLOCATION_ERRORS = frozenset(
    {"out-of-memory", "allocation-size-too-big", "calloc-overflow", "rss-limit-exceeded"}
)

_STARTING = frozenset({"preinitializing", "preinitialized", "initializing", "core initialized"})
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '(?P<name>[^']+)'")
# `python -m pytest` without pytest: runpy's own words, no quotes
_NO_RUNNER_MODULE = re.compile(r"^\S*python[\w.]*: No module named (?P<name>[\w.]+)\s*$", re.M)
_INTERNAL_ERROR = re.compile(r"^INTERNALERROR> (?P<text>[A-Za-z_][\w.]*(?:Error|Exception)\b.*)$")
_USAGE_ERROR = re.compile(r"^\S.*?: error: (?P<text>.+)$")
_NOT_FOUND = re.compile(r"^ERROR: (?P<text>(?:file or directory|module or package) not found.*)$")
_COLLECT_ERROR = re.compile(r"^E\s+(?P<text>[A-Za-z_][\w.]*(?:Error|Exception)\b.*)$")
_INTERRUPTED = re.compile(r"^!+ (?P<text>Interrupted: .*?) !+$")
_PLUGIN_LOAD = re.compile(r'^Error while loading plugin "(?P<name>[^"]+)"')
_COVERAGE_UNDER = re.compile(r"^FAIL (?P<text>Required test coverage of .*)$")
_TRACEBACK = "Traceback (most recent call last):"
_PATH_OR_URL = re.compile(
    r"(?P<url>\b[a-z][a-z0-9+.-]*://\S+)|(?:/[^\s/:'\"]+)+/(?P<base>[^\s/:'\"]+)"
)
_EXCEPTION_LINE = re.compile(r"^(?P<text>[A-Za-z_][\w.]*(?:Error|Exception|Exit)\b(?::.*)?)$")
_PIP_NO_MATCH = re.compile(r"(?P<text>No matching distribution found for \S+)")
_UV_NO_SOLUTION = re.compile(r"No solution found when resolving dependencies")
_UV_BECAUSE = re.compile(r"Because (?P<text>.*?)(?:, we can conclude.*)?$")
_BUILD_FAILED = re.compile(
    r"Failed building wheel for (?P<pip>\S+)|Failed to build `(?P<uv>[^`\s]+)"
    r"|Failed to build '(?:file://)?/(?:[^'/]+/)*(?P<folder>[^'/]+)/?'"
    r"|Failed to build '?(?P<plain>[\w.-]+)"
)
# the exception a build backend or setup.py raised, as its traceback ends
_BUILD_EXCEPTION = re.compile(r"^\s*(?P<text>(?:\w+\.)*\w*(?:Error|Exception): \S.*)$")
_COMPILER_ERROR = re.compile(
    r"(?P<text>[^\s:]+\.(?:c|cc|cpp|cxx|h|hpp|pyx|f90|rs):\d+(?::\d+)?: (?:fatal )?error: .+)$"
)
_METADATA_FAILED = re.compile(r"metadata-generation-failed|prepare_metadata_for_build_wheel")
_ERROR_LINE = re.compile(r"^\s*(?:ERROR|error|fatal): (?P<text>.+)$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class StepStatus(_Model):
    """How a step's command ended, as the sandbox reports it."""

    exit_code: int | None
    signal: int | None = None
    timed_out: bool = False
    idle_timed_out: bool = False
    oom_suspected: bool = False
    # The sandbox stopped the step or refused it resources (disk, processes): why.
    limit: str | None = None


class Verdict(_Model):
    """The outcome of a step, one short line saying why, and the crash when it crashed."""

    outcome: Outcome
    reason: str | None = None
    crash: CrashRecord | None = None
    install_failure: InstallFailure | None = None

    @property
    def crash_info(self) -> CrashInfo | None:
        return crash_info(self.crash) if self.crash is not None else None


def classify(
    *,
    exit_code: int | None,
    signal: int | None = None,
    timed_out: bool = False,
    idle_timed_out: bool = False,
    oom_suspected: bool = False,
    output: str = "",
    framework: str = "pytest",
) -> Verdict:
    """The outcome of the test step (keyword form of `classify_test`)."""
    status = StepStatus(
        exit_code=exit_code,
        signal=signal,
        timed_out=timed_out,
        idle_timed_out=idle_timed_out,
        oom_suspected=oom_suspected,
    )
    return classify_test(status, output, framework)


def classify_test(status: StepStatus, output: str, framework: str = "pytest") -> Verdict:
    """The outcome of the test step from its status, its merged output and the framework."""
    if status.timed_out:
        return Verdict(outcome=Outcome.TIMEOUT, reason="stopped at the time limit")
    if status.idle_timed_out:
        return Verdict(outcome=Outcome.HANG, reason="stopped after printing nothing for too long")
    if status.limit is not None:
        return Verdict(outcome=Outcome.ERROR, reason=_clip(status.limit))
    crash = parse_crash(output, exit_code=status.exit_code, signal=status.signal)
    died = status_signal(status.exit_code, status.signal)
    summary = runner_summary(output)
    # A runner that printed its summary finished on its own: memory did not stop it.
    finished = died is None and summary is not None
    if (
        status.oom_suspected
        and status.exit_code != 0
        and not finished
        and not _is_real_crash(crash)
    ):
        how = f" ({signal_name(died)})" if died is not None else ""
        return Verdict(outcome=Outcome.OOM, reason=_clip(f"memory ran out{how}"))
    if crash is not None:
        return Verdict(outcome=Outcome.CRASH, reason=describe(crash), crash=crash)
    if status.exit_code is None:
        return Verdict(outcome=Outcome.ERROR, reason="the test command reported no exit status")
    return _exit_verdict(status.exit_code, output, framework, summary)


def _exit_verdict(code: int, output: str, framework: str, summary: RunnerSummary | None) -> Verdict:
    """A process that exited on its own with `code`, and crashed nowhere: what it says."""
    if code == 0:
        if summary is not None and summary.runner == "unittest" and summary.ran == 0:
            return Verdict(outcome=Outcome.CONFIG_ERROR, reason="no tests ran")
        shown = summary.text if summary is not None and summary.runner == "pytest" else None
        return Verdict(outcome=Outcome.PASS, reason=_clip(shown) if shown else None)
    report = scan_output(output)
    startup = None if summary is not None else _startup_failure(report)
    if startup is not None:
        return Verdict(outcome=Outcome.CONFIG_ERROR, reason=startup)
    if framework == "pytest":
        if 2 <= code <= 5:
            return Verdict(outcome=Outcome.CONFIG_ERROR, reason=_pytest_config_reason(code, output))
    else:
        config = _other_config_reason(output)
        if config is not None:
            return Verdict(outcome=Outcome.CONFIG_ERROR, reason=config)
    # A process the tests started crashed, and the suite failed: the crash is the finding
    # (a suite that passed despite one crashed it on purpose, or did not mind). A child
    # interpreter that could not start (a test giving it a broken environment) is none.
    if report is not None and _startup_failure(report) is None:
        return Verdict(
            outcome=Outcome.CRASH, reason=_fail_reason(code, summary, report), crash=report
        )
    # `fail` needs the runner's word that tests ran and failed: pytest exits 1 for a
    # plugin that cannot start too.
    if (summary is not None and summary.shows_failures) or report is not None:
        return Verdict(outcome=Outcome.FAIL, reason=_fail_reason(code, summary, report))
    return Verdict(outcome=Outcome.CONFIG_ERROR, reason=_no_verdict_reason(code, output, summary))


def _startup_failure(report: CrashRecord | None) -> str | None:
    """`Fatal Python error: init_...` from an interpreter that never finished starting."""
    if report is None or report.kind is not CrashKind.FATAL_ERROR:
        return None
    if report.runtime_state not in _STARTING or report.python_frames:
        return None
    return _clip(f"the interpreter could not start: {report.fatal_error}")


def _is_real_crash(crash: CrashRecord | None) -> bool:
    if crash is None or crash.kind is CrashKind.KILLED_BY_SIGNAL:
        return False
    if crash.kind is CrashKind.ASAN:
        return crash.asan_error not in _ASAN_ALLOCATION_ERRORS
    # a signal alone (no dump, no message) under memory pressure is the allocator's doing
    return bool(crash.python_frames or crash.fatal_error or crash.assertion or crash.c_frames)


def _lines(output: str) -> list[str]:
    return [line.rstrip() for line in output.splitlines()]


def clip(text: str) -> str:
    """`text` on one line, cut to the length of a reason."""
    return _clip(text)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def _last(pattern: re.Pattern[str], lines: list[str], group: str = "text") -> str | None:
    for line in reversed(lines):
        match = pattern.search(line)
        if match is not None:
            return match.group(group)
    return None


def _first(pattern: re.Pattern[str], lines: list[str], group: str = "text") -> str | None:
    for line in lines:
        match = pattern.search(line)
        if match is not None:
            return match.group(group)
    return None


def missing_modules(output: str) -> list[str]:
    """Module names from every `ModuleNotFoundError: No module named 'x'` and every
    `python: No module named x` (``python -m x``), first seen first."""
    found = [*_MISSING_MODULE.finditer(output), *_NO_RUNNER_MODULE.finditer(output)]
    return list(dict.fromkeys(m.group("name") for m in sorted(found, key=lambda m: m.start())))


def _missing_reason(output: str) -> str | None:
    names = missing_modules(output)
    if not names:
        return None
    return _clip(f"missing module{'s' if len(names) > 1 else ''}: {', '.join(names)}")


def _pytest_config_reason(code: int, output: str) -> str:
    lines = _lines(output)
    missing = _missing_reason(output)
    if missing is not None:
        return missing
    internal = _last(_INTERNAL_ERROR, lines)
    if internal is not None:
        return _clip(f"pytest internal error: {internal}")
    # a plugin that cannot load (exit 3), a conftest.py that raises (exit 4)
    error = _error_line(lines) if code in (3, 4) else None
    if error is not None:
        return error
    if code == 3:
        return "pytest internal error"
    not_found = _first(_NOT_FOUND, lines)
    if not_found is not None:
        return _clip(not_found)
    usage_printed = any(line.startswith("ERROR: usage:") for line in lines)
    usage = _first(_USAGE_ERROR, lines) if usage_printed else None
    if usage is not None:
        return _clip(f"usage error: {usage}")
    if code == 4:
        return "pytest usage error"
    if code == 5:
        return "no tests collected"
    collect = _first(_COLLECT_ERROR, lines)
    if collect is not None:
        return _clip(f"collection error: {_basename_paths(collect)}")
    interrupted = _last(_INTERRUPTED, lines)
    return _clip(interrupted) if interrupted else "pytest was interrupted"


def _other_config_reason(output: str) -> str | None:
    if "NO TESTS RAN" in output:
        return "no tests collected"
    if "Failed to import test module" in output:
        return _missing_reason(output) or "a test module failed to import"
    return None


def _no_verdict_reason(code: int, output: str, summary: RunnerSummary | None) -> str:
    """Why a run that exited non-zero without reporting failed tests did so."""
    lines = _lines(output)
    error = _error_line(lines)
    if summary is not None and summary.ran == 0:
        return _clip(f"no tests ran: {error}" if error else "no tests ran")
    if summary is not None:
        coverage = _first(_COVERAGE_UNDER, lines)
        why = coverage or error or f"exit status {code}"
        return _clip(f"{summary.text}, but {why}" if coverage else f"{summary.text}, then {why}")
    if error is not None:
        return error
    last = _last_meaningful(lines)
    head = f"exit status {code} without a test summary"
    return _clip(f"{head}: {_basename_paths(last)}" if last else head)


def _error_line(lines: list[str]) -> str | None:
    """The line that says what stopped the run: a plugin that could not load, the
    INTERNALERROR's exception, conftest's exception, a traceback's last line."""
    internal = _last(_INTERNAL_ERROR, lines)
    if internal is not None:
        return _clip(f"pytest internal error: {internal}")
    plugin = _first(_PLUGIN_LOAD, lines, "name")
    conftest = any(line.startswith("ImportError while loading conftest") for line in lines)
    pytest_error = _first(_COLLECT_ERROR, lines)
    exception = _traceback_end(lines)
    found = pytest_error or exception
    if found is None:
        return None
    missing = _MISSING_MODULE.search(found)
    text = f"missing module: {missing.group('name')}" if missing else _basename_paths(found)
    if plugin is not None:
        return _clip(f"plugin {plugin} could not load: {text}")
    return _clip(f"conftest: {text}" if conftest and not missing else text)


def _traceback_end(lines: list[str]) -> str | None:
    """The exception line that ends the last Python traceback (the one that was raised)."""
    for index in range(len(lines) - 1, -1, -1):
        if lines[index].startswith(_TRACEBACK):
            following = lines[index + 1 :]
            return next((m.group("text") for m in map(_EXCEPTION_LINE.match, following) if m), None)
    return None


def _fail_reason(code: int, summary: RunnerSummary | None, child: CrashRecord | None) -> str:
    reason = summary.text if summary is not None else f"exit status {code}"
    if child is not None and child.kind is CrashKind.FATAL_ERROR:
        reason = f"{reason}; Fatal Python error: {child.fatal_error}"
    elif child is not None:
        reason = f"{reason}; a child process crashed: {describe(child)}"
    return _clip(reason)


def classify_install(status: StepStatus, output: str) -> Verdict:
    """install_error with the most telling line of the installer's output."""
    if status.exit_code == 0 and not (status.timed_out or status.idle_timed_out):
        return Verdict(outcome=Outcome.PASS)
    return Verdict(
        outcome=Outcome.INSTALL_ERROR,
        reason=_install_reason(status, output),
        install_failure=_install_kind(status, output),
    )


def _install_kind(status: StepStatus, output: str) -> InstallFailure:
    if status.timed_out or status.idle_timed_out:
        return InstallFailure.TIMEOUT
    if status_signal(status.exit_code, status.signal) is not None:
        return InstallFailure.INSTALLER_DIED
    return install_failure(output)


def _install_reason(status: StepStatus, output: str) -> str:
    if status.timed_out or status.idle_timed_out:
        return "install timed out"
    if status.limit is not None:
        return _clip(status.limit)
    died = status_signal(status.exit_code, status.signal)
    if died is not None:
        return f"the installer died: {describe_signal(died)}"
    lines = _lines(output)
    no_match = _first(_PIP_NO_MATCH, lines)
    if no_match is not None:
        return _clip(no_match)
    if _UV_NO_SOLUTION.search(output):
        because = _first(_UV_BECAUSE, lines)
        return _clip(f"no solution found: {because}" if because else "no solution found")
    built = next(filter(None, (_BUILD_FAILED.search(line) for line in lines)), None)
    if built is not None or _METADATA_FAILED.search(output):
        name = next((g for g in built.groups() if g), None) if built is not None else None
        what = f"build failed for {name}" if name else "build failed"
        detail = (
            _first(_COMPILER_ERROR, lines) or _last(_BUILD_EXCEPTION, lines) or _error_detail(lines)
        )
        return _clip(f"{what}: {_basename_paths(detail)}" if detail else what)
    error = _first(_ERROR_LINE, [line for line in lines if "dependency resolver" not in line])
    return _clip(error or _last_meaningful(lines) or f"exit status {status.exit_code}")


def _error_detail(lines: list[str]) -> str | None:
    """The last `error:` line that is not pip's or uv's own wrap-up."""
    for line in reversed(lines):
        match = _ERROR_LINE.search(line)
        if match is None:
            continue
        text = match.group("text")
        wrap_up = any(
            word in text for word in ("subprocess-exited", "failed-wheel", "metadata-gen")
        )
        if not wrap_up and not text.startswith(
            ("Failed to build", "The build backend", "Command ")
        ):
            return text
    return None


def _basename_paths(text: str) -> str:
    """Paths shortened to their last part (temp dirs differ run to run); URLs kept whole."""
    return _PATH_OR_URL.sub(lambda m: m.group("url") or m.group("base"), text)


def _last_meaningful(lines: list[str]) -> str | None:
    return next((line.strip() for line in reversed(lines) if line.strip()), None)


def classify_import(status: StepStatus, output: str) -> Verdict:
    """import_error with the exception line; a crash when the import check died of a signal."""
    if status.timed_out or status.idle_timed_out:
        return Verdict(outcome=Outcome.IMPORT_ERROR, reason="import check timed out")
    if status.limit is not None:
        return Verdict(outcome=Outcome.IMPORT_ERROR, reason=_clip(status.limit))
    crash = parse_crash(output, exit_code=status.exit_code, signal=status.signal)
    if crash is not None:
        reason = _clip(f"crashed during the import check: {describe(crash)}")
        return Verdict(outcome=Outcome.CRASH, reason=reason, crash=crash)
    if status.exit_code == 0:
        return Verdict(outcome=Outcome.PASS)
    lines = _lines(output)
    exception = _last(_EXCEPTION_LINE, lines)
    reason = exception or _last_meaningful(lines) or f"exit status {status.exit_code}"
    return Verdict(outcome=Outcome.IMPORT_ERROR, reason=_clip(_basename_paths(reason)))
