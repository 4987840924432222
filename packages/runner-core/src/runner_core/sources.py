"""Getting a package's source: a git clone, a PyPI sdist, or a local folder, cached."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from runner_core.errors import SourceError
from runner_core.extract import extract_archive
from runner_core.limits import SourceLimits
from runner_core.localcopy import copy_folder
from runner_core.sdist import download, find_sdist

SourceKind = Literal["git", "sdist", "local", "auto"]
Log = Callable[[str], None]

_GIT_TIMEOUT = 600

__all__ = [
    "FetchedSource",
    "SourceKind",
    "SourceLimits",
    "SourceRequest",
    "extract_archive",
    "fetch_source",
]


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
    fallback: str | None = None  # why auto took the sdist instead of the repository


def fetch_source(
    request: SourceRequest, cache_dir: Path, log: Log, limits: SourceLimits | None = None
) -> FetchedSource:
    """Fetch (or refresh) a source into ``cache_dir``; ``auto`` falls back git -> sdist.

    What the package index sends is checked and bounded by ``limits``; any problem is a
    one-line SourceError.
    """
    limits = limits or SourceLimits()
    kind = request.kind
    repo = request.repo
    if repo and _is_plain_folder(repo):
        return _copy_local(request.package, Path(repo), cache_dir, log, limits)
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
            fetched = _sdist(request, cache_dir, log, limits)
            return dataclasses.replace(fetched, fallback=f"git failed, used the sdist: {exc}")
    return _sdist(request, cache_dir, log, limits)


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


def _sdist(
    request: SourceRequest, cache_dir: Path, log: Log, limits: SourceLimits
) -> FetchedSource:
    release = find_sdist(request.package, request.rev, limits)
    version = release.version
    ref = f"{request.package}=={version}"
    target = cache_dir / "sdist" / request.package / version
    marker = target / ".apiary-source.json"
    tree = _extracted_tree(marker, target, release.sha256)
    if tree is not None:
        log(f"sdist {release.filename} already extracted")
        return FetchedSource("sdist", tree, release.sha256, ref, version)
    archive = download(release, cache_dir / "downloads", limits, log)
    shutil.rmtree(target, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=".extract-", dir=_mkdir(target.parent)))
    try:
        extract_archive(archive, staging, limits)
        entries = list(staging.iterdir())
        root = entries[0] if len(entries) == 1 and entries[0].is_dir() else staging
        staging.rename(target)
        tree = target / root.relative_to(staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    marker.write_text(json.dumps({"sha256": release.sha256, "tree": str(tree), "version": version}))
    log(f"extracted {archive.name} into {tree}")
    return FetchedSource("sdist", tree, release.sha256, ref, version)


def _extracted_tree(marker: Path, target: Path, sha256: str) -> Path | None:
    """The tree an earlier extraction of this very file left, if its marker is sound."""
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        tree = Path(data["tree"])
        same = data.get("sha256") == sha256
    except (OSError, ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return None
    inside = target in (tree, tree.parent)
    return tree if same and inside and tree.is_dir() else None


def _copy_local(
    package: str, folder: Path, cache_dir: Path, log: Log, limits: SourceLimits
) -> FetchedSource:
    """A plain folder is copied, so tests never write into the user's tree."""
    target = cache_dir / "local" / package
    revision = copy_folder(folder, target, limits, log)
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
