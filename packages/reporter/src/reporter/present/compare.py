"""The compare view as a document and as JSON."""

from __future__ import annotations

import math
from typing import Any

from reporter.model.categories import CATEGORY_ORDER, Category
from reporter.model.compare import BucketDelta, Comparison, Pair, Side
from reporter.model.install_kinds import install_failure_kind
from reporter.present.common import (
    header,
    interpreter_text,
    outcome_of,
    result_json,
    run_problems,
    short_reason,
    when,
)
from reporter.render.document import (
    Bars,
    Block,
    Column,
    Document,
    Facts,
    Kind,
    Note,
    Section,
    Table,
)

# What each category means, shown next to its table.
MEANING: dict[Category, str] = {
    Category.REGRESSED: "crashes in B but not in A, or passed in A and fails in B",
    Category.NEW_CRASH_BUCKET: "crashes on both sides, but B crashes somewhere else",
    Category.FIXED: "crashed in A and not in B; failed or untested in A and passes in B",
    Category.SPURIOUS: "changed through a timeout, hang, OOM kill or network-shaped failure",
    Category.BROKEN: "could be tested in A, not in B (install, import, source or config error)",
    Category.NOW_TESTED: "never ran its tests in A; ran them in B, and some fail",
    Category.STILL_BROKEN: "the same non-passing state on both sides",
    Category.SKIPPED: "skipped on one side only",
    Category.MISSING: "no result on one side",
    Category.SAME: "passes (or is skipped) on both sides",
}


def _source(pair: Pair) -> str:
    if pair.source_changed is None:
        return "unknown"
    return "changed" if pair.source_changed else "unchanged"


def _rows(pairs: list[Pair]) -> list[tuple[Any, ...]]:
    return [
        (
            p.package,
            p.condition,
            outcome_of(p.a),
            outcome_of(p.b),
            _source(p),
            p.note or None,
            short_reason(p.b) or short_reason(p.a) or None,
        )
        for p in pairs
    ]


COLUMNS = (
    Column("package"),
    Column("condition"),
    Column("A", Kind.TONE),
    Column("B", Kind.TONE),
    Column("source"),
    Column("note"),
    Column("B's signature or reason (else A's)", Kind.CODE),
)


def _side_facts(name: str, side: Side) -> list[tuple[str, str]]:
    run = side.run
    facts = [(name, side.label), (f"{name} interpreter", interpreter_text(run, side.condition))]
    if run.started_at is not None:
        facts.append((f"{name} started", run.started_at.strftime("%Y-%m-%d %H:%M:%S UTC")))
    return facts


def _bucket_rows(deltas: list[BucketDelta]) -> list[tuple[Any, ...]]:
    return [(d.bucket, d.signature, len(d.packages), ", ".join(d.packages)) for d in deltas]


BUCKET_COLUMNS = (
    Column("bucket", Kind.CODE),
    Column("signature", Kind.CODE),
    Column("packages", Kind.NUMBER),
    Column("which"),
)


def compare_document(comparison: Comparison, *, all_results: bool = False) -> Document:
    a, b = comparison.a, comparison.b
    facts = _side_facts("A", a) + _side_facts("B", b)
    rule = comparison.timing_rule
    facts.append(("timing threshold", f"x{rule.ratio:g} and at least {rule.min_delta_s:g} s"))
    overview: list[Block] = [Facts(facts)]
    if comparison.interpreter_changed():
        overview.append(Note("the interpreter differs between A and B"))
    for side, name in ((a, "A"), (b, "B")):
        overview += [Note(f"{name}: {line}", warn=True) for line in run_problems(side.run)]
    counts = comparison.counts()
    sections = [
        Section("Sides", overview, "sides"),
        Section(
            "Categories",
            [
                Bars(
                    f"{len(comparison.pairs)} package(s) compared",
                    [(c.value, n) for c, n in counts.items() if n],
                )
            ]
            if comparison.pairs
            else [Note("nothing to compare: neither side has results")],
            "categories",
        ),
    ]
    for category in CATEGORY_ORDER:
        pairs = comparison.by_category(category)
        if not pairs or category == Category.SAME:
            continue
        sections.append(
            Section(
                f"{category.value} ({len(pairs)})",
                [Note(MEANING[category]), Table(category.value, COLUMNS, _rows(pairs))],
                category.value,
            )
        )
    sections.append(
        Section(
            "Crash buckets",
            [
                Table(
                    "New in B", BUCKET_COLUMNS, _bucket_rows(comparison.new_buckets()), empty="none"
                ),
                Table(
                    "Gone in B",
                    BUCKET_COLUMNS,
                    _bucket_rows(comparison.gone_buckets()),
                    empty="none",
                ),
            ],
            "buckets",
        )
    )
    sections.append(_install_failures_section(comparison))
    changes = comparison.timing_changes()
    sections.append(
        Section(
            "Timing changes",
            [
                Table(
                    "Test time changed beyond the threshold",
                    (
                        Column("package"),
                        Column("condition"),
                        Column("A", Kind.SECONDS),
                        Column("B", Kind.SECONDS),
                        Column("B / A", Kind.RATIO),
                    ),
                    [
                        (p.package, p.condition, p.timing.a_s, p.timing.b_s, p.timing.ratio)
                        for p in changes
                        if p.timing is not None
                    ],
                    empty="no timing change beyond the threshold",
                )
            ],
            "timing",
        )
    )
    if all_results:
        sections.append(
            Section(
                "All packages",
                [
                    Table(
                        "Every pair",
                        (Column("category", Kind.TONE), *COLUMNS),
                        [
                            (p.category.value, *row)
                            for p, row in zip(
                                comparison.pairs, _rows(comparison.pairs), strict=True
                            )
                        ],
                        limit=None,
                        filterable=True,
                    )
                ],
                "all",
            )
        )
    headline = ", ".join(f"{n} {c.value}" for c, n in counts.items() if n) or "nothing compared"
    return Document(
        title=f"apiary compare: {a.label} -> {b.label}", sections=sections, subtitle=headline
    )


