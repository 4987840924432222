"""Picking the backend: what was asked, what works here, and the reason told to the user."""

from __future__ import annotations

import shutil

from sandbox_runner.backends.base import Backend
from sandbox_runner.backends.bwrap import BwrapBackend, probe_bwrap
from sandbox_runner.backends.none import NoneBackend
from sandbox_runner.errors import SandboxError
from sandbox_runner.spec import Isolation


def choose_backend(isolation: Isolation) -> tuple[Backend, str]:
    """The backend to use for `isolation` and why; `SandboxError` if bwrap was asked
    for and cannot run here."""
    if isolation.backend == "none":
        return NoneBackend(), "backend none was asked for: process group and rlimits only"
    ok, why = probe_bwrap(isolation.bwrap_executable)
    if ok:
        executable = shutil.which(isolation.bwrap_executable) or isolation.bwrap_executable
        prefix = "auto chose bwrap" if isolation.backend == "auto" else "backend bwrap"
        return BwrapBackend(executable), f"{prefix}: {why}"
    if isolation.backend == "bwrap":
        raise SandboxError(f"backend bwrap cannot run here: {why}; or use --backend none")
    network = "" if isolation.network else "; the network is NOT isolated"
    return NoneBackend(), f"auto fell back to none: {why}{network}"
