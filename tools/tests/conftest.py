"""Helpers of the publisher's tests: a committed copy of the monorepo, a package index on
loopback (pypiserver), a clean environment for a consumer's pip."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GITLAB_PYPI_PATH = "/api/v4/projects/{project}/packages/pypi"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_pip_env(**extra: str) -> dict[str, str]:
    """The environment for a consumer's pip: no PIP_* from this machine, no pip config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", **extra)
    return env


def git_commit_all(root: Path, message: str = "snapshot") -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    if not (root / ".git").exists():
        git("init", "-q", "-b", "main")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", message)


def copy_committed_monorepo(dest: Path) -> Path:
    """The committed tree of this repository (HEAD), as a new git repository."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "HEAD"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    git_commit_all(dest)
    return dest


@dataclass(frozen=True)
class PypiServer:
    base: str  # http://127.0.0.1:PORT
    prefix: str  # "" or GitLab's /api/v4/projects/<id>/packages/pypi
    directory: Path
    pid: int

    @property
    def upload_url(self) -> str:
        return f"{self.base}{self.prefix}"

    @property
    def simple_url(self) -> str:
        return f"{self.base}{self.prefix}/simple"

    def simple_url_with(self, user: str, password: str) -> str:
        return self.simple_url.replace("http://", f"http://{user}:{password}@", 1)


@contextlib.contextmanager
def run_pypiserver(
    directory: Path,
    log: Path,
    *,
    htpasswd: Path | None = None,
    authenticate: str = ".",
    prefix: str = "",
) -> Iterator[PypiServer]:
    """pypiserver on 127.0.0.1, no overwrite, no fallback to pypi.org; stopped by its pid."""
    port = free_port()
    command = [
        str(REPO / ".venv" / "bin" / "pypi-server"),
        "run",
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-P",
        str(htpasswd) if htpasswd else ".",
        "-a",
        authenticate,
        "--disable-fallback",
        "--backend",
        "simple-dir",
        "--hash-algo",
        "sha256",
    ]
    if prefix:
        command += ["--server-base-url", prefix]
    command.append(str(directory))
    with log.open("wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    server = PypiServer(f"http://127.0.0.1:{port}", prefix, directory, process.pid)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{server.simple_url}/", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # it answers, if only with 401
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"pypiserver did not start: {log.read_text()}") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class PublishKit:
    """Helpers of the publisher's tests (test files cannot import each other)."""

    repo: Path
    run_pypiserver: Callable[..., contextlib.AbstractContextManager[PypiServer]]
    copy_committed_monorepo: Callable[[Path], Path]
    git_commit_all: Callable[..., None]
    clean_pip_env: Callable[..., dict[str, str]]
    gitlab_path: str


@pytest.fixture(scope="session")
def publish_kit() -> PublishKit:
    return PublishKit(
        repo=REPO,
        run_pypiserver=run_pypiserver,
        copy_committed_monorepo=copy_committed_monorepo,
        git_commit_all=git_commit_all,
        clean_pip_env=clean_pip_env,
        gitlab_path=GITLAB_PYPI_PATH,
    )
