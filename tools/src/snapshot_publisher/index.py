"""Read a project's simple index (PEP 503 HTML): which files it holds, with their sha256.

GitLab and pypiserver both put `#sha256=<hex>` on file links; a link without it is
downloaded and hashed. Redirects are never followed, so credentials never travel to
another host: GitLab answers a name it does not hold by redirecting to pypi.org when
forwarding is on, and that means "not in this project".
"""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote, urljoin, urlsplit

from snapshot_publisher.credentials import Target
from snapshot_publisher.discover import normalize
from snapshot_publisher.errors import AuthError, RegistryNetworkError

TIMEOUT = 60.0

AUTH_HINT = (
    "check GITLAB_PYPI_USERNAME and GITLAB_PYPI_PASSWORD and their scopes "
    "(api, or read_package_registry and write_package_registry)"
)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str  # "" when the index did not say


def parse_simple_page(html: str, page_url: str) -> list[IndexFile]:
    """The file links of a simple page, resolved against ``page_url``."""
    parser = _Links()
    parser.feed(html)
    files = []
    for href in parser.hrefs:
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        filename = unquote(parts.path.rsplit("/", 1)[-1])
        digest = ""
        for item in parts.fragment.split("&"):
            algo, _, value = item.partition("=")
            if algo == "sha256":
                digest = value.lower()
        if filename:
            files.append(IndexFile(filename, url, digest))
    return files


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class IndexReader:
    """Reads one project's simple index with the target's credentials."""

    def __init__(self, target: Target, timeout: float = TIMEOUT) -> None:
        self.target = target
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect())
        raw = f"{target.username}:{target.password}".encode()
        self._auth = "Basic " + base64.b64encode(raw).decode("ascii")

    def _get(self, url: str, hops: int = 3) -> tuple[int, bytes]:
        """GET with our credentials; redirects are followed only within the same host."""
        status, body, location = self._get_once(url)
        if 300 <= status < 400 and location and hops > 0:
            following = urljoin(url, location)
            if urlsplit(following)[:2] == urlsplit(url)[:2]:
                return self._get(following, hops - 1)
        return status, body

    def _get_once(self, url: str) -> tuple[int, bytes, str]:
        if urlsplit(url).scheme not in ("http", "https"):
            raise RegistryNetworkError(f"{url}: only http(s) package indexes are supported")
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            url,
            headers={
                "Authorization": self._auth,
                "Accept": "text/html",
                "User-Agent": "apiary-publish-snapshots",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return int(response.status), bytes(response.read()), ""
        except urllib.error.HTTPError as exc:
            return exc.code, b"", exc.headers.get("Location", "") if exc.headers else ""
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryNetworkError(
                f"cannot reach {self.target.simple_url}: {reason}; check GITLAB_BASE_URL, "
                "GITLAB_PYPI_PROJECT_ID and the network, then re-run with the same snapshot id"
            ) from None

    def files(self, name: str) -> dict[str, IndexFile]:
        """filename -> entry (with its sha256) of every file the project holds for ``name``."""
        url = f"{self.target.simple_url}/{normalize(name)}/"
        status, body = self._get(url)
        if status in (401, 403):
            raise AuthError(f"{url}: HTTP {status} reading the package index: {AUTH_HINT}")
        if status == 404 or 300 <= status < 400:
            return {}
        if status != 200:
            raise RegistryNetworkError(
                f"{url}: unexpected HTTP {status} reading the package index; "
                "re-run with the same snapshot id once the registry answers"
            )
        found: dict[str, IndexFile] = {}
        for entry in parse_simple_page(body.decode("utf-8", "replace"), url):
            digest = entry.sha256 or self._hash_of(entry.url)
            found[entry.filename] = IndexFile(entry.filename, entry.url, digest)
        return found

    def download(self, url: str) -> bytes:
        status, body = self._get(url)
        if status in (401, 403):
            raise AuthError(f"{url}: HTTP {status} downloading a file: {AUTH_HINT}")
        if status != 200:
            raise RegistryNetworkError(f"{url}: unexpected HTTP {status} downloading a file")
        return body

    def _hash_of(self, url: str) -> str:
        return hashlib.sha256(self.download(url)).hexdigest()
