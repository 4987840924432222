from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_runner import (
    EnvPolicy,
    Isolation,
    Limits,
    SandboxResult,
    SandboxSpec,
    probe_bwrap,
    processes_with_env,
    run_sandboxed,
)

PYTHON = sys.executable
TOKEN_VAR = "SANDBOX_TEST_MARK"

BWRAP_OK, BWRAP_WHY = probe_bwrap()
needs_bwrap = pytest.mark.skipif(not BWRAP_OK, reason=f"bubblewrap unusable here: {BWRAP_WHY}")

BACKENDS = [
    pytest.param("none", id="none"),
    pytest.param("bwrap", id="bwrap", marks=needs_bwrap),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def token() -> str:
    """A value no other process on the machine carries: finds a test's processes in /proc."""
    return uuid.uuid4().hex


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


Runner = Callable[..., SandboxResult]


@pytest.fixture
def run(work: Path, tmp_path: Path, token: str) -> Runner:
    """`run(command, backend=..., merged=True, env={...}, allow=(names...), network=...,
    **limits)`: `allow` lets names of `env` through the environment allowlist."""

    def runner(
        command: list[str] | str,
        *,
        backend: str = "none",
        merged: bool = False,
        env: dict[str, str] | None = None,
        network: bool = False,
        writable: tuple[Path, ...] = (),
        allow: tuple[str, ...] = (),
        stack_signal: int | None = None,
        **limits: Any,
    ) -> SandboxResult:
        environment = dict(os.environ)
        environment[TOKEN_VAR] = token
        environment.update(env or {})
        spec = SandboxSpec(
            command=command,
            cwd=work,
            env=environment,
            limits=Limits(**limits),
            isolation=Isolation(backend=backend, network=network, writable=writable),  # type: ignore[arg-type]
            env_policy=EnvPolicy(allow=(TOKEN_VAR, *allow)),
            stdout_log=tmp_path / "logs" / "stdout.log",
            stderr_log=None if merged else tmp_path / "logs" / "stderr.log",
            stack_signal=stack_signal,
        )
        return run_sandboxed(spec)

    return runner


@pytest.fixture
def alive(token: str) -> Callable[[], list[int]]:
    """PIDs of the live processes (not zombies) that carry this test's token."""
    return lambda: processes_with_env(TOKEN_VAR, token)


def _wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def wait_until() -> Callable[..., bool]:
    return _wait_until


@pytest.fixture
def bwrap_available() -> None:
    if not BWRAP_OK:
        pytest.skip(f"bubblewrap unusable here: {BWRAP_WHY}")


@pytest.fixture
def tcp_server() -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 (host network); yields its port and what it received."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                with contextlib.suppress(OSError):
                    received.append(conn.recv(1024))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        stop.set()
        thread.join(5)
        server.close()
