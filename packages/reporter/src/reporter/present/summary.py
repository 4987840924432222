"""The summary view as a document and as JSON."""

from __future__ import annotations

from typing import Any

from normalized_events import DEFAULT_CONDITION, Outcome, PackageFinished

from reporter.model.freethreading import CATEGORIES, FreeThreadingView, free_threading_view
from reporter.model.lazy_events import Key
from reporter.model.rundata import RunData
from reporter.model.summary import CrashBucket, Summary
from reporter.present.common import (
    header,
    result_json,
    run_facts,
    run_json,
    run_problems,
    short_reason,
)
from reporter.render.document import (
    Attachment,
    Bars,
    Block,
    Card,
    Column,
    Document,
    Facts,
    Histogram,
    Kind,
    Note,
    Section,
    Table,
)

FAILING = (Outcome.FAIL, Outcome.TIMEOUT, Outcome.HANG, Outcome.OOM)
PACKAGE = Column("package")
CONDITION = Column("condition")
OUTCOME = Column("outcome", Kind.TONE)
DURATION = Column("duration", Kind.SECONDS)


def _keys(keys: list[Key] | tuple[Key, ...], limit: int = 12) -> str:
    names = [p if c == DEFAULT_CONDITION else f"{p} [{c}]" for p, c in keys]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _bucket_card(run: RunData, bucket: CrashBucket, *, inline_files: bool) -> Card:
    first = bucket.results[0]
    crash = first.crash
    facts = [
        ("bucket", bucket.bucket),
        ("kind", bucket.kind or "unknown"),
        ("packages", _keys([(r.package, r.condition) for r in bucket.results], limit=50)),
        ("reproducible", bucket.reproducibility),
        ("JIT only", _attribution(bucket.jit_only, crash.jit_only_reason if crash else None)),
    ]
    if bucket.gil_off_only != "unknown" or (run.interpreter and run.interpreter.free_threaded):
        gil_reason = crash.gil_off_only_reason if crash else None
        facts.append(("GIL off only", _attribution(bucket.gil_off_only, gil_reason)))
    if bucket.test_ids:
        facts.append(("crashing test", ", ".join(bucket.test_ids[:10])))
    if crash is not None and crash.isolated:
        isolated = crash.isolated + (f" ({crash.isolated_reason})" if crash.isolated_reason else "")
        facts.append(("test alone", isolated))
    if crash is not None and crash.headline and crash.headline != bucket.signature:
        facts.append(("headline", crash.headline))
    if crash is not None and crash.frames:
        facts.append(("top frames", " | ".join(crash.frames[:3])))
    attachments: list[Attachment] = []
    if crash is not None:
        for title, path in (
            (f"stderr of {first.package}", crash.stderr_path),
            (f"reproducer for {first.package}", crash.reproducer_path),
            (f"crash record of {first.package}", crash.record_path),
        ):
            if path:
                absolute = run.artifact(path)
                shown = str(absolute) if absolute is not None else path
                text = run.read_artifact(path) if inline_files else None
                attachments.append(Attachment(title, shown, text, open=path == crash.stderr_path))
    others = [
        r.crash.reproducer_path for r in bucket.results[1:] if r.crash and r.crash.reproducer_path
    ]
    if others:
        facts.append(("other reproducers", ", ".join(others[:10])))
    return Card(
        title=f"{bucket.kind or 'crash'} in {len(bucket.packages)} package(s)",
        tone=bucket.reproducibility if bucket.reproducibility == "flaky" else "crash",
        subtitle=bucket.signature or "(no signature)",
        facts=facts,
        attachments=attachments,
    )


def _attribution(value: str, reason: str | None) -> str:
    return f"{value} ({reason})" if reason and value in ("unknown", "mixed") else value


def _result_rows(results: list[PackageFinished]) -> list[tuple[Any, ...]]:
    return [
        (r.package, r.condition, r.outcome.value, r.duration_s, short_reason(r))
        for r in sorted(results, key=lambda r: (r.package, r.condition))
    ]


