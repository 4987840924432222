"""What PyPI's JSON API says about a project: its repository and whether it is compiled."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from registry_core.errors import ResolveError

DEFAULT_PYPI_URL = "https://pypi.org/pypi"
PYPI_URL_ENV = "APIARY_PYPI_URL"

# project_urls keys naming the source repository, best first (compared in lower case).
_SOURCE_KEYS = (
    "source",
    "source code",
    "sourcecode",
    "repository",
    "code",
    "github",
    "gitlab",
    "git",
    "repo",
    "vcs",
)
_FORGE = re.compile(
    r"^https?://(?:www\.)?(?P<host>github\.com|gitlab\.com|bitbucket\.org|codeberg\.org)"
    r"/(?P<owner>[^/\s]+)/(?P<repo>[^/\s#?]+?)(?:\.git)?(?:[/#?].*)?$",
    re.IGNORECASE,
)
_NOT_OWNERS = frozenset({"orgs", "topics", "settings", "features", "sponsors", "explore", "help"})

Classification = Literal["pure", "extensions", "unknown"]


@dataclass(frozen=True)
class PyPISettings:
    """Where PyPI's JSON API is and how patiently to ask it."""

    base_url: str = DEFAULT_PYPI_URL
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 1.0

    @classmethod
    def from_env(cls, timeout: float = 15.0, retries: int = 2) -> PyPISettings:
        """Settings with the base URL from ``APIARY_PYPI_URL`` (default: pypi.org)."""
        base = os.environ.get(PYPI_URL_ENV, "").strip() or DEFAULT_PYPI_URL
        if not base.startswith(("http://", "https://")):
            raise ResolveError(f"{PYPI_URL_ENV}={base!r}: expected an http:// or https:// URL")
        return cls(base_url=base.rstrip("/"), timeout=timeout, retries=max(retries, 0))

    def project_url(self, name: str) -> str:
        return f"{self.base_url.rstrip('/')}/{urllib.parse.quote(name)}/json"


def _user_agent() -> str:
    from registry_core import __version__

    return f"apiary-registry-core/{__version__}"


def fetch_project(name: str, settings: PyPISettings) -> dict[str, Any]:
    """The JSON document of ``name``; ResolveError (one line) when it cannot be had.

    Connection errors, timeouts, 429 and 5xx answers are retried ``settings.retries``
    times; a 404 is not.
    """
    url = settings.project_url(name)
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in from_env
        url, headers={"User-Agent": _user_agent(), "Accept": "application/json"}
    )
    problem = ""
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=settings.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise ResolveError(f"{name}: not found on PyPI ({url})") from None
            problem = f"PyPI answered HTTP {exc.code} ({url})"
            if exc.code == 429 or exc.code >= 500:
                continue
            break
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            problem = f"cannot reach PyPI at {url}: {reason}"
            continue
        except OSError as exc:
            problem = f"cannot reach PyPI at {url}: {exc}"
            continue
        try:
            document = json.loads(body)
        except ValueError:
            raise ResolveError(f"{name}: PyPI sent a document that is not JSON ({url})") from None
        if not isinstance(document, dict) or not isinstance(document.get("info"), dict):
            raise ResolveError(f"{name}: PyPI sent JSON without an info object ({url})")
        return document
    raise ResolveError(f"{name}: {problem}")


def forge_root(url: str) -> str | None:
    """``https://host/owner/repo`` for a URL anywhere inside a forge project, else None."""
    match = _FORGE.match(url.strip())
    if match is None or match.group("owner").lower() in _NOT_OWNERS:
        return None
    return f"https://{match.group('host').lower()}/{match.group('owner')}/{match.group('repo')}"


def repository_url(document: dict[str, Any]) -> str | None:
    """The source repository named by a project's metadata, or None.

    A ``Source``/``Repository``-like project URL as written; else a homepage on a forge;
    else the project root of any forge URL among the project URLs, ``home_page`` or
    ``download_url``.
    """
    info = document.get("info") or {}
    urls = info.get("project_urls") if isinstance(info, dict) else None
    links = {
        str(key).strip().lower(): value.strip()
        for key, value in (urls.items() if isinstance(urls, dict) else ())
        if isinstance(value, str) and value.strip().startswith(("http://", "https://"))
    }
    for key in _SOURCE_KEYS:
        if key in links:
            return links[key]
    for key in ("homepage", "home", "home page"):
        if key in links and forge_root(links[key]):
            return links[key]
    candidates = list(links.values())
    if isinstance(info, dict):
        candidates += [
            value
            for key in ("home_page", "download_url")
            if isinstance(value := info.get(key), str)
        ]
    for candidate in candidates:
        root = forge_root(candidate)
        if root:
            return root
    return None


def classify_files(files: Any) -> Classification:
    """From a release's file list: any platform wheel means compiled code ("extensions"),
    only ``-any`` wheels mean "pure", no wheel at all means "unknown"."""
    wheels = [
        str(item.get("filename"))
        for item in (files if isinstance(files, list) else [])
        if isinstance(item, dict) and str(item.get("filename", "")).endswith(".whl")
    ]
    if not wheels:
        return "unknown"
    for wheel in wheels:
        platforms = wheel[: -len(".whl")].split("-")[-1].split(".")
        if any(platform.lower() != "any" for platform in platforms):
            return "extensions"
    return "pure"
