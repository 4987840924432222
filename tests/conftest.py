from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "tools") not in sys.path:
    sys.path.insert(0, str(REPO / "tools"))


# --- shared by the snapshot publisher's tests (tests/test_publish*.py) -------------------

import contextlib  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402

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


# --- .gitlab-ci.yml checks with gitlab-ci-local (tests/test_*_ci.py) ---------------------

import shutil  # noqa: E402

GCL_VERSION = "4.73.0"  # the last release that runs on Node 20
GCL_DIR = REPO / ".tools" / "gitlab-ci-local"


@pytest.fixture(scope="session")
def gitlab_ci_local() -> str:
    """gitlab-ci-local, installed once from npm into .tools/ (skipped without npm)."""
    binary = GCL_DIR / "node_modules" / ".bin" / "gitlab-ci-local"
    if not binary.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("npm/node are not installed: cannot install gitlab-ci-local")
        GCL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(GCL_DIR),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"gitlab-ci-local@{GCL_VERSION}",
            ],
            check=True,
            timeout=500,
        )
    return str(binary)


@pytest.fixture(scope="module")
def ci_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding this .gitlab-ci.yml, its default branch `main`."""
    root = tmp_path_factory.mktemp("ci")
    shutil.copy(REPO / ".gitlab-ci.yml", root / ".gitlab-ci.yml")
    git_commit_all(root)
    remote = "https://gitlab.example.invalid/apiary/apiary.git"
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", remote], check=True)
    return root


@pytest.fixture
def ci_jobs(gitlab_ci_local: str, ci_project: Path) -> Callable[..., dict[str, str]]:
    """job name -> its `needs` column, as `gitlab-ci-local --list-csv` shows them for a
    pipeline with the given predefined variables."""

    def jobs(**variables: str) -> dict[str, str]:
        command = [gitlab_ci_local, "--list-csv"]
        for name, value in variables.items():
            command += ["--variable", f"{name}={value}"]
        if variables:
            command += ["--ignore-predefined-vars", ",".join(variables)]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, cwd=ci_project
        )
        assert done.returncode == 0, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        header = lines.index("name;stage;when;allowFailure;environment;needs")
        return {row.split(";")[0]: row.split(";")[-1] for row in lines[header + 1 :] if row}

    return jobs