def summary_document(
    summary: Summary, *, inline_files: bool = False, all_results: bool = False
) -> Document:
    """The summary for people. ``inline_files`` embeds crash stderr and reproducers;
    ``all_results`` adds the table of every result (HTML)."""
    run = summary.run
    overview: list[Block] = [Facts(run_facts(run))]
    overview += [Note(line, warn=True) for line in run_problems(run)]
    merge = run.merge_info
    if merge:
        sources = merge.get("sources", [])
        overview.append(
            Note(
                f"merged from {len(sources)} shard run(s): "
                + ", ".join(str(s.get("run_id")) for s in sources)
                + f"; {len(merge.get('duplicates', []))} duplicate result(s), "
                f"{len(merge.get('gaps', []))} gap(s)",
                warn=bool(merge.get("gaps")),
            )
        )
        gaps = merge.get("gaps", [])
        if gaps:
            overview.append(
                Table(
                    "Gaps in the merged run",
                    (Column("kind", Kind.CODE), Column("detail")),
                    [(str(g.get("kind")), str(g.get("detail"))) for g in gaps],
                )
            )
    sections = [Section("Run", overview, "run")]

    nonzero = [(o.value, n) for o, n in summary.counts.items() if n]
    outcome_blocks: list[Block] = [
        Bars(f"Outcomes of {summary.total} package run(s)", nonzero)
        if nonzero
        else Note("no package finished in this run")
    ]
    sections.append(Section("Outcomes", outcome_blocks, "outcomes"))

    crash_blocks: list[Block] = [
        Table(
            "Crash buckets",
            (
                Column("bucket", Kind.CODE),
                Column("kind"),
                Column("packages", Kind.NUMBER),
                Column("reproducible", Kind.TONE),
                Column("JIT only"),
                Column("test", Kind.CODE),
                Column("signature", Kind.CODE),
            ),
            [
                (
                    b.bucket,
                    b.kind,
                    len(b.packages),
                    b.reproducibility,
                    b.jit_only,
                    (b.test_ids or [""])[0],
                    b.signature,
                )
                for b in summary.buckets
            ],
            empty="no crashes",
        )
    ]
    crash_blocks += [_bucket_card(run, b, inline_files=inline_files) for b in summary.buckets]
    sections.append(Section("Crashes", crash_blocks, "crashes"))

    threading = free_threading_view(run.results.values())
    if threading is not None:
        sections.append(Section("Free threading", _threading_blocks(threading), "threading"))

    failing = sorted(
        (r for r in run.results.values() if r.outcome in FAILING),
        key=lambda r: (r.outcome.value, r.package, r.condition),
    )
    sections.append(
        Section(
            "Failures",
            [
                Table(
                    "Tests failed, timed out, hung or ran out of memory",
                    (PACKAGE, CONDITION, OUTCOME, DURATION, Column("reason")),
                    [
                        (r.package, r.condition, r.outcome.value, r.duration_s, r.reason or "")
                        for r in failing
                    ],
                    empty="no failures",
                )
            ],
            "failures",
        )
    )

    untested: list[Block] = [
        Table(
            "Could not be tested, by reason",
            (
                OUTCOME,
                Column("packages", Kind.NUMBER),
                Column("reason"),
                Column("missing modules", Kind.CODE),
                Column("which"),
            ),
            [
                (
                    g.outcome.value,
                    len(g.keys),
                    g.reason,
                    ", ".join(g.missing_modules + g.missing_distributions) or None,
                    _keys(g.keys),
                )
                for g in summary.reason_groups
            ],
            empty="every package could be installed and its tests collected",
        ),
    ]
    if summary.missing_modules:
        untested.append(
            Table(
                "Missing modules (add them to the test dependencies)",
                (Column("module", Kind.CODE), Column("packages", Kind.NUMBER), Column("which")),
                [
                    (module, len(packages), ", ".join(packages))
                    for module, packages in sorted(
                        summary.missing_modules.items(), key=lambda item: (-len(item[1]), item[0])
                    )
                ],
            )
        )
    if summary.install_failures:
        untested.append(
            Table(
                "Install failures by kind",
                (Column("kind", Kind.CODE), Column("packages", Kind.NUMBER), Column("which")),
                [
                    (kind, len(packages), ", ".join(packages))
                    for kind, packages in summary.install_failures.items()
                ],
            )
        )
    sections.append(Section("Could not be tested", untested, "untested"))

    sections.append(
        Section(
            "Time",
            [
                Table(
                    f"Slowest {len(summary.slowest)} package(s)",
                    (PACKAGE, CONDITION, OUTCOME, DURATION),
                    [
                        (r.package, r.condition, r.outcome.value, r.duration_s)
                        for r in summary.slowest
                    ],
                ),
                Histogram("Duration distribution", summary.durations),
            ],
            "time",
        )
    )
    skipped: list[Block] = [
        Table(
            "Skipped packages",
            (PACKAGE, CONDITION, Column("reason")),
            [(r.package, r.condition, r.reason or "") for r in summary.skipped],
            empty="nothing skipped",
        )
    ]
    if summary.unfinished:
        skipped.append(
            Table(
                "Started but never finished",
                (PACKAGE, CONDITION),
                [(p, c) for p, c in summary.unfinished],
            )
        )
    if summary.not_run:
        skipped.append(
            Table(
                "Selected but not run", (PACKAGE, CONDITION), [(p, c) for p, c in summary.not_run]
            )
        )
    sections.append(Section("Skipped and missing", skipped, "skipped"))

    if all_results:
        sections.append(
            Section(
                "All results",
                [
                    Table(
                        "Every package",
                        (PACKAGE, CONDITION, OUTCOME, DURATION, Column("reason or signature")),
                        _result_rows(list(run.results.values())),
                        limit=None,
                        filterable=True,
                    )
                ],
                "results",
            )
        )
    return Document(
        title=f"apiary run {run.run_id}", sections=sections, subtitle=_headline(summary)
    )


