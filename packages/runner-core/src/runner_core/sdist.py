"""A project's sdist from the package index: its JSON answer checked, then downloaded.

Whatever the index says is untrusted until checked: the version must be a PEP 440 version
(its normalised form names the cache folder), the file name a plain sdist name of that
project, the URL http(s), the digest a sha256. Only then does anything touch a path.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from normalized_events.files import sha256_of
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from registry_core.errors import FetchError, RegistryError
from registry_core.httpget import FetchLimits, check_http_url, fetch
from registry_core.model import PACKAGE_NAME
from registry_core.pypi import PyPISettings, fetch_project, index_root

from runner_core.errors import SourceError
from runner_core.limits import SourceLimits

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SdistRelease:
    """The checked facts of one sdist: safe to use in paths and shell scripts."""

    version: str
    filename: str
    url: str
    sha256: str


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_version(package: str, raw: object) -> str:
    """The normalised PEP 440 form of the version the index gave."""
    if not isinstance(raw, str):
        raise SourceError(f"{package}: the index gives no version string ({_shown(raw)})")
    try:
        return str(Version(raw))
    except InvalidVersion:
        raise SourceError(
            f"{package}: the index gives the version {_shown(raw)}, not a PEP 440 version"
        ) from None


def check_filename(package: str, raw: object) -> str:
    """``raw`` when it is a plain sdist file name of ``package`` (no folder, no dot first)."""
    name = raw if isinstance(raw, str) else ""
    stem = next((name[: -len(s)] for s in SDIST_SUFFIXES if name.endswith(s)), None)
    if not _PLAIN_NAME.match(name) or stem is None or "-" not in stem:
        raise SourceError(
            f"{package}: the index gives the sdist file name {_shown(raw)},"
            " not a plain sdist file name"
        )
    project = stem.rsplit("-", 1)[0]
    if canonicalize_name(project) != canonicalize_name(package):
        raise SourceError(
            f"{package}: the index gives the sdist file name {_shown(raw)},"
            " which is not a file of this project"
        )
    return name


def sdist_release(package: str, document: dict[str, Any], json_url: str) -> SdistRelease:
    """The sdist a project's (or release's) JSON document names, every field checked."""
    info = document.get("info")
    version = check_version(package, info.get("version") if isinstance(info, dict) else None)
    urls = document.get("urls")
    files = [
        f
        for f in (urls if isinstance(urls, list) else [])
        if isinstance(f, dict) and f.get("packagetype") == "sdist"
    ]
    if not files:
        raise SourceError(f"{package} {version}: PyPI has no sdist for this release")
    chosen = files[0]
    filename = check_filename(package, chosen.get("filename"))
    link = chosen.get("url")
    if not isinstance(link, str):
        raise SourceError(f"{package}: the index gives no URL for {filename}")
    # PyPI mirrors may give file URLs relative to the JSON document's own URL.
    url = urllib.parse.urljoin(json_url, link)
    try:
        check_http_url(url, f"{package}: the index gives the URL")
    except FetchError as exc:
        raise SourceError(str(exc)) from None
    digests = chosen.get("digests")
    sha256 = digests.get("sha256") if isinstance(digests, dict) else None
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise SourceError(f"{package}: the index gives no sha256 digest for {filename}")
    return SdistRelease(version, filename, url, sha256)


def find_sdist(package: str, version: str | None, limits: SourceLimits) -> SdistRelease:
    """Ask the index (``APIARY_PYPI_URL``) for the sdist of ``package`` (at ``version``)."""
    if not PACKAGE_NAME.match(package):
        raise SourceError(f"{package!r}: not a valid PyPI project name")
    try:
        settings = PyPISettings(
            base_url=index_root(),
            timeout=limits.json_deadline_s,
            retries=1,
            max_bytes=limits.json_bytes,
        )
        document = fetch_project(package, settings, version)
    except RegistryError as exc:
        raise SourceError(str(exc)) from None
    return sdist_release(package, document, settings.project_url(package, version))


def download(release: SdistRelease, folder: Path, limits: SourceLimits, log: Any) -> Path:
    """The sdist file in ``folder``, downloaded unless a copy with its digest is there."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / release.filename
    if target.is_file() and not target.is_symlink() and sha256_of(target) == release.sha256:
        return target
    log(f"downloading {release.url}")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".dl-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:

            def sink(chunk: bytes) -> None:
                digest.update(chunk)
                out.write(chunk)

            fetch(
                release.url,
                FetchLimits(limits.download_bytes, limits.download_deadline_s),
                sink,
            )
        if digest.hexdigest() != release.sha256:
            raise SourceError(f"{release.filename}: sha256 does not match PyPI's digest")
        Path(tmp).replace(target)
    except FetchError as exc:
        raise SourceError(f"download of {release.filename} failed: {exc}") from None
    except OSError as exc:
        raise SourceError(f"download of {release.filename} failed: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target
