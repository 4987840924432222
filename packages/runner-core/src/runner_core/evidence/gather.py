"""Reading back what a step's processes left in their evidence folder.

Every read is bounded and every damaged file becomes one line in `Evidence.problems`,
never an exception: the evidence of a crash must not cost the run.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from normalized_events.files import read_head, read_tail

from runner_core.crash.faulthandler import find_dumps

_MAX_FILES = 64
_MAX_CAPTURE = 1_000_000  # bytes of each capture file kept (its tail)
_MAX_SANITIZER = 2_000_000  # bytes of each sanitizer log kept (its head: the report)
_MAX_PROGRESS = 1_000_000
_SANITIZER_LOG = re.compile(r"^(?P<tool>asan|ubsan|tsan)\.(?P<pid>\d+)$")
_CAPTURE = re.compile(r"^capture-(?P<pid>\d+)-\d+\.out$")
_PROGRESS = re.compile(r"^test-(?P<pid>\d+)\.json$")
_STACKS = re.compile(r"^stacks-(?P<pid>\d+)\.txt$")
_MAX_STACKS = 1_000_000
_CHILD = re.compile(r"^child-(?P<pid>\d+)\.txt$")
_TIMEOUT = re.compile(r"^timeout-\d+-\d+\.json$")
_MAX_CHILD = 1_000_000


@dataclass(frozen=True)
class RunningTest:
    """The test a process was running when it died, and how its runner was invoked."""

    runner: str
    test_id: str | None
    collecting: str | None = None
    pid: int | None = None
    args: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()
    invocation_dir: str | None = None
    rootdir: str | None = None
    launcher: str | None = None
    module: str | None = None
    module_file: str | None = None


@dataclass(frozen=True)
class SanitizerLog:
    name: str
    text: str


@dataclass(frozen=True)
class ChildCrash:
    """A fatal error of an interpreter the tests started (child-<pid>.txt), and the
    runner's progress when that interpreter started (child-<pid>.json)."""

    pid: int
    dump: str
    started_in: RunningTest | None


@dataclass(frozen=True)
class StoppedTest:
    """A test pytest-timeout stopped (timeout-<pid>-<n>.json): where it was, innermost
    frame first, as (file, line, function), and its thread's CPU over the time it ran."""

    test_id: str
    frames: tuple[tuple[str, int | None, str], ...]
    wall_s: float
    cpu_s: float

    @property
    def busy(self) -> bool:
        """Running most of the time it had: a loop, not a wait."""
        return self.wall_s > 0 and self.cpu_s >= 0.5 * self.wall_s


@dataclass(frozen=True)
class Evidence:
    """What the processes of one step left behind."""

    test: RunningTest | None = None
    captured: tuple[tuple[str, str], ...] = ()
    sanitizer_logs: tuple[SanitizerLog, ...] = ()
    problems: tuple[str, ...] = field(default_factory=tuple)
    # pid (as the process saw itself) -> every thread's stack, given on apiary's signal
    stacks: tuple[tuple[int, str], ...] = ()
    children: tuple[ChildCrash, ...] = ()
    stopped_tests: tuple[StoppedTest, ...] = ()

    def extra_text(self, children: tuple[ChildCrash, ...] | None = None) -> str:
        """The kept text, each part under a line naming its file (for logs and parsing);
        `children`: the crashed children to show (default: all)."""
        parts: list[str] = []
        for name, text in self.captured:
            if text.strip():
                parts.append(f"--- apiary: {name}, what pytest's capture held at the crash ---")
                parts.append(text.rstrip("\n"))
        for log in self.sanitizer_logs:
            parts.append(f"--- apiary: sanitizer report {log.name} ---")
            parts.append(log.text.rstrip("\n"))
        for child in self.children if children is None else children:
            parts.append(f"--- apiary: child-{child.pid}.txt, a process the tests started ---")
            parts.append(child.dump.rstrip("\n"))
        return "\n".join(parts)

    def merged(self, output: str) -> str:
        """The step's output with the kept text where the dying process wrote it.

        That is just before the last fault dump of the output (the dump faulthandler writes
        on the real stderr after the fatal error or assertion went into the capture), or
        at the end when the output has no dump. A crashed child whose test passed (it
        crashed on purpose, or the test did not mind) explains nothing: left out.
        """
        failed = [line for line in output.splitlines() if line.startswith(("FAILED ", "ERROR "))]
        extra = self.extra_text(tuple(c for c in self.children if _may_explain(c, failed)))
        if not extra:
            return output
        lines = output.splitlines()
        dumps = find_dumps(lines)
        if dumps:
            at = dumps[-1].start
            return "\n".join([*lines[:at], extra, *lines[at:]]) + "\n"
        return output.rstrip("\n") + "\n" + extra + "\n"