def _threading_blocks(view: FreeThreadingView) -> list[Block]:
    counts: list[tuple[str, int]] = [(c, view.count(c)) for c in CATEGORIES if view.count(c)]
    return [
        Bars("Packages by what free threading did to them", counts),
        Table(
            "Packages by category",
            (
                Column("category"),
                PACKAGE,
                CONDITION,
                OUTCOME,
                Column("what", Kind.CODE),
                Column("evidence", Kind.CODE),
            ),
            [
                (
                    p.category,
                    p.result.package,
                    p.result.condition,
                    p.result.outcome.value,
                    p.detail,
                    p.evidence,
                )
                for p in view.placed
            ],
        ),
        Table(
            "ThreadSanitizer buckets",
            (
                Column("bucket", Kind.CODE),
                Column("kind"),
                Column("reports", Kind.NUMBER),
                Column("packages"),
                Column("frames", Kind.CODE),
                Column("report", Kind.CODE),
            ),
            [
                (
                    b.bucket,
                    b.kind,
                    b.reports,
                    ", ".join(b.packages),
                    " | ".join(b.frames),
                    b.log_path,
                )
                for b in view.races
            ],
            empty="no ThreadSanitizer report",
        ),
    ]


def _threading_json(view: FreeThreadingView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {
        "counts": {c: view.count(c) for c in CATEGORIES},
        "packages": [
            {
                "category": p.category,
                "package": p.result.package,
                "condition": p.result.condition,
                "outcome": p.result.outcome.value,
                "detail": p.detail,
                "evidence": p.evidence,
            }
            for p in view.placed
        ],
        "race_buckets": [
            {
                "bucket": b.bucket,
                "kind": b.kind,
                "signature": b.signature,
                "reports": b.reports,
                "packages": b.packages,
                "frames": b.frames,
                "log_path": b.log_path,
            }
            for b in view.races
        ],
    }


def _headline(summary: Summary) -> str:
    parts = [f"{n} {o.value}" for o, n in summary.counts.items() if n]
    return ", ".join(parts) if parts else "no results"


def summary_json(summary: Summary) -> dict[str, Any]:
    """The public JSON of the summary view (documented in docs/reference/report-json.md)."""
    run = summary.run
    data = header("summary")
    data.update(run_json(run))
    data["counts"] = {o.value: n for o, n in summary.counts.items()}
    data["total"] = summary.total
    data["results"] = [
        result_json(r) for r in sorted(run.results.values(), key=lambda r: (r.package, r.condition))
    ]
    data["crash_buckets"] = [
        {
            "bucket": b.bucket,
            "signature": b.signature,
            "kind": b.kind,
            "headline": b.headline,
            "reproducibility": b.reproducibility,
            "jit_only": b.jit_only,
            "gil_off_only": b.gil_off_only,
            "test_ids": b.test_ids,
            "packages": b.packages,
            "reproducers": b.reproducers,
        }
        for b in summary.buckets
    ]
    data["untested"] = [
        {
            "outcome": g.outcome.value,
            "reason": g.reason,
            "packages": [{"package": p, "condition": c} for p, c in g.keys],
            "missing_modules": list(g.missing_modules),
            "missing_distributions": list(g.missing_distributions),
        }
        for g in summary.reason_groups
    ]
    data["missing_modules"] = summary.missing_modules
    data["install_failures"] = summary.install_failures
    data["slowest"] = [
        {"package": r.package, "condition": r.condition, "duration_s": r.duration_s}
        for r in summary.slowest
    ]
    data["duration_distribution"] = [{"bin": label, "count": n} for label, n in summary.durations]
    data["skipped"] = [
        {"package": r.package, "condition": r.condition, "reason": r.reason}
        for r in summary.skipped
    ]
    data["unfinished"] = [{"package": p, "condition": c} for p, c in summary.unfinished]
    data["not_run"] = [{"package": p, "condition": c} for p, c in summary.not_run]
    data["problems"] = run_problems(run)
    data["merge"] = run.merge_info
    data["free_threading"] = _threading_json(free_threading_view(run.results.values()))
    return data
