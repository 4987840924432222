""".gitlab-ci.yml: the publish job exists only for pushes to the default branch.

Checked with gitlab-ci-local (the `gitlab_ci_local`, `ci_project` and `ci_jobs` fixtures of
conftest.py; skipped with the reason when npm is missing).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("publish-ci"), pytest.mark.timeout(600)]


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
    ci_jobs: Callable[..., dict[str, str]], variables: dict[str, str], publishes: bool
) -> None:
    jobs = ci_jobs(**variables)
    assert "test" in jobs
    assert ("publish" in jobs) is publishes
    if publishes:
        assert jobs["publish"] == "[test]"  # after the tests pass


def test_preview_shows_a_serialised_publish_job_with_no_secret(
    gitlab_ci_local: str, ci_project: Path
) -> None:
    done = subprocess.run(
        [gitlab_ci_local, "--preview"],
        cwd=ci_project,
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
    assert "-m snapshot_publisher --confirm-live-publish" in publish
    # Credentials come from masked CI/CD variables or the job token, never from the file.
    assert "GITLAB_PYPI_PASSWORD" not in yaml.replace("# ", "")
    assert "CI_JOB_TOKEN:" not in yaml
