"""Keeping credentials out of the environment of untrusted code.

A package's test suite is third-party code: publish tokens, CI job tokens and cloud keys
in apiary's environment must not reach it. Names are matched case-insensitively as shell
globs; a value holding a URL with a password (`https://user:secret@host/`) is withheld
whatever its name.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping

from sandbox_runner.spec import SecretFilter

SECRET_NAME_PATTERNS: tuple[str, ...] = (
    # CI systems and forges
    "CI_JOB_TOKEN",
    "CI_JOB_JWT*",
    "CI_*_TOKEN",
    "CI_*PASSWORD*",
    "CI_REGISTRY_*",
    "GITLAB_*",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_*TOKEN*",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    # package publishing
    "TWINE_*",
    "PYPI_*",
    "*PYPI*TOKEN*",
    "*PYPI*PASSWORD*",
    "UV_PUBLISH_*",
    "POETRY_PYPI_TOKEN_*",
    "POETRY_HTTP_BASIC_*",
    "HATCH_INDEX_AUTH",
    "FLIT_PASSWORD",
    "NPM_TOKEN",
    "NODE_AUTH_TOKEN",
    # cloud credentials
    "AWS_ACCESS_KEY*",
    "AWS_SECRET*",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_*",
    "AZURE_*SECRET*",
    "AZURE_*PASSWORD*",
    "*CONNECTION_STRING*",
    "ARM_CLIENT_SECRET",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_CREDENTIALS",
    "GCP_*KEY*",
    "DIGITALOCEAN_*TOKEN*",
    "DOCKER_AUTH_CONFIG",
    # agents that hold keys
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
    # generic shapes
    "*_TOKEN",
    "*_TOKEN_*",
    "*_PASSWORD",
    "*_PASSWD",
    "*_SECRET",
    "*_SECRET_*",
    "*_KEY",
    "*_KEY_ID",
    "*_API_KEY*",
    "*_ACCESS_KEY*",
    "*_PRIVATE_KEY*",
    "*_CREDENTIALS",
    "TOKEN",
    "PASSWORD",
    "SECRET",
)

_URL_WITH_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)


@functools.lru_cache(maxsize=64)
def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(fnmatch.translate(pattern.upper()) for pattern in patterns))


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    compiled = _compile(patterns)
    return compiled is not None and compiled.match(name.upper()) is not None


_DEFAULT = SecretFilter()


def is_secret(name: str, value: str, policy: SecretFilter = _DEFAULT) -> bool:
    """Whether the variable `name=value` is withheld under `policy`."""
    if not policy.enabled or _matches(name, policy.allow):
        return False
    if _matches(name, SECRET_NAME_PATTERNS) or _matches(name, policy.deny):
        return True
    return _URL_WITH_PASSWORD.search(value) is not None


def filter_env(
    env: Mapping[str, str], policy: SecretFilter = _DEFAULT
) -> tuple[dict[str, str], list[str]]:
    """Split `env` into what the command gets and the sorted names that were withheld."""
    kept: dict[str, str] = {}
    withheld: list[str] = []
    for name, value in env.items():
        if is_secret(name, value, policy):
            withheld.append(name)
        else:
            kept[name] = value
    return kept, sorted(withheld)
