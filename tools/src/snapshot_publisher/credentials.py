"""Where snapshots go and with which credentials; and keeping those credentials out of sight.

Target: `GITLAB_BASE_URL` (default https://gitlab.com) + `GITLAB_PYPI_PROJECT_ID`, with
`GITLAB_PYPI_USERNAME` / `GITLAB_PYPI_PASSWORD`. Inside GitLab CI, whatever of these is
unset comes from `CI_API_V4_URL`, `CI_PROJECT_ID` and `gitlab-ci-token` / `CI_JOB_TOKEN`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

from snapshot_publisher.errors import TargetError

DEFAULT_BASE_URL = "https://gitlab.com"

# Environment variables kept out of every build (third-party backend code runs there).
_SECRET_NAME = re.compile(r"TOKEN|PASSW|SECRET|CREDENTIAL|_KEY|AUTH|JWT|COOKIE", re.IGNORECASE)
_SECRET_PREFIXES = ("GITLAB_", "TWINE_", "CI_JOB_", "PYPI_", "UV_PUBLISH_", "PDM_PUBLISH_")
_URL_WITH_PASSWORD = re.compile(r"://[^/@\s:]*:[^/@\s]+@")
_URL_PASSWORD = re.compile(r"://[^/@\s:]*:([^/@\s]{4,})@")


def is_secret_name(name: str) -> bool:
    upper = name.upper()
    return bool(_SECRET_NAME.search(upper)) or upper.startswith(_SECRET_PREFIXES)


def is_secret_variable(name: str, value: str) -> bool:
    """A variable that is or may carry a credential (by its name or a `user:pass@` URL)."""
    return is_secret_name(name) or bool(_URL_WITH_PASSWORD.search(value))


def without_secrets(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` minus every variable that is or may carry a credential."""
    return {k: v for k, v in env.items() if not is_secret_variable(k, v)}


@dataclass(frozen=True)
class Scrubber:
    """Replaces every known secret value (and its URL-quoted form) with `****`."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> Scrubber:
        # Values of variables named like credentials (not every GITLAB_* one: the base URL
        # is no secret), and the password part of any `user:password@` URL.
        values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 4}
        for value in env.values():
            values.update(m.group(1) for m in _URL_PASSWORD.finditer(value))
        values.update(v for v in extra if v)
        return cls(tuple(sorted(values, key=len, reverse=True)))

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            for form in {secret, quote(secret, safe=""), quote(secret)}:
                text = text.replace(form, "****")
        return text


@dataclass(frozen=True)
class Target:
    upload_url: str  # <base>/api/v4/projects/<id>/packages/pypi
    username: str
    password: str = field(repr=False)
    where: str  # which variables it came from, for messages

    @property
    def simple_url(self) -> str:
        return f"{self.upload_url}/simple"

    def __str__(self) -> str:
        return f"{self.upload_url} as {self.username} ({self.where})"


def _project_path(project: str) -> str:
    # A numeric id or a `group/project` path, URL-encoded as GitLab's API wants it.
    return quote(project, safe="")


def target_from_env(env: Mapping[str, str]) -> Target:
    """The upload target, from GITLAB_PYPI_* variables, else the GitLab CI job's own."""
    in_ci = env.get("GITLAB_CI", "").lower() == "true"
    username = env.get("GITLAB_PYPI_USERNAME", "")
    password = env.get("GITLAB_PYPI_PASSWORD", "")
    if bool(username) != bool(password):
        missing = "GITLAB_PYPI_PASSWORD" if username else "GITLAB_PYPI_USERNAME"
        raise TargetError(
            f"{missing} is not set: set both GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD, "
            "or neither inside GitLab CI to use the job token"
        )
    where = "GITLAB_PYPI_USERNAME/GITLAB_PYPI_PASSWORD"
    if not username:
        token = env.get("CI_JOB_TOKEN", "")
        if not (in_ci and token):
            raise TargetError(
                "no credentials: set GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD "
                "(a token with the api or write_package_registry scope), "
                "or run inside GitLab CI where CI_JOB_TOKEN is used"
            )
        username, password, where = "gitlab-ci-token", token, "CI_JOB_TOKEN"

    project = env.get("GITLAB_PYPI_PROJECT_ID", "").strip()
    if not project and in_ci:
        project = env.get("CI_PROJECT_ID", "").strip()
    if not project:
        raise TargetError(
            "GITLAB_PYPI_PROJECT_ID is not set: the numeric id (or group/project path) "
            "of the GitLab project whose package registry receives the snapshots"
        )
    base = env.get("GITLAB_BASE_URL", "").strip().rstrip("/")
    if base:
        api = f"{base}/api/v4"
    elif in_ci and env.get("CI_API_V4_URL", "").strip():
        api = env["CI_API_V4_URL"].strip().rstrip("/")
    else:
        api = f"{DEFAULT_BASE_URL}/api/v4"
    if not api.startswith(("https://", "http://")) or "@" in api.split("/")[2]:
        raise TargetError(
            f"GITLAB_BASE_URL {base or api!r} must be an http(s) URL without credentials "
            "in it, such as https://gitlab.example.com"
        )
    upload = f"{api}/projects/{_project_path(project)}/packages/pypi"
    return Target(upload_url=upload, username=username, password=password, where=where)
