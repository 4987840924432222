"""Which environment variables a sandboxed command never sees: a table of real names."""

from __future__ import annotations

import pytest
from sandbox_runner import EnvPolicy, SecretFilter, filter_env, is_secret


@pytest.mark.parametrize(
    "name",
    [
        "CI_JOB_TOKEN",
        "CI_JOB_JWT_V2",
        "CI_REGISTRY_PASSWORD",
        "CI_DEPLOY_PASSWORD",
        "GITLAB_PYPI_PASSWORD",
        "GITLAB_TOKEN",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "TWINE_PASSWORD",
        "TWINE_USERNAME",
        "PYPI_API_TOKEN",
        "UV_PUBLISH_TOKEN",
        "UV_INDEX_PRIVATE_PASSWORD",
        "POETRY_PYPI_TOKEN_PYPI",
        "NPM_TOKEN",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AZURE_CLIENT_SECRET",
        "AZURE_STORAGE_CONNECTION_STRING",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "OPENAI_API_KEY",
        "STRIPE_SECRET_KEY",
        "DJANGO_SECRET",
        "MY_SERVICE_PASSWD",
        "SSH_AUTH_SOCK",
        "DOCKER_AUTH_CONFIG",
        "ci_job_token",
    ],
)
def test_secret_names_are_withheld(name: str) -> None:
    assert is_secret(name, "value")


@pytest.mark.parametrize(
    "name",
    [
        "PATH",
        "HOME",
        "LANG",
        "PYTHON_JIT",
        "PYTHONFAULTHANDLER",
        "ASAN_OPTIONS",
        "VIRTUAL_ENV",
        "CI",
        "CI_PROJECT_DIR",
        "CI_COMMIT_SHA",
        "AWS_CA_BUNDLE",
        "AWS_REGION",
        "TOKENIZERS_PARALLELISM",
        "KEYBOARD",
        "PIP_INDEX_URL",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    assert not is_secret(name, "https://pypi.org/simple")


def test_a_url_with_a_password_is_withheld_whatever_its_name() -> None:
    assert is_secret("PIP_EXTRA_INDEX_URL", "https://__token__:pypi-AgEI@gitlab.example/simple")
    assert is_secret("SOME_URL", "redis://user:hunter2@db:6379/0")
    assert not is_secret("SOME_URL", "https://user@example.org/")
    assert not is_secret("SOME_URL", "http://localhost:8080/path")


def test_allow_and_deny_lists() -> None:
    policy = SecretFilter(allow=("GITLAB_CI_SERVER*",), deny=("INTERNAL_*",))
    assert not is_secret("GITLAB_CI_SERVER_URL", "x", policy)
    assert is_secret("GITLAB_PYPI_PASSWORD", "x", policy)
    assert is_secret("INTERNAL_THING", "x", policy)
    assert not is_secret("INTERNAL_THING", "x")
    assert not is_secret("GITLAB_TOKEN", "x", SecretFilter(enabled=False))


def test_filter_env_returns_what_is_kept_and_the_sorted_withheld_names() -> None:
    kept, withheld = filter_env(
        {"PATH": "/bin", "TWINE_PASSWORD": "s3", "CI_JOB_TOKEN": "t", "HOME": "/root"}
    )
    assert kept == {"PATH": "/bin", "HOME": "/root"}
    assert withheld == ["CI_JOB_TOKEN", "TWINE_PASSWORD"]


def test_only_allowlisted_names_pass() -> None:
    env = {
        "PATH": "/bin",
        "LC_ALL": "C.UTF-8",
        "PYTHON_JIT": "1",
        "UV_CACHE_DIR": "/c",
        "MY_DB_PASS": "hunter2",
        "DATABASE_URL_RO": "postgres://db/x",
        "https_proxy": "http://proxy:3128",
        "UV_PUBLISH_TOKEN": "pypi-x",
    }
    kept, withheld = filter_env(env)
    assert set(kept) == {"PATH", "LC_ALL", "PYTHON_JIT", "UV_CACHE_DIR"}
    assert withheld == sorted(["MY_DB_PASS", "DATABASE_URL_RO", "https_proxy", "UV_PUBLISH_TOKEN"])
    with_network, _ = filter_env(env, network=True)
    assert "https_proxy" in with_network
    given, _ = filter_env(env, EnvPolicy(allow=("MY_DB_PASS",)))
    assert given["MY_DB_PASS"] == "hunter2"
    assert filter_env(env, EnvPolicy(enabled=False)) == (env, [])
