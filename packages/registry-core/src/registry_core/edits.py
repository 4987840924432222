"""Field edits across many package files: planned as diffs first, written on request."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from registry_core.checks import check_package_text
from registry_core.document import Document, check_field_name
from registry_core.errors import EditError, FileRefused
from registry_core.fileio import atomic_write, outside, read_capped
from registry_core.limits import MAX_PACKAGE_FILE_BYTES
from registry_core.loader import LoadedRegistry
from registry_core.model import FIELD_ORDER, PackageEntry
from registry_core.problems import RegistryProblem
from registry_core.select import select_files

# Fields whose value is text: the command-line VALUE is taken as it is.
TEXT_FIELDS = frozenset({"pypi_url", "extension_type", "install_method", "test_framework", "notes"})
# Text fields that may also be null: VALUE "null" (or "~") means null.
OPTIONAL_TEXT_FIELDS = frozenset(
    {"repo", "install_command", "test_command", "skip_reason", "import_name"}
)


def parse_value(name: str, text: str) -> Any:
    """The value a command-line VALUE stands for, given the field it is meant for.

    Text fields take VALUE verbatim (``null`` means null for those that allow it); other
    fields read it as YAML, so ``300``, ``true``, ``null``, ``['3.14']`` and
    ``{'3.15': reason}`` have their YAML meaning.
    """
    if name in TEXT_FIELDS:
        return text
    if name in OPTIONAL_TEXT_FIELDS:
        return None if text in ("null", "~") else text
    if not text.strip():
        return text
    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError) as exc:
        first = (str(exc) or type(exc).__name__).splitlines()[0]
        raise EditError(f"{name}: cannot read {text!r:.60} as a YAML value ({first})") from None


@dataclass
class FileChange:
    """One file's text before and after an edit."""

    path: Path
    before: str
    after: str

    def diff(self, root: Path | None = None) -> str:
        shown = str(self.path.relative_to(root)) if root else str(self.path)
        return "".join(
            difflib.unified_diff(
                self.before.splitlines(keepends=True),
                self.after.splitlines(keepends=True),
                fromfile=f"a/{shown}",
                tofile=f"b/{shown}",
            )
        )


@dataclass
class EditPlan:
    """The changes an edit would make and the files it refused to touch (with why)."""

    root: Path
    changes: list[FileChange] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    unchanged: int = 0

    def diff(self) -> str:
        return "".join(change.diff(self.root) for change in self.changes)

    def apply(self) -> list[Path]:
        """Write every change; a file changed since it was planned is refused, not lost."""
        written = []
        for change in self.changes:
            try:
                current = read_for_edit(change.path, self.root).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EditError(f"{change.path}: cannot read it again: {exc}") from None
            if current != change.before:
                raise EditError(f"{change.path}: changed on disk since the edit was planned")
            atomic_write(change.path, change.after.encode("utf-8"))
            written.append(change.path)
        return written


def read_for_edit(path: Path, root: Path) -> bytes:
    """A package file's bytes, read for an edit: never through a symbolic link, nor in a
    folder outside the registry at ``root``, nor over the size limit (EditError)."""
    if outside(path.parent, root) is not None:
        raise EditError(f"{path}: its folder leads out of the registry {root}")
    try:
        return read_capped(path, MAX_PACKAGE_FILE_BYTES, follow=False)
    except FileRefused as exc:
        raise EditError(str(exc)) from None


def _blocking(problems: list[RegistryProblem]) -> set[tuple[str, str]]:
    return {(p.field, p.message) for p in problems if not p.strict}


def _plan(
    loaded: LoadedRegistry,
    files: Sequence[Path],
    operation: Callable[[Document], None],
) -> EditPlan:
    plan = EditPlan(root=loaded.root)
    for path in files:
        try:
            raw = read_for_edit(path, loaded.root)
            before = raw.decode("utf-8")
            document = Document(before, str(path))
            operation(document)
        except EditError as exc:
            plan.refused.append(str(exc))
            continue
        except UnicodeDecodeError as exc:
            plan.refused.append(f"{path}: cannot read: {exc}")
            continue
        after = document.text()
        if after == before:
            plan.unchanged += 1
            continue
        old = _blocking(check_package_text(path, raw).problems)
        result = check_package_text(path, after.encode("utf-8"))
        new = [p for p in result.problems if not p.strict and (p.field, p.message) not in old]
        if new:
            plan.refused.append(f"{new[0]} (after the edit; file left as it is)")
            continue
        plan.changes.append(FileChange(path, before, after))
    return plan


