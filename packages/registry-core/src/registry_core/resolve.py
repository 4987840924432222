"""Create skeleton package files from PyPI, never touching enriched ones."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.utils import canonicalize_name

from registry_core.edits import entry_changes
from registry_core.errors import RegistryError, ResolveError
from registry_core.fileio import atomic_write
from registry_core.indexing import IndexUpdate, write_index
from registry_core.loader import LoadedRegistry, load_registry
from registry_core.model import DEFAULT_INSTALL, DEFAULT_TEST, PACKAGE_NAME, PackageEntry
from registry_core.pypi import PyPISettings, classify_files, fetch_project, repository_url

Action = Literal["created", "updated", "unchanged", "skipped-enriched", "failed"]


@dataclass(frozen=True)
class ResolveRequest:
    """A project to resolve, with its download count when the input gave one."""

    name: str
    download_count: int | None = None


@dataclass
class ResolveOutcome:
    """What resolve did for one project."""

    name: str
    action: Action
    repo: str | None = None
    extension_type: str | None = None
    message: str = ""
    dry_run: bool = False

    def __str__(self) -> str:
        if self.action == "failed":
            return f"failed {self.name}: {self.message}"
        details = ", ".join(str(x) for x in (self.extension_type, self.repo) if x)
        action = _WOULD.get(self.action, self.action) if self.dry_run else self.action
        return f"{action} {self.name}" + (f": {details}" if details else "")


@dataclass
class ResolveReport:
    outcomes: list[ResolveOutcome] = field(default_factory=list)
    index: IndexUpdate | None = None

    @property
    def failed(self) -> list[ResolveOutcome]:
        return [o for o in self.outcomes if o.action == "failed"]


# what --dry-run says instead: nothing was written
_WOULD = {"created": "would create", "updated": "would update"}


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_requests(path: Path) -> list[ResolveRequest]:
    """Projects from a file: one name per line (``#`` comments), or JSON.

    JSON may be a list of names, or the top-PyPI-packages dump
    ``{"rows": [{"project": name, "download_count": n}, ...]}``, which also gives the
    download counts the index is ordered by.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResolveError(f"--from-file {path}: cannot read: {exc}") from None
    if path.suffix == ".json" or text.lstrip().startswith(("{", "[")):
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ResolveError(f"--from-file {path}: not valid JSON ({exc})") from None
        rows = data.get("rows") if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ResolveError(f"--from-file {path}: expected a list or a rows list")
        requests = []
        for row in rows:
            if isinstance(row, str):
                requests.append(ResolveRequest(row))
            elif isinstance(row, dict) and isinstance(row.get("project") or row.get("name"), str):
                name = row.get("project") or row.get("name")
                requests.append(ResolveRequest(str(name), _count(row.get("download_count"))))
            else:
                raise ResolveError(f"--from-file {path}: cannot read the entry {row!r:.60}")
        return requests
    names = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [ResolveRequest(name) for name in names if name]


def skeleton(name: str, repo: str | None, extension_type: str) -> PackageEntry:
    """A new, unenriched entry with the format's default commands (what docs/enrichment.md
    gives and `apiary run --include-unenriched` would run)."""
    return PackageEntry(
        package=name,
        repo=repo,
        pypi_url=f"https://pypi.org/project/{name}/",
        extension_type=extension_type,
        install_command=DEFAULT_INSTALL,
        test_command=DEFAULT_TEST,
    )


def _resolved_type(current: str, found: str) -> str:
    # Keep a more precise compiled kind (rust, c_extension) when PyPI just says compiled.
    if found == "extensions" and current not in ("pure", "unknown", "extensions", ""):
        return current
    return found


def resolve_one(
    loaded: LoadedRegistry, name: str, settings: PyPISettings, dry_run: bool = False
) -> ResolveOutcome:
    """Resolve one project into ``loaded``'s folder. Never raises for a user problem."""
    if not PACKAGE_NAME.match(name):
        return ResolveOutcome(name, "failed", message="not a valid PyPI project name")
    name = str(canonicalize_name(name))
    existing = loaded.entries.get(name)
    if existing is not None and existing.enriched:
        return ResolveOutcome(name, "skipped-enriched", existing.repo, existing.extension_type)
    path = loaded.packages_dir / f"{name}.yaml"
    if existing is None and name in loaded.files:
        return ResolveOutcome(name, "failed", message=f"{path} has problems (run validate)")
    try:
        document = fetch_project(name, settings)
        repo = repository_url(document)
        kind = classify_files(document.get("urls"))
        if existing is None:
            entry = skeleton(name, repo, kind)
            action: Action = "created"
        else:
            update: dict[str, Any] = {
                "extension_type": _resolved_type(existing.extension_type, kind),
                "pypi_url": f"https://pypi.org/project/{name}/",
            }
            if repo:
                update["repo"] = repo
            entry = existing.model_copy(update=update)
            action = "updated"
        change = entry_changes(path, entry)
        if change is None:
            action = "unchanged"
        elif not dry_run:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, change.after.encode("utf-8"))
    except RegistryError as exc:
        return ResolveOutcome(name, "failed", message=str(exc).removeprefix(f"{name}: "))
    except OSError as exc:
        return ResolveOutcome(name, "failed", message=f"cannot write {path}: {exc}")
    return ResolveOutcome(name, action, entry.repo, entry.extension_type, dry_run=dry_run)


def resolve_packages(
    root: Path,
    requests: Sequence[ResolveRequest],
    settings: PyPISettings,
    workers: int = 4,
    dry_run: bool = False,
) -> ResolveReport:
    """Resolve every request (``workers`` at a time); one failure never stops the others.

    Afterwards the index is rebuilt with the download counts the requests carried.
    """
    loaded = load_registry(root)
    unique: dict[str, ResolveRequest] = {}
    for request in requests:
        key = canonicalize_name(request.name) if PACKAGE_NAME.match(request.name) else request.name
        if key not in unique or unique[key].download_count is None:
            unique[key] = request
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(
            pool.map(lambda r: resolve_one(loaded, r.name, settings, dry_run), unique.values())
        )
    report = ResolveReport(outcomes)
    counts: dict[str, int | None] = {
        str(canonicalize_name(r.name)): r.download_count
        for r in unique.values()
        if r.download_count is not None and PACKAGE_NAME.match(r.name)
    }
    changed = any(o.action in ("created", "updated") for o in outcomes)
    if not dry_run and (changed or counts):
        report.index = write_index(load_registry(root), counts)
    return report
