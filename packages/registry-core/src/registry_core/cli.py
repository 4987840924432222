"""``apiary registry ...``: thin typer commands over the library.

Every user error (a bad option, file or selection; a registry that cannot be read) ends
as one line on stderr and exit status 2 (``EXIT_USER_ERROR``), as for every apiary command
(``normalized_events.exits``). Status 1 (``EXIT_PROBLEM``) is a finding: problems found by
``validate`` (printed one per line on stdout), a stale index, a refused edit, a project
``resolve`` could not resolve.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from registry_core.errors import RegistryError, SelectionError
from registry_core.loader import LoadedRegistry, load_registry
from registry_core.locate import locate_registry

app = typer.Typer(
    name="registry",
    help="Load, validate, edit and index the package registry.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

RegistryDir = Annotated[
    Path | None,
    typer.Option(
        "--registry-dir",
        help="Registry folder (else $APIARY_REGISTRY, the checkout's registry/, the bundled one).",
        file_okay=False,
        show_default=False,
    ),
]
Where = Annotated[
    list[str] | None,
    typer.Option("--where", help="FIELD=VALUE or FIELD!=VALUE (repeatable; all must hold)."),
]
Packages = Annotated[
    list[str] | None,
    typer.Option("--packages", help="Package names, comma-separated (repeatable)."),
]
Apply = Annotated[
    bool, typer.Option("--apply", help="Write the changes (default: show the diff only).")
]


# The statuses of the table in normalized_events.exits this package uses (it depends on no
# package of ours; tests/test_exit_codes.py checks that they agree).
EXIT_PROBLEM = 1
EXIT_USER_ERROR = 2


class ListFormat(StrEnum):
    table = "table"
    json = "json"


class ShowFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_USER_ERROR)


@contextlib.contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except RegistryError as exc:
        raise _fail(str(exc)) from None


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def _load(registry_dir: Path | None) -> LoadedRegistry:
    # A registry command is a short process, and the thousands of objects a load makes hold
    # no reference cycles: they are kept out of the cyclic collector's passes (a tenth of
    # a warm `list`), as they are made and after.
    gc.disable()
    try:
        return load_registry(locate_registry(registry_dir))
    finally:
        gc.freeze()
        gc.enable()


def _warn_problems(loaded: LoadedRegistry) -> None:
    if loaded.problems:
        files = len({p.file for p in loaded.problems})
        typer.echo(
            f"warning: {files} file(s) in {loaded.root} have problems and were left out "
            "(see `apiary registry validate`)",
            err=True,
        )


@app.command()
def validate(
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Also flag unknown fields, stale index entries, runnable enriched entries"
            " with empty commands, and xdist without -p no:xdist.",
        ),
    ] = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Print every problem as file:line:col: field: message; exit 1 when there is any."""
    with _user_errors():
        loaded = _load(registry_dir)
    problems = loaded.all_problems(strict)
    for problem in problems:
        typer.echo(str(problem))
    files = loaded.stats.files
    summary = f"{files} file(s) in {loaded.root}, {len(loaded.entries)} valid package(s)"
    typer.echo(f"{summary}, {len(problems)} problem(s)", err=True)
    if problems:
        raise typer.Exit(EXIT_PROBLEM)


@app.command("list")
def list_packages(
    where: Where = None,
    packages: Packages = None,
    top: Annotated[
        int | None, typer.Option("--top", min=0, help="Only the N most downloaded.")
    ] = None,
    output: Annotated[ListFormat, typer.Option("--format", help="table or json.")] = (
        ListFormat.table
    ),
    registry_dir: RegistryDir = None,
) -> None:
    """List packages, most downloaded first."""
    from registry_core.render import entries_json, entries_table
    from registry_core.select import select_entries

    with _user_errors():
        loaded = _load(registry_dir)
        entries = select_entries(loaded, where or [], packages or [], top)
    _warn_problems(loaded)
    typer.echo(
        entries_json(loaded, entries)
        if output is ListFormat.json
        else entries_table(loaded, entries)
    )


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Package name.", show_default=False)],
    output: Annotated[ShowFormat, typer.Option("--format", help="text or json.")] = (
        ShowFormat.text
    ),
    registry_dir: RegistryDir = None,
) -> None:
    """Show every field of one package, with what is derived from it."""
    from registry_core.render import entry_json, entry_text

    with _user_errors():
        loaded = _load(registry_dir)
        entry = loaded.entries.get(name) or loaded.entries.get(_canonical(name))
        if entry is None:
            path = loaded.files.get(name)
            if path is None:
                raise SelectionError(f"no package {name!r} in {loaded.root}")
            for problem in loaded.all_problems():
                if problem.file == path:
                    typer.echo(str(problem), err=True)
            raise SelectionError(f"{path} has problems; it has no usable entry")
    typer.echo(
        entry_json(loaded, entry) if output is ShowFormat.json else entry_text(loaded, entry)
    )