def _no_package(name: str) -> None:
    if name == "package":
        raise EditError("the package field names the file; rename the file instead")


def plan_set_field(
    loaded: LoadedRegistry,
    name: str,
    value: Any,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
) -> EditPlan:
    """Set ``name`` to ``value`` in every selected file (added where missing)."""
    check_field_name(name)
    _no_package(name)
    files = select_files(loaded, where, packages)
    return _plan(loaded, files, lambda doc: doc.set(name, value))


def plan_add_field(
    loaded: LoadedRegistry,
    name: str,
    default: Any = None,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
) -> EditPlan:
    """Add ``name: default`` to every selected file that lacks it."""
    check_field_name(name)
    _no_package(name)
    files = select_files(loaded, where, packages)

    def add(doc: Document) -> None:
        if name not in doc.spans:
            doc.set(name, default)

    return _plan(loaded, files, add)


def plan_remove_field(
    loaded: LoadedRegistry,
    name: str,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
) -> EditPlan:
    """Delete ``name`` (its key and value lines) from every selected file."""
    _no_package(name)
    files = select_files(loaded, where, packages)
    return _plan(loaded, files, lambda doc: doc.remove(name))


def plan_rename_field(
    loaded: LoadedRegistry,
    old: str,
    new: str,
    where: Sequence[str] = (),
    packages: Sequence[str] = (),
) -> EditPlan:
    """Rename the key ``old`` to ``new``; refused in files that already have ``new``."""
    check_field_name(new)
    _no_package(old)
    _no_package(new)
    if old == new:
        raise EditError(f"rename-field: {old!r} and {new!r} are the same")
    files = select_files(loaded, where, packages)
    return _plan(loaded, files, lambda doc: doc.rename(old, new))


def render_entry(entry: PackageEntry) -> str:
    """A whole new package file: every format field in order, then unknown fields."""
    data = {name: getattr(entry, name) for name in FIELD_ORDER}
    data.update(entry.model_extra or {})
    return yaml.safe_dump(data, default_flow_style=False, sort_keys=False, allow_unicode=True)


def entry_changes(path: Path, entry: PackageEntry) -> FileChange | None:
    """What saving ``entry`` to ``path`` changes: only the fields whose value differs.

    A new file is written whole; an existing file keeps every line of every field whose
    value is unchanged, so saving an unchanged entry changes no byte.
    """
    if not path.exists() and not path.is_symlink():
        return FileChange(path, "", render_entry(entry))
    try:
        raw = read_for_edit(path, path.parent.parent)
        before = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditError(f"{path}: cannot read: {exc}") from None
    current = check_package_text(path, raw)
    if current.entry is None:
        first = next((p for p in current.problems if not p.strict), None)
        raise EditError(f"{first or path}: fix the file before saving over it")
    old = current.entry
    old_extra, new_extra = old.model_extra or {}, entry.model_extra or {}
    document = Document(before, str(path))
    for name in [*FIELD_ORDER, *(n for n in new_extra if n not in FIELD_ORDER)]:
        added = name in new_extra and name not in old_extra
        if added or entry.field_value(name) != old.field_value(name):
            document.set(name, entry.field_value(name))
    for name in old_extra:
        if name not in new_extra:
            document.remove(name)
    after = document.text()
    return None if after == before else FileChange(path, before, after)


def save_entry(path: Path, entry: PackageEntry) -> bool:
    """Save ``entry`` to ``path`` losslessly; True when the file changed."""
    change = entry_changes(path, entry)
    if change is None:
        return False
    atomic_write(path, change.after.encode("utf-8"))
    return True
