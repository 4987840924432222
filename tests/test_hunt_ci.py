""".gitlab-ci.yml: the sharded hunt and its report exist only in scheduled or manual pipelines.

Checked with gitlab-ci-local (the `gitlab_ci_local` and `ci_jobs` fixtures of conftest.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = [pytest.mark.xdist_group("publish-ci"), pytest.mark.timeout(600)]


@pytest.mark.parametrize(
    ("variables", "hunts"),
    [
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "schedule"}, True),
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "web"}, True),
        ({"CI_COMMIT_BRANCH": "main", "CI_PIPELINE_SOURCE": "push"}, False),
        ({"CI_COMMIT_BRANCH": "feature/x", "CI_PIPELINE_SOURCE": "push"}, False),
        (
            {
                "CI_PIPELINE_SOURCE": "merge_request_event",
                "CI_COMMIT_BRANCH": "",
                "CI_MERGE_REQUEST_IID": "7",
            },
            False,
        ),
    ],
    ids=["schedule", "web", "main-push", "feature", "merge-request"],
)
def test_hunt_jobs_only_in_scheduled_or_manual_pipelines(
    ci_jobs: Callable[..., dict[str, str]], variables: dict[str, str], hunts: bool
) -> None:
    jobs = ci_jobs(**variables)
    shard_jobs = [name for name in jobs if name.startswith("hunt: [")]
    if hunts:
        assert len(shard_jobs) == 4, jobs  # parallel: 4 shard jobs
        assert "hunt-report" in jobs and "publish" not in jobs
    else:
        assert not shard_jobs and "hunt-report" not in jobs


def test_preview_runs_the_shards_and_reports_every_format(
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
    hunt = yaml[yaml.index("\nhunt:") : yaml.index("\nhunt-report:")]
    report = yaml[yaml.index("\nhunt-report:") :]
    assert "parallel: 4" in hunt and "apiary run" in hunt and "hunt-results/" in hunt
    assert "apiary report merge" in report
    for fmt in ("html", "markdown", "junit", "json"):
        assert f"--format {fmt}" in report
    assert "junit: report/junit.xml" in report