def _install_failures_section(comparison: Comparison) -> Section:
    """Install failures by kind on each side, and the packages whose kind changed."""
    return Section(
        "Install failures by kind",
        [
            Table(
                "Kinds of install failure",
                (Column("kind", Kind.CODE), Column("A", Kind.NUMBER), Column("B", Kind.NUMBER)),
                list(comparison.install_failure_counts()),
                empty="no install failure on either side",
            ),
            Table(
                "Packages whose kind changed",
                (
                    Column("package"),
                    Column("condition"),
                    Column("A", Kind.CODE),
                    Column("B", Kind.CODE),
                    Column("B's reason (else A's)", Kind.CODE),
                ),
                [
                    (
                        p.package,
                        p.condition,
                        install_failure_kind(p.a) or outcome_of(p.a),
                        install_failure_kind(p.b) or outcome_of(p.b),
                        short_reason(p.b) if p.b and p.b.reason else short_reason(p.a) or None,
                    )
                    for p in comparison.install_failure_changes()
                ],
                empty="no package changed kind",
            ),
        ],
        "install-failures",
    )


def _side_json(side: Side) -> dict[str, Any]:
    run = side.run
    return {
        "run_id": run.run_id,
        "run_dir": str(run.path) if run.path else None,
        "condition": side.condition,
        "started_at": when(run.started_at),
        "interpreter": side.interpreter.model_dump(mode="json") if side.interpreter else None,
    }


def _delta_json(deltas: list[BucketDelta]) -> list[dict[str, Any]]:
    return [
        {"bucket": d.bucket, "signature": d.signature, "packages": list(d.packages)} for d in deltas
    ]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def compare_json(comparison: Comparison) -> dict[str, Any]:
    data = header("compare")
    data["a"] = _side_json(comparison.a)
    data["b"] = _side_json(comparison.b)
    data["interpreter_changed"] = comparison.interpreter_changed()
    data["counts"] = {c.value: n for c, n in comparison.counts().items()}
    data["results"] = [
        {
            "package": p.package,
            "condition_a": p.condition_a,
            "condition_b": p.condition_b,
            "category": p.category.value,
            "note": p.note,
            "source_changed": p.source_changed,
            "spurious_a": p.spurious_a,
            "spurious_b": p.spurious_b,
            "a": result_json(p.a) if p.a else None,
            "b": result_json(p.b) if p.b else None,
            "timing": None
            if p.timing is None
            else {"a_s": p.timing.a_s, "b_s": p.timing.b_s, "ratio": _finite(p.timing.ratio)},
        }
        for p in comparison.pairs
    ]
    data["install_failures"] = {
        "counts": [
            {"kind": kind, "a": a, "b": b} for kind, a, b in comparison.install_failure_counts()
        ],
        "changed": [
            {
                "package": p.package,
                "condition": p.condition,
                "a": install_failure_kind(p.a) or outcome_of(p.a),
                "b": install_failure_kind(p.b) or outcome_of(p.b),
            }
            for p in comparison.install_failure_changes()
        ],
    }
    data["new_buckets"] = _delta_json(comparison.new_buckets())
    data["gone_buckets"] = _delta_json(comparison.gone_buckets())
    rule = comparison.timing_rule
    data["timing_rule"] = {"ratio": rule.ratio, "min_delta_s": rule.min_delta_s}
    return data
