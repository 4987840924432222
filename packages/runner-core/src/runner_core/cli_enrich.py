"""`apiary enrich`: propose registry fields from a source tree, verify them with real runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from normalized_events.exits import ExitCode
from registry_core import RegistryError
from registry_core.locate import locate_registry
from sandbox_runner import SandboxError

from runner_core.errors import RunnerError
from runner_core.workdir import work_dir_or_default

if TYPE_CHECKING:
    from normalized_events import PackageFinished

    from runner_core.enrich.verdicts import Verification
    from runner_core.enrich.verify import VerifyOptions

app = typer.Typer(
    name="enrich",
    help="Propose install and test commands for registry entries, and verify them by running.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

Opt = typer.Option


def _fail(exc: Exception) -> typer.Exit:
    typer.echo(f"error: {exc}", err=True)
    return typer.Exit(ExitCode.USER_ERROR)


def _work_dir(work_dir: Path | None) -> Path:
    return work_dir_or_default(work_dir)


@app.command("scan")
def scan_command(
    target: Annotated[
        str,
        typer.Argument(
            help="A source folder, an sdist archive, or a PyPI project name (its sdist).",
            show_default=False,
        ),
    ],
    package: Annotated[
        str | None, Opt(help="Registry name of the package (default: the project's name).")
    ] = None,
    write: Annotated[
        bool, Opt("--write", help="Fill the package's registry entry with the proposal.")
    ] = False,
    force: Annotated[
        bool, Opt("--force", help="With --write: overwrite an enriched entry.")
    ] = False,
    mark_enriched: Annotated[
        bool, Opt("--mark-enriched", help="With --write: also set enriched: true.")
    ] = False,
    output: Annotated[str, Opt("--format", help="text or json.")] = "text",
    registry_dir: Annotated[
        Path | None, Opt(help="Registry folder (else APIARY_REGISTRY, the checkout's, bundled).")
    ] = None,
    work_dir: Annotated[
        Path | None, Opt(help="Where downloaded sdists go (default: user cache dir).")
    ] = None,
) -> None:
    """Read a source tree and propose install_command, test_command, uses_xdist,
    clone_depth, import_name and timeout, with the evidence for each."""
    from runner_core.enrich.report import proposal_text
    from runner_core.enrich.scan import scan
    from runner_core.enrich.write import write_scan

    if output not in ("text", "json"):
        raise _fail(ValueError(f"--format: {output!r} is not text or json"))
    try:
        result = scan(target, _work_dir(work_dir), package)
        if output == "json":
            payload = result.proposal.as_json()
            payload["source"] = {
                "root": str(result.target.root),
                "from_sdist": result.target.from_sdist,
                "version": result.target.version,
            }
            typer.echo(json.dumps(payload, indent=2))
        else:
            typer.echo(proposal_text(result))
        if write:
            written = write_scan(
                locate_registry(registry_dir), result, force=force, mark_enriched=mark_enriched
            )
            state = "created" if written.created else "updated" if written.changed else "unchanged"
            typer.echo(f"{state} {written.path}", err=True)
    except (RunnerError, RegistryError) as exc:
        raise _fail(exc) from None


@app.command("verify")
def verify_command(
    names: Annotated[
        list[str] | None, typer.Argument(help="Registry packages to verify.", show_default=False)
    ] = None,
    packages_from: Annotated[
        Path | None, Opt(help="File of package names, one per line (# comments).")
    ] = None,
    where: Annotated[
        list[str] | None,
        Opt(
            help="FIELD=VALUE or FIELD!=VALUE (repeatable; all must hold): narrows the names,"
            " or picks from the whole registry when none are given."
        ),
    ] = None,
    target_python: Annotated[
        list[str] | None,
        Opt(
            "--target-python",
            "--python",
            help="Interpreter to verify with (repeatable; default: this one), as in apiary"
            " run; --python is the older spelling.",
        ),
    ] = None,
    max_attempts: Annotated[
        int, Opt(min=1, max=10, help="Runs per package at most (the first plus fixes).")
    ] = 5,
    write: Annotated[
        bool,
        Opt(
            "--write",
            help="Record the result: commands, enriched, notes, timeout, sdist_has_tests.",
        ),
    ] = False,
    workers: Annotated[int, Opt(min=1, help="Packages run in parallel.")] = 2,
    source: Annotated[
        str,
        Opt(help="sdist, git or auto (the sdist when scan found the tests in it, else git)."),
    ] = "auto",
    timeout: Annotated[
        float, Opt(help="Seconds per test command when the entry sets none.")
    ] = 1800.0,
    sandbox: Annotated[str, Opt(help="Sandbox backend: auto, none or bwrap.")] = "auto",
    registry_dir: Annotated[
        Path | None, Opt(help="Registry folder (else APIARY_REGISTRY, the checkout's, bundled).")
    ] = None,
    results_dir: Annotated[Path, Opt(help="Where the run directories go.")] = Path(
        "apiary-results"
    ),
    work_dir: Annotated[
        Path | None, Opt(help="Sources and venvs cache (default: user cache dir).")
    ] = None,
    run_prefix: Annotated[
        str | None, Opt(help="Run ids are PREFIX-1, PREFIX-2, ... (default: verify-<time>).")
    ] = None,
    dry_run: Annotated[
        bool, Opt("--dry-run", help="Print the packages it would verify; run nothing.")
    ] = False,
) -> None:
    """Run packages through the real pipeline; for config errors, apply the proposed fix
    (install a missing module, override bad addopts, ...) and run again."""
    from registry_core.select import read_packages_file

    from runner_core.enrich.report import verification_table
    from runner_core.enrich.verify import VerifyOptions
    from runner_core.settings import BACKENDS, SOURCES, parse_choice

    try:
        wanted = list(names or [])
        if packages_from is not None:
            wanted += read_packages_file(packages_from)
        options = VerifyOptions(
            registry_dir=locate_registry(registry_dir),
            results_dir=results_dir.absolute(),
            work_dir=_work_dir(work_dir),
            pythons=tuple(target_python or [sys.executable]),
            workers=workers,
            max_attempts=max_attempts,
            source=parse_choice(source, SOURCES, "--source"),
            sandbox=parse_choice(sandbox, BACKENDS, "--sandbox"),
            timeout_s=timeout,
            run_prefix=run_prefix or "",
            write=write,
            where=tuple(where or ()),
        )
        if dry_run:
            _print_targets(wanted, options)
            return

        results = _verify_with_progress(wanted, options)
    except (RunnerError, RegistryError, SandboxError) as exc:
        raise _fail(exc) from None
    typer.echo(verification_table(results))
    if not all(item.verified for item in results):
        raise typer.Exit(ExitCode.FINDINGS)


def _print_targets(names: list[str], options: VerifyOptions) -> None:
    from registry_core import load_registry

    from runner_core.enrich.verify import verify_targets

    loaded = load_registry(options.registry_dir)
    for name in verify_targets(loaded, names, options.where):
        typer.echo(f"verify {name}")


def _verify_with_progress(wanted: list[str], options: VerifyOptions) -> list[Verification]:
    """verify, with a progress bar (a line per package off a terminal) for each round."""
    from runner_core.enrich.verify import verify
    from runner_core.progress import RunProgress

    progress: list[RunProgress] = []

    def announce(number: int, pending: list[str]) -> None:
        if progress:
            progress.pop().__exit__(None, None, None)
        typer.echo(f"round {number}: {len(pending)} package(s)", err=True)
        progress.append(RunProgress(total=len(pending) * len(options.pythons)).__enter__())

    def finished(event: PackageFinished) -> None:
        progress[-1](event)

    try:
        return verify(wanted, options, on_round=announce, on_result=finished)
    finally:
        if progress:
            progress.pop().__exit__(None, None, None)


@app.command("record")
def record_command(
    run_dir: Annotated[
        Path, typer.Argument(help="A finished run's directory.", show_default=False)
    ],
    write: Annotated[
        bool, Opt("--write", help="Add the versions to the entries (else only print them).")
    ] = False,
    registry_dir: Annotated[
        Path | None, Opt(help="Registry folder (else APIARY_REGISTRY, the checkout's, bundled).")
    ] = None,
) -> None:
    """Add the run's Python version to python_versions of each entry whose suite reached
    a verdict (pass or fail) in it: a hunt on a new interpreter records where entries run."""
    from runner_core.enrich.from_run import record_versions

    try:
        records = record_versions(locate_registry(registry_dir), run_dir, write)
    except (RunnerError, RegistryError) as exc:
        raise _fail(exc) from None
    added = [r for r in records if r.added]
    for record in added:
        verb = "added" if write else "would add"
        typer.echo(f"{record.package}: {verb} {record.minor} ({record.outcome})")
    typer.echo(
        f"{len(records)} entries reached a verdict; {len(added)} "
        f"{'gained' if write else 'would gain'} a version"
    )


__all__ = ["app"]
