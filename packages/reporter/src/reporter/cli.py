"""`apiary report ...`: a thin typer layer over the reporter library."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from normalized_events.exits import ExitCode

from reporter.errors import FormatError, ReportError, RunDirError
from reporter.formats import Format
from reporter.model.categories import Category, TimingRule
from reporter.model.runnames import DEFAULT_RESULTS_DIR, LATEST

# Each command imports the reporter's models (pydantic, the event models) and renderers
# (rich) when it runs, so that its `--help` imports none of them.

app = typer.Typer(
    name="report",
    help="Summaries, comparisons, history and shard merges of apiary runs (read from events).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="text, markdown, json, junit or html.")
]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the report to FILE, not stdout.")
]
ResultsDirOpt = Annotated[
    Path,
    typer.Option("--results-dir", help="Where runs are (for `latest`, run ids and history)."),
]


def _emit(render: Callable[[bool, int], str], output: Path | None) -> None:
    """Render for the terminal (rich) when writing to an interactive one outside CI."""
    from reporter.output import write_report

    if output is not None:
        write_report(render(False, 120), output)
        typer.echo(f"report written to {output}", err=True)
        return
    terminal = sys.stdout.isatty() and not os.environ.get("CI")
    width = shutil.get_terminal_size((120, 40)).columns
    sys.stdout.write(render(terminal, width))


def _fail(error: ReportError) -> typer.Exit:
    typer.echo(f"error: {error}", err=True)
    return typer.Exit(ExitCode.USER_ERROR)


@app.command("summary")
def summary_command(
    run: Annotated[
        str, typer.Argument(help="A run directory, a run id of --results-dir, or `latest`.")
    ] = LATEST,
    results_dir: ResultsDirOpt = DEFAULT_RESULTS_DIR,
    fmt: FormatOpt = Format.TEXT,
    output: OutputOpt = None,
    slowest: Annotated[int, typer.Option(help="How many of the slowest packages to list.")] = 10,
) -> None:
    """Counts per outcome, crash buckets, why packages could not be tested, slowest, skipped."""
    from reporter.model.load import load_run, resolve_run
    from reporter.model.summary import summarize
    from reporter.output import render_summary

    try:
        data = summarize(load_run(resolve_run(run, results_dir)), slowest=slowest)
        _emit(
            lambda terminal, width: render_summary(data, fmt, terminal=terminal, width=width),
            output,
        )
    except ReportError as exc:
        raise _fail(exc) from None


@app.command("bisect")
def bisect_command(
    folder: Annotated[Path, typer.Argument(help="A bisection folder (of `apiary bisect`).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON, not text.")] = False,
) -> None:
    """A bisection's answer (the first bad commit, or its range), steps and bucket."""
    from reporter.model.bisection import load_bisection, render_json, render_text

    try:
        found = load_bisection(folder)
    except ReportError as exc:
        raise _fail(exc) from None
    sys.stdout.write(render_json(found) if json_out else render_text(found))


@app.command("compare")
def compare_command(
    run_a: Annotated[str, typer.Argument(help="Side A: a run directory, run id or `latest`.")],
    run_b: Annotated[
        str | None,
        typer.Argument(help="Side B. Omit it to compare two conditions of RUN_A."),
    ] = None,
    condition_a: Annotated[
        str | None, typer.Option(help="Compare only this condition of A (paired by package).")
    ] = None,
    condition_b: Annotated[
        str | None, typer.Option(help="Compare only this condition of B (paired by package).")
    ] = None,
    ratio: Annotated[
        float, typer.Option(help="Report test times that changed by at least this factor.")
    ] = TimingRule.ratio,
    min_delta: Annotated[
        float, typer.Option(help="... and by at least this many seconds.")
    ] = TimingRule.min_delta_s,
    fail_on: Annotated[
        list[Category] | None,
        typer.Option(help="Exit with status 1 when a package lands in this category (repeat)."),
    ] = None,
    results_dir: ResultsDirOpt = DEFAULT_RESULTS_DIR,
    fmt: FormatOpt = Format.TEXT,
    output: OutputOpt = None,
) -> None:
    """Per package: regressed, new crash bucket, fixed, spurious, broken, still broken, same."""
    from reporter.model.compare import compare_conditions, compare_runs
    from reporter.model.load import load_run, resolve_run
    from reporter.output import render_compare

    rule = TimingRule(ratio=ratio, min_delta_s=min_delta)
    try:
        first = load_run(resolve_run(run_a, results_dir))
        if run_b is None:
            if condition_a is None or condition_b is None:
                raise RunDirError(
                    "give RUN_B, or --condition-a and --condition-b to compare two conditions "
                    "of one run"
                )
            comparison = compare_conditions(first, condition_a, condition_b, timing=rule)
        else:
            second = load_run(resolve_run(run_b, results_dir))
            comparison = compare_runs(
                first, second, condition_a=condition_a, condition_b=condition_b, timing=rule
            )
        _emit(
            lambda terminal, width: render_compare(comparison, fmt, terminal=terminal, width=width),
            output,
        )
    except ReportError as exc:
        raise _fail(exc) from None
    hit = [c.value for c in fail_on or [] if comparison.by_category(c)]
    if hit:
        typer.echo(f"packages in {', '.join(hit)}", err=True)
        raise typer.Exit(ExitCode.FINDINGS)


