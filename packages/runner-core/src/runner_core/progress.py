"""Progress of a run: a rich bar on a terminal, one plain line per package elsewhere."""

from __future__ import annotations

import os
import sys
from collections import Counter
from types import TracebackType
from typing import Self

from normalized_events import DEFAULT_CONDITION, Outcome, PackageFinished
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

_COLOURS = {
    Outcome.PASS: "green",
    Outcome.FAIL: "yellow",
    Outcome.CRASH: "bold red",
    Outcome.TIMEOUT: "magenta",
    Outcome.HANG: "magenta",
    Outcome.OOM: "magenta",
}


def interactive(console: Console) -> bool:
    return console.is_terminal and not os.environ.get("CI")


class RunProgress:
    """Callable per finished package; a context manager around the run."""

    def __init__(self, total: int, console: Console | None = None) -> None:
        self.console = console or Console(file=sys.stderr)
        self.total = total
        self.counts: Counter[Outcome] = Counter()
        self.done = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if interactive(self.console):
            self._bar = Progress(
                TextColumn("[bold]apiary run"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )

    def __enter__(self) -> Self:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("run", total=self.total, counts="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def _counts_text(self) -> str:
        return " ".join(
            f"[{_COLOURS.get(o, 'white')}]{o.value}={n}[/]" for o, n in sorted(self.counts.items())
        )

    def __call__(self, finished: PackageFinished) -> None:
        self.counts[finished.outcome] += 1
        self.done += 1
        label = finished.package
        if finished.condition != DEFAULT_CONDITION:
            label += f" [{finished.condition}]"
        reason = (
            f": {finished.reason}"
            if finished.reason and finished.outcome is not Outcome.PASS
            else ""
        )
        if finished.source_fallback:
            # --source auto took the sdist: say so where the user looks, not only in a log
            reason += f" [{finished.source_fallback}]"
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, advance=1, counts=self._counts_text())
            if finished.outcome is not Outcome.SKIPPED:
                colour = _COLOURS.get(finished.outcome, "white")
                self._bar.console.print(
                    f"[{colour}]{finished.outcome.value:>13}[/] {escape(label)}"
                    f" ({finished.duration_s:.1f}s){escape(reason)}",
                    highlight=False,
                    markup=True,
                )
        else:
            print(
                f"[{self.done}/{self.total}] {finished.outcome.value} {label}"
                f" {finished.duration_s:.1f}s{reason}",
                file=sys.stderr,
                flush=True,
            )


def print_final_table(
    counts: dict[Outcome, int], wall_s: float, interrupted: bool, console: Console | None = None
) -> None:
    """The closing table of a run: packages per outcome, and the real elapsed time."""
    out = console or Console(file=sys.stderr)
    state = "interrupted" if interrupted else "finished"
    table = Table(title=f"run {state} in {wall_s:.1f}s", title_justify="left")
    table.add_column("outcome")
    table.add_column("packages", justify="right")
    for outcome in Outcome:
        if counts.get(outcome):
            colour = _COLOURS.get(outcome, "white")
            table.add_row(f"[{colour}]{outcome.value}[/]", str(counts[outcome]))
    table.add_row("[bold]total[/]", str(sum(counts.values())))
    out.print(table)
