"""Keeps a crash's evidence inside the interpreter under test (CPython 3.8 and later).

apiary copies this module into the site-packages of its test venvs, with a `.pth` line
that imports it at start-up and a `pytest11` entry point that makes it a pytest plugin.
It does nothing unless APIARY_EVIDENCE_DIR names a folder; then it keeps there what a
dying process would otherwise take with it:

- `test-<pid>.json`: the test running now (a pytest node id or a unittest id), the
  collection in progress, and how the runner was invoked. Rewritten at every test and
  removed at a normal exit, so a file left behind names the test a crash killed.
- `capture-<pid>-<n>.out`: pytest's fd-capture files, named instead of anonymous. A
  dying process writes its fatal error, assertion or sanitizer report to fd 2, which
  pytest's default capture points at such a file and never replays after a crash.
  The file is removed when pytest closes it, so only a crash leaves one behind.
- `stacks-<pid>.txt`: when APIARY_STACKS_SIGNAL names a signal number, faulthandler
  writes every thread's stack there on that signal (apiary sends it to a hung suite
  before killing it). A forked child writes into its own file. Removed at exit when
  nothing was written.
- `timeout-<pid>-<n>.json`: a test that pytest-timeout stopped (its signal method): the
  test, where it was (innermost frame first), and the CPU its thread used against the
  time it ran, so that apiary can tell a loop that never ends from a wait. pytest-timeout
  fails the test and the suite goes on: without this, a JIT hang is one more failure.
- `child-<pid>.txt` and `child-<pid>.json`: in an interpreter the tests started (a
  descendant of a runner whose progress file is here), faulthandler writes its fatal
  error there, and the json holds the runner's progress when it started (the test that
  started it). A test that captures its child's stderr, or never shows it, would
  otherwise keep the only trace of the crash. Removed at a normal exit.

With APIARY_COVERAGE=off (apiary's default), pytest-cov does not start coverage: the
agent sets what pytest-cov's own `--no-cov` sets, before pytest-cov reads it. A trace
function such as coverage's keeps the JIT from compiling anything in the process, so a
JIT crash never shows in a suite measured for coverage; and on a free-threaded build
coverage's plugins (Cython's) refuse to load and stop pytest before any test. Without
pytest-cov nothing happens, and no option is added that pytest could reject.

Nothing else changes: the same tests run, captured the same way, with the same outcome.
(A child's fatal error, which apiary's PYTHONFAULTHANDLER=1 would have sent to its
stderr, goes to its file instead; a child that enables faulthandler itself keeps its own.)
"""

from __future__ import annotations

import atexit
import contextlib
import io
import itertools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

_FOLDER = os.environ.get("APIARY_EVIDENCE_DIR") or None


class _Progress:
    """The test-<pid>.json file of this process."""

    def __init__(self, folder: str) -> None:
        self.path = os.path.join(folder, f"test-{os.getpid()}.json")
        self.facts: dict[str, Any] = {"pid": os.getpid(), "runner": None, "test_id": None}
        self.pytest_active = False

    def update(self, **facts: Any) -> None:
        self.facts.update(facts)
        try:
            with open(self.path, "w", encoding="utf-8") as handle:
                handle.write(json.dumps(self.facts))
        except OSError:
            pass  # evidence is best effort: never fail a test because of it

    def remove(self) -> None:
        if os.getpid() == self.facts["pid"]:
            with contextlib.suppress(OSError):
                os.unlink(self.path)


_CURRENT: dict[int, _Progress] = {}


def _progress() -> _Progress | None:
    """This process's progress file (a forked child gets its own)."""
    if _FOLDER is None or not os.path.isdir(_FOLDER):
        return None
    progress = _CURRENT.get(os.getpid())
    if progress is None:
        progress = _CURRENT[os.getpid()] = _Progress(_FOLDER)
        atexit.register(progress.remove)
    return progress


# --- pytest: a plugin (through the pytest11 entry point) -----------------------------


def pytest_configure(config: Any) -> None:
    progress = _progress()
    if progress is None:
        return
    progress.pytest_active = True
    params = config.invocation_params
    progress.update(
        runner="pytest",
        args=[str(a) for a in params.args],
        positional=[str(a) for a in getattr(config, "args", [])],
        invocation_dir=str(params.dir),
        rootdir=str(config.rootpath),
        launcher=_launcher(),
    )