def _may_explain(child: ChildCrash, failed: list[str]) -> bool:
    """Whether a child's crash may be why the suite failed: the pytest test that started
    it is among the `failed` lines (`FAILED <id>`, `ERROR <id>`), or that cannot be told."""
    test = child.started_in
    if not failed or test is None or test.runner != "pytest" or not test.test_id:
        return True
    named = (f"FAILED {test.test_id}", f"ERROR {test.test_id}")
    return any(line == name or line.startswith(f"{name} ") for line in failed for name in named)


def gather(folder: Path) -> Evidence:
    """The evidence in `folder` (missing or empty folder: no evidence)."""
    try:
        names = sorted(p.name for p in folder.iterdir())
    except OSError:
        return Evidence()
    problems: list[str] = []
    test = _pick_test(folder, [n for n in names if _PROGRESS.match(n)], problems)
    captured = tuple(
        (name, text)
        for name in [n for n in names if _CAPTURE.match(n)][:_MAX_FILES]
        if (text := _read(folder / name, _MAX_CAPTURE, tail=True, problems=problems))
    )
    logs = tuple(
        SanitizerLog(name, text)
        for name in [n for n in names if _SANITIZER_LOG.match(n)][:_MAX_FILES]
        if (text := _sanitizer_text(folder / name, problems))
    )
    stacks = tuple(
        (int(match.group("pid")), text)
        for name in [n for n in names if _STACKS.match(n)][:_MAX_FILES]
        if (match := _STACKS.match(name))
        and (text := _read(folder / name, _MAX_STACKS, tail=False, problems=problems))
    )
    children = _children(folder, [n for n in names if _CHILD.match(n)], problems)
    stopped = tuple(
        found
        for name in [n for n in names if _TIMEOUT.match(n)][:_MAX_FILES]
        if (
            found := _stopped_test(
                _read(folder / name, _MAX_PROGRESS, tail=False, problems=problems)
            )
        )
    )
    if test is None and children:
        test = children[0].started_in
    return Evidence(
        test=test,
        captured=captured,
        sanitizer_logs=logs,
        problems=tuple(problems),
        stacks=stacks,
        children=children,
        stopped_tests=stopped,
    )


def _children(folder: Path, names: list[str], problems: list[str]) -> tuple[ChildCrash, ...]:
    """The dumps of interpreters the tests started, with what their runner was doing
    when each started; empty files (a process that left by os._exit, as multiprocessing's
    workers do: a suite may leave thousands) are no crash, and are passed over unread."""
    found: list[ChildCrash] = []
    for name in names:
        if len(found) == _MAX_FILES:
            break
        if not _has_content(folder / name):
            continue
        dump = _read(folder / name, _MAX_CHILD, tail=False, problems=problems)
        match = _CHILD.match(name)
        if not dump or not dump.strip() or match is None:
            continue
        facts = _read(
            folder / f"child-{match['pid']}.json", _MAX_PROGRESS, tail=False, problems=problems
        )
        found.append(ChildCrash(int(match["pid"]), dump, _started_in(facts)))
    return tuple(found)


def discard_empty_children(folder: Path) -> None:
    """Remove the files of interpreters the tests started that wrote no dump (left by
    os._exit): evidence of nothing, and a suite may leave thousands in the results."""
    try:
        names = [n for n in (p.name for p in folder.iterdir()) if _CHILD.match(n)]
    except OSError:
        return
    for name in names:
        path = folder / name
        if not _has_content(path):
            for leftover in (path, path.with_suffix(".json")):
                with contextlib.suppress(OSError):
                    leftover.unlink()


