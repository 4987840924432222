"""The command that runs just the test a crash killed, in the suite's own runner."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from runner_core.evidence.gather import RunningTest

# Options that pick tests by the cache's memory: they would change which test runs.
_PYTEST_CACHE_SELECTION = frozenset(
    {"--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first"}
    | {"--sw", "--stepwise", "--sw-skip", "--stepwise-skip"}
)


def one_test_command(test: RunningTest | None, cwd: Path) -> tuple[str | None, str]:
    """(command, description) for the one test, or (None, why it cannot be narrowed).

    `cwd` is the folder the suite's command started in: the command `cd`s from there to
    where the runner was invoked when that differs.
    """
    if test is None:
        return None, "no test was running (a plain script, or a runner apiary does not know)"
    if test.test_id is None:
        where = f" while collecting {test.collecting}" if test.collecting else ""
        return None, f"the process died outside a test{where}"
    if test.runner == "pytest":
        return _pytest(test, cwd)
    if test.runner == "unittest":
        return _unittest(test, cwd)
    return None, f"unknown test runner {test.runner!r}"


def _pytest(test: RunningTest, cwd: Path) -> tuple[str | None, str]:
    assert test.test_id is not None
    if test.invocation_dir is None or test.rootdir is None:
        return None, "pytest did not say where it was invoked"
    args = _without_positional(list(test.args), test.positional)
    args = [a for a in args if a not in _PYTEST_CACHE_SELECTION]
    path, sep, rest = test.test_id.partition("::")
    relative = os.path.relpath(Path(test.rootdir) / path, test.invocation_dir)
    node = relative + sep + rest
    head = ["python", "-m", "pytest"] if test.launcher != "script" else ["pytest"]
    command = shlex.join([*head, *args, node])
    return _in(Path(test.invocation_dir), cwd, command), "pytest node id"


def _without_positional(args: list[str], positional: tuple[str, ...]) -> list[str]:
    """Drop the file and folder arguments, the last occurrence of each (options come first)."""
    kept = list(args)
    for value in positional:
        for index in range(len(kept) - 1, -1, -1):
            if kept[index] == value:
                del kept[index]
                break
    return kept


def _unittest(test: RunningTest, cwd: Path) -> tuple[str | None, str]:
    assert test.test_id is not None
    if test.module in (None, "__main__") or test.module_file is None:
        return None, "the tests are defined in the script that ran them"
    top = Path(test.module_file).parent
    depth = test.module.count(".") if test.module is not None else 0
    if Path(test.module_file).name == "__init__.py":
        depth += 1
    for _ in range(depth):
        top = top.parent
    command = shlex.join(["python", "-m", "unittest", test.test_id])
    return _in(top, cwd, command), "unittest test id"


def _in(folder: Path, cwd: Path, command: str) -> str:
    try:
        relative = folder.relative_to(cwd)
    except ValueError:
        return f"cd {shlex.quote(str(folder))} && {command}"
    if str(relative) == ".":
        return command
    return f"cd {shlex.quote(str(relative))} && {command}"