_Hook = TypeVar("_Hook", bound="Callable[..., Any]")  # a string: 3.8 cannot subscript it


def _hook_wrapper(hook: _Hook) -> _Hook:
    """pluggy's mark of an old-style hook wrapper (every pytest knows those), written out:
    importing pytest here would load it in every process. Every key, for pluggy 0.13 to 1.x."""
    hook.pytest_impl = {  # type: ignore[attr-defined]
        "hookwrapper": True,
        "wrapper": False,
        "optionalhook": False,
        "tryfirst": False,
        "trylast": False,
        "specname": None,
    }
    return hook


@_hook_wrapper
def pytest_load_initial_conftests(early_config: Any, parser: Any, args: Any) -> Iterator[None]:
    """Coverage off (APIARY_COVERAGE=off): pytest-cov starts it in this hook, and reads
    `no_cov` from the options parsed so far; a wrapper runs before it."""
    options = early_config.known_args_namespace
    if os.environ.get("APIARY_COVERAGE") == "off" and hasattr(options, "no_cov"):
        options.no_cov = True
    yield


def _launcher() -> str:
    """`module` for `python -m pytest` (the cwd is on sys.path), else `script`."""
    first = sys.argv[0] if sys.argv else ""
    return "module" if os.path.basename(first) == "__main__.py" else "script"


def pytest_collectstart(collector: Any) -> None:
    progress = _progress()
    if progress is not None and progress.pytest_active:
        progress.update(collecting=collector.nodeid, test_id=None)


# The test running now: (node id, wall clock, thread CPU) when it started.
_STARTED: list[tuple[str, float, float]] = []
_TIMEOUTS = itertools.count(1)


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    progress = _progress()
    if progress is not None and progress.pytest_active:
        progress.update(test_id=nodeid, collecting=None)
        _STARTED[:] = [(nodeid, time.monotonic(), time.thread_time())]


@_hook_wrapper
def pytest_runtest_makereport(item: Any, call: Any) -> Iterator[None]:
    """A test pytest-timeout stopped: recorded in timeout-<pid>-<n>.json."""
    yield
    excinfo = getattr(call, "excinfo", None)
    started = _STARTED[0] if _STARTED else None
    if _FOLDER is None or excinfo is None or started is None or started[0] != item.nodeid:
        return
    if not str(excinfo.value).startswith(("Timeout (>", "Timeout >")):
        return
    import traceback

    frames = [
        {"file": f.filename, "line": f.lineno, "function": f.name}
        for f in reversed(traceback.extract_tb(excinfo.tb))
        if not f.filename.endswith("pytest_timeout.py")
    ]
    record = {
        "test_id": item.nodeid,
        "frames": frames,
        "wall_s": time.monotonic() - started[1],
        "cpu_s": time.thread_time() - started[2],
    }
    path = os.path.join(_FOLDER, f"timeout-{os.getpid()}-{next(_TIMEOUTS)}.json")
    with contextlib.suppress(OSError, ValueError), open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps(record))


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    progress = _progress()
    if progress is not None and progress.pytest_active:
        progress.update(test_id=None)


class _KeptCapture(io.FileIO):
    """A capture file with a name, removed when closed: only a crash leaves it behind."""

    owner = 0

    def close(self) -> None:
        name = self.name
        super().close()
        if isinstance(name, str) and os.getpid() == self.owner:
            with contextlib.suppress(OSError):
                os.unlink(name)


_COUNTER = itertools.count(1)


def _named_capture_file(buffering: int = -1, **_: Any) -> Any:
    assert _FOLDER is not None
    path = os.path.join(_FOLDER, f"capture-{os.getpid()}-{next(_COUNTER)}.out")
    try:
        kept = _KeptCapture(path, "w+")
    except OSError:
        import tempfile

        return tempfile.TemporaryFile(buffering=buffering)
    kept.owner = os.getpid()
    return kept


def _keep_pytest_captures(capture_module: Any) -> None:
    if hasattr(capture_module, "TemporaryFile"):
        capture_module.TemporaryFile = _named_capture_file


# --- unittest: TestCase.run wrapped when unittest.case is first imported ------------------


