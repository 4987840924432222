"""CPython sources: a folder, a tarball, or a git checkout at a revision."""

from __future__ import annotations

import hashlib
import lzma
import re
import shutil
import subprocess
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from normalized_events.files import sha256_of

from runner_core.pythons.errors import BuildError

SourceKind = Literal["folder", "tarball", "git"]
_PY_VERSION = re.compile(r'^#define PY_VERSION\s+"(?P<version>[^"]+)"', re.MULTILINE)
_TARBALL = re.compile(r"\.(?:tgz|tar\.gz|tar\.xz|txz|tar\.bz2|tar)$")
_TOP = re.compile(r"^Python-(?P<version>\d+\.\d+\.\d+[a-z0-9+]*)$")


@dataclass(frozen=True)
class PythonSource:
    """Where the source is and what identifies it: a tarball's sha256, a commit, a digest."""

    kind: SourceKind
    location: Path
    version: str
    digest: str
    rev: str | None = None

    def describe(self) -> str:
        if self.kind == "git":
            return f"git {self.location} @ {(self.rev or '')[:12]}"
        return f"{self.kind} {self.location}"


def open_source(spec: str | Path, rev: str | None = None) -> PythonSource:
    """The source named by `spec` (with `rev` for a git checkout), checked and identified."""
    path = Path(spec).expanduser().absolute()
    if not path.exists():
        raise BuildError(f"{path}: no such CPython source (a folder, a tarball or a git checkout)")
    if path.is_file():
        if rev is not None:
            raise BuildError(f"--rev {rev}: only a git checkout has revisions, {path} is a file")
        return _tarball(path)
    if rev is not None or (path / ".git").exists():
        return _git(path, rev or "HEAD")
    return _folder(path)


def _tarball(path: Path) -> PythonSource:
    if not _TARBALL.search(path.name):
        raise BuildError(f"{path}: not a source tarball (.tgz, .tar.gz, .tar.xz)")
    digest = sha256_of(path)
    try:
        with tarfile.open(path) as archive:
            first = archive.next()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise BuildError(f"{path}: damaged or not a tar archive ({exc})") from exc
    top = (first.name.split("/")[0] if first is not None else "").strip()
    found = _TOP.match(top)
    if found is None:
        raise BuildError(f"{path}: not a CPython source tarball (no Python-X.Y.Z/ folder)")
    return PythonSource("tarball", path, found.group("version"), digest)


def _folder(path: Path) -> PythonSource:
    version = _version_of((path / "Include" / "patchlevel.h"), path)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts):
        stat = file.stat()
        digest.update(f"{file.relative_to(path)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return PythonSource("folder", path, version, digest.hexdigest())


def _git(path: Path, rev: str) -> PythonSource:
    commit = _git_out(path, "rev-parse", "--verify", f"{rev}^{{commit}}")
    text = _git_out(path, "show", f"{commit}:Include/patchlevel.h")
    found = _PY_VERSION.search(text)
    if found is None:
        raise BuildError(
            f"{path} @ {rev}: not CPython source (Include/patchlevel.h has no PY_VERSION)"
        )
    return PythonSource("git", path, found.group("version"), commit, rev=commit)


def _git_out(path: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["git failed"])[-1]
        raise BuildError(f"{path}: git {args[0]}: {last}")
    return done.stdout.strip()


def _version_of(patchlevel: Path, tree: Path) -> str:
    try:
        text = patchlevel.read_text(encoding="utf-8", errors="replace")
    except OSError:
        raise BuildError(f"{tree}: not a CPython source folder (no Include/patchlevel.h)") from None
    found = _PY_VERSION.search(text)
    if found is None or not (tree / "configure").is_file():
        raise BuildError(f"{tree}: not a CPython source folder (no PY_VERSION or configure)")
    return found.group("version")


def materialize(source: PythonSource, work: Path) -> Path:
    """A source tree to build in, under `work`: extracted, copied, or checked out.

    A git source keeps one clone per work folder and checks each revision out in it, so
    consecutive commits rebuild incrementally (`make` only redoes what changed).
    """
    if source.kind == "tarball":
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        try:
            with tarfile.open(source.location) as archive:
                archive.extractall(work, filter="data")
        except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error) as exc:
            raise BuildError(f"{source.location}: damaged or not a tar archive ({exc})") from exc
        tops = [p for p in work.iterdir() if p.is_dir()]
        if len(tops) != 1:
            raise BuildError(f"{source.location}: expected one Python-X.Y.Z folder inside")
        return tops[0]
    tree = work / "src"
    if source.kind == "folder":
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(source.location, tree, symlinks=True)
        return tree
    if not (tree / ".git").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.parent.mkdir(parents=True, exist_ok=True)
        _git_out(
            tree.parent,
            "clone",
            "--quiet",
            "--shared",
            "--no-checkout",
            str(source.location),
            str(tree),
        )
    # --shared: the clone reads the checkout's objects, so every commit of it is there
    _git_out(tree, "checkout", "--quiet", "--force", source.rev or "HEAD")
    return tree
