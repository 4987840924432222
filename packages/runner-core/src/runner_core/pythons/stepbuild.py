"""Building commit after commit of one CPython checkout, incrementally, for a bisection.

One build folder per checkout and variant (and compilers) is kept in the user cache. A
step checks its commit out there (git only touches the files that differ), runs
`configure` only the first time (the Makefile reruns it when `configure` itself changed),
`make` (which redoes only what the changed files reach) and installs into the step's own
prefix with `make install prefix=...`: the installed interpreter finds its library from
where it is, so a step's prefix may be anywhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from runner_core.pythons.build import locked
from runner_core.pythons.errors import BuildError
from runner_core.pythons.installed import builds_root, python_in
from runner_core.pythons.phases import Phase, Report, run_phases
from runner_core.pythons.source import PythonSource, materialize, open_source
from runner_core.pythons.toolchain import Toolchain, find_toolchain
from runner_core.pythons.variants import check_supported, configure_flags

_CONFIGURED = "apiary-configured.json"


@dataclass(frozen=True)
class StepBuild:
    """One commit built and installed: its interpreter and what the step cost."""

    commit: str
    prefix: Path
    python: Path
    seconds: float
    configured: bool  # this step ran configure (the folder's first build)
    folder: Path


def _quiet(phase: str, detail: str) -> None:
    del phase, detail


def build_folder(
    checkout: Path, variant: str, *, llvm: int | None = None, cache: Path | None = None
) -> Path:
    """Where the commits of `checkout` are built as `variant`: one folder, reused."""
    flags = configure_flags(variant)
    tools = find_toolchain(flags, llvm)
    material = json.dumps([str(checkout.expanduser().absolute()), flags, tools.describe()])
    return (
        builds_root(cache)
        / "build"
        / ("steps-" + hashlib.sha256(material.encode()).hexdigest()[:12])
    )


def build_commit(
    checkout: Path,
    rev: str,
    variant: str,
    prefix: Path,
    *,
    llvm: int | None = None,
    cache: Path | None = None,
    report: Report = _quiet,
) -> StepBuild:
    """Build `rev` of `checkout` as `variant` in the shared folder; install it into `prefix`.

    The seconds reported are the build's own, not the wait for another build of the folder.
    """
    flags = configure_flags(variant)
    source = open_source(checkout, rev)
    if source.kind != "git":
        raise BuildError(f"{checkout}: not a git checkout (a bisection needs commits)")
    tools = find_toolchain(flags, llvm)
    work = build_folder(checkout, variant, llvm=llvm, cache=cache)
    work.mkdir(parents=True, exist_ok=True)
    with locked(work.parent / f".{work.name}.lock"):
        started = time.monotonic()
        configured = _build(source, flags, tools, work, prefix, report)
        seconds = round(time.monotonic() - started, 1)
    python = python_in(prefix, source.version)
    if python is None:
        raise BuildError(f"{prefix}: the install of {source.rev} did not produce an interpreter")
    assert source.rev is not None
    return StepBuild(source.rev, prefix, python, seconds, configured, work)


def _build(
    source: PythonSource,
    flags: tuple[str, ...],
    tools: Toolchain,
    work: Path,
    prefix: Path,
    report: Report,
) -> bool:
    report("source", source.describe())
    kept = _pin_state(work / "src", tools)
    tree = materialize(source, work)
    check_supported(tree, source.version, flags)
    tools.prepare(tree, report)
    _restore_pin_mtime(tree, tools, kept)
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    wanted = json.dumps([list(flags), tools.describe()])
    marker = tree / _CONFIGURED
    configure = not marker.is_file() or marker.read_text(encoding="utf-8") != wanted
    phases = _phases(tree, work, prefix, flags, tools, configure=configure)
    shutil.rmtree(prefix, ignore_errors=True)
    env = tools.env(asan="--with-address-sanitizer" in flags)
    try:
        run_phases(phases[:-1], cwd=tree, env=env, log_dir=logs, report=report)
        if configure:
            marker.write_text(wanted, encoding="utf-8")
        run_phases(phases[-1:], cwd=tree, env=env, log_dir=logs, report=report)
    except BaseException:
        shutil.rmtree(prefix, ignore_errors=True)  # never a half-installed interpreter
        raise
    return configure


def _phases(
    tree: Path,
    work: Path,
    prefix: Path,
    flags: tuple[str, ...],
    tools: Toolchain,
    *,
    configure: bool,
) -> list[Phase]:
    jobs = str(os.cpu_count() or 1)
    phases = [
        Phase("compile", ["make", f"-j{jobs}"]),
        # A step's interpreter is used once: the stdlib's top level is byte-compiled at
        # install, the rest on import; venvs are seeded by their creator, not ensurepip.
        Phase(
            "install",
            ["make", "install", f"prefix={prefix}", "COMPILEALL_OPTS=-j0 -l", "ENSUREPIP=no"],
        ),
    ]
    if not configure:
        return phases
    argv = [
        "./configure",
        *flags,
        f"--prefix={work / 'prefix'}",
        f"PYTHON_FOR_REGEN={sys.executable}",
        f"CC={tools.cc}",
    ]
    return [Phase("configure", argv), *phases]


def _pin_file(tree: Path) -> Path:
    return tree / "Tools" / "jit" / "_llvm.py"


def _pin_state(tree: Path, tools: Toolchain) -> tuple[bytes, int] | None:
    """The JIT's LLVM pin as the previous step left it (rewritten for `--llvm`)."""
    if tools.llvm is None:
        return None
    try:
        pin = _pin_file(tree)
        return pin.read_bytes(), pin.stat().st_mtime_ns
    except OSError:
        return None


def _restore_pin_mtime(tree: Path, tools: Toolchain, kept: tuple[bytes, int] | None) -> None:
    """The checkout restores the pin and `prepare` rewrites it: when the result is what the
    previous step built with, its old time keeps make from rebuilding every stencil."""
    if kept is None or tools.llvm is None:
        return
    pin = _pin_file(tree)
    try:
        if pin.read_bytes() == kept[0]:
            os.utime(pin, ns=(kept[1], kept[1]))
    except OSError:
        return