def _wrap_unittest(case_module: Any) -> None:
    test_case = case_module.TestCase
    original = test_case.run
    if getattr(original, "_apiary_wrapped", False):
        return

    def run(self: Any, result: Any = None) -> Any:
        progress = _progress()
        if progress is None or progress.pytest_active:
            return original(self, result)
        module = sys.modules.get(type(self).__module__)
        progress.update(
            runner="unittest",
            test_id=self.id(),
            module=type(self).__module__,
            module_file=getattr(module, "__file__", None),
            invocation_dir=os.getcwd(),
        )
        try:
            return original(self, result)
        finally:
            progress.update(test_id=None)

    setattr(run, "_apiary_wrapped", True)  # noqa: B010
    test_case.run = run


class _AfterImport:
    """Adjusts a module once it has run, without importing it early."""

    def __init__(self, adjust: dict[str, Any]) -> None:
        self.adjust = adjust

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        adjust = self.adjust.pop(name, None)
        if adjust is None:
            return None
        if not self.adjust:
            sys.meta_path.remove(self)
        import importlib.util

        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        execute = getattr(loader, "exec_module", None)
        if execute is None:
            return spec

        def exec_module(module: Any) -> None:
            execute(module)
            adjust(module)

        setattr(loader, "exec_module", exec_module)  # noqa: B010
        return spec


def _register_stacks(folder: str) -> None:
    """faulthandler on APIARY_STACKS_SIGNAL, every thread, into stacks-<pid>.txt."""
    try:
        signum = int(os.environ.get("APIARY_STACKS_SIGNAL") or "0")
    except ValueError:
        return
    if signum <= 0 or not os.path.isdir(folder):
        return
    import faulthandler

    path = os.path.join(folder, f"stacks-{os.getpid()}.txt")
    try:
        handle = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open until exit
        faulthandler.register(signum, file=handle, all_threads=True, chain=False)
    except (OSError, ValueError, RuntimeError):
        return
    pid = os.getpid()

    def remove_if_empty() -> None:
        if os.getpid() != pid:
            return
        with contextlib.suppress(OSError, ValueError):
            handle.close()
            if os.path.getsize(path) == 0:
                os.unlink(path)

    atexit.register(remove_if_empty)


# How far up the process tree a runner's progress file is looked for (python started
# by a shell started by a test, say).
_ANCESTORS = 6


def _parent_of(pid: int) -> int:
    """The parent of `pid` from /proc (0 when unknown: not Linux, gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
        # the name in parentheses may hold anything: the fields follow its last ")"
        return int(stat[stat.rindex(b")") + 2 :].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _runner_above(folder: str) -> Any:
    """The progress record of the nearest test runner above this process ({} when it
    is being rewritten), or None when no runner is above it."""
    pid = os.getpid()
    for _ in range(_ANCESTORS):
        pid = _parent_of(pid)
        if pid <= 1:
            return None
        try:
            with open(os.path.join(folder, f"test-{pid}.json"), encoding="utf-8") as handle:
                text = handle.read()
        except OSError:
            continue
        try:
            return json.loads(text)
        except ValueError:
            return {}
    return None


def _watch_child(folder: str) -> None:
    """In an interpreter the tests started: its fatal error into child-<pid>.txt, beside
    the runner's progress when it started (see the module doc)."""
    runner = _runner_above(folder)
    if runner is None:
        return
    import faulthandler

    pid = os.getpid()
    dump = os.path.join(folder, f"child-{pid}.txt")
    facts = os.path.join(folder, f"child-{pid}.json")
    try:
        with open(facts, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"pid": pid, "runner": runner}))
        handle = open(dump, "w", encoding="utf-8")  # noqa: SIM115 - open until exit
        faulthandler.enable(file=handle, all_threads=True)
    except (OSError, ValueError, RuntimeError):
        return

    def remove() -> None:
        if os.getpid() == pid:
            with contextlib.suppress(OSError, ValueError):
                handle.close()
                os.unlink(dump)
                os.unlink(facts)

    atexit.register(remove)


def _start() -> None:
    if _FOLDER is None:
        return
    _register_stacks(_FOLDER)
    _watch_child(_FOLDER)
    folder = _FOLDER
    # a forked child would write into its parent's file: it gets its own
    os.register_at_fork(after_in_child=lambda: _register_stacks(folder))
    pending: dict[str, Any] = {}
    for name, adjust in (
        ("_pytest.capture", _keep_pytest_captures),
        ("unittest.case", _wrap_unittest),
    ):
        module = sys.modules.get(name)
        if module is not None:
            adjust(module)
        else:
            pending[name] = adjust
    if pending:
        sys.meta_path.insert(0, _AfterImport(pending))


_start()