def _has_content(path: Path) -> bool:
    """A non-empty file, by its own entry (a link is read, and refused, by `_read`)."""
    try:
        return path.lstat().st_size > 0
    except OSError:
        return False


def _stopped_test(raw: str | None) -> StoppedTest | None:
    data = _json(raw or "")
    if not isinstance(data, dict) or not isinstance(data.get("test_id"), str):
        return None
    frames = tuple(
        (f["file"], f["line"] if isinstance(f.get("line"), int) else None, f["function"])
        for f in data.get("frames") or []
        if isinstance(f, dict)
        and isinstance(f.get("file"), str)
        and isinstance(f.get("function"), str)
    )
    wall, cpu = data.get("wall_s"), data.get("cpu_s")
    if not isinstance(wall, (int, float)) or not isinstance(cpu, (int, float)):
        return None
    return StoppedTest(data["test_id"], frames, float(wall), float(cpu))


def _started_in(raw: str | None) -> RunningTest | None:
    data = _json(raw or "")
    return _facts(data.get("runner")) if isinstance(data, dict) else None


def _read(path: Path, limit: int, *, tail: bool, problems: list[str]) -> str | None:
    """The file's text (bounded), or None and a problem when it cannot be read: the folder
    is writable from inside the sandbox, so links and FIFOs are refused (`read_head`)."""
    try:
        data, size = (read_tail if tail else read_head)(path, limit)
    except OSError as exc:
        problems.append(f"{path.name}: unreadable ({exc.strerror or exc})")
        return None
    text = data.decode("utf-8", "replace")
    if size > limit:
        where = "beginning" if tail else "end"
        problems.append(f"{path.name}: {size} bytes, only {limit} kept (its {where} dropped)")
    return text


def _sanitizer_text(path: Path, problems: list[str]) -> str:
    text = _read(path, _MAX_SANITIZER, tail=False, problems=problems)
    if text is None:
        return ""
    if not text.strip():
        problems.append(f"{path.name}: an empty sanitizer log")
        return ""
    if "ERROR: AddressSanitizer" in text and "ABORTING" not in text:
        problems.append(f"{path.name}: the report is cut short (no ABORTING line)")
    return text


def _pick_test(folder: Path, names: list[str], problems: list[str]) -> RunningTest | None:
    """The newest progress file that names a test (else one that names a collection)."""
    found: list[tuple[float, RunningTest]] = []
    for name in names[:_MAX_FILES]:
        path = folder / name
        raw = _read(path, _MAX_PROGRESS, tail=False, problems=problems)
        if not raw:
            continue
        facts = _progress_facts(raw)
        if facts is None:
            problems.append(f"{name}: not a test progress record (cut short or damaged)")
            continue
        try:
            mtime = path.stat().st_mtime
        except OSError:
            mtime = 0.0
        found.append((mtime, facts))
    with_test = [f for f in found if f[1].test_id]
    chosen = with_test or [f for f in found if f[1].collecting]
    return max(chosen, key=lambda f: f[0])[1] if chosen else None


def _json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def _progress_facts(raw: str) -> RunningTest | None:
    return _facts(_json(raw))


def _facts(data: Any) -> RunningTest | None:
    """A progress record (what `test-<pid>.json` holds) as a RunningTest."""
    if not isinstance(data, dict) or not isinstance(data.get("runner"), str):
        return None

    def text(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    def texts(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if not isinstance(value, list):
            return ()
        return tuple(v for v in value if isinstance(v, str))

    pid = data.get("pid")
    return RunningTest(
        runner=data["runner"],
        test_id=text("test_id"),
        collecting=text("collecting"),
        pid=pid if isinstance(pid, int) else None,
        args=texts("args"),
        positional=texts("positional"),
        invocation_dir=text("invocation_dir"),
        rootdir=text("rootdir"),
        launcher=text("launcher"),
        module=text("module"),
        module_file=text("module_file"),
    )
