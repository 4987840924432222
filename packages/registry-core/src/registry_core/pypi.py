"""What PyPI's JSON API says about a project: its repository and whether it is compiled."""

from __future__ import annotations

import json
import os
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Literal

from registry_core.errors import FetchError, ResolveError
from registry_core.httpget import FetchLimits, check_http_url, fetch_bytes

# The package index's root: its JSON API is at <root>/pypi/<name>/json, as on pypi.org.
DEFAULT_PYPI_URL = "https://pypi.org"
PYPI_URL_ENV = "APIARY_PYPI_URL"
# A project's JSON document lists every release; the largest on PyPI weigh a few MB.
MAX_JSON_BYTES = 64 << 20

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
    """Where the package index is and how patiently to ask it.

    ``base_url`` is the index's root (``https://pypi.org``); ``timeout`` bounds each
    answer as a whole (a server trickling bytes included) and ``max_bytes`` its size.
    """

    base_url: str = DEFAULT_PYPI_URL
    timeout: float = 15.0
    retries: int = 2
    backoff: float = 1.0
    max_bytes: int = MAX_JSON_BYTES

    @classmethod
    def from_env(cls, timeout: float = 15.0, retries: int = 2) -> PyPISettings:
        """Settings with the index root from ``APIARY_PYPI_URL`` (default: pypi.org)."""
        return cls(base_url=index_root(), timeout=timeout, retries=max(retries, 0))

    def project_url(self, name: str, version: str | None = None) -> str:
        """The JSON API URL of a project (or of one of its releases)."""
        return json_api_url(self.base_url, name, version)


def index_root() -> str:
    """The package index root named by ``APIARY_PYPI_URL`` (default ``https://pypi.org``)."""
    base = os.environ.get(PYPI_URL_ENV, "").strip() or DEFAULT_PYPI_URL
    try:
        check_http_url(base)
    except FetchError:
        raise ResolveError(
            f"{PYPI_URL_ENV}={base!r}: expected an http:// or https:// URL"
        ) from None
    return base.rstrip("/")


def json_api_url(root: str, name: str, version: str | None = None) -> str:
    """``<root>/pypi/<name>[/<version>]/json``: the one place this URL is built."""
    parts = [name, version] if version else [name]
    quoted = "/".join(urllib.parse.quote(part, safe="") for part in parts)
    return f"{root.rstrip('/')}/pypi/{quoted}/json"


def _user_agent() -> str:
    from registry_core import __version__

    return f"apiary-registry-core/{__version__}"


def fetch_project(name: str, settings: PyPISettings, version: str | None = None) -> dict[str, Any]:
    """The JSON document of ``name`` (or of its release ``version``); ResolveError (one
    line) when it cannot be had.

    Connection errors, timeouts, 429 and 5xx answers are retried ``settings.retries``
    times; a 404 and an answer over ``settings.max_bytes`` are not.
    """
    what = f"{name}=={version}" if version else name
    url = settings.project_url(name, version)
    headers = {"User-Agent": _user_agent(), "Accept": "application/json"}
    limits = FetchLimits(max_bytes=settings.max_bytes, deadline_s=settings.timeout)
    problem = ""
    for attempt in range(settings.retries + 1):
        if attempt:
            time.sleep(settings.backoff * 2 ** (attempt - 1))
        try:
            body = fetch_bytes(url, limits, headers)
        except FetchError as exc:
            if exc.status == 404:
                raise ResolveError(f"{what}: not found on PyPI ({url})") from None
            if exc.status:
                problem = f"PyPI answered HTTP {exc.status} ({url})"
            elif exc.unreachable:
                problem = f"cannot reach PyPI at {url}: {exc.reason}"
            else:
                problem = f"PyPI at {url}: {exc.reason}"
            if not exc.final and (exc.status in (None, 429) or (exc.status or 0) >= 500):
                continue
            break
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise ResolveError(f"{what}: PyPI sent a document that is not JSON ({url})") from None
        if not isinstance(document, dict) or not isinstance(document.get("info"), dict):
            raise ResolveError(f"{what}: PyPI sent JSON without an info object ({url})")
        return document
    raise ResolveError(f"{what}: {problem}")


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
