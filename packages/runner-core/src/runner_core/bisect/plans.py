"""From what the user asked to a bisection plan and its tester, every input checked first.

Nothing is fetched, built or installed until the revisions resolve, good is an ancestor
of bad, the variant and the compilers are known and the crash file (if any) is read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from normalized_events import BisectStarted, EventWriter
from registry_core import PackageEntry

from runner_core.bisect.bisection import EVENTS, BisectPlan
from runner_core.bisect.errors import BisectError
from runner_core.bisect.history import commits_between, git, local_history, resolve, subject
from runner_core.bisect.testers import CPythonTester, PackageTester, Tester
from runner_core.commands import registry_repo_problem
from runner_core.pipeline import DEFAULT_TEST
from runner_core.pythons import BuildError, configure_flags, open_source
from runner_core.pythons.phases import Report
from runner_core.pythons.toolchain import find_toolchain
from runner_core.settings import RunSettings


@dataclass(frozen=True)
class BisectRequest:
    """What `apiary bisect` was asked, before any of it is checked."""

    good: str
    bad: str
    tries: int = 3
    bucket: str | None = None
    command: str | None = None  # the reproducer; default: the crash file's, else the suite
    cpython: Path | None = None  # a CPython checkout: bisect its commits instead
    variant: str = "jit"
    llvm: int | None = None
    package_rev: str | None = None  # the package's revision while CPython is bisected
    output: Path | None = None


@dataclass(frozen=True)
class Crash:
    """What a crash file (`crash.json` of `apiary run`) says a bisection needs."""

    bucket: str | None
    command: str | None  # the one-test command, when it reproduced alone


def read_crash(path: Path) -> Crash:
    """The bucket and the narrowed reproducer of a run's `crash.json`."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BisectError(f"--crash {path}: cannot read it ({exc.strerror})") from None
    except ValueError as exc:
        raise BisectError(f"--crash {path}: not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("bucket"), str):
        raise BisectError(f"--crash {path}: no bucket (not a crash.json of `apiary run`)")
    isolated = data.get("isolated")
    command = None
    if isinstance(isolated, dict) and isolated.get("status") == "reproduces":
        found = isolated.get("command")
        command = found if isinstance(found, str) else None
    return Crash(data["bucket"], command)


def make_plan(
    request: BisectRequest,
    entry: PackageEntry,
    settings: RunSettings,
    *,
    report: Report,
    cache: Path | None = None,
) -> tuple[BisectPlan, Tester]:
    """The plan (commits, subjects, folder) and the tester of each step, or a BisectError."""
    if request.command is not None:
        settings = settings.model_copy(update={"test_command_override": request.command})
    if request.cpython is not None:
        repo = _cpython_checkout(request)
    else:
        url = settings.repo_overrides.get(entry.package, entry.repo)
        if not url:
            raise BisectError(f"{entry.package}: the registry entry has no repo to bisect")
        problem = None if entry.package in settings.repo_overrides else registry_repo_problem(url)
        if problem is not None:
            raise BisectError(f"{entry.package}: {problem}")
        repo = local_history(url, settings.work_dir)
    good = resolve(repo, request.good, "--good")
    bad = resolve(repo, request.bad, "--bad")
    commits = tuple(commits_between(repo, good, bad, ("--good", "--bad")))
    if request.cpython is not None:
        _check_cpython(repo, bad, request)
    folder = request.output or settings.results_dir / _folder_name(entry, request, good, bad)
    folder = folder.absolute()
    command = settings.test_command_override or entry.test_command or DEFAULT_TEST
    started = BisectStarted(
        run_id=folder.name,
        target="cpython" if request.cpython is not None else "package",
        package=entry.package,
        repository=str(repo),
        good=good,
        bad=bad,
        commits=len(commits),
        bucket=request.bucket,
        command=command,
        tries=request.tries,
        interpreter=request.variant if request.cpython is not None else settings.target_python,
    )
    subjects = {c: subject(repo, c) for c in (good, *commits)}
    plan = BisectPlan(started, commits, subjects, folder)
    settings = settings.model_copy(update={"run_id": folder.name, "results_dir": folder.parent})
    writer = EventWriter(folder / EVENTS, folder.name)
    if request.cpython is None:
        return plan, PackageTester(entry, settings, writer, folder)
    tester = CPythonTester(
        entry,
        request.package_rev,
        settings,
        writer,
        folder,
        repo,
        request.variant,
        llvm=request.llvm,
        cache=cache,
        report=report,
    )
    return plan, tester


def _cpython_checkout(request: BisectRequest) -> Path:
    assert request.cpython is not None
    checkout = request.cpython.expanduser().absolute()
    try:
        find_toolchain(configure_flags(request.variant), request.llvm)
    except BuildError as exc:
        raise BisectError(str(exc)) from None
    if not (checkout / ".git").exists():
        raise BisectError(f"--cpython {checkout}: not a git checkout")
    return checkout


def _check_cpython(checkout: Path, bad: str, request: BisectRequest) -> None:
    """CPython source at `bad`, whose JIT (if built) has its LLVM: before any build."""
    try:
        open_source(checkout, bad)
    except BuildError as exc:
        raise BisectError(f"--cpython {exc}") from None
    tools = find_toolchain(configure_flags(request.variant), request.llvm)
    pin = git(checkout, "show", f"{bad}:Tools/jit/_llvm.py")
    if pin.returncode == 0:
        try:
            tools.check_pin(pin.stdout)
        except BuildError as exc:
            raise BisectError(f"--variant {request.variant}: {exc}") from None


def _folder_name(entry: PackageEntry, request: BisectRequest, good: str, bad: str) -> str:
    name = f"bisect-{entry.package}-{good[:10]}-{bad[:10]}"
    if request.cpython is not None:
        name += f"-cpython-{request.variant.replace('+', '-')}"
    return name