def _finish_edit(plan_maker: object, apply: bool) -> None:
    from registry_core.edits import EditPlan

    assert isinstance(plan_maker, EditPlan)
    plan = plan_maker
    if plan.changes and not apply:
        typer.echo(plan.diff(), nl=False)
    for refusal in plan.refused:
        typer.echo(f"refused: {refusal}", err=True)
    count = len(plan.changes)
    if apply:
        with _user_errors():
            plan.apply()
        typer.echo(f"changed {count} file(s), {plan.unchanged} already as asked", err=True)
    else:
        typer.echo(
            f"{count} file(s) would change, {plan.unchanged} already as asked"
            + ("; run again with --apply to write" if count else ""),
            err=True,
        )
    if plan.refused:
        raise typer.Exit(EXIT_PROBLEM)


@app.command("set-field")
def set_field(
    field: Annotated[str, typer.Argument(help="Field to set.", show_default=False)],
    value: Annotated[
        str,
        typer.Argument(
            help="New value (text fields verbatim, others as YAML).", show_default=False
        ),
    ],
    where: Where = None,
    packages: Packages = None,
    apply: Apply = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Set FIELD to VALUE in the selected package files (dry run unless --apply)."""
    from registry_core.edits import parse_value, plan_set_field

    with _user_errors():
        loaded = _load(registry_dir)
        plan = plan_set_field(loaded, field, parse_value(field, value), where or [], packages or [])
    _finish_edit(plan, apply)


@app.command("add-field")
def add_field(
    field: Annotated[str, typer.Argument(help="Field to add where missing.", show_default=False)],
    default: Annotated[
        str | None,
        typer.Option(
            "--default",
            help="Its value (default: the format's default, else null).",
            show_default=False,
        ),
    ] = None,
    where: Where = None,
    packages: Packages = None,
    apply: Apply = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Add FIELD to the selected files that lack it (dry run unless --apply)."""
    from registry_core.edits import parse_value, plan_add_field
    from registry_core.model import PackageEntry

    with _user_errors():
        loaded = _load(registry_dir)
        if default is not None:
            value = parse_value(field, default)
        elif field in PackageEntry.model_fields and field != "package":
            value = PackageEntry.model_fields[field].get_default(call_default_factory=True)
        else:
            value = None
        plan = plan_add_field(loaded, field, value, where or [], packages or [])
    _finish_edit(plan, apply)


@app.command("remove-field")
def remove_field(
    field: Annotated[str, typer.Argument(help="Field to remove.", show_default=False)],
    where: Where = None,
    packages: Packages = None,
    apply: Apply = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Remove FIELD from the selected files (dry run unless --apply)."""
    from registry_core.edits import plan_remove_field

    with _user_errors():
        loaded = _load(registry_dir)
        plan = plan_remove_field(loaded, field, where or [], packages or [])
    _finish_edit(plan, apply)


@app.command("rename-field")
def rename_field(
    old: Annotated[str, typer.Argument(help="Current field name.", show_default=False)],
    new: Annotated[str, typer.Argument(help="New field name.", show_default=False)],
    where: Where = None,
    packages: Packages = None,
    apply: Apply = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Rename field OLD to NEW in the selected files (dry run unless --apply)."""
    from registry_core.edits import plan_rename_field

    with _user_errors():
        loaded = _load(registry_dir)
        plan = plan_rename_field(loaded, old, new, where or [], packages or [])
    _finish_edit(plan, apply)


@app.command()
def index(
    check: Annotated[
        bool,
        typer.Option("--check", help="Only show what would change; exit 1 if the index is stale."),
    ] = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Rebuild index.yaml from the package files (download counts kept)."""
    from registry_core.indexing import plan_index, write_index

    with _user_errors():
        loaded = _load(registry_dir)
        _warn_problems(loaded)
        update = plan_index(loaded) if check else write_index(loaded)
    if check:
        typer.echo(update.diff, nl=False)
        if update.changed:
            typer.echo(f"{loaded.index_path} is stale", err=True)
            raise typer.Exit(EXIT_PROBLEM)
        typer.echo(f"{loaded.index_path} is up to date", err=True)
        return
    state = "rewritten" if update.changed else "already up to date"
    typer.echo(f"{loaded.index_path}: {len(update.entries)} package(s), {state}", err=True)


@app.command()
def resolve(
    names: Annotated[
        list[str] | None, typer.Argument(help="PyPI project names.", show_default=False)
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file",
            help="Names, one per line, or a JSON list / top-packages dump.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="Parallel requests.")
    ] = 4,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, help="Seconds each answer may take, all of it."),
    ] = 15.0,
    retries: Annotated[
        int, typer.Option("--retries", min=0, max=10, help="Retries per project.")
    ] = 2,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Ask PyPI, write nothing.")] = False,
    registry_dir: RegistryDir = None,
) -> None:
    """Create skeleton entries from PyPI (APIARY_PYPI_URL); enriched files are never touched."""
    from registry_core.pypi import PyPISettings
    from registry_core.resolve import ResolveRequest, read_requests, resolve_packages

    with _user_errors():
        requests = [ResolveRequest(name) for name in names or []]
        if from_file is not None:
            requests += read_requests(from_file)
        if not requests:
            raise SelectionError("resolve: give project names or --from-file")
        settings = PyPISettings.from_env(timeout=timeout, retries=retries)
        report = resolve_packages(
            locate_registry(registry_dir), requests, settings, workers, dry_run
        )
    for outcome in report.outcomes:
        stream = sys.stderr if outcome.action == "failed" else sys.stdout
        typer.echo(str(outcome), file=stream)
    if report.failed:
        raise typer.Exit(EXIT_PROBLEM)
