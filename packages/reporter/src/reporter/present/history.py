"""The history view as a document and as JSON."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from normalized_events import Outcome

from reporter.model.history import History, PackageHistory
from reporter.present.common import header, when
from reporter.render.document import Column, Document, Kind, Note, Section, Table


def story(outcomes: list[Outcome | None]) -> str:
    """Outcomes over runs, repeats folded: ``pass x3 -> crash x2 -> pass``."""
    parts = []
    for outcome, run in groupby(outcomes):
        n = len(list(run))
        name = outcome.value if outcome is not None else "(absent)"
        parts.append(f"{name} x{n}" if n > 1 else name)
    return " -> ".join(parts)


def _package_rows(packages: list[PackageHistory], *, detail: bool) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for p in packages:
        last = p.last
        row: tuple[Any, ...] = (p.package, p.condition, last.outcome.value if last else None)
        row += (p.flaky_detail,) if detail else ()
        rows.append((*row, story(p.outcomes)))
    return rows


def history_document(history: History, *, all_results: bool = False) -> Document:
    runs = history.runs

    def run_name(index: int) -> str:
        return runs[index].run_id if 0 <= index < len(runs) else "?"

    flaky = history.flaky()
    changed = [p for p in history.changed() if not p.flaky]
    steady = len(history.packages) - len(flaky) - len(changed)
    sections = [
        Section(
            "Runs",
            [
                Table(
                    f"{len(runs)} run(s), oldest first",
                    (
                        Column("#", Kind.NUMBER),
                        Column("run"),
                        Column("started"),
                        Column("interpreter"),
                    ),
                    [
                        (
                            i + 1,
                            r.run_id,
                            r.started_at.strftime("%Y-%m-%d %H:%M") if r.started_at else None,
                            r.interpreter,
                        )
                        for i, r in enumerate(runs)
                    ],
                    limit=None,
                ),
                Note(
                    f"{len(history.packages)} package/condition pair(s): {len(flaky)} flaky, "
                    f"{len(changed)} changed outcome, {steady} steady"
                ),
            ],
            "runs",
        ),
        Section(
            "Flaky",
            [
                Note(
                    "flaky: the outcome went back and forth (at least two changes) while the "
                    "source revision and the interpreter stayed the same, a crash did not "
                    "reproduce when rerun, or the retries of one run disagreed"
                ),
                Table(
                    "Flaky packages",
                    (
                        Column("package"),
                        Column("condition"),
                        Column("last", Kind.TONE),
                        Column("evidence"),
                        Column("over the runs"),
                    ),
                    _package_rows(flaky, detail=True),
                    empty="no flaky package",
                ),
            ],
            "flaky",
        ),
        Section(
            "Changed",
            [
                Table(
                    "Outcome changed, not flaky",
                    (
                        Column("package"),
                        Column("condition"),
                        Column("last", Kind.TONE),
                        Column("over the runs"),
                    ),
                    _package_rows(changed, detail=False),
                    empty="no other change",
                )
            ],
            "changed",
        ),
        Section(
            "Crash buckets",
            [
                Table(
                    "Crash buckets, most recently seen first",
                    (
                        Column("bucket", Kind.CODE),
                        Column("signature", Kind.CODE),
                        Column("first seen"),
                        Column("last seen"),
                        Column("runs", Kind.NUMBER),
                        Column("packages"),
                    ),
                    [
                        (
                            b.bucket,
                            b.signature,
                            run_name(b.first_seen),
                            run_name(b.last_seen),
                            b.runs_seen,
                            ", ".join(b.packages),
                        )
                        for b in history.buckets
                    ],
                    empty="no crash in these runs",
                )
            ],
            "buckets",
        ),
    ]
    if all_results:
        sections.append(
            Section(
                "All packages",
                [
                    Table(
                        "Every package",
                        (
                            Column("package"),
                            Column("condition"),
                            Column("last", Kind.TONE),
                            Column("over the runs"),
                        ),
                        _package_rows(history.packages, detail=False),
                        limit=None,
                        filterable=True,
                    )
                ],
                "all",
            )
        )
    subtitle = f"{len(runs)} runs, {len(flaky)} flaky, {len(history.buckets)} crash bucket(s)"
    return Document(title="apiary history", sections=sections, subtitle=subtitle)


def history_json(history: History) -> dict[str, Any]:
    runs = history.runs
    data = header("history")
    data["runs"] = [
        {"run_id": r.run_id, "started_at": when(r.started_at), "interpreter": r.interpreter}
        for r in runs
    ]
    data["packages"] = [
        {
            "package": p.package,
            "condition": p.condition,
            "outcomes": [o.value if o is not None else None for o in p.outcomes],
            "flaky": p.flaky,
            "flaky_detail": p.flaky_detail,
            "changed": p.changed,
        }
        for p in history.packages
    ]
    data["flaky"] = [
        {"package": p.package, "condition": p.condition, "detail": p.flaky_detail}
        for p in history.flaky()
    ]
    data["buckets"] = [
        {
            "bucket": b.bucket,
            "signature": b.signature,
            "first_seen": runs[b.first_seen].run_id,
            "last_seen": runs[b.last_seen].run_id,
            "runs_seen": b.runs_seen,
            "packages": list(b.packages),
        }
        for b in history.buckets
    ]
    return data
