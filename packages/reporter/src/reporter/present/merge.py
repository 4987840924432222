"""The merge view (what was joined, duplicated, missing) as a document and as JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reporter.model.merge import MergePlan
from reporter.model.summary import count_outcomes
from reporter.present.common import header
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


def merge_document(plan: MergePlan, out: Path | None = None) -> Document:
    results = list(plan.results().values())
    facts = [("merged run", plan.run_id), ("shards", str(len(plan.sources)))]
    if out is not None:
        facts.append(("written to", str(out)))
    facts.append(("results kept", str(len(results))))
    if plan.expected is not None:
        facts.append(("expected", f"{len(plan.expected)} package/condition pair(s)"))
    overview: list[Block] = [Facts(facts)]
    overview += [Note(w, warn=True) for w in plan.warnings]
    counts = [(o.value, n) for o, n in count_outcomes(results).items() if n]
    if counts:
        overview.append(Bars("Outcomes of the merged run", counts))
    sections = [
        Section("Merge", overview, "merge"),
        Section(
            "Shards",
            [
                Table(
                    "Inputs",
                    (
                        Column("run"),
                        Column("shard"),
                        Column("results", Kind.NUMBER),
                        Column("finished"),
                        Column("directory"),
                    ),
                    [
                        (
                            run.run_id,
                            run.shard,
                            len(run.results),
                            "no"
                            if run.finish is None
                            else "interrupted"
                            if run.finish.interrupted
                            else "yes",
                            str(run.path) if run.path else None,
                        )
                        for run in plan.sources
                    ],
                    limit=None,
                )
            ],
            "shards",
        ),
        Section(
            "Duplicates",
            [
                Note("a duplicate keeps the crash if either side crashed, else the latest result"),
                Table(
                    "Same package and condition in several shards",
                    (
                        Column("package"),
                        Column("condition"),
                        Column("kept from"),
                        Column("kept", Kind.TONE),
                        Column("dropped"),
                        Column("agree"),
                    ),
                    [
                        (
                            d.package,
                            d.condition,
                            d.kept,
                            d.kept_outcome.value,
                            ", ".join(f"{run} ({outcome.value})" for run, outcome in d.dropped),
                            "yes" if d.outcomes_agree else "NO",
                        )
                        for d in plan.duplicates
                    ],
                    empty="no duplicates",
                ),
            ],
            "duplicates",
        ),
        Section(
            "Gaps",
            [
                Table(
                    "What the merged run lacks",
                    (Column("kind", Kind.CODE), Column("detail")),
                    [(g.kind, g.detail) for g in plan.gaps],
                    empty="no gaps"
                    + ("" if plan.expected is not None else " (no expected package list known)"),
                )
            ],
            "gaps",
        ),
    ]
    subtitle = (
        f"{len(plan.sources)} shard(s), {len(results)} results, "
        f"{len(plan.duplicates)} duplicate(s), {len(plan.gaps)} gap(s)"
    )
    return Document(title=f"apiary merge: {plan.run_id}", sections=sections, subtitle=subtitle)


def merge_json(plan: MergePlan, out: Path | None = None) -> dict[str, Any]:
    data = header("merge")
    data["run_id"] = plan.run_id
    data["output"] = str(out) if out is not None else None
    data.update(plan.record())
    data["counts"] = {o.value: n for o, n in count_outcomes(list(plan.results().values())).items()}
    data["expected"] = (
        None
        if plan.expected is None
        else [{"package": p, "condition": c} for p, c in sorted(plan.expected)]
    )
    return data
