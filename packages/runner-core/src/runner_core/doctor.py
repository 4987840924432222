"""`apiary doctor`: what apiary will use on this machine, and what is missing."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from registry_core.errors import RegistryError
from registry_core.httpget import FetchLimits, fetch
from registry_core.pypi import index_root, json_api_url
from sandbox_runner import probe_bwrap
from sandbox_runner.pidlimit import process_limit
from sandbox_runner.spec import DEFAULT_PROCESSES

from runner_core.errors import InterpreterError
from runner_core.interpreter import probe_interpreter
from runner_core.tooling import find_git, find_uv


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run: {exc}"
    return (done.stdout or done.stderr).strip().splitlines()[0] if done.returncode == 0 else "error"


def run_checks(target_python: str, check_network: bool = True) -> list[Check]:
    checks: list[Check] = []
    try:
        interp = probe_interpreter(target_python)
        info = interp.info
        jit = (
            "JIT not available in this build"
            if not info.jit_available
            else f"JIT available (enabled by default: {info.jit_enabled})"
        )
        flags = [
            name
            for name, on in (
                ("free-threaded", info.free_threaded),
                ("debug", info.debug_build),
                ("ASan", info.asan_build),
            )
            if on
        ]
        extra = f", {' '.join(flags)} build" if flags else ""
        checks.append(
            Check(
                "interpreter",
                True,
                f"{info.path} ({info.implementation} {info.version}); {jit}{extra}",
            )
        )
    except InterpreterError as exc:
        checks.append(Check("interpreter", False, str(exc)))
    uv = find_uv()
    checks.append(
        Check(
            "uv",
            uv is not None,
            f"{uv} ({_version([uv, '--version'])})"
            if uv
            else "not found: venvs and installs fall back to venv + pip (slower)",
            required=False,
        )
    )
    git = find_git()
    checks.append(
        Check(
            "git",
            git is not None,
            f"{git} ({_version([git, '--version'])})"
            if git
            else "not found: only sdist sources work",
            required=False,
        )
    )
    ok, reason = probe_bwrap()
    checks.append(
        Check(
            "bubblewrap",
            ok,
            "works: commands run as an unprivileged user in their own namespaces, see a "
            f"minimal read-only view of the host, tests without network ({reason})"
            if ok
            else "UNUSABLE: with --sandbox auto every command would run with NO isolation "
            "(this user's rights, the whole host and network); --sandbox require refuses "
            f"to run. Why and how to fix: {reason}",
            required=False,
        )
    )
    limit = process_limit(DEFAULT_PROCESSES, "apiary-doctor-probe")
    limit.finish()
    checks.append(
        Check(
            "process limit",
            limit.method != "none",
            limit.describe()
            if limit.method != "none"
            else f"{limit.describe()}: a fork bomb in a test suite is bounded only by "
            "the host; make /sys/fs/cgroup/pids writable (cgroup v1) or run apiary as an "
            "ordinary user",
            required=False,
        )
    )
    if check_network:
        checks.append(_index_check())
    checks.append(_builds_check())
    checks += _sanitizer_checks(target_python)
    return checks


def _index_check() -> Check:
    """Whether the package index (``APIARY_PYPI_URL``) answers its JSON API."""
    try:
        root = index_root()
        fetch(json_api_url(root, "pip"), FetchLimits(64 << 20, 20.0), lambda chunk: None)
    except RegistryError as exc:
        reason = f"{exc}; sdist sources and installs will fail"
        return Check("PyPI", False, f"unreachable: {reason}", required=False)
    return Check("PyPI", True, f"{root} reachable", required=False)


def _builds_check() -> Check:
    """The interpreters `apiary python build` made, usable as --target-python NAME."""
    from runner_core.pythons import list_built

    builds = list_built()
    if not builds:
        return Check(
            "builds", True, "none (apiary python build SOURCE --variant jit)", required=False
        )
    names = ", ".join(f"{b.name} ({b.python})" for b in builds[:8])
    more = f" and {len(builds) - 8} more" if len(builds) > 8 else ""
    return Check("builds", True, f"{len(builds)}: {names}{more}", required=False)


def _sanitizer_checks(target_python: str) -> list[Check]:
    """On a sanitizer build: how apiary runs it, and whether the user's options are usable."""
    from runner_core.sanitizers import is_sanitizer_build, memory_policy, sanitizer_env

    try:
        info = probe_interpreter(target_python).info
    except InterpreterError:
        return []
    problems = sanitizer_env([os.environ]).problems
    checks = [Check("sanitizer", False, p, required=False) for p in problems]
    if is_sanitizer_build(info):
        _, policy = memory_policy(info, 1024**3, leaks=False)
        rss = "ASan's hard_rss_limit_mb" if policy.rss_limit_mb else "no memory limit"
        checks.append(
            Check(
                "sanitizer",
                True,
                "sanitizer build: LeakSanitizer off unless --leaks; reports kept in each "
                f"step's evidence folder; --memory becomes {rss} (an address-space limit "
                "would stop it at start-up)",
                required=False,
            )
        )
    return checks
