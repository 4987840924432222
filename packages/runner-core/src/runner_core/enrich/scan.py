"""`apiary enrich scan`: read a source tree (a folder, an sdist archive or a PyPI sdist) and
propose the registry fields that make its test suite run."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner_core.enrich.config import read_config
from runner_core.enrich.errors import EnrichError
from runner_core.enrich.propose import Proposal, propose
from runner_core.enrich.tests_layout import scan_tests
from runner_core.errors import SourceError
from runner_core.planted import read_inside
from runner_core.sources import SourceRequest, extract_archive, fetch_source
from runner_core.workdir import WorkLayout

_ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar", ".zip")


@dataclass(frozen=True)
class ScanTarget:
    """The tree to scan: where it is, and whether it is a published sdist."""

    root: Path
    package: str | None
    from_sdist: bool
    version: str | None = None
    origin: str = ""


@dataclass(frozen=True)
class ScanResult:
    target: ScanTarget
    proposal: Proposal


def scan_tree(root: Path, package: str | None = None) -> Proposal:
    """Propose registry fields for the source tree at ``root``."""
    if not root.is_dir():
        raise EnrichError(f"{root}: not a directory")
    return propose(package, read_config(root), scan_tests(root))


def _single_root(folder: Path) -> Path:
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


def _extract(archive: Path, into: Path) -> Path:
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    try:
        extract_archive(archive, into)
    except SourceError as exc:
        raise EnrichError(str(exc)) from None
    return _single_root(into)


def _version_from(root: Path) -> str | None:
    try:
        text = read_inside(root, root / "PKG-INFO").decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def locate_target(target: str, work_dir: Path, package: str | None = None) -> ScanTarget:
    """A folder as it is; an archive extracted under ``work_dir``; else a PyPI project
    whose latest sdist is downloaded (through the run pipeline's source cache)."""
    path = Path(target).expanduser()
    if path.is_dir():
        from_sdist = (path / "PKG-INFO").is_file()
        return ScanTarget(path, package, from_sdist, _version_from(path), str(path))
    if path.is_file():
        if not path.name.endswith(_ARCHIVES):
            raise EnrichError(f"{path}: not a folder or an sdist archive ({', '.join(_ARCHIVES)})")
        stem = path.name
        for suffix in _ARCHIVES:
            stem = stem.removesuffix(suffix)
        root = _extract(path, work_dir / "enrich" / "archives" / stem)
        return ScanTarget(root, package, True, _version_from(root), str(path))
    if "/" in target or target.startswith("."):
        raise EnrichError(f"{target}: no such folder or archive")
    name = package or target
    lines: list[str] = []
    try:
        fetched = fetch_source(
            SourceRequest(package=name, kind="sdist"), WorkLayout(work_dir).sources, lines.append
        )
    except SourceError as exc:
        raise EnrichError(f"{name}: {exc}") from None
    return ScanTarget(fetched.path, name, True, fetched.version, f"{name}=={fetched.version} sdist")


def scan(target: str, work_dir: Path | None = None, package: str | None = None) -> ScanResult:
    """Scan ``target`` (folder, sdist archive or PyPI project name)."""
    if work_dir is None:
        work_dir = Path(tempfile.mkdtemp(prefix="apiary-scan-"))
    located = locate_target(target, work_dir, package)
    proposal = scan_tree(located.root, located.package)
    return ScanResult(located, proposal)
