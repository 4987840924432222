from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


# --- .gitlab-ci.yml checks with gitlab-ci-local (tests/test_*_ci.py) ---------------------

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
    remote = "https://gitlab.example.invalid/apiary/apiary.git"
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        [*identity, "commit", "-q", "-m", "ci"],
        ["remote", "add", "origin", remote],
    ):
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)
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
