"""Getting a package's source: a git clone, a PyPI sdist, or a local folder, cached."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from runner_core.errors import SourceError

SourceKind = Literal["git", "sdist", "local", "auto"]
Log = Callable[[str], None]

DEFAULT_PYPI = "https://pypi.org"
_GIT_TIMEOUT = 600
_HTTP_TIMEOUT = 60


def pypi_base_url() -> str:
    return os.environ.get("APIARY_PYPI_URL", DEFAULT_PYPI).rstrip("/")


@dataclass(frozen=True)
class SourceRequest:
    package: str
    kind: SourceKind = "auto"
    repo: str | None = None
    rev: str | None = None
    clone_depth: int | None = None


@dataclass(frozen=True)
class FetchedSource:
    kind: Literal["git", "sdist", "local"]
    path: Path
    revision: str
    ref: str
    version: str | None = None


def fetch_source(request: SourceRequest, cache_dir: Path, log: Log) -> FetchedSource:
    """Fetch (or refresh) a source into ``cache_dir``; ``auto`` falls back git -> sdist."""
    kind = request.kind
    repo = request.repo
    if repo and _is_plain_folder(repo):
        return _copy_local(request.package, Path(repo), cache_dir, log)
    if kind == "local":
        raise SourceError(f"{request.package}: local source needs a folder, got {repo!r}")
    if kind == "git" or (kind == "auto" and repo):
        if not repo:
            raise SourceError(f"{request.package}: no repository URL in the registry entry")
        try:
            return _git(request, repo, cache_dir, log)
        except SourceError as exc:
            if kind == "git":
                raise
            log(f"git source failed ({exc}); falling back to the PyPI sdist")
    return _sdist(request, cache_dir, log)


def _is_plain_folder(repo: str) -> bool:
    path = Path(repo)
    return path.is_absolute() and path.is_dir() and not (path / ".git").exists()


def _run_git(args: list[str], cwd: Path | None, log: Log) -> str:
    log("$ git " + " ".join(args))
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceError(f"git {args[0]}: {exc}") from exc
    for line in (done.stdout + done.stderr).splitlines():
        log(line)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise SourceError(f"git {args[0]} failed: {last}")
    return done.stdout.strip()


def _git_url(repo: str) -> str:
    # A local repository given as a path: shallow clones need a file:// URL.
    if Path(repo).is_absolute() and Path(repo).exists():
        return Path(repo).as_uri()
    return repo


def _git(request: SourceRequest, repo: str, cache_dir: Path, log: Log) -> FetchedSource:
    url = _git_url(repo)
    depth = 1 if request.clone_depth is None else request.clone_depth
    digest = hashlib.sha256(url.encode()).hexdigest()[:10]
    target = cache_dir / "git" / f"{request.package}-{digest}"
    rev = request.rev or "HEAD"
    depth_args = [f"--depth={depth}"] if depth > 0 else []
    if not (target / ".git").is_dir():
        staging = Path(tempfile.mkdtemp(prefix=".clone-", dir=_mkdir(target.parent)))
        try:
            _run_git(["init", "--quiet", str(staging)], None, log)
            _run_git(["remote", "add", "origin", url], staging, log)
            _fetch(staging, rev, depth_args, depth, log)
            _run_git(["checkout", "--quiet", "--force", "FETCH_HEAD"], staging, log)
            revision = _run_git(["rev-parse", "HEAD"], staging, log)
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    else:
        if _run_git(["config", "--get", "remote.origin.url"], target, log) != url:
            _run_git(["remote", "set-url", "origin", url], target, log)
        _fetch(target, rev, depth_args, depth, log)
        before, fetched = _run_git(["rev-parse", "HEAD", "FETCH_HEAD"], target, log).split()
        if fetched != before:
            # Only a changed revision wipes build products left in the tree.
            _run_git(["checkout", "--quiet", "--force", "FETCH_HEAD"], target, log)
            _run_git(["clean", "-ffdxq"], target, log)
        revision = fetched
    return FetchedSource(kind="git", path=target, revision=revision, ref=f"{repo}@{rev}")


def _fetch(where: Path, rev: str, depth_args: list[str], depth: int, log: Log) -> None:
    tags = ["--tags"] if depth == 0 or depth > 1 else ["--no-tags"]
    try:
        _run_git(["fetch", "--quiet", *depth_args, *tags, "origin", rev], where, log)
    except SourceError:
        if depth == 0:
            raise
        # A commit that is not a branch tip cannot always be fetched shallowly.
        _run_git(["fetch", "--quiet", "--tags", "origin"], where, log)
        _run_git(["fetch", "--quiet", "origin", rev], where, log)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _pypi_json_url(package: str, version: str | None) -> str:
    quoted = urllib.parse.quote(package)
    suffix = f"{quoted}/{urllib.parse.quote(version)}/json" if version else f"{quoted}/json"
    return f"{pypi_base_url()}/pypi/{suffix}"


def _pypi_json(package: str, version: str | None) -> dict[str, Any]:
    url = _pypi_json_url(package, version)
    try:
        with urllib.request.urlopen(url, timeout=_HTTP_TIMEOUT) as response:  # noqa: S310
            data: dict[str, Any] = json.load(response)
            return data
    except urllib.error.HTTPError as exc:
        what = f"{package}=={version}" if version else package
        raise SourceError(f"PyPI has no release {what} (HTTP {exc.code})") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise SourceError(f"PyPI JSON API unreachable for {package}: {exc}") from exc


def _sdist(request: SourceRequest, cache_dir: Path, log: Log) -> FetchedSource:
    data = _pypi_json(request.package, request.rev)
    version = str(data["info"]["version"])
    files = [f for f in data.get("urls", []) if f.get("packagetype") == "sdist"]
    if not files:
        raise SourceError(f"{request.package} {version}: PyPI has no sdist for this release")
    chosen = files[0]
    sha256 = str(chosen["digests"]["sha256"])
    target = cache_dir / "sdist" / request.package / version
    marker = target / ".apiary-source.json"
    if marker.is_file() and json.loads(marker.read_text()).get("sha256") == sha256:
        log(f"sdist {chosen['filename']} already extracted")
        tree = Path(json.loads(marker.read_text())["tree"])
        return FetchedSource("sdist", tree, sha256, f"{request.package}=={version}", version)
    # PyPI mirrors may give file URLs relative to the JSON document's own URL.
    url = urllib.parse.urljoin(_pypi_json_url(request.package, request.rev), str(chosen["url"]))
    archive = _download(url, str(chosen["filename"]), sha256, cache_dir, log)
    shutil.rmtree(target, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=_mkdir(target.parent)))
    try:
        extract_archive(archive, staging)
        entries = list(staging.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        staging.rename(target)
        tree = target / root.relative_to(staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    marker.write_text(json.dumps({"sha256": sha256, "tree": str(tree), "version": version}))
    log(f"extracted {archive.name} into {tree}")
    return FetchedSource("sdist", tree, sha256, f"{request.package}=={version}", version)


def _download(url: str, filename: str, sha256: str, cache_dir: Path, log: Log) -> Path:
    target = _mkdir(cache_dir / "downloads") / filename
    if target.is_file() and _sha256(target) == sha256:
        return target
    log(f"downloading {url}")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".dl-")
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(  # noqa: S310
                url, timeout=_HTTP_TIMEOUT
            ) as response,
        ):
            shutil.copyfileobj(response, out)
        if _sha256(Path(tmp)) != sha256:
            raise SourceError(f"{filename}: sha256 does not match PyPI's digest")
        Path(tmp).replace(target)
    except (urllib.error.URLError, OSError) as exc:
        raise SourceError(f"download of {filename} failed: {exc}") from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_archive(archive: Path, into: Path) -> None:
    """Extract an sdist (.tar.* or .zip) into ``into``; unsafe member paths are refused."""
    try:
        if archive.suffix == ".zip":
            with zipfile.ZipFile(archive) as zipped:
                for member in zipped.namelist():
                    if member.startswith("/") or ".." in Path(member).parts:
                        raise SourceError(f"{archive.name}: unsafe path {member!r}")
                zipped.extractall(into)  # noqa: S202 - members checked above
        else:
            with tarfile.open(archive) as tarred:
                tarred.extractall(into, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise SourceError(f"{archive.name}: cannot extract: {exc}") from exc


def _copy_local(package: str, folder: Path, cache_dir: Path, log: Log) -> FetchedSource:
    """A plain folder is copied, so tests never write into the user's tree."""
    listing = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not {".venv", "__pycache__"} & set(path.parts):
            stat = path.stat()
            listing.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    revision = listing.hexdigest()[:16]
    target = cache_dir / "local" / package
    marker = target.parent / f"{package}.revision"
    if not (marker.is_file() and marker.read_text() == revision and target.is_dir()):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(folder, target, ignore=shutil.ignore_patterns(".venv", "__pycache__"))
        marker.write_text(revision)
        log(f"copied {folder} into {target}")
    return FetchedSource("local", target, revision, str(folder))


def discard_source(source: FetchedSource, cache_dir: Path) -> None:
    """Remove a fetched tree (one a test suite filled, say) so that the next
    `fetch_source` makes it afresh; never touches anything outside `cache_dir`."""
    try:
        parts = source.path.relative_to(cache_dir).parts
    except ValueError:
        return
    # What fetch_source made: git/<name>, local/<name>, sdist/<name>/<version> (with its
    # marker, so the archive is extracted again).
    depth = 3 if source.kind == "sdist" else 2
    if len(parts) >= depth:
        shutil.rmtree(cache_dir.joinpath(*parts[:depth]), ignore_errors=True)
