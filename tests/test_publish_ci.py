""".gitlab-ci.yml: the publish job exists only for pushes to the default branch.

Checked with gitlab-ci-local (npm, 4.73.0: the last release that runs on Node 20),
installed once into .tools/gitlab-ci-local; skipped with the reason when npm is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.xdist_group("publish-ci"), pytest.mark.timeout(600)]

REPO = Path(__file__).resolve().parents[1]
GCL_VERSION = "4.73.0"
TOOL_DIR = REPO / ".tools" / "gitlab-ci-local"


@pytest.fixture(scope="module")
def gitlab_ci_local() -> str:
    binary = TOOL_DIR / "node_modules" / ".bin" / "gitlab-ci-local"
    if not binary.exists():
        if shutil.which("npm") is None or shutil.which("node") is None:
            pytest.skip("npm/node are not installed: cannot install gitlab-ci-local")
        TOOL_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(TOOL_DIR),
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
def project(tmp_path_factory: pytest.TempPathFactory, publish_kit: Any) -> Path:
    """A git repository holding this .gitlab-ci.yml, its default branch `main`."""
    root = tmp_path_factory.mktemp("ci")
    shutil.copy(REPO / ".gitlab-ci.yml", root / ".gitlab-ci.yml")
    publish_kit.git_commit_all(root)
    remote = "https://gitlab.example.invalid/apiary/apiary.git"
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", remote], check=True)
    return root


def _jobs(gcl: str, project: Path, **variables: str) -> dict[str, str]:
    """job name -> its `needs` column, as `gitlab-ci-local --list-csv` shows them."""
    command = [gcl, "--list-csv"]
    for name, value in variables.items():
        command += ["--variable", f"{name}={value}"]
    if variables:
        command += ["--ignore-predefined-vars", ",".join(variables)]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, cwd=project
    )
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    header = lines.index("name;stage;when;allowFailure;environment;needs")
    return {row.split(";")[0]: row.split(";")[-1] for row in lines[header + 1 :] if row}


@pytest.mark.parametrize(
    ("variables", "publishes"),
    [
        ({"CI_COMMIT_BRANCH": "main"}, True),
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "push"}, True),
        ({"CI_COMMIT_BRANCH": "feature/x"}, False),
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "schedule"}, False),
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "web"}, False),
        (
            {
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_COMMIT_BRANCH": "",
                "CI_MERGE_REQUEST_IID": "7",
            },
            False,
        ),
    ],
    ids=["main", "main-push", "feature", "schedule", "web", "merge-request"],
)
def test_publish_job_runs_only_for_pushes_to_main(
    gitlab_ci_local: str, project: Path, variables: dict[str, str], publishes: bool
) -> None:
    jobs = _jobs(gitlab_ci_local, project, **variables)
    assert "test" in jobs
    assert ("publish" in jobs) is publishes
    if publishes:
        assert jobs["publish"] == "[test]"  # after the tests pass


def test_preview_shows_a_serialised_publish_job_with_no_secret(
    gitlab_ci_local: str, project: Path
) -> None:
    done = subprocess.run(
        [gitlab_ci_local, "--preview"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    yaml = done.stdout
    publish = yaml[yaml.index("\npublish:") :]
    assert "stage: publish" in publish
    assert "resource_group: snapshot-publish" in publish
    assert "job: test" in publish
    assert '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' in publish
    assert "tools/publish_snapshots.py --confirm-live-publish" in publish
    # Credentials come from masked CI/CD variables or the job token, never from the file.
    assert "GITLAB_PYPI_PASSWORD" not in yaml.replace("# ", "")
    assert "CI_JOB_TOKEN:" not in yaml
