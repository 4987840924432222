"""Keeping apiary's environment away from untrusted code: an allowlist, then a secret check.

A package's build scripts and test suite are third-party code: publish tokens, CI job
tokens, cloud keys, database passwords in apiary's environment must not reach them. Only
names on `PASSED_NAMES` (what programs need to run: PATH, HOME, locale, terminal, the
PYTHON*/PIP_*/UV_* settings, sanitizer options, compiler flags), on `NETWORK_NAMES` when
the command has the network (proxies), or allowed by the policy reach the command
(case-sensitive shell globs). A name that looks secret (`SECRET_NAME_PATTERNS`, matched
case-insensitively: `UV_PUBLISH_TOKEN`, `PIP_PASSWORD`) or a value holding a URL with a
password (`https://user:secret@host/`) is still withheld, unless the policy's `allow`
names it.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping

from sandbox_runner.spec import EnvPolicy

PASSED_NAMES: tuple[str, ...] = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TERM",
    "COLORTERM",
    "NO_COLOR",
    "FORCE_COLOR",
    "COLUMNS",
    "LINES",
    "CI",
    "SOURCE_DATE_EPOCH",
    # the interpreter and the installers
    "PYTHON*",
    "VIRTUAL_ENV",
    "PIP_*",
    "UV_*",
    "PYTEST_ADDOPTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    # sanitizers and native builds
    "ASAN_OPTIONS",
    "UBSAN_OPTIONS",
    "LSAN_OPTIONS",
    "MSAN_OPTIONS",
    "TSAN_OPTIONS",
    "CC",
    "CXX",
    "CFLAGS",
    "CXXFLAGS",
    "CPPFLAGS",
    "LDFLAGS",
    "MAKEFLAGS",
    # what apiary itself sets: the sandbox's mark, where crash evidence goes
    "APIARY_*",
)
NETWORK_NAMES: tuple[str, ...] = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

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
def _compile(patterns: tuple[str, ...], fold: bool) -> re.Pattern[str] | None:
    if not patterns:
        return None
    shape = (pattern.upper() for pattern in patterns) if fold else patterns
    return re.compile("|".join(fnmatch.translate(pattern) for pattern in shape))


def _matches(name: str, patterns: tuple[str, ...], *, fold: bool = True) -> bool:
    compiled = _compile(patterns, fold)
    return compiled is not None and compiled.match(name.upper() if fold else name) is not None


_DEFAULT = EnvPolicy()


def is_secret(name: str, value: str, policy: EnvPolicy = _DEFAULT) -> bool:
    """Whether `name=value` looks like a credential that `policy` does not let through."""
    if not policy.enabled or _matches(name, policy.allow, fold=False):
        return False
    if _matches(name, SECRET_NAME_PATTERNS) or _matches(name, policy.deny):
        return True
    return _URL_WITH_PASSWORD.search(value) is not None


def is_passed(name: str, value: str, policy: EnvPolicy = _DEFAULT, *, network: bool) -> bool:
    """Whether the command gets `name=value` under `policy`, with or without the network."""
    if not policy.enabled:
        return True
    listed = (
        _matches(name, PASSED_NAMES, fold=False)
        or _matches(name, policy.allow, fold=False)
        or (network and _matches(name, NETWORK_NAMES, fold=False))
    )
    return listed and not is_secret(name, value, policy)


def filter_env(
    env: Mapping[str, str], policy: EnvPolicy = _DEFAULT, *, network: bool = False
) -> tuple[dict[str, str], list[str]]:
    """Split `env` into what the command gets and the sorted names that were withheld."""
    kept: dict[str, str] = {}
    withheld: list[str] = []
    for name, value in env.items():
        if is_passed(name, value, policy, network=network):
            kept[name] = value
        else:
            withheld.append(name)
    return kept, sorted(withheld)