@app.command("history")
def history_command(
    runs: Annotated[
        list[str] | None,
        typer.Argument(help="Run directories (default: the runs of --results-dir)."),
    ] = None,
    last: Annotated[
        int | None, typer.Option("--last", "-n", help="Only the last N runs, by start time.")
    ] = None,
    results_dir: ResultsDirOpt = DEFAULT_RESULTS_DIR,
    fmt: FormatOpt = Format.TEXT,
    output: OutputOpt = None,
) -> None:
    """Each package over runs: flaky packages, changes, crash buckets first and last seen."""
    from reporter.model.history_load import load_history
    from reporter.model.load import last_runs, order_run_dirs, resolve_run
    from reporter.output import render_history

    try:
        if runs:
            paths = order_run_dirs([resolve_run(r, results_dir) for r in runs])
            if last is not None:
                paths = paths[-last:] if last > 0 else []
        else:
            paths = last_runs(last, results_dir)
        if not paths:
            raise RunDirError(f"{results_dir}: no runs to read")
        data = load_history(paths)
        _emit(
            lambda terminal, width: render_history(data, fmt, terminal=terminal, width=width),
            output,
        )
    except ReportError as exc:
        raise _fail(exc) from None


@app.command("merge")
def merge_command(
    runs: Annotated[
        list[str] | None, typer.Argument(help="The shard run directories (or run ids).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--output", "-o", help="The merged run directory to create.")
    ] = None,
    prefix: Annotated[
        str | None,
        typer.Option(help="Merge every run of --results-dir whose run id starts with this."),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="Run id of the merged run (default: the shards' prefix).")
    ] = None,
    expected: Annotated[
        Path | None,
        typer.Option(help="File of expected package names, one per line, to report gaps."),
    ] = None,
    results_dir: ResultsDirOpt = DEFAULT_RESULTS_DIR,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="How to print the merge report.")
    ] = Format.TEXT,
    report: Annotated[
        Path | None, typer.Option(help="Write the merge report to FILE, not stdout.")
    ] = None,
) -> None:
    """Join the shard runs of one hunt into one run directory; duplicates and gaps reported."""
    from reporter.model.load import find_runs, load_run, resolve_run
    from reporter.model.merge import merge_runs, write_merge
    from reporter.output import render_merge

    try:
        if out is None:
            raise RunDirError("give the merged run directory with -o/--output")
        if fmt == Format.JUNIT:
            raise FormatError("the merge report is text, markdown, json or html")
        paths = [resolve_run(r, results_dir) for r in runs or []]
        if prefix is not None:
            paths += [ref.path for ref in find_runs(results_dir) if ref.run_id.startswith(prefix)]
        if not paths:
            raise RunDirError("nothing to merge: give run directories or --prefix")
        names = None
        if expected is not None:
            try:
                lines = expected.read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise RunDirError(f"{expected}: cannot read: {exc.strerror}") from exc
            names = [n.strip() for n in lines if n.strip() and not n.lstrip().startswith("#")]
        plan = merge_runs(
            [load_run(p) for p in dict.fromkeys(paths)], run_id=run_id, expected_packages=names
        )
        written = write_merge(plan, out)
        _emit(
            lambda terminal, width: render_merge(
                plan, written, fmt, terminal=terminal, width=width
            ),
            report,
        )
    except ReportError as exc:
        raise _fail(exc) from None
